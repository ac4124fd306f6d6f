package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Review keys (the leased priority queue of the research notes, §6):
//
//	rv:item:<id>   HASH the item's fields (item ID = ad ID: one item per ad)
//	rv:ready       ZSET pending items by priority
//	rv:leases      ZSET claimed items by lease deadline (ms)
//	rv:decided     ZSET decided items by priority
//	rv:all         ZSET every item by priority (ListItems)
//	rv:dec:<id>    LIST decision history (JSON), oldest first
//	rv:cl:<key>    SET the items of a repost cluster (ReviewItem.Cluster)
//	audit          STREAM audit log, written in the same script as each change
//
// Priority is an integer below 2^53: score·1e13 + (1e13 − created ms), so
// higher scores come first and, among equal scores, older items.

const luaReview = `
local function audit(now, actor, action, object, remote, detail)
  local id = redis.call('XADD', P..'audit', '*', 'time', fmt(now), 'actor', actor, 'action', action,
    'object', object, 'remote', remote, 'detail', detail)
  if object ~= '' then redis.call('RPUSH', P..'audit:obj:'..object, id) end
end
local function item(id) return P..'rv:item:'..id end
local function to_pending(id)
  local prio = redis.call('HGET', item(id), 'prio')
  redis.call('HSET', item(id), 'status', 'pending', 'claimant', '', 'lease', '0')
  redis.call('ZREM', P..'rv:leases', id)
  redis.call('ZADD', P..'rv:ready', prio, id)
end
local function reap(now, limit)
  local ids = redis.call('ZRANGEBYSCORE', P..'rv:leases', '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local who = redis.call('HGET', item(id), 'claimant') or ''
    if redis.call('HGET', item(id), 'status') == 'claimed' then
      to_pending(id)
      audit(now, 'system', 'review.expire', id, '', 'lease of '..who..' expired')
    else
      redis.call('ZREM', P..'rv:leases', id)
    end
  end
  return #ids
end
local function claim(id, reviewer, now, ttl)
  local deadline = now + ttl
  redis.call('HSET', item(id), 'status', 'claimed', 'claimant', reviewer, 'lease', fmt(deadline))
  redis.call('ZREM', P..'rv:ready', id)
  redis.call('ZADD', P..'rv:leases', deadline, id)
  audit(now, reviewer, 'review.claim', id, '', '')
end
`

// ARGV: P, id, url, title, source, lang, score, category, cluster
var enqueueScript = newScript(luaHeader + luaReview + `
local id = ARGV[2]
local score = tonumber(ARGV[7])
local key = item(id)
local now = now_ms()
if redis.call('EXISTS', key) == 1 then
  local cl = redis.call('HGET', key, 'cluster')
  if (not cl or cl == '') and ARGV[9] ~= '' then
    redis.call('HSET', key, 'cluster', ARGV[9])
    redis.call('SADD', P..'rv:cl:'..ARGV[9], id)
  end
  if redis.call('HGET', key, 'status') == 'pending' then
    local created = tonumber(redis.call('HGET', key, 'created'))
    local prio = fmt(score * 1e13 + (1e13 - created))
    redis.call('HSET', key, 'score', ARGV[7], 'category', ARGV[8], 'title', ARGV[4], 'prio', prio)
    redis.call('ZADD', P..'rv:ready', prio, id)
    redis.call('ZADD', P..'rv:all', prio, id)
  end
  return {0, redis.call('HGETALL', key)}
end
local prio = fmt(score * 1e13 + (1e13 - now))
redis.call('HSET', key, 'id', id, 'ad', id, 'url', ARGV[3], 'title', ARGV[4], 'source', ARGV[5],
  'lang', ARGV[6], 'score', ARGV[7], 'category', ARGV[8], 'status', 'pending', 'created', fmt(now),
  'claimant', '', 'lease', '0', 'verdict', '', 'reviewer', '', 'decided', '0', 'note', '', 'prio', prio,
  'cluster', ARGV[9])
redis.call('ZADD', P..'rv:ready', prio, id)
redis.call('ZADD', P..'rv:all', prio, id)
if ARGV[9] ~= '' then redis.call('SADD', P..'rv:cl:'..ARGV[9], id) end
audit(now, 'system', 'review.enqueue', id, '', 'score '..ARGV[7]..' '..ARGV[8])
return {1, redis.call('HGETALL', key)}`)

// ARGV: P, reviewer, ttl ms, offset, count, category, source, lang, since ms, until ms
// Scans a window of the ready set (highest priority first) for the first
// item matching the filter and claims it. Returns {1, item} or {0, scanned}.
var claimNextScript = newScript(luaHeader + luaReview + `
local reviewer, ttl, off, cnt = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local fcat, fsrc, flang, since, untl = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local now = now_ms()
reap(now, 100)
local ids = redis.call('ZREVRANGE', P..'rv:ready', off, off + cnt - 1)
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', item(id), 'category', 'source', 'lang', 'created')
  local created = tonumber(f[4] or '0')
  if (fcat == '' or f[1] == fcat) and (fsrc == '' or f[2] == fsrc) and (flang == '' or f[3] == flang)
     and (since == 0 or created >= since) and (untl == 0 or created < untl) then
    claim(id, reviewer, now, ttl)
    return {1, redis.call('HGETALL', item(id))}
  end
end
return {0, #ids}`)

// ARGV: P, id, reviewer, ttl ms
var claimItemScript = newScript(luaHeader + luaReview + `
local id, reviewer, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = item(id)
if redis.call('EXISTS', key) == 0 then return redis.error_reply('LW notfound') end
local f = redis.call('HMGET', key, 'status', 'claimant', 'lease')
local now = now_ms()
if f[1] == 'decided' then return redis.error_reply('LW decided') end
if f[1] == 'claimed' and f[2] ~= reviewer then
  if tonumber(f[3]) > now then return redis.error_reply('LW notclaimant') end
  audit(now, 'system', 'review.expire', id, '', 'lease of '..f[2]..' expired')
end
claim(id, reviewer, now, ttl)
return redis.call('HGETALL', key)`)

// ARGV: P, id, reviewer, ttl ms
var renewItemScript = newScript(luaHeader + luaReview + `
local id, reviewer, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = item(id)
if redis.call('EXISTS', key) == 0 then return redis.error_reply('LW notfound') end
local f = redis.call('HMGET', key, 'status', 'claimant', 'lease')
local now = now_ms()
if f[1] ~= 'claimed' or f[2] ~= reviewer or tonumber(f[3]) <= now then
  return redis.error_reply('LW notclaimant')
end
local deadline = now + ttl
redis.call('HSET', key, 'lease', fmt(deadline))
redis.call('ZADD', P..'rv:leases', deadline, id)
audit(now, reviewer, 'review.renew', id, '', '')
return fmt(deadline)`)

// ARGV: P, id, reviewer
var releaseItemScript = newScript(luaHeader + luaReview + `
local id, reviewer = ARGV[2], ARGV[3]
local key = item(id)
if redis.call('EXISTS', key) == 0 then return redis.error_reply('LW notfound') end
local f = redis.call('HMGET', key, 'status', 'claimant', 'lease')
local now = now_ms()
if f[1] == 'decided' then return redis.error_reply('LW decided') end
if f[1] ~= 'claimed' or f[2] ~= reviewer or tonumber(f[3]) <= now then
  return redis.error_reply('LW notclaimant')
end
to_pending(id)
audit(now, reviewer, 'review.release', id, '', '')
return 1`)

// ARGV: P, id, reviewer, verdict, note, remote, amend, decided ms (0 = now)
var decideScript = newScript(luaHeader + luaReview + `
local id, reviewer, verdict, note, remote = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local amend = ARGV[7] == '1'
local key = item(id)
if redis.call('EXISTS', key) == 0 then return redis.error_reply('LW notfound') end
local f = redis.call('HMGET', key, 'status', 'claimant', 'lease', 'verdict', 'prio')
local now = now_ms()
if f[1] == 'decided' and not amend then return redis.error_reply('LW decided') end
if f[1] == 'claimed' and f[2] ~= reviewer and tonumber(f[3]) > now then
  return redis.error_reply('LW notclaimant')
end
local at = tonumber(ARGV[8])
if at == 0 then at = now end
redis.call('ZREM', P..'rv:leases', id)
if verdict == 'escalate' then
  redis.call('HSET', key, 'status', 'pending', 'claimant', '', 'lease', '0', 'verdict', verdict,
    'reviewer', reviewer, 'note', note)
  redis.call('ZREM', P..'rv:decided', id)
  redis.call('ZADD', P..'rv:ready', f[5], id)
else
  redis.call('HSET', key, 'status', 'decided', 'claimant', '', 'lease', '0', 'verdict', verdict,
    'reviewer', reviewer, 'decided', fmt(at), 'note', note)
  redis.call('ZREM', P..'rv:ready', id)
  redis.call('ZADD', P..'rv:decided', f[5], id)
end
redis.call('RPUSH', P..'rv:dec:'..id, cjson.encode({item_id = id, ad_id = redis.call('HGET', key, 'ad'),
  verdict = verdict, reviewer = reviewer, note = note, decided_at = fmt(at), amend = amend, remote = remote}))
local action = 'review.decide'
if amend and f[1] == 'decided' then action = 'review.amend' end
local detail = verdict
if f[4] and f[4] ~= '' then detail = f[4]..' -> '..verdict end
audit(now, reviewer, action, id, remote, detail)
return redis.call('HGETALL', key)`)

// ARGV: P, limit
var reapClaimsScript = newScript(luaHeader + luaReview + `
return reap(now_ms(), tonumber(ARGV[2]))`)

func clampScore(a *lokerwatch.Assessment) (int, lokerwatch.Category) {
	if a == nil {
		return 0, lokerwatch.CategoryNone
	}
	return min(max(a.Score, 0), 100), a.Category
}

// itemFromFields builds a ReviewItem from HGETALL output (flat or map).
func itemFromFields(m map[string]string) *lokerwatch.ReviewItem {
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	return &lokerwatch.ReviewItem{
		ID: m["id"], AdID: m["ad"], URL: m["url"], Title: m["title"], Source: m["source"],
		Lang: m["lang"], Score: int(num("score")), Category: lokerwatch.Category(m["category"]),
		Status: lokerwatch.ReviewStatus(m["status"]), CreatedAt: fromMS(num("created")),
		Claimant: m["claimant"], LeaseUntil: fromMS(num("lease")),
		Verdict: lokerwatch.Verdict(m["verdict"]), Reviewer: m["reviewer"],
		DecidedAt: fromMS(num("decided")), Note: m["note"], Cluster: m["cluster"],
	}
}

func flatToMap(v any) map[string]string {
	arr, _ := v.([]any)
	m := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m
}

// Enqueue adds the ad's review item once. Two workers enqueueing the same
// ad at once get one item: the script checks and creates atomically.
func (s *Store) Enqueue(ctx context.Context, ad *lokerwatch.Ad) (*lokerwatch.ReviewItem, bool, error) {
	if ad == nil || ad.ID == "" {
		return nil, false, fmt.Errorf("enqueue review item: ad without ID")
	}
	score, cat := clampScore(ad.Assessment)
	cluster, err := storage.ReviewCluster(ctx, s, ad)
	if err != nil {
		return nil, false, fmt.Errorf("enqueue review item for ad %s: %w", ad.ID, err)
	}
	res, err := enqueueScript.Run(ctx, s.rdb, nil, s.prefix, ad.ID, ad.URL, ad.Title, ad.Source, ad.Lang,
		score, string(cat), cluster).Slice()
	if err != nil {
		return nil, false, s.wrap("enqueue review item for ad "+ad.ID, err)
	}
	return itemFromFields(flatToMap(res[1])), res[0] == int64(1), nil
}

// claimWindow is how many ready items one ClaimNext script call inspects.
const claimWindow = 200

// ClaimNext claims the highest-priority pending item matching f.
func (s *Store) ClaimNext(ctx context.Context, reviewer string, ttl time.Duration, f storage.ReviewFilter) (*lokerwatch.ReviewItem, error) {
	if reviewer == "" || ttl <= 0 {
		return nil, fmt.Errorf("claim next review item: need a reviewer and a positive lease (got %q, %v)", reviewer, ttl)
	}
	for off := 0; ; off += claimWindow {
		res, err := claimNextScript.Run(ctx, s.rdb, nil, s.prefix, reviewer, ttl.Milliseconds(), off, claimWindow,
			string(f.Category), f.Source, f.Lang, ms(f.Since), ms(f.Until)).Slice()
		if err != nil {
			return nil, s.wrap("claim next review item", err)
		}
		if res[0] == int64(1) {
			return itemFromFields(flatToMap(res[1])), nil
		}
		if n, _ := res[1].(int64); n < claimWindow {
			return nil, fmt.Errorf("claim next review item: %w", lokerwatch.ErrEmpty)
		}
	}
}

// ClaimItem claims one item by ID.
func (s *Store) ClaimItem(ctx context.Context, id, reviewer string, ttl time.Duration) (*lokerwatch.ReviewItem, error) {
	if reviewer == "" || ttl <= 0 {
		return nil, fmt.Errorf("claim review item %s: need a reviewer and a positive lease (got %q, %v)", id, reviewer, ttl)
	}
	res, err := claimItemScript.Run(ctx, s.rdb, nil, s.prefix, id, reviewer, ttl.Milliseconds()).Result()
	if err != nil {
		return nil, s.wrap("claim review item "+id, err)
	}
	return itemFromFields(flatToMap(res)), nil
}

// RenewItem extends reviewer's live lease on id.
func (s *Store) RenewItem(ctx context.Context, id, reviewer string, ttl time.Duration) error {
	err := renewItemScript.Run(ctx, s.rdb, nil, s.prefix, id, reviewer, ttl.Milliseconds()).Err()
	return s.wrap("renew review item "+id, err)
}

// ReleaseItem puts a claimed item back in the queue at its priority.
func (s *Store) ReleaseItem(ctx context.Context, id, reviewer string) error {
	err := releaseItemScript.Run(ctx, s.rdb, nil, s.prefix, id, reviewer).Err()
	return s.wrap("release review item "+id, err)
}

// Decide records a decision, appends it to the history and the audit log
// in one script.
func (s *Store) Decide(ctx context.Context, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error) {
	op := "decide review item " + d.ItemID
	if _, err := lokerwatch.ParseVerdict(string(d.Verdict)); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if d.Reviewer == "" {
		return nil, fmt.Errorf("%s: no reviewer", op)
	}
	amend := "0"
	if d.Amend {
		amend = "1"
	}
	res, err := decideScript.Run(ctx, s.rdb, nil, s.prefix, d.ItemID, d.Reviewer, string(d.Verdict), d.Note,
		d.Remote, amend, ms(d.DecidedAt)).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return itemFromFields(flatToMap(res)), nil
}

// GetItem returns one review item.
func (s *Store) GetItem(ctx context.Context, id string) (*lokerwatch.ReviewItem, error) {
	m, err := s.rdb.HGetAll(ctx, s.k("rv:item:", id)).Result()
	if err != nil {
		return nil, s.wrap("get review item "+id, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("review item %s: %w", id, lokerwatch.ErrNotFound)
	}
	return itemFromFields(m), nil
}

// ItemForAd returns the review item of an ad (its ID is the ad's).
func (s *Store) ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error) {
	it, err := s.GetItem(ctx, adID)
	if err != nil {
		return nil, fmt.Errorf("review item for ad %s: %w", adID, err)
	}
	return it, nil
}

// listScanBudget bounds how many index entries one listScript call reads
// (a script blocks the server while it runs); ListItems resumes where the
// last call stopped.
const listScanBudget = 2000

// ARGV: P, index key, rank to start at, matches to skip, items wanted,
// category, source, lang, since ms, until ms (0 = any), scan budget.
// Returns {next rank or -1 at the end, matches still to skip, {HGETALL...}}.
// Lapsed claims are reaped first: they count as pending. Without filters
// the page is read by rank; with filters the index is scanned in priority
// order, reading only the filtered fields until the page is full.
var listScript = newScript(luaHeader + luaReview + `
local key = P..ARGV[2]
local pos, skip, need = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local fcat, fsrc, flang, since, untl = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local budget = tonumber(ARGV[11])
reap(now_ms(), 1000)
local out = {}
if fcat == '' and fsrc == '' and flang == '' and since == 0 and untl == 0 then
  local ids = redis.call('ZREVRANGE', key, pos + skip, pos + skip + need - 1)
  for _, id in ipairs(ids) do
    local h = redis.call('HGETALL', item(id))
    if #h > 0 then out[#out + 1] = h end
  end
  if #ids < need then return {-1, 0, out} end
  return {pos + skip + #ids, 0, out}
end
local scanned = 0
while scanned < budget do
  local ids = redis.call('ZREVRANGE', key, pos, pos + 255)
  for _, id in ipairs(ids) do
    pos = pos + 1
    local f = redis.call('HMGET', item(id), 'category', 'source', 'lang', 'created')
    local created = tonumber(f[4] or '0') or 0
    if f[1] and (fcat == '' or f[1] == fcat) and (fsrc == '' or f[2] == fsrc) and (flang == '' or f[3] == flang)
       and (since == 0 or created >= since) and (untl == 0 or created < untl) then
      if skip > 0 then
        skip = skip - 1
      else
        out[#out + 1] = redis.call('HGETALL', item(id))
        if #out >= need then return {pos, skip, out} end
      end
    end
  end
  if #ids < 256 then return {-1, skip, out} end
  scanned = scanned + #ids
end
return {pos, skip, out}`)

// ListItems returns items by priority, paging through the priority index
// inside Redis: only the rows of the page come back.
func (s *Store) ListItems(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	switch {
	case f.Arranged():
		all, err := s.ListItems(ctx, f.Selection())
		if err != nil {
			return nil, err
		}
		return storage.ArrangeItems(all, f), nil
	case f.Group:
		return storage.GroupInPriority(ctx, s.ListItems, s.countClusters, f)
	case f.Cluster != "":
		return s.listCluster(ctx, f)
	}
	key := "rv:all"
	switch f.Status {
	case lokerwatch.StatusPending:
		key = "rv:ready"
	case lokerwatch.StatusDecided:
		key = "rv:decided"
	case lokerwatch.StatusClaimed:
		return s.listClaimed(ctx, f)
	case "":
	default:
		return nil, nil // no such status: nothing has it
	}
	var out []lokerwatch.ReviewItem
	pos, skip := int64(0), int64(max(f.Offset, 0))
	for {
		need := int64(500)
		if f.Limit > 0 {
			need = int64(f.Limit - len(out))
		}
		res, err := listScript.Run(ctx, s.rdb, nil, s.prefix, key, pos, skip, need, string(f.Category), f.Source, f.Lang,
			ms(f.Since), ms(f.Until), listScanBudget).Slice()
		if err != nil {
			return nil, s.wrap("list review items", err)
		}
		if len(res) != 3 {
			return nil, fmt.Errorf("list review items: script answered %d values, want 3", len(res))
		}
		next, _ := res[0].(int64)
		skip, _ = res[1].(int64)
		rows, _ := res[2].([]any)
		for _, r := range rows {
			out = append(out, *itemFromFields(flatToMap(r)))
		}
		if next < 0 || (f.Limit > 0 && len(out) >= f.Limit) {
			return out, nil
		}
		pos = next
	}
}

// listCluster lists the members of one cluster (the set rv:cl:<cluster>,
// or the one item of an "item:ID" key) matching f, in priority order.
func (s *Store) listCluster(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	op := "list review items of cluster " + f.Cluster
	if err := reapClaimsScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	var ids []string
	if id, ok := strings.CutPrefix(f.Cluster, "item:"); ok {
		ids = []string{id}
	} else {
		var err error
		if ids, err = s.rdb.SMembers(ctx, s.k("rv:cl:", f.Cluster)).Result(); err != nil {
			return nil, s.wrap(op, err)
		}
	}
	items, err := s.itemsByID(ctx, ids)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	out := items[:0]
	for _, it := range items {
		if it.ClusterKey() == f.Cluster && matchItem(&it, f) {
			out = append(out, it)
		}
	}
	return pagePriority(out, f), nil
}

// countClusters counts the members of each cluster in keys matching f's
// selection: the sets in one round trip, their items in another.
func (s *Store) countClusters(ctx context.Context, f storage.ReviewFilter, keys []string) (map[string]int, error) {
	f.Cluster = ""
	if err := reapClaimsScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Err(); err != nil {
		return nil, s.wrap("count clusters", err)
	}
	sets := make([]*goredis.StringSliceCmd, len(keys))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			sets[i] = p.SMembers(ctx, s.k("rv:cl:", k))
		}
		return nil
	}); err != nil {
		return nil, s.wrap("count clusters", err)
	}
	var ids []string
	for _, c := range sets {
		ids = append(ids, c.Val()...)
	}
	items, err := s.itemsByID(ctx, ids)
	if err != nil {
		return nil, s.wrap("count clusters", err)
	}
	out := make(map[string]int, len(keys))
	for _, it := range items {
		if matchItem(&it, f) {
			out[it.Cluster]++
		}
	}
	return out, nil
}

// itemsByID reads items in one round trip, skipping those that are gone.
func (s *Store) itemsByID(ctx context.Context, ids []string) ([]lokerwatch.ReviewItem, error) {
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k("rv:item:", id))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]lokerwatch.ReviewItem, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) > 0 {
			out = append(out, *itemFromFields(c.Val()))
		}
	}
	return out, nil
}

// pagePriority puts items in the order of the priority index: score, then
// oldest, then (as ZREVRANGE breaks ties) the larger ID; and pages them.
func pagePriority(out []lokerwatch.ReviewItem, f storage.ReviewFilter) []lokerwatch.ReviewItem {
	slices.SortFunc(out, func(a, b lokerwatch.ReviewItem) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out = out[min(max(f.Offset, 0), len(out)):]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// listClaimed lists live claims: few (one or two per reviewer), so they are
// read from the lease index and put in priority order here.
func (s *Store) listClaimed(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	if err := reapClaimsScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Err(); err != nil {
		return nil, s.wrap("list claimed review items", err)
	}
	ids, err := s.rdb.ZRange(ctx, s.k("rv:leases"), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("list claimed review items", err)
	}
	items, err := s.itemsByID(ctx, ids)
	if err != nil {
		return nil, s.wrap("list claimed review items", err)
	}
	var out []lokerwatch.ReviewItem
	for _, it := range items {
		if matchItem(&it, f) {
			out = append(out, it)
		}
	}
	return pagePriority(out, f), nil
}

func matchItem(it *lokerwatch.ReviewItem, f storage.ReviewFilter) bool {
	return (f.Status == "" || it.Status == f.Status) &&
		(f.Category == "" || it.Category == f.Category) &&
		(f.Source == "" || it.Source == f.Source) &&
		(f.Lang == "" || it.Lang == f.Lang) &&
		(f.Since.IsZero() || !it.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || it.CreatedAt.Before(f.Until))
}

// ARGV: P. Reaps lapsed claims and counts each status, in one round trip.
var countScript = newScript(luaHeader + luaReview + `
reap(now_ms(), 1000)
return {redis.call('ZCARD', P..'rv:ready'), redis.call('ZCARD', P..'rv:leases'), redis.call('ZCARD', P..'rv:decided')}`)

// CountItems counts items per status.
func (s *Store) CountItems(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error) {
	res, err := countScript.Run(ctx, s.rdb, nil, s.prefix).Int64Slice()
	if err != nil {
		return nil, s.wrap("count review items", err)
	}
	if len(res) != 3 {
		return nil, fmt.Errorf("count review items: script answered %d values, want 3", len(res))
	}
	return map[lokerwatch.ReviewStatus]int64{
		lokerwatch.StatusPending: res[0], lokerwatch.StatusClaimed: res[1], lokerwatch.StatusDecided: res[2],
	}, nil
}

type decisionRec struct {
	ItemID    string `json:"item_id"`
	AdID      string `json:"ad_id"`
	Verdict   string `json:"verdict"`
	Reviewer  string `json:"reviewer"`
	Note      string `json:"note"`
	DecidedAt string `json:"decided_at"`
	Amend     bool   `json:"amend"`
	Remote    string `json:"remote"`
}

// Decisions returns an item's decision history, oldest first.
func (s *Store) Decisions(ctx context.Context, itemID string) ([]lokerwatch.Decision, error) {
	recs, err := s.rdb.LRange(ctx, s.k("rv:dec:", itemID), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("decisions of "+itemID, err)
	}
	out := make([]lokerwatch.Decision, 0, len(recs))
	for _, r := range recs {
		var d decisionRec
		if err := json.Unmarshal([]byte(r), &d); err != nil {
			return nil, fmt.Errorf("decisions of %s: stored record: %w", itemID, err)
		}
		at, _ := strconv.ParseInt(d.DecidedAt, 10, 64)
		out = append(out, lokerwatch.Decision{
			ItemID: d.ItemID, AdID: d.AdID, Verdict: lokerwatch.Verdict(d.Verdict), Reviewer: d.Reviewer,
			Note: d.Note, DecidedAt: fromMS(at), Amend: d.Amend, Remote: d.Remote,
		})
	}
	return out, nil
}

// ReapClaims returns items with expired leases to the queue.
func (s *Store) ReapClaims(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := reapClaimsScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Int()
		if err != nil {
			return total, s.wrap("reap review claims", err)
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// oldestPendingScript finds the smallest creation time among ready items;
// it is encoded in each priority as 1e13 − created ms.
var oldestPendingScript = newScript(`
local best = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 2, #entries, 2 do
  local rest = math.fmod(tonumber(entries[i]), 1e13)
  if rest > best then best = rest end
end
if best == 0 then return '0' end
return string.format('%.0f', 1e13 - best)
`)

// OldestPending returns when the oldest pending item was queued (zero when
// none is pending); the metrics collector reports its age. It reads the
// whole ready set, which is fine at scrape intervals for review backlogs.
func (s *Store) OldestPending(ctx context.Context) (time.Time, error) {
	if err := reapClaimsScript.Run(ctx, s.rdb, nil, s.prefix, 1000).Err(); err != nil {
		return time.Time{}, s.wrap("oldest pending review item", err)
	}
	v, err := oldestPendingScript.Run(ctx, s.rdb, []string{s.k("rv:ready")}).Text()
	if err != nil {
		return time.Time{}, s.wrap("oldest pending review item", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
