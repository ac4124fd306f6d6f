package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Frontier keys (all under the prefix):
//
//	f:req        HASH url -> "addedms|attempts|notbeforems|track|json": queued
//	             and in-flight requests
//	f:fin        HASH url -> d (done), f (failed) or x (dead), kept for
//	             requests that come back: Kind not "page" (seeds and
//	             listings), Recur or Revisit, so that a revisit moves the URL
//	             out of its final state in the counts; other pages would cost
//	             memory per URL for nothing
//	f:q:<host>   ZSET url by ready time (ms): the host's queue
//	f:sched      ZSET host by the time it may be fetched next; hosts with a
//	             fetch in flight or nothing queued are not in it
//	f:busy       HASH host -> number of live leases of its turn (ClaimRequests)
//	f:rest       HASH host -> ms until which the host rests (Ack/Fail HostDelay)
//	f:leases     ZSET token by lease deadline (ms)
//	f:lease      HASH token -> "host url worker"; a turn's tokens are
//	             <base>.<i>
//	f:age        ZSET url by added time, queued only (oldest queued)
//	f:cond       HASH url -> "etag\nlast-modified"
//	f:stats      HASH done, failed, dead, retried counters
//	f:failed     LIST of failed and dead requests (JSON), newest first
//	f:hb         ZSET worker by heartbeat deadline (ms)
//	f:hbi        HASH worker -> "maxdeaths token token…": its leases in
//	             flight at its last beat
//	f:deaths     HASH url -> workers that died while it was in flight
//
// Times are read with redis TIME inside the scripts, so politeness and
// leases have one clock however many machines work.

// luaHeader starts every script: P is the key prefix (ARGV[1]).
const luaHeader = `
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(n) return string.format('%d', n) end
-- call_chunks calls cmd on key (nil for MSET, MGET) with the values in
-- list, at most 1000 a call (Lua's unpack has a stack limit), and
-- gathers the replies in out when out is given.
local function call_chunks(cmd, key, list, out)
  for i = 1, #list, 1000 do
    local j = i + 999
    if j > #list then j = #list end
    local got
    if key then got = redis.call(cmd, key, unpack(list, i, j)) else got = redis.call(cmd, unpack(list, i, j)) end
    if out then
      for k = 1, #got do out[i + k - 1] = got[k] end
    end
  end
  return out
end
-- chunked runs a write command (MSET, HSET, ZADD...) over list.
local function chunked(cmd, key, list) call_chunks(cmd, key, list, nil) end
-- read_chunked is the replies of cmd (MGET, HMGET) over list.
local function read_chunked(cmd, key, list) return call_chunks(cmd, key, list, {}) end
-- push appends one value, or a pair, to the list t[k].
local function push(t, k, a, b)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  l[#l + 1] = a
  if b ~= nil then l[#l + 1] = b end
end
`

// luaFrontier has the shared frontier functions.
const luaFrontier = `
-- resched puts a host in the schedule at max(rest, first ready URL), or
-- takes it out when it has a fetch in flight or nothing queued.
local function resched(host, now)
  if redis.call('HEXISTS', P..'f:busy', host) == 1 then
    redis.call('ZREM', P..'f:sched', host)
    return
  end
  local rest = tonumber(redis.call('HGET', P..'f:rest', host) or '0')
  if rest > 0 and rest <= now then
    redis.call('HDEL', P..'f:rest', host)
    rest = 0
  end
  local first = redis.call('ZRANGE', P..'f:q:'..host, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', P..'f:sched', host)
    return
  end
  local at = tonumber(first[2])
  if rest > at then at = rest end
  redis.call('ZADD', P..'f:sched', at, host)
end

-- requeue puts a leased URL back in its host queue at time 'at'.
local function requeue(host, url, at)
  local r = redis.call('HGET', P..'f:req', url)
  if r then
    local added = string.match(r, '^(%d+)|')
    redis.call('ZADD', P..'f:q:'..host, at, url)
    redis.call('ZADD', P..'f:age', added, url)
  end
end

-- release ends a lease; returns host, url (nil when the lease is gone).
-- The host stays busy while other leases of its turn live. rec is the
-- lease record when the caller has read it already.
local function release(tok, rec)
  rec = rec or redis.call('HGET', P..'f:lease', tok)
  if not rec then return nil end
  local host, url = string.match(rec, '^(%S+) (%S+)')
  redis.call('ZREM', P..'f:leases', tok)
  redis.call('HDEL', P..'f:lease', tok)
  local n = tonumber(redis.call('HGET', P..'f:busy', host) or '0')
  if n and n > 1 then
    redis.call('HSET', P..'f:busy', host, fmt(n - 1))
  else
    redis.call('HDEL', P..'f:busy', host)
  end
  return host, url
end

-- putback queues a request given back unworked at its old place:
-- max(added, not before), attempts unchanged.
local function putback(host, url, now)
  local r = redis.call('HGET', P..'f:req', url) or ''
  local added, nb = string.match(r, '^(%d+)|%d+|(%d+)|')
  local at = tonumber(added or now)
  if tonumber(nb or 0) > at then at = tonumber(nb) end
  requeue(host, url, at)
end

-- bury makes a request dead, with reason.
local function bury(url, reason, now)
  local r = redis.call('HGET', P..'f:req', url) or (fmt(now)..'|0|0|0|{}')
  local _, att, track, data = string.match(r, '^(%d+)|(%d+)|%d+|(%d)|(.*)$')
  redis.call('HDEL', P..'f:req', url)
  redis.call('LPUSH', P..'f:failed', cjson.encode({url = url, req = data, attempts = tonumber(att),
    reason = reason, dead = true, failed_at = fmt(now)}))
  if track == '1' then redis.call('HSET', P..'f:fin', url, 'x') end
  redis.call('HINCRBY', P..'f:stats', 'dead', 1)
end

-- reap_dead reclaims every lease of the workers whose heartbeat lapsed
-- (f:hb, f:hbi): each request goes back to its place, unless it was in
-- flight when its worker died for the max-th time (f:deaths), then it is
-- dead. Returns how many leases were reclaimed.
local function reap_dead(now)
  local ws = redis.call('ZRANGEBYSCORE', P..'f:hb', '-inf', '('..fmt(now), 'LIMIT', 0, 16)
  if #ws == 0 then return 0 end
  local dead = {}
  for _, w in ipairs(ws) do
    local rec = redis.call('HGET', P..'f:hbi', w) or ''
    local maxd, toks = string.match(rec, '^(%d+)(.*)$')
    local inflight = {}
    for tok in string.gmatch(toks or '', '%S+') do inflight[tok] = true end
    dead[w] = {maxd = tonumber(maxd or '3'), inflight = inflight}
    redis.call('ZREM', P..'f:hb', w)
    redis.call('HDEL', P..'f:hbi', w)
  end
  -- A dead worker is rare: looking through every lease is cheap enough.
  local all = redis.call('HGETALL', P..'f:lease')
  local hosts, n = {}, 0
  for i = 1, #all, 2 do
    local tok, rec = all[i], all[i + 1]
    local d = dead[string.match(rec, '^%S+ %S+ (.*)$') or '']
    if d then
      local host, url = release(tok, rec)
      hosts[host] = true
      n = n + 1
      local died = 0
      if d.inflight[tok] then died = redis.call('HINCRBY', P..'f:deaths', url, 1) end
      if died >= d.maxd then
        redis.call('HDEL', P..'f:deaths', url)
        bury(url, string.format('in flight when its worker died %d times', died), now)
      else
        putback(host, url, now)
      end
    end
  end
  for host in pairs(hosts) do resched(host, now) end
  return n
end

local function reap(now, limit)
  local dn = reap_dead(now)
  local toks = redis.call('ZRANGEBYSCORE', P..'f:leases', '-inf', now, 'LIMIT', 0, limit)
  for _, tok in ipairs(toks) do
    local host, url = release(tok)
    if host then
      requeue(host, url, now)
      resched(host, now)
    else
      redis.call('ZREM', P..'f:leases', tok)
    end
  end
  return #toks + dn
end

local function rest(host, now, delay)
  if delay > 0 then
    -- now is the ack time cut to the millisecond: one more keeps the rest
    -- at least delay long (a host is ready when its time is <= now).
    local until_ = now + delay + 1
    local cur = tonumber(redis.call('HGET', P..'f:rest', host) or '0')
    if until_ > cur then redis.call('HSET', P..'f:rest', host, fmt(until_)) end
  end
end
`

// ARGV: P, kind, SEG, then 6 per request: url host data notbefore revisit seenspec
var addScript = newScript(luaHeader + luaSeen + luaFrontier + `
local now = now_ms()
-- The seen set first, one URL at a time (each is its own bits or bucket):
-- what it knew is left out unless it is a revisit.
local cand, urls = {}, {}
for b = 4, #ARGV, 6 do
  if not seen_add(ARGV[b+5]) or ARGV[b+4] == '1' then
    cand[#cand + 1] = b
    urls[#urls + 1] = ARGV[b]
  end
end
if #cand == 0 then return 0 end
-- Then every command once for the batch: a URL queued or in flight is
-- not queued again, one finished before loses its finished state.
local reqs = read_chunked('HMGET', P..'f:req', urls)
local fins = read_chunked('HMGET', P..'f:fin', urls)
local added, taken = 0, {}
local recs, ages, qs, unfin, stats = {}, {}, {}, {}, {}
for i, b in ipairs(cand) do
  local url, host, data, nb = urls[i], ARGV[b+1], ARGV[b+2], tonumber(ARGV[b+3])
  if not reqs[i] and not taken[url] then
    taken[url] = true
    if fins[i] then
      unfin[#unfin + 1] = url
      local c = ({d = 'done', f = 'failed', x = 'dead'})[fins[i]]
      if c then stats[c] = (stats[c] or 0) + 1 end
    end
    push(recs, 1, url, fmt(now)..'|0|'..fmt(nb)..'|'..data)
    local at = now
    if nb > at then at = nb end
    push(qs, host, at, url)
    push(ages, 1, now, url)
    added = added + 1
  end
end
if added == 0 then return 0 end
if unfin[1] then chunked('HDEL', P..'f:fin', unfin) end
for c, n in pairs(stats) do redis.call('HINCRBY', P..'f:stats', c, -n) end
chunked('HSET', P..'f:req', recs[1])
for host, l in pairs(qs) do chunked('ZADD', P..'f:q:'..host, l) end
chunked('ZADD', P..'f:age', ages[1])
for host in pairs(qs) do resched(host, now) end
return added`)

// luaTake defines take(host, urls, worker, ttl, base, now): leases urls,
// ready URLs of host's queue, to the worker as the turn base.1 … and
// answers {1, host, deadline, then url, record, validators per request}.
// The host is busy for one more live lease per URL.
const luaTake = `
local function take(host, urls, worker, ttl, base, now)
  redis.call('ZREM', P..'f:q:'..host, unpack(urls))
  redis.call('ZREM', P..'f:age', unpack(urls))
  redis.call('ZREM', P..'f:sched', host)
  redis.call('HINCRBY', P..'f:busy', host, #urls)
  local deadline = now + ttl
  local leases, recs = {}, {}
  for i, url in ipairs(urls) do
    local tok = base..'.'..i
    leases[#leases + 1] = deadline
    leases[#leases + 1] = tok
    recs[#recs + 1] = tok
    recs[#recs + 1] = host..' '..url..' '..worker
  end
  redis.call('ZADD', P..'f:leases', unpack(leases))
  redis.call('HSET', P..'f:lease', unpack(recs))
  local reqs = redis.call('HMGET', P..'f:req', unpack(urls))
  local conds = redis.call('HMGET', P..'f:cond', unpack(urls))
  local out = {1, host, fmt(deadline)}
  for i, url in ipairs(urls) do
    out[#out + 1] = url
    out[#out + 1] = reqs[i] or ''
    out[#out + 1] = conds[i] or ''
  end
  return out
end
`

// ARGV: P, worker, ttl ms, base token, n. The answer is take's, or {0}.
var claimScript = newScript(luaHeader + luaFrontier + luaTake + `
local worker, ttl, base, n = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local now = now_ms()
reap(now, 100)
for _ = 1, 100 do
  local h = redis.call('ZRANGEBYSCORE', P..'f:sched', '-inf', now, 'LIMIT', 0, 1)
  if #h == 0 then return {0} end
  local host = h[1]
  local urls = redis.call('ZRANGEBYSCORE', P..'f:q:'..host, '-inf', now, 'LIMIT', 0, n)
  if #urls == 0 then
    resched(host, now) -- stale entry: moves the host to its first ready time
  else
    return take(host, urls, worker, ttl, base, now)
  end
end
return {0}`)

// ARGV: P, worker, ttl ms, base token, n, held token. The answer is
// take's, {0} when the turn cannot go on, or {-1} when held is not the
// worker's live lease.
var continueScript = newScript(luaHeader + luaFrontier + luaTake + `
local worker, ttl, base, n, held = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6]
local now = now_ms()
reap(now, 100)
local dl = redis.call('ZSCORE', P..'f:leases', held)
local rec = redis.call('HGET', P..'f:lease', held)
if not dl or tonumber(dl) <= now or not rec then return {-1} end
local host, w = string.match(rec, '^(%S+) %S+ (.*)$')
if w ~= worker then return {-1} end
-- A host waiting in the schedule is served before this one goes on (the
-- held host is busy, so it is not there itself).
if #redis.call('ZRANGEBYSCORE', P..'f:sched', '-inf', now, 'LIMIT', 0, 1) > 0 then return {0} end
local urls = redis.call('ZRANGEBYSCORE', P..'f:q:'..host, '-inf', now, 'LIMIT', 0, n)
if #urls == 0 then return {0} end
return take(host, urls, worker, ttl, base, now)`)

// ARGV: P, ttl ms, tokens. The answer is {deadline, 1-based positions of
// the lost leases...}.
var extendScript = newScript(luaHeader + `
local ttl = tonumber(ARGV[2])
local deadline = now_ms() + ttl
local out = {fmt(deadline)}
for i = 3, #ARGV do
  if redis.call('ZSCORE', P..'f:leases', ARGV[i]) then
    redis.call('ZADD', P..'f:leases', deadline, ARGV[i])
  else
    out[#out + 1] = i - 2
  end
end
return out`)

// luaAck defines ack(tok, delay, etag, lm, now, rec): the host acked, nil
// when the lease is gone (rec: the lease record, if read already). The
// caller reschedules the host and counts the request done.
const luaAck = `
local function ack(tok, delay, etag, lm, now, rec)
  local host, url = release(tok, rec)
  if not host then return nil end
  local r = redis.call('HGET', P..'f:req', url) or ''
  if string.match(r, '^%d+|%d+|%d+|1|') then redis.call('HSET', P..'f:fin', url, 'd') end
  redis.call('HDEL', P..'f:req', url)
  redis.call('HDEL', P..'f:deaths', url)
  if etag ~= '' or lm ~= '' then
    redis.call('HSET', P..'f:cond', url, etag..'\n'..lm)
  end
  rest(host, now, delay)
  return host
end
`

// ARGV: P, token, host delay ms, etag, last-modified
var ackScript = newScript(luaHeader + luaFrontier + luaAck + `
local now = now_ms()
local host = ack(ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], now)
if not host then
  return redis.error_reply('LW leaselost')
end
redis.call('HINCRBY', P..'f:stats', 'done', 1)
resched(host, now)
return 1`)

// ARGV: P, tokens. Leases no longer held are skipped; the answer is how
// many were given back.
var releaseScript = newScript(luaHeader + luaFrontier + `
local now = now_ms()
local hosts, n = {}, 0
for i = 2, #ARGV do
  local host, url = release(ARGV[i])
  if host then
    putback(host, url, now)
    hosts[host] = true
    n = n + 1
  end
end
for host in pairs(hosts) do resched(host, now) end
return n`)

// ARGV: P, token, reason, retry, max attempts, host delay ms, back-off base ms, back-off max ms
var failScript = newScript(luaHeader + luaFrontier + `
local tok, reason, retry, maxa = ARGV[2], ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local delay, base, cap = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local now = now_ms()
local host, url = release(tok)
if not host then return redis.error_reply('LW leaselost') end
local r = redis.call('HGET', P..'f:req', url) or (fmt(now)..'|0|0|0|{}')
local added, att, track, data = string.match(r, '^(%d+)|(%d+)|%d+|(%d)|(.*)$')
att = tonumber(att) + 1
local res
if retry and att < maxa then
  local back = base * math.pow(2, att - 1)
  if back > cap then back = cap end
  redis.call('HSET', P..'f:req', url, added..'|'..fmt(att)..'|'..fmt(now + back)..'|'..track..'|'..data)
  redis.call('ZADD', P..'f:q:'..host, now + back, url)
  redis.call('ZADD', P..'f:age', added, url)
  redis.call('HINCRBY', P..'f:stats', 'retried', 1)
  res = 1
else
  redis.call('HDEL', P..'f:req', url)
  redis.call('LPUSH', P..'f:failed', cjson.encode({url = url, req = data, attempts = att,
    reason = reason, dead = retry, failed_at = fmt(now)}))
  if track == '1' then
    local fin = 'f'
    if retry then fin = 'x' end
    redis.call('HSET', P..'f:fin', url, fin)
  end
  if retry then
    redis.call('HINCRBY', P..'f:stats', 'dead', 1)
    res = 3
  else
    redis.call('HINCRBY', P..'f:stats', 'failed', 1)
    res = 2
  end
end
rest(host, now, delay)
resched(host, now)
return res`)

// ARGV: P, limit
var reapScript = newScript(luaHeader + luaFrontier + `
return reap(now_ms(), tonumber(ARGV[2]))`)

var statsScript = newScript(luaHeader + `
local n = redis.call('HLEN', P..'f:req')
local inflight = redis.call('ZCARD', P..'f:leases')
local c = redis.call('HMGET', P..'f:stats', 'done', 'failed', 'dead')
local oldest = redis.call('ZRANGE', P..'f:age', 0, 0, 'WITHSCORES')
return {n - inflight, inflight, c[1] or '0', c[2] or '0', c[3] or '0', oldest[2] or '0'}`)

// reqData is what the store keeps of a Request besides its URL.
type reqData struct {
	Source  string `json:"s,omitempty"`
	Depth   int    `json:"d,omitempty"`
	Kind    string `json:"k,omitempty"`
	Revisit bool   `json:"r,omitempty"`
}

// requestHost returns the politeness key of a canonical URL: host[:port].
func requestHost(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("empty URL")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return "", errors.New("URL contains white space (not canonical)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", errors.New("URL has no host")
	}
	return strings.ToLower(u.Host), nil
}

// addBatch bounds the arguments of one Add script call.
const addBatch = 500

// Add queues the requests whose URL was not seen (or that are Revisit and
// not queued or in flight). Bad requests are reported in the error, the
// others are still added.
func (s *Store) Add(ctx context.Context, reqs ...storage.Request) (int, error) {
	p, err := s.seenLayout(ctx)
	if err != nil {
		return 0, err
	}
	var bad []error
	total := 0
	args := s.seenArgs(p)
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		added, err := addScript.Run(ctx, s.rdb, nil, args...).Int()
		if err != nil {
			return s.wrap("add to frontier", err)
		}
		total += added
		args = s.seenArgs(p)
		n = 0
		return nil
	}
	for i, r := range reqs {
		host, err := requestHost(r.URL)
		if err != nil {
			bad = append(bad, fmt.Errorf("request %d %q: %w", i, r.URL, err))
			continue
		}
		data, err := json.Marshal(reqData{Source: r.Source, Depth: r.Depth, Kind: r.Kind, Revisit: r.Revisit})
		if err != nil {
			bad = append(bad, fmt.Errorf("request %d %q: %w", i, r.URL, err))
			continue
		}
		rev := "0"
		if r.Revisit {
			rev = "1"
		}
		track := "1|"
		if r.Kind == "page" && !r.Recur && !r.Revisit {
			track = "0|"
		}
		args = append(args, r.URL, host, track+string(data), ms(r.NotBefore), rev, p.spec(r.URL))
		n++
		if n == addBatch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	if len(bad) > 0 {
		return total, fmt.Errorf("add to frontier: %d of %d requests refused: %w", len(bad), len(reqs), errors.Join(bad...))
	}
	return total, nil
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClaimRequest takes the next ready request of a free host.
func (s *Store) ClaimRequest(ctx context.Context, worker string, ttl time.Duration) (*storage.Lease, error) {
	ls, err := s.ClaimRequests(ctx, worker, ttl, 1)
	if err != nil {
		return nil, err
	}
	return ls[0], nil
}

// ClaimRequests gives the worker a turn at one free host: up to n of its
// ready requests, in one script.
func (s *Store) ClaimRequests(ctx context.Context, worker string, ttl time.Duration, n int) ([]*storage.Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("claim request: lease ttl %v must be positive", ttl)
	}
	base := newToken()
	res, err := claimScript.Run(ctx, s.rdb, nil, s.prefix, worker, ttl.Milliseconds(), base, storage.TurnLen(n)).Slice()
	if err != nil {
		return nil, s.wrap("claim request", err)
	}
	return s.turnOf(ctx, "claim request", res, base, worker)
}

// ContinueTurn lengthens the worker's turn at held.Host while no other
// host is ready, in one script.
func (s *Store) ContinueTurn(ctx context.Context, worker string, ttl time.Duration, held *storage.Lease, n int) ([]*storage.Lease, error) {
	what := "continue turn at " + held.Host
	if ttl <= 0 {
		return nil, fmt.Errorf("%s: lease ttl %v must be positive", what, ttl)
	}
	base := newToken()
	res, err := continueScript.Run(ctx, s.rdb, nil, s.prefix, worker, ttl.Milliseconds(), base,
		storage.TurnLen(n), held.Token).Slice()
	if err != nil {
		return nil, s.wrap(what, err)
	}
	if len(res) > 0 && res[0] == int64(-1) {
		return nil, fmt.Errorf("%s: lease of %s: %w: %w", what, held.URL, lokerwatch.ErrEmpty, lokerwatch.ErrLeaseLost)
	}
	return s.turnOf(ctx, what, res, base, worker)
}

// turnOf makes the leases of a turn from a claim script's answer. A
// record that does not decode gives the whole turn back.
func (s *Store) turnOf(ctx context.Context, what string, res []any, base, worker string) ([]*storage.Lease, error) {
	if len(res) < 6 || res[0] != int64(1) || (len(res)-3)%3 != 0 {
		return nil, fmt.Errorf("%s: %w", what, lokerwatch.ErrEmpty)
	}
	str := func(i int) string { v, _ := res[i].(string); return v }
	host := str(1)
	untilMS, _ := strconv.ParseInt(str(2), 10, 64)
	until := fromMS(untilMS)
	out := make([]*storage.Lease, 0, (len(res)-3)/3)
	// The requests of a turn mostly share their record's data part (source,
	// depth, kind): it is decoded once.
	var memo reqMemo
	for i := 3; i+2 < len(res); i += 3 {
		l := &storage.Lease{Token: base + "." + strconv.Itoa(len(out)+1), Host: host, Worker: worker, Until: until}
		l.URL = str(i)
		if err := memo.parse(str(i+1), &l.Request); err != nil {
			// The lease is ours: give the turn back rather than hold it
			// until it expires.
			out = append(out, l)
			if rerr := s.Release(context.WithoutCancel(ctx), out...); rerr != nil {
				s.log.Warn("redis store: release a turn after a bad record", "err", rerr)
			}
			return nil, fmt.Errorf("%s: %s: %w", what, l.URL, err)
		}
		if c := str(i + 2); c != "" {
			l.ETag, l.LastModified, _ = strings.Cut(c, "\n")
		}
		out = append(out, l)
	}
	return out, nil
}

// reqMemo decodes frontier records, remembering the last data part.
type reqMemo struct {
	data string
	d    reqData
}

// parse fills r from "addedms|attempts|notbeforems|track|json".
func (m *reqMemo) parse(rec string, r *storage.Request) error {
	f := strings.SplitN(rec, "|", 5)
	if len(f) != 5 {
		return fmt.Errorf("malformed frontier record %q", rec)
	}
	if f[4] != m.data || m.data == "" {
		var d reqData
		if err := json.Unmarshal([]byte(f[4]), &d); err != nil {
			return fmt.Errorf("malformed frontier record: %w", err)
		}
		m.data, m.d = f[4], d
	}
	r.Attempts, _ = strconv.Atoi(f[1])
	nb, _ := strconv.ParseInt(f[2], 10, 64)
	r.NotBefore = fromMS(nb)
	d := m.d
	r.Source, r.Depth, r.Kind, r.Revisit = d.Source, d.Depth, d.Kind, d.Revisit
	return nil
}

// Extend renews leases for ttl from now.
func (s *Store) Extend(ctx context.Context, ttl time.Duration, leases ...*storage.Lease) error {
	if len(leases) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(leases))
	args = append(args, s.prefix, ttl.Milliseconds())
	for _, l := range leases {
		args = append(args, l.Token)
	}
	res, err := extendScript.Run(ctx, s.rdb, nil, args...).Slice()
	if err != nil {
		return s.wrap(fmt.Sprintf("extend lease on %s", leases[0].URL), err)
	}
	if len(res) == 0 {
		return fmt.Errorf("extend lease on %s: empty script answer", leases[0].URL)
	}
	d, _ := res[0].(string)
	untilMS, _ := strconv.ParseInt(d, 10, 64)
	lost := make(map[int]bool, len(res)-1)
	var urls []string
	for _, v := range res[1:] {
		if i, ok := v.(int64); ok && i >= 1 && int(i) <= len(leases) {
			lost[int(i)-1] = true
			urls = append(urls, leases[i-1].URL)
		}
	}
	for i, l := range leases {
		if !lost[i] {
			l.Until = fromMS(untilMS)
		}
	}
	if len(urls) > 0 {
		return fmt.Errorf("extend lease on %s: %w", strings.Join(urls, ", "), lokerwatch.ErrLeaseLost)
	}
	return nil
}

// Release gives back leases not worked on, each at its old place.
func (s *Store) Release(ctx context.Context, leases ...*storage.Lease) error {
	if len(leases) == 0 {
		return nil
	}
	args := make([]any, 0, 1+len(leases))
	args = append(args, s.prefix)
	for _, l := range leases {
		args = append(args, l.Token)
	}
	return s.wrap(fmt.Sprintf("release %d leases", len(leases)), releaseScript.Run(ctx, s.rdb, nil, args...).Err())
}

// Ack marks a request done and rests its host.
func (s *Store) Ack(ctx context.Context, l *storage.Lease, opt storage.AckOptions) error {
	err := ackScript.Run(ctx, s.rdb, nil, s.prefix, l.Token, opt.HostDelay.Milliseconds(), opt.ETag, opt.LastModified).Err()
	return s.wrap("ack "+l.URL, err)
}

// Fail requeues with back-off, or records the request as failed or dead.
func (s *Store) Fail(ctx context.Context, l *storage.Lease, opt storage.FailOptions) error {
	maxa := opt.MaxAttempts
	if maxa <= 0 {
		maxa = 3
	}
	retry := "0"
	if opt.Retry {
		retry = "1"
	}
	err := failScript.Run(ctx, s.rdb, nil, s.prefix, l.Token, opt.Reason, retry, maxa,
		opt.HostDelay.Milliseconds(), s.opts.RetryBase.Milliseconds(), s.opts.RetryMax.Milliseconds()).Err()
	return s.wrap("fail "+l.URL, err)
}

// ReapRequests returns expired leases to their queues.
func (s *Store) ReapRequests(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := reapScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Int()
		if err != nil {
			return total, s.wrap("reap requests", err)
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// FrontierStats counts the frontier's states in one atomic read.
func (s *Store) FrontierStats(ctx context.Context) (storage.FrontierStats, error) {
	var st storage.FrontierStats
	res, err := statsScript.Run(ctx, s.rdb, nil, s.prefix).Slice()
	if err != nil {
		return st, s.wrap("frontier stats", err)
	}
	num := func(i int) int64 {
		switch v := res[i].(type) {
		case int64:
			return v
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	st.Queued, st.InFlight, st.Done, st.Failed, st.Dead = num(0), num(1), num(2), num(3), num(4)
	st.OldestQueued = fromMS(num(5))
	return st, nil
}

type failedRec struct {
	URL      string `json:"url"`
	Req      string `json:"req"`
	Attempts int    `json:"attempts"`
	Reason   string `json:"reason"`
	Dead     bool   `json:"dead"`
	FailedAt string `json:"failed_at"`
}

// ListFailed returns failed and dead requests, newest first.
func (s *Store) ListFailed(ctx context.Context, limit int) ([]storage.FailedRequest, error) {
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	recs, err := s.rdb.LRange(ctx, s.k("f:failed"), 0, stop).Result()
	if err != nil {
		return nil, s.wrap("list failed requests", err)
	}
	out := make([]storage.FailedRequest, 0, len(recs))
	for _, rec := range recs {
		var fr failedRec
		if err := json.Unmarshal([]byte(rec), &fr); err != nil {
			s.log.Warn("redis store: skipping malformed failed-request record", "err", err)
			continue
		}
		var d reqData
		_ = json.Unmarshal([]byte(fr.Req), &d)
		at, _ := strconv.ParseInt(fr.FailedAt, 10, 64)
		out = append(out, storage.FailedRequest{
			Request: storage.Request{URL: fr.URL, Source: d.Source, Depth: d.Depth, Kind: d.Kind, Revisit: d.Revisit, Attempts: fr.Attempts},
			Reason:  fr.Reason, Dead: fr.Dead, FailedAt: fromMS(at),
		})
	}
	return out, nil
}

// newScript wraps redis.NewScript; Run uses EVALSHA and falls back to EVAL
// after a restart flushed the script cache.
func newScript(src string) *goredis.Script { return goredis.NewScript(src) }
