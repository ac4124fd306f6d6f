package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Persona keys (an incremental union-find, relabelled by size):
//
//	p:ad            HASH ad ID -> persona ID
//	p:key           HASH "kind:value" -> persona ID
//	p:fwd           HASH merged persona ID -> persona it is part of now
//	p:seq           counter: join order
//	p:<id>          HASH size, first, last (ms), stats (JSON)
//	p:<id>:ads      ZSET member ads by join order
//	p:<id>:keys     SET "kind:value" of the persona's strong keys
//	p:<id>:fwdfrom  SET persona IDs forwarded to this one
//
// A merge moves the smaller persona's ads, keys and forwards to the
// larger in the same script, so reads never chase parent pointers.

var linkPersonaScript = newScript(`
local P = ARGV[1]
local ad = ARGV[2]
local first, last = tonumber(ARGV[3]), tonumber(ARGV[4])
local cat, src = ARGV[5], ARGV[6]
local nkeys = tonumber(ARGV[7])
local function pk(id) return P..'p:'..id end
local targets, tlist = {}, {}
local function addt(p) if p and not targets[p] then targets[p] = true; table.insert(tlist, p) end end
local cur = redis.call('HGET', P..'p:ad', ad)
addt(cur)
for i = 8, 7 + nkeys do addt(redis.call('HGET', P..'p:key', ARGV[i])) end
for i = 8 + nkeys, #ARGV do addt(redis.call('HGET', P..'p:ad', ARGV[i])) end
local sizes = {}
for _, id in ipairs(tlist) do sizes[id] = tonumber(redis.call('HGET', pk(id), 'size') or '0') end
table.sort(tlist, function(a, b) if sizes[a] ~= sizes[b] then return sizes[a] > sizes[b] end return a < b end)
local root = tlist[1] or ad
local size, f, l, stats = 0, 0, 0, {c = {}, s = {}}
if tlist[1] then
  local h = redis.call('HMGET', pk(root), 'size', 'first', 'last', 'stats')
  size, f, l = tonumber(h[1] or '0'), tonumber(h[2] or '0'), tonumber(h[3] or '0')
  if h[4] then stats = cjson.decode(h[4]) end
end
local function mint(a, b) if a == 0 or (b ~= 0 and b < a) then return b end return a end
local function maxt(a, b) if b > a then return b end return a end
for i = 2, #tlist do
  local o = tlist[i]
  local m = redis.call('ZRANGE', pk(o)..':ads', 0, -1, 'WITHSCORES')
  for j = 1, #m, 2 do
    redis.call('HSET', P..'p:ad', m[j], root)
    redis.call('ZADD', pk(root)..':ads', m[j+1], m[j])
  end
  for _, k in ipairs(redis.call('SMEMBERS', pk(o)..':keys')) do
    redis.call('HSET', P..'p:key', k, root)
    redis.call('SADD', pk(root)..':keys', k)
  end
  for _, fw in ipairs(redis.call('SMEMBERS', pk(o)..':fwdfrom')) do
    redis.call('HSET', P..'p:fwd', fw, root)
    redis.call('SADD', pk(root)..':fwdfrom', fw)
  end
  redis.call('HSET', P..'p:fwd', o, root)
  redis.call('SADD', pk(root)..':fwdfrom', o)
  local h = redis.call('HMGET', pk(o), 'size', 'first', 'last', 'stats')
  size = size + tonumber(h[1] or '0')
  f = mint(f, tonumber(h[2] or '0'))
  l = maxt(l, tonumber(h[3] or '0'))
  if h[4] then
    local os = cjson.decode(h[4])
    for k, v in pairs(os.c or {}) do stats.c[k] = (stats.c[k] or 0) + v end
    for k, v in pairs(os.s or {}) do stats.s[k] = (stats.s[k] or 0) + v end
  end
  redis.call('DEL', pk(o), pk(o)..':ads', pk(o)..':keys', pk(o)..':fwdfrom')
end
if not cur then
  local seq = redis.call('INCR', P..'p:seq')
  redis.call('ZADD', pk(root)..':ads', seq, ad)
  redis.call('HSET', P..'p:ad', ad, root)
  size = size + 1
  stats.c[cat] = (stats.c[cat] or 0) + 1
  if src ~= '' then stats.s[src] = (stats.s[src] or 0) + 1 end
end
f = mint(f, first)
l = maxt(l, last)
for i = 8, 7 + nkeys do
  redis.call('HSET', P..'p:key', ARGV[i], root)
  redis.call('SADD', pk(root)..':keys', ARGV[i])
end
local enc = cjson.encode(stats)
redis.call('HSET', pk(root), 'size', size, 'first', f, 'last', l, 'stats', enc)
return {root, tostring(size), tostring(f), tostring(l), enc}
`)

// personaStatsJSON is the stats field: short names keep Lua's JSON small.
type personaStatsJSON struct {
	C map[string]int `json:"c"`
	S map[string]int `json:"s"`
}

func personaFrom(id string, size, first, last, stats string) (storage.Persona, error) {
	p := storage.Persona{ID: id}
	n, _ := strconv.Atoi(size)
	f, _ := strconv.ParseInt(first, 10, 64)
	l, _ := strconv.ParseInt(last, 10, 64)
	p.Size, p.FirstSeen, p.LastSeen = n, fromMS(f), fromMS(l)
	var st personaStatsJSON
	// Lua's cjson writes an empty table as {} and may write an empty map as [].
	if stats != "" && stats != "[]" {
		if err := json.Unmarshal([]byte(strings.ReplaceAll(strings.ReplaceAll(stats, `"c":[]`, `"c":{}`), `"s":[]`, `"s":{}`)), &st); err != nil {
			return p, fmt.Errorf("persona %s: stats: %w", id, err)
		}
	}
	if len(st.C) > 0 {
		p.Categories = map[lokerwatch.Category]int{}
		for c, v := range st.C {
			p.Categories[lokerwatch.Category(c)] = v
		}
	}
	if len(st.S) > 0 {
		p.Sources = st.S
	}
	return p, nil
}

func keyField(k lokerwatch.IndexKey) string { return string(k.Kind) + ":" + k.Value }

func (s *Store) linkArgs(l storage.PersonaLink) []any {
	args := []any{s.prefix, l.AdID, ms(l.FirstSeen), ms(l.LastSeen), string(l.Category), l.Source, len(l.Keys)}
	for _, k := range l.Keys {
		args = append(args, keyField(k))
	}
	for _, a := range l.Ads {
		args = append(args, a)
	}
	return args
}

// LinkPersona joins the ad to its persona and merges what it links, in
// one script.
func (s *Store) LinkPersona(ctx context.Context, l storage.PersonaLink) (storage.Persona, error) {
	if l.AdID == "" {
		return storage.Persona{}, errors.New("link persona: missing ad ID")
	}
	res, err := linkPersonaScript.Run(ctx, s.rdb, nil, s.linkArgs(l)...).StringSlice()
	if err != nil {
		return storage.Persona{}, s.wrap("link persona of "+l.AdID, err)
	}
	return linkReply(l, res)
}

// LinkPersonas links ads as LinkPersona does, one script each, in order,
// sent in one pipeline (one round trip for the persona linker's batch
// after FinishPages). Each script is atomic on its own and one's error
// does not stop the next; the first error is returned.
func (s *Store) LinkPersonas(ctx context.Context, ls []storage.PersonaLink) ([]storage.Persona, error) {
	for i, l := range ls {
		if l.AdID == "" {
			return nil, fmt.Errorf("link personas: link %d: missing ad ID", i)
		}
	}
	if len(ls) == 0 {
		return nil, nil
	}
	// EVALSHA needs the script loaded; a pipeline cannot load it on
	// NOSCRIPT as Run does, so the links it refused (none ran) are sent
	// again once it is loaded.
	out := make([]storage.Persona, len(ls))
	pending := make([]int, len(ls))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		cmds := make([]*goredis.Cmd, len(pending))
		_, perr := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for j, i := range pending {
				cmds[j] = linkPersonaScript.EvalSha(ctx, p, nil, s.linkArgs(ls[i])...)
			}
			return nil
		})
		var again []int
		for j, c := range cmds {
			i := pending[j]
			res, err := c.StringSlice()
			if err != nil && attempt == 0 && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				again = append(again, i)
				continue
			}
			if err != nil {
				return nil, s.wrap("link persona of "+ls[i].AdID, err)
			}
			if out[i], err = linkReply(ls[i], res); err != nil {
				return nil, err
			}
		}
		if perr != nil && len(again) == 0 {
			return nil, s.wrap(fmt.Sprintf("link personas of %d ads", len(ls)), perr)
		}
		if len(again) > 0 {
			if err := linkPersonaScript.Load(ctx, s.rdb).Err(); err != nil {
				return nil, s.wrap(fmt.Sprintf("link personas of %d ads", len(ls)), err)
			}
		}
		pending = again
	}
	return out, nil
}

func linkReply(l storage.PersonaLink, res []string) (storage.Persona, error) {
	if len(res) != 5 {
		return storage.Persona{}, fmt.Errorf("link persona of %s: unexpected reply %q", l.AdID, res)
	}
	return personaFrom(res[0], res[1], res[2], res[3], res[4])
}

func (s *Store) resolvePersona(ctx context.Context, id string) (string, error) {
	into, err := s.rdb.HGet(ctx, s.k("p:fwd"), id).Result()
	if errors.Is(err, goredis.Nil) {
		return id, nil
	}
	if err != nil {
		return "", s.wrap("resolve persona "+id, err)
	}
	return into, nil
}

// GetPersona returns a persona, following merges.
func (s *Store) GetPersona(ctx context.Context, id string) (storage.Persona, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return storage.Persona{}, err
	}
	h, err := s.rdb.HMGet(ctx, s.k("p:", rid), "size", "first", "last", "stats").Result()
	if err != nil {
		return storage.Persona{}, s.wrap("get persona "+id, err)
	}
	if h[0] == nil {
		return storage.Persona{}, fmt.Errorf("get persona %s: %w", id, lokerwatch.ErrNotFound)
	}
	str := func(v any) string { x, _ := v.(string); return x }
	return personaFrom(rid, str(h[0]), str(h[1]), str(h[2]), str(h[3]))
}

// PersonaOf returns the persona an ad is in.
func (s *Store) PersonaOf(ctx context.Context, adID string) (storage.Persona, error) {
	id, err := s.rdb.HGet(ctx, s.k("p:ad"), adID).Result()
	if err != nil {
		return storage.Persona{}, s.wrap("persona of ad "+adID, err)
	}
	return s.GetPersona(ctx, id)
}

// PersonaAds lists member ads in join order.
func (s *Store) PersonaAds(ctx context.Context, id string, limit int) ([]string, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return nil, err
	}
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	out, err := s.rdb.ZRange(ctx, s.k("p:", rid, ":ads"), 0, stop).Result()
	return out, s.wrap("persona ads "+id, err)
}

// PersonaKeys lists the keys that link a persona, by kind and value.
func (s *Store) PersonaKeys(ctx context.Context, id string, limit int) ([]lokerwatch.IndexKey, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return nil, err
	}
	fields, err := s.rdb.SMembers(ctx, s.k("p:", rid, ":keys")).Result()
	if err != nil {
		return nil, s.wrap("persona keys "+id, err)
	}
	sort.Strings(fields)
	var out []lokerwatch.IndexKey
	for _, f := range fields {
		kind, v, _ := strings.Cut(f, ":")
		out = append(out, lokerwatch.IndexKey{Kind: lokerwatch.EntityKind(kind), Value: v})
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}
