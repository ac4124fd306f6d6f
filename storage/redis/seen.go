package redis

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Seen kinds.
const (
	SeenExact = "exact"
	SeenBloom = "bloom"
)

// SeenOptions choose how URLs added to the frontier are remembered.
//
// "exact" keeps a 64-bit fingerprint of each URL in one of Capacity/256
// bucket sets (Redis encodes small integer sets as packed arrays, about 10
// bytes per URL instead of ~90 for a set of hex strings); a false "seen"
// needs two URLs agreeing on 64+ hash bits. "bloom" keeps a Bloom filter on
// Redis bitmaps sized for Capacity URLs at ErrorRate false positives (about
// 1.2 bytes per URL at 1%); a false positive drops a URL that was never
// crawled, so keep ErrorRate small.
//
// The first store to open a prefix records its seen settings in Redis;
// later stores use the recorded ones (and log when theirs differ), so all
// workers agree on the filter layout.
type SeenOptions struct {
	Kind      string  // exact (default) or bloom
	Capacity  int64   // expected URLs (default 10,000,000)
	ErrorRate float64 // bloom only (default 0.001)
}

// bloomSegmentBits is the size of one bitmap key: just under 2^26 bits
// (8 MiB), so a filter of any size is made of keys Redis can allocate and
// copy easily, and each fits jemalloc's 8 MiB size class exactly (8 MiB
// plus the string header would take the 10 MiB class).
const bloomSegmentBits = 1<<26 - 1024

// intsetTarget is how many fingerprints an exact bucket should hold at
// Capacity; Redis keeps integer sets packed up to set-max-intset-entries
// (512 by default).
const intsetTarget = 256

// seenParams is the layout recorded in Redis under <prefix>meta:seen.
type seenParams struct {
	Kind      string
	Capacity  int64
	ErrorRate float64
	Bits      uint64 // bloom: m
	Hashes    int    // bloom: k
	Buckets   uint64 // exact
}

func (o SeenOptions) params() (seenParams, error) {
	p := seenParams{Kind: o.Kind, Capacity: o.Capacity, ErrorRate: o.ErrorRate}
	if p.Kind == "" {
		p.Kind = SeenExact
	}
	if p.Capacity <= 0 {
		p.Capacity = 10_000_000
	}
	switch p.Kind {
	case SeenExact:
		p.ErrorRate = 0
		b := uint64(1)
		for b*intsetTarget < uint64(p.Capacity) {
			b <<= 1
		}
		p.Buckets = b
	case SeenBloom:
		if p.ErrorRate == 0 {
			p.ErrorRate = 0.001
		}
		if p.ErrorRate <= 0 || p.ErrorRate >= 1 {
			return p, fmt.Errorf("seen error rate %v: want a value between 0 and 1, e.g. 0.001", o.ErrorRate)
		}
		n := float64(p.Capacity)
		m := math.Ceil(-n * math.Log(p.ErrorRate) / (math.Ln2 * math.Ln2))
		p.Bits = uint64(m)
		p.Hashes = max(1, int(math.Round(m/n*math.Ln2)))
	default:
		return p, fmt.Errorf("seen kind %q: want exact or bloom", o.Kind)
	}
	return p, nil
}

func (p seenParams) fields() map[string]any {
	return map[string]any{
		"kind": p.Kind, "capacity": p.Capacity, "error_rate": strconv.FormatFloat(p.ErrorRate, 'g', -1, 64),
		"bits": p.Bits, "hashes": p.Hashes, "buckets": p.Buckets,
	}
}

func parseSeenParams(m map[string]string) (seenParams, error) {
	var p seenParams
	var err error
	p.Kind = m["kind"]
	num := func(k string) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(m[k], 10, 64)
		return v
	}
	p.Capacity = int64(num("capacity"))
	p.Bits = num("bits")
	p.Hashes = int(num("hashes"))
	p.Buckets = num("buckets")
	if err == nil {
		p.ErrorRate, err = strconv.ParseFloat(m["error_rate"], 64)
	}
	if err != nil {
		return p, fmt.Errorf("stored seen settings %v: %w", m, err)
	}
	switch {
	case p.Kind == SeenExact && p.Buckets > 0:
	case p.Kind == SeenBloom && p.Bits > 0 && p.Hashes > 0:
	default:
		return p, fmt.Errorf("stored seen settings %v are not usable", m)
	}
	return p, nil
}

// seenLayout returns the seen layout, creating it in Redis on first use.
// The bitmaps of a Bloom filter are created at their exact final size:
// growing a bitmap with SETBIT over-allocates up to 2×, which would double
// the memory per URL.
func (s *Store) seenLayout(ctx context.Context) (*seenParams, error) {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	if s.seen != nil {
		return s.seen, nil
	}
	want, err := s.opts.Seen.params()
	if err != nil {
		return nil, err
	}
	key := s.k("meta:seen")
	// The first store to get here records its settings; all others adopt them.
	res, err := setSeenScript.Run(ctx, s.rdb, []string{key}, flatten(want.fields())...).StringSlice()
	if err != nil {
		return nil, s.wrap("seen settings", err)
	}
	got := map[string]string{}
	for i := 0; i+1 < len(res); i += 2 {
		got[res[i]] = res[i+1]
	}
	p, err := parseSeenParams(got)
	if err != nil {
		return nil, err
	}
	if p.Kind != want.Kind || p.Capacity != want.Capacity || p.ErrorRate != want.ErrorRate {
		s.log.Warn("redis store: using the seen settings recorded in Redis, not the configured ones",
			"prefix", s.prefix, "recorded_kind", p.Kind, "recorded_capacity", p.Capacity,
			"recorded_error_rate", p.ErrorRate, "configured_kind", want.Kind,
			"configured_capacity", want.Capacity, "configured_error_rate", want.ErrorRate)
	}
	if p.Kind == SeenBloom {
		if err := s.createBloomSegments(ctx, p); err != nil {
			return nil, err
		}
	}
	s.seen = &p
	return s.seen, nil
}

// setSeenScript records the seen settings unless some are recorded, and
// returns the recorded ones.
var setSeenScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
end
return redis.call('HGETALL', KEYS[1])`)

func flatten(m map[string]any) []any {
	out := make([]any, 0, 2*len(m))
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

func (s *Store) createBloomSegments(ctx context.Context, p seenParams) error {
	nseg := (p.Bits + bloomSegmentBits - 1) / bloomSegmentBits
	for i := uint64(0); i < nseg; i++ {
		bits := min(uint64(bloomSegmentBits), p.Bits-i*bloomSegmentBits)
		key := s.k("seen:b:", strconv.FormatUint(i, 10))
		if err := createBitmapScript.Run(ctx, s.rdb, []string{key}, (bits+7)/8).Err(); err != nil {
			return s.wrap("create bloom filter", err)
		}
	}
	return nil
}

// createBitmapScript creates a zeroed string of exactly ARGV[1] bytes
// unless the key exists. Built inside Redis so that megabytes of zeros do
// not cross the network (nor sit in a client's query buffer).
var createBitmapScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], string.rep('\0', tonumber(ARGV[1])))
end
return 1`)

// seenSpec is the argument the Lua seen functions take for one URL:
// "bucket,fingerprint" (exact) or "i1,i2,…,ik" bit indexes (bloom), from
// two 64-bit halves of SHA-256(url) (Kirsch–Mitzenmacher double hashing).
func (p *seenParams) spec(u string) string {
	sum := sha256.Sum256([]byte(u))
	h1 := binary.BigEndian.Uint64(sum[0:8])
	h2 := binary.BigEndian.Uint64(sum[8:16])
	if p.Kind == SeenExact {
		return strconv.FormatUint(h2%p.Buckets, 10) + "," + strconv.FormatInt(int64(h1), 10)
	}
	h2 |= 1 // odd, so the k indexes differ
	var b strings.Builder
	for i := 0; i < p.Hashes; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint((h1+uint64(i)*h2)%p.Bits, 10))
	}
	return b.String()
}

// seenKindArg is what the Lua header expects in ARGV[2].
func (p *seenParams) kindArg() string {
	if p.Kind == SeenExact {
		return "x"
	}
	return "b"
}

// luaSeen defines seen_add(spec) (true when the URL was seen before; marks
// it) and seen_has(spec). Needs P (prefix), SEEN_KIND and SEG defined.
const luaSeen = `
local SEEN_KIND = ARGV[2]
local SEG = tonumber(ARGV[3])
local function seen_add(spec)
  if SEEN_KIND == 'x' then
    local b, m = string.match(spec, '^(%d+),(-?%d+)$')
    return redis.call('SADD', P..'seen:x:'..b, m) == 0
  end
  local all = true
  for v in string.gmatch(spec, '%d+') do
    local i = tonumber(v)
    local seg = math.floor(i / SEG)
    if redis.call('SETBIT', P..'seen:b:'..string.format('%d', seg), i - seg*SEG, 1) == 0 then
      all = false
    end
  end
  return all
end
local function seen_has(spec)
  if SEEN_KIND == 'x' then
    local b, m = string.match(spec, '^(%d+),(-?%d+)$')
    return redis.call('SISMEMBER', P..'seen:x:'..b, m) == 1
  end
  for v in string.gmatch(spec, '%d+') do
    local i = tonumber(v)
    local seg = math.floor(i / SEG)
    if redis.call('GETBIT', P..'seen:b:'..string.format('%d', seg), i - seg*SEG) == 0 then
      return false
    end
  end
  return true
end
`

// seenArgs are ARGV[1..3] of every script using luaSeen.
func (s *Store) seenArgs(p *seenParams) []any {
	return []any{s.prefix, p.kindArg(), bloomSegmentBits}
}

var markSeenScript = newScript(luaHeader + luaSeen + `
local n = 0
for i = 4, #ARGV do
  if not seen_add(ARGV[i]) then n = n + 1 end
end
return n`)

var hasSeenScript = newScript(luaHeader + luaSeen + `
if seen_has(ARGV[4]) then return 1 end
return 0`)

// MarkSeen records URLs in the seen set only (no frontier entry) and returns
// how many were new. It exists for loading and benchmarks; crawls use Add.
func (s *Store) MarkSeen(ctx context.Context, urls ...string) (int, error) {
	p, err := s.seenLayout(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for len(urls) > 0 {
		batch := urls[:min(len(urls), 1000)]
		urls = urls[len(batch):]
		args := s.seenArgs(p)
		for _, u := range batch {
			args = append(args, p.spec(u))
		}
		n, err := markSeenScript.Run(ctx, s.rdb, nil, args...).Int()
		if err != nil {
			return total, s.wrap("mark seen", err)
		}
		total += n
	}
	return total, nil
}

// Seen reports whether a canonical URL was ever added.
func (s *Store) Seen(ctx context.Context, u string) (bool, error) {
	p, err := s.seenLayout(ctx)
	if err != nil {
		return false, err
	}
	n, err := hasSeenScript.Run(ctx, s.rdb, nil, append(s.seenArgs(p), p.spec(u))...).Int()
	if err != nil {
		return false, s.wrap("seen "+u, err)
	}
	return n == 1, nil
}
