package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// An ad is written by one Lua script (one round trip) instead of a
// WATCH/GET/MULTI/UNWATCH transaction (four). The script cannot compute the
// index keys of the stored ad (that is Go code, and re-encoding the JSON in
// Lua would lose uint64 precision on Fingerprint), so every ad has a meta
// record beside it:
//
//	adm:<id>   STRING netstrings: first seen (RFC 3339), content hash,
//	           source, then the ad's index keys ("idx:<kind>:<value>"),
//	           "own" when the ad was read from its own page, and one
//	           "src:<first ns> <last ns> <source>" per source that found it
//	           (metas written before these had neither)
//
// The writer sends the meta it expects to replace ("" for a new ad); the
// script writes only when it matches, else it answers with the stored meta
// and the writer tries again from it (compare-and-set). A new ad — nearly
// every ad a crawl finds — takes one round trip, a known one two.

// luaAds defines check_ads and write_ads over ads read by read_ad from ARGV.
const luaAds = `
local function split_ns(s)
  local out, i = {}, 1
  while i <= #s do
    local c = string.find(s, ':', i, true)
    if not c then break end
    local n = tonumber(string.sub(s, i, c - 1))
    if not n then break end
    out[#out + 1] = string.sub(s, c + 1, c + n)
    i = c + n + 2
  end
  return out
end

-- read_ad reads one ad at ARGV[i]: id, expect, meta, json, score, flagged,
-- source, nkeys, keys...; it returns the ad and the index after it.
local function read_ad(i)
  local a = {id = ARGV[i], expect = ARGV[i+1], meta = ARGV[i+2], json = ARGV[i+3],
    score = ARGV[i+4], flagged = ARGV[i+5] == '1', source = ARGV[i+6], keys = {}}
  local n = tonumber(ARGV[i+7])
  for j = 1, n do a.keys[j] = ARGV[i+7+j] end
  return a, i + 8 + n
end

-- check_ads returns nil when every ad's stored meta is the expected one
-- ('' when there is none; '?' for an ad stored without meta), else
-- {0, n1, meta1, ...} with the 1-based position (in ads) and stored meta
-- of each mismatch. Ads marked skip are not checked. All metas are read
-- in one MGET, and the ads without one are looked for in one EXISTS.
local function check_ads(ads)
  local keys, pos = {}, {}
  for n, a in ipairs(ads) do
    if not a.skip then
      keys[#keys + 1] = P..'adm:'..a.id
      pos[#pos + 1] = n
    end
  end
  if #keys == 0 then return nil end
  local curs = read_chunked('MGET', nil, keys)
  local missing = {}
  for i = 1, #keys do
    if not curs[i] then missing[#missing + 1] = i end
  end
  if #missing > 0 then
    local ks = {}
    for _, i in ipairs(missing) do ks[#ks + 1] = P..'ad:'..ads[pos[i]].id end
    local any = 0
    for i = 1, #ks, 1000 do
      local j = i + 999
      if j > #ks then j = #ks end
      any = any + redis.call('EXISTS', unpack(ks, i, j))
    end
    for k, i in ipairs(missing) do
      curs[i] = ''
      if any > 0 and redis.call('EXISTS', ks[k]) == 1 then curs[i] = '?' end
    end
  end
  local bad = {0}
  for i = 1, #keys do
    local a = ads[pos[i]]
    if curs[i] ~= a.expect then
      bad[#bad + 1] = pos[i]
      bad[#bad + 1] = curs[i]
    end
  end
  if #bad > 1 then return bad end
  return nil
end

-- write_ads writes the ads not marked skip, each command once for all of
-- them. An ad ID twice in one batch (one posting reached from two pages)
-- is written once, from its last copy, as a second write would replace
-- the first whole.
local function write_ads(ads)
  local last = {}
  for n, a in ipairs(ads) do
    if not a.skip then last[a.id] = n end
  end
  local kv, times, fl, unfl = {}, {}, {}, {}
  local srcs, srcrem, sadd, srem = {}, {}, {}, {}
  for n, a in ipairs(ads) do
    if not a.skip and last[a.id] == n then
      local id = a.id
      local old = nil
      if a.expect ~= '' then old = split_ns(a.expect) end
      push(kv, 1, P..'ad:'..id, a.json)
      push(kv, 1, P..'adm:'..id, a.meta)
      push(times, 1, a.score, id)
      if a.flagged then
        push(fl, 1, a.score, id)
      elseif old then -- a new ad is in no index yet
        push(unfl, 1, id)
      end
      if old and old[3] and old[3] ~= a.source then
        push(srcrem, P..'ads:src:'..old[3], id)
      end
      push(srcs, P..'ads:src:'..a.source, a.score, id)
      local new = {}
      for _, k in ipairs(a.keys) do new[k] = true end
      if old then
        for j = 4, #old do
          if string.sub(old[j], 1, 4) == 'idx:' and not new[old[j]] then push(srem, P..old[j], id) end
        end
      end
      for _, k in ipairs(a.keys) do push(sadd, P..k, id) end
    end
  end
  if not kv[1] then return end
  chunked('MSET', nil, kv[1])
  chunked('ZADD', P..'ads:time', times[1])
  if fl[1] then chunked('ZADD', P..'ads:flagged', fl[1]) end
  if unfl[1] then chunked('ZREM', P..'ads:flagged', unfl[1]) end
  for k, ids in pairs(srcrem) do chunked('ZREM', k, ids) end
  for k, l in pairs(srcs) do chunked('ZADD', k, l) end
  for k, ids in pairs(srem) do chunked('SREM', k, ids) end
  for k, ids in pairs(sadd) do chunked('SADD', k, ids) end
end

-- put_ads checks then writes the ads from ARGV[i] on: nothing is written
-- unless every ad's meta is the expected one. It returns {1}, or the
-- mismatches (check_ads).
local function put_ads(i)
  local ads = {}
  while i <= #ARGV do
    local a
    a, i = read_ad(i)
    ads[#ads + 1] = a
  end
  local bad = check_ads(ads)
  if bad then return bad end
  write_ads(ads)
  return {1}
end
`

// ARGV: P, then the ads (see read_ad).
var putAdsScript = newScript(luaHeader + luaAds + `
return put_ads(2)`)

// ARGV: P, then per page: token, host delay ms, etag, last-modified,
// number of ads, the ads (see read_ad). Pages whose lease is gone are
// skipped whole; unless an ad's stored meta is not the expected one
// (answer as check_ads, nothing written), the live pages' ads are written,
// their leases acked, and the answer is {1, 1-based positions of the
// skipped pages...}.
var finishScript = newScript(luaHeader + luaFrontier + luaAck + luaAds + `
local pages, ads, toks = {}, {}, {}
local i = 2
while i <= #ARGV do
  local pg = {tok = ARGV[i], delay = tonumber(ARGV[i+1]), etag = ARGV[i+2], lm = ARGV[i+3], first = #ads + 1}
  local n = tonumber(ARGV[i+4])
  i = i + 5
  for _ = 1, n do
    local a
    a, i = read_ad(i)
    ads[#ads + 1] = a
  end
  pg.last = #ads
  pages[#pages + 1] = pg
  toks[#toks + 1] = pg.tok
end
-- The lease records, in one HMGET; a page whose lease is gone is skipped.
local recs = read_chunked('HMGET', P..'f:lease', toks)
for n, pg in ipairs(pages) do
  pg.rec = recs[n]
  for k = pg.first, pg.last do ads[k].skip = not pg.rec end
end
local bad = check_ads(ads)
if bad then return bad end
write_ads(ads)
-- The acks, as ack() would do them one by one, each command once.
local now = now_ms()
local out, live, busy, rests, urls = {1}, {}, {}, {}, {}
for n, pg in ipairs(pages) do
  if pg.rec then
    local host, url = string.match(pg.rec, '^(%S+) (%S+)')
    live[#live + 1] = pg.tok
    busy[host] = (busy[host] or 0) + 1
    if pg.delay > (rests[host] or 0) then rests[host] = pg.delay end
    urls[#urls + 1] = url
    pg.url = url
  else
    out[#out + 1] = n
  end
end
if #live > 0 then
  chunked('ZREM', P..'f:leases', live)
  chunked('HDEL', P..'f:lease', live)
  local fin, cond = {}, {}
  local reqs = read_chunked('HMGET', P..'f:req', urls)
  for k, url in ipairs(urls) do
    if string.match(reqs[k] or '', '^%d+|%d+|%d+|1|') then push(fin, 1, url, 'd') end
  end
  chunked('HDEL', P..'f:req', urls)
  if redis.call('EXISTS', P..'f:deaths') == 1 then chunked('HDEL', P..'f:deaths', urls) end
  if fin[1] then chunked('HSET', P..'f:fin', fin[1]) end
  for _, pg in ipairs(pages) do
    if pg.rec and (pg.etag ~= '' or pg.lm ~= '') then push(cond, 1, pg.url, pg.etag..'\n'..pg.lm) end
  end
  if cond[1] then chunked('HSET', P..'f:cond', cond[1]) end
  for host, k in pairs(busy) do
    local b = tonumber(redis.call('HGET', P..'f:busy', host) or '0')
    if b and b > k then
      redis.call('HSET', P..'f:busy', host, fmt(b - k))
    else
      redis.call('HDEL', P..'f:busy', host)
    end
  end
  for host, d in pairs(rests) do rest(host, now, d) end
  redis.call('HINCRBY', P..'f:stats', 'done', #live)
  for host in pairs(busy) do resched(host, now) end
end
return out`)

// netstrings appends each value as "<len>:<bytes>,".
func netstrings(vals ...string) string {
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte(',')
	}
	return b.String()
}

func splitNetstrings(s string) ([]string, error) {
	var out []string
	for s != "" {
		n, rest, ok := strings.Cut(s, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l < 0 || l+1 > len(rest) || rest[l] != ',' {
			return nil, fmt.Errorf("malformed ad meta record")
		}
		out = append(out, rest[:l])
		s = rest[l+1:]
	}
	return out, nil
}

// adMeta is what the store keeps beside an ad to update it in one script.
type adMeta struct {
	FirstSeen time.Time // zero: the stored ad is unreadable, replace it as new
	Hash      string
	Source    string
	Keys      []string // "idx:<kind>:<value>", without the prefix
	Own       bool     // read from its own page
	Sources   []lokerwatch.Sighting
	legacy    bool // written before Own and Sources were kept
}

func (m adMeta) encode() string {
	first := ""
	if !m.FirstSeen.IsZero() {
		first = m.FirstSeen.Format(time.RFC3339Nano)
	}
	f := append([]string{first, m.Hash, m.Source}, m.Keys...)
	if m.Own {
		f = append(f, "own")
	}
	for _, sg := range m.Sources {
		f = append(f, fmt.Sprintf("src:%d %d %s", sg.FirstSeen.UnixNano(), sg.LastSeen.UnixNano(), sg.Source))
	}
	return netstrings(f...)
}

func parseAdMeta(s string) (adMeta, error) {
	f, err := splitNetstrings(s)
	if err != nil || len(f) < 3 {
		return adMeta{}, fmt.Errorf("malformed ad meta record %q", s)
	}
	m := adMeta{Hash: f[1], Source: f[2], legacy: true}
	for _, e := range f[3:] {
		switch {
		case strings.HasPrefix(e, "idx:"):
			m.Keys = append(m.Keys, e)
		case e == "own":
			m.Own, m.legacy = true, false
		case strings.HasPrefix(e, "src:"):
			parts := strings.SplitN(e[len("src:"):], " ", 3)
			if len(parts) != 3 {
				return adMeta{}, fmt.Errorf("ad meta record: malformed source %q", e)
			}
			a, err1 := strconv.ParseInt(parts[0], 10, 64)
			b, err2 := strconv.ParseInt(parts[1], 10, 64)
			if err1 != nil || err2 != nil {
				return adMeta{}, fmt.Errorf("ad meta record: malformed source %q", e)
			}
			m.Sources = append(m.Sources, lokerwatch.Sighting{Source: parts[2], FirstSeen: time.Unix(0, a).UTC(), LastSeen: time.Unix(0, b).UTC()})
			m.legacy = false
		}
	}
	if f[0] != "" {
		if m.FirstSeen, err = time.Parse(time.RFC3339Nano, f[0]); err != nil {
			return adMeta{}, fmt.Errorf("ad meta record: first seen: %w", err)
		}
	}
	if m.legacy {
		// Written by an older version: the ad's page is taken as its own,
		// and its source as having seen it when it was first stored.
		m.Own = true
		if m.Source != "" {
			m.Sources = []lokerwatch.Sighting{{Source: m.Source, FirstSeen: m.FirstSeen, LastSeen: m.FirstSeen}}
		}
	}
	return m, nil
}

func indexKeyNames(ad *lokerwatch.Ad) []string {
	keys := lokerwatch.IndexKeys(ad)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "idx:" + string(k.Kind) + ":" + k.Value
	}
	return out
}

// adWrite is one ad on its way into the store.
type adWrite struct {
	in       *lokerwatch.Ad // the caller's ad: gets ID, FirstSeen, LastSeen and Sources
	a        lokerwatch.Ad  // what is stored
	lastSeen time.Time
	inHash   string
	inKeys   []string
	hash     string
	keys     []string
	own      bool
	expect   string // stored meta this write replaces ("" for none)
	res      storage.PutResult
	// content replaces in's content, extra adds sightings: set on the last
	// copy of an ad that is in one batch more than once (mergeDuplicates);
	// dup marks the other copies.
	content *lokerwatch.Ad
	extra   []lokerwatch.Sighting
	dup     bool
}

// mergeDuplicates prepares an ad that is in one batch more than once (a
// page and the feed item linking to it, finished together). The script
// writes the last copy of an ID only, so that copy takes the others'
// sightings and, when it is not its page's own, the content of the last
// copy that is; the others count as neither new nor changed.
func mergeDuplicates(ws []*adWrite) {
	groups := map[string][]*adWrite{}
	for _, w := range ws {
		groups[w.in.ID] = append(groups[w.in.ID], w)
	}
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		last := g[len(g)-1]
		content := last.in
		for _, w := range g {
			if w.in.OwnPage() {
				content = w.in
			}
		}
		if content != last.in {
			last.content = content
			last.inHash, last.inKeys = content.ContentHash(), indexKeyNames(content)
		}
		for _, w := range g[:len(g)-1] {
			w.dup, w.res = true, storage.PutResult{}
			last.extra = append(last.extra, lokerwatch.Sighting{Source: w.in.Source, FirstSeen: w.lastSeen, LastSeen: w.lastSeen})
		}
		last.rebase(last.expect, adMeta{}, nil)
	}
}

// sightings adds this write's sightings to ss.
func (w *adWrite) sightings(ss []lokerwatch.Sighting) []lokerwatch.Sighting {
	for _, e := range w.extra {
		ss = lokerwatch.AddSighting(ss, e.Source, e.LastSeen)
	}
	return lokerwatch.AddSighting(ss, w.in.Source, w.lastSeen)
}

func newAdWrite(ad *lokerwatch.Ad) (*adWrite, error) {
	if ad == nil || ad.ID == "" {
		return nil, errors.New("put ad: ad without ID")
	}
	w := &adWrite{in: ad, lastSeen: ad.FetchedAt}
	if w.lastSeen.IsZero() {
		w.lastSeen = time.Now().UTC()
	}
	w.inHash = ad.ContentHash()
	w.inKeys = indexKeyNames(ad)
	w.rebase("", adMeta{}, nil)
	return w, nil
}

// rebase makes the write replace the stored meta cur (parsed as old).
// stored is the stored ad when it is its page's own and the caller's is
// not: then its content stays and only the sighting is recorded.
func (w *adWrite) rebase(cur string, old adMeta, stored *lokerwatch.Ad) {
	w.expect = cur
	if stored != nil {
		w.a = *stored
		w.a.ID = w.in.ID
		w.a.FirstSeen, w.a.LastSeen = old.FirstSeen, w.lastSeen
		w.a.Sources = w.sightings(slices.Clone(old.Sources))
		w.hash, w.keys, w.own = old.Hash, old.Keys, true
		w.res = storage.PutResult{}
		return
	}
	src := w.in
	if w.content != nil {
		src = w.content
	}
	w.a = *src
	w.a.ID = w.in.ID
	w.a.LastSeen, w.a.RemovedAt = w.lastSeen, time.Time{}
	w.hash, w.keys, w.own = w.inHash, w.inKeys, src.OwnPage()
	switch {
	case cur != "" && !old.FirstSeen.IsZero():
		w.a.FirstSeen = old.FirstSeen
		w.a.Sources = w.sightings(slices.Clone(old.Sources))
		w.res = storage.PutResult{Changed: old.Hash != w.hash}
	default: // new, or replacing an unreadable ad
		w.a.FirstSeen = src.FirstSeen
		if w.a.FirstSeen.IsZero() {
			w.a.FirstSeen = w.a.LastSeen
		}
		w.a.Sources = w.sightings(nil)
		w.res = storage.PutResult{New: true}
	}
	if w.dup {
		w.res = storage.PutResult{}
	}
}

// args appends the script arguments of the write (see read_ad).
func (w *adWrite) args(args []any) ([]any, error) {
	data, err := json.Marshal(&w.a)
	if err != nil {
		return nil, fmt.Errorf("put ad %s: %w", w.a.ID, err)
	}
	meta := adMeta{FirstSeen: w.a.FirstSeen, Hash: w.hash, Source: w.a.Source, Keys: w.keys, Own: w.own, Sources: w.a.Sources}.encode()
	fl := "0"
	if flagged(&w.a) {
		fl = "1"
	}
	args = append(args, w.a.ID, w.expect, meta, data, ms(w.a.LastSeen), fl, w.a.Source, len(w.keys))
	for _, k := range w.keys {
		args = append(args, k)
	}
	return args, nil
}

func (w *adWrite) done() {
	w.in.FirstSeen, w.in.LastSeen, w.in.Sources = w.a.FirstSeen, w.a.LastSeen, w.a.Sources
}

// adoptLegacy writes the meta record of an ad stored without one (by an
// older version), read from its JSON; an unreadable ad gets a meta that
// makes the next write replace it as new.
func (s *Store) adoptLegacy(ctx context.Context, id string) error {
	raw, err := s.rdb.Get(ctx, s.k("ad:", id)).Bytes()
	if err != nil {
		return err // gone meanwhile (Nil): the next try sees it absent
	}
	var m adMeta
	old := new(lokerwatch.Ad)
	if err := json.Unmarshal(raw, old); err != nil {
		s.log.Warn("redis store: replacing unreadable stored ad", "id", id, "err", err)
	} else {
		m = adMeta{FirstSeen: old.FirstSeen, Hash: old.ContentHash(), Source: old.Source, Keys: indexKeyNames(old)}
		if m.FirstSeen.IsZero() {
			m.FirstSeen = old.LastSeen
		}
		if m.FirstSeen.IsZero() {
			m.FirstSeen = time.Unix(0, 0).UTC()
		}
	}
	return s.rdb.SetNX(ctx, s.k("adm:", id), m.encode(), 0).Err()
}

// maxAdTries bounds the compare-and-set loop of an ad write under contention.
const maxAdTries = 50

// putAds runs a script over ws until every ad's expected meta matched:
// encode builds the script's arguments from the writes as they are now,
// run runs it. It returns the script's answer on success, and ErrLeaseLost
// and other script errors as they come.
func (s *Store) putAds(ctx context.Context, op string, ws []*adWrite, encode func() ([]any, error), run func(args []any) ([]any, error)) ([]any, error) {
	for try := 0; ; try++ {
		args, err := encode()
		if err != nil {
			return nil, err
		}
		res, err := run(args)
		if err != nil {
			return nil, err
		}
		if len(res) > 0 && res[0] == int64(1) {
			return res, nil
		}
		if try == maxAdTries {
			return nil, fmt.Errorf("%s: too much contention on the same ads", op)
		}
		for i := 1; i+1 < len(res); i += 2 {
			n, _ := res[i].(int64)
			cur, _ := res[i+1].(string)
			if n < 1 || int(n) > len(ws) {
				return nil, fmt.Errorf("%s: bad script answer %v", op, res)
			}
			w := ws[n-1]
			if cur == "?" {
				if err := s.adoptLegacy(ctx, w.a.ID); err != nil && !isNil(err) {
					return nil, err
				}
				continue
			}
			m, err := parseAdMeta(cur)
			if err != nil {
				return nil, fmt.Errorf("%s: ad %s: %w", op, w.a.ID, err)
			}
			var stored *lokerwatch.Ad
			own := w.in.OwnPage() || (w.content != nil && w.content.OwnPage())
			if m.Own && !own && !m.FirstSeen.IsZero() {
				if stored, err = s.GetAd(ctx, w.in.ID); err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
			}
			w.rebase(cur, m, stored)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func isNil(err error) bool { return errors.Is(err, goredis.Nil) }

// PutAd inserts or updates an ad, keeping FirstSeen and setting LastSeen
// (to FetchedAt, or now when that is zero), and re-indexes it, in one
// script. The ad passed in gets the stored FirstSeen and LastSeen.
func (s *Store) PutAd(ctx context.Context, ad *lokerwatch.Ad) (storage.PutResult, error) {
	w, err := newAdWrite(ad)
	if err != nil {
		return storage.PutResult{}, err
	}
	if err := s.resolveIDs(ctx, []*adWrite{w}); err != nil {
		return storage.PutResult{}, s.wrap("put ad "+ad.ID, err)
	}
	op := "put ad " + ad.ID
	_, err = s.putAds(ctx, op, []*adWrite{w}, func() ([]any, error) {
		return w.args([]any{s.prefix})
	}, func(args []any) ([]any, error) {
		return putAdsScript.Run(ctx, s.rdb, nil, args...).Slice()
	})
	if err != nil {
		return storage.PutResult{}, s.wrap(op, err)
	}
	w.done()
	return w.res, nil
}

// FinishPages stores pages' ads and acks their leases in one script: for
// each page both happen or, when its lease is lost, neither.
func (s *Store) FinishPages(ctx context.Context, pages []storage.FinishedPage) ([]storage.PageResult, error) {
	if len(pages) == 0 {
		return nil, nil
	}
	var ws []*adWrite
	first := make([]int, len(pages)) // index in ws of each page's first ad
	for i, p := range pages {
		if p.Lease == nil {
			return nil, fmt.Errorf("finish pages: page %d has no lease", i)
		}
		first[i] = len(ws)
		for _, ad := range p.Ads {
			w, err := newAdWrite(ad)
			if err != nil {
				return nil, fmt.Errorf("finish %s: %w", p.Lease.URL, err)
			}
			ws = append(ws, w)
		}
	}
	op := fmt.Sprintf("store ads and ack %s", pages[0].Lease.URL)
	if err := s.resolveIDs(ctx, ws); err != nil {
		return nil, s.wrap(op, err)
	}
	mergeDuplicates(ws)
	if len(pages) > 1 {
		op += fmt.Sprintf(" and %d more pages", len(pages)-1)
	}
	encode := func() ([]any, error) {
		args := make([]any, 0, 1+len(pages)*5+len(ws)*12)
		args = append(args, s.prefix)
		for i, p := range pages {
			args = append(args, p.Lease.Token, p.Ack.HostDelay.Milliseconds(), p.Ack.ETag, p.Ack.LastModified, len(p.Ads))
			for _, w := range ws[first[i] : first[i]+len(p.Ads)] {
				var err error
				if args, err = w.args(args); err != nil {
					return nil, err
				}
			}
		}
		return args, nil
	}
	res, err := s.putAds(ctx, op, ws, encode, func(args []any) ([]any, error) {
		return finishScript.Run(ctx, s.rdb, nil, args...).Slice()
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	out := make([]storage.PageResult, len(pages))
	for _, v := range res[1:] {
		if n, ok := v.(int64); ok && n >= 1 && int(n) <= len(pages) {
			out[n-1].Err = fmt.Errorf("finish %s: %w", pages[n-1].Lease.URL, lokerwatch.ErrLeaseLost)
		}
	}
	for i, p := range pages {
		if out[i].Err != nil {
			continue
		}
		out[i].Puts = make([]storage.PutResult, len(p.Ads))
		for j, w := range ws[first[i] : first[i]+len(p.Ads)] {
			w.done()
			out[i].Puts[j] = w.res
		}
	}
	return out, nil
}
