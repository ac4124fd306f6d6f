package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The alert outbox: a hash per alert (P..'al:'..key) kept after it is
// sent, as the marker that stops a second send; a sorted set of pending
// keys by due time in ms (P..'al:due'); state counts (P..'al:n').

const luaAlert = `
local function al(key) return P..'al:'..key end
-- hold checks that ARGV[3] (the token) still holds a pending alert ARGV[2].
local function hold()
  local k = al(ARGV[2])
  if redis.call('EXISTS', k) == 0 then return redis.error_reply('LW notfound') end
  local st, tok = unpack(redis.call('HMGET', k, 'state', 'token'))
  if st ~= 'pending' or tok == '' or tok ~= ARGV[3] then return redis.error_reply('LW leaselost') end
  return k
end
`

// ARGV: P, then (key, channel, item, payload) per alert. Returns the keys added.
var addAlertsScript = newScript(luaHeader + luaAlert + `
local now = now_ms()
local added = {}
for i = 2, #ARGV, 4 do
  local key = ARGV[i]
  local k = al(key)
  if redis.call('EXISTS', k) == 0 then
    redis.call('HSET', k, 'key', key, 'channel', ARGV[i+1], 'item', ARGV[i+2], 'payload', ARGV[i+3],
      'state', 'pending', 'attempts', '0', 'nb', fmt(now), 'token', '', 'err', '', 'created', fmt(now), 'sent', '0')
    redis.call('ZADD', P..'al:due', now, key)
    redis.call('HINCRBY', P..'al:n', 'pending', 1)
    added[#added+1] = key
  end
end
return added`)

// ARGV: P, limit.
var dueAlertsScript = newScript(luaHeader + `
return redis.call('ZRANGEBYSCORE', P..'al:due', '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))`)

// ARGV: P, key, token, ttl ms. Returns the alert's fields, or {} when it
// is not pending and due.
var claimAlertScript = newScript(luaHeader + luaAlert + `
local k = al(ARGV[2])
if redis.call('EXISTS', k) == 0 then return redis.error_reply('LW notfound') end
local now = now_ms()
local st, nb = unpack(redis.call('HMGET', k, 'state', 'nb'))
if st ~= 'pending' or tonumber(nb) > now then return {} end
local until_ = now + tonumber(ARGV[4])
redis.call('HSET', k, 'token', ARGV[3], 'nb', fmt(until_))
redis.call('ZADD', P..'al:due', until_, ARGV[2])
return redis.call('HGETALL', k)`)

// ARGV: P, key, token.
var alertSentScript = newScript(luaHeader + luaAlert + `
local k = hold()
if type(k) == 'table' then return k end
redis.call('HSET', k, 'state', 'sent', 'token', '', 'err', '', 'sent', fmt(now_ms()))
redis.call('ZREM', P..'al:due', ARGV[2])
redis.call('HINCRBY', P..'al:n', 'pending', -1)
redis.call('HINCRBY', P..'al:n', 'sent', 1)
return 1`)

// ARGV: P, key, token, delay ms, reason.
var retryAlertScript = newScript(luaHeader + luaAlert + `
local k = hold()
if type(k) == 'table' then return k end
local nb = now_ms() + tonumber(ARGV[4])
redis.call('HSET', k, 'token', '', 'nb', fmt(nb), 'err', ARGV[5])
redis.call('HINCRBY', k, 'attempts', 1)
redis.call('ZADD', P..'al:due', nb, ARGV[2])
return 1`)

// ARGV: P, key, token, reason.
var alertDeadScript = newScript(luaHeader + luaAlert + `
local k = hold()
if type(k) == 'table' then return k end
redis.call('HSET', k, 'state', 'dead', 'token', '', 'err', ARGV[4])
redis.call('HINCRBY', k, 'attempts', 1)
redis.call('ZREM', P..'al:due', ARGV[2])
redis.call('HINCRBY', P..'al:n', 'pending', -1)
redis.call('HINCRBY', P..'al:n', 'dead', 1)
return 1`)

func alertFromFields(m map[string]string) *storage.Alert {
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	return &storage.Alert{
		Key: m["key"], Channel: m["channel"], ItemID: m["item"], Payload: []byte(m["payload"]),
		State: storage.AlertState(m["state"]), Attempts: int(num("attempts")), NotBefore: fromMS(num("nb")),
		LastError: m["err"], CreatedAt: fromMS(num("created")), SentAt: fromMS(num("sent")), Token: m["token"],
	}
}

// AddAlerts adds the alerts not in the outbox yet, atomically.
func (s *Store) AddAlerts(ctx context.Context, alerts []storage.Alert) ([]string, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	args := []any{s.prefix}
	for _, a := range alerts {
		if a.Key == "" {
			return nil, fmt.Errorf("add alerts: alert for item %q has no key", a.ItemID)
		}
		args = append(args, a.Key, a.Channel, a.ItemID, string(a.Payload))
	}
	keys, err := addAlertsScript.Run(ctx, s.rdb, nil, args...).StringSlice()
	if err != nil {
		return nil, s.wrap("add alerts", err)
	}
	return keys, nil
}

// DueAlerts lists pending alerts whose time has come.
func (s *Store) DueAlerts(ctx context.Context, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	keys, err := dueAlertsScript.Run(ctx, s.rdb, nil, s.prefix, limit).StringSlice()
	if err != nil {
		return nil, s.wrap("due alerts", err)
	}
	return keys, nil
}

// ClaimAlert holds a pending, due alert for ttl.
func (s *Store) ClaimAlert(ctx context.Context, key string, ttl time.Duration) (*storage.Alert, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("claim alert %s: lease must be positive, got %v", key, ttl)
	}
	tok := newToken()
	res, err := claimAlertScript.Run(ctx, s.rdb, nil, s.prefix, key, tok, ttl.Milliseconds()).Slice()
	if err != nil {
		return nil, s.wrap("claim alert "+key, err)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("claim alert %s: %w", key, lokerwatch.ErrEmpty)
	}
	return alertFromFields(flatToMap(res)), nil
}

// AlertSent marks the alert delivered.
func (s *Store) AlertSent(ctx context.Context, a *storage.Alert) error {
	return s.wrap("alert sent "+a.Key, alertSentScript.Run(ctx, s.rdb, nil, s.prefix, a.Key, a.Token).Err())
}

// RetryAlert puts the alert back, due after delay.
func (s *Store) RetryAlert(ctx context.Context, a *storage.Alert, delay time.Duration, reason string) error {
	return s.wrap("retry alert "+a.Key, retryAlertScript.Run(ctx, s.rdb, nil, s.prefix, a.Key, a.Token,
		max(delay, 0).Milliseconds(), reason).Err())
}

// AlertDead gives the alert up.
func (s *Store) AlertDead(ctx context.Context, a *storage.Alert, reason string) error {
	return s.wrap("give up alert "+a.Key, alertDeadScript.Run(ctx, s.rdb, nil, s.prefix, a.Key, a.Token, reason).Err())
}

// GetAlert reads one alert.
func (s *Store) GetAlert(ctx context.Context, key string) (*storage.Alert, error) {
	m, err := s.rdb.HGetAll(ctx, s.k("al:", key)).Result()
	if err != nil {
		return nil, s.wrap("get alert "+key, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("get alert %s: %w", key, lokerwatch.ErrNotFound)
	}
	a := alertFromFields(m)
	a.Token = ""
	return a, nil
}

// AlertStats counts alerts by state.
func (s *Store) AlertStats(ctx context.Context) (storage.AlertStats, error) {
	m, err := s.rdb.HGetAll(ctx, s.k("al:n")).Result()
	if err != nil {
		return storage.AlertStats{}, s.wrap("alert stats", err)
	}
	n := func(k string) int64 { v, _ := strconv.ParseInt(m[k], 10, 64); return v }
	return storage.AlertStats{Pending: n("pending"), Sent: n("sent"), Dead: n("dead")}, nil
}
