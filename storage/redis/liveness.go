package redis

import (
	"context"
	"strings"

	"github.com/lokerwatch/lokerwatch/storage"
)

// ARGV: P, worker, ttl ms, max deaths, in-flight tokens. A ttl of 0 ends
// the heartbeat.
var heartbeatScript = newScript(luaHeader + `
local w, ttl = ARGV[2], tonumber(ARGV[3])
if ttl <= 0 then
  redis.call('ZREM', P..'f:hb', w)
  redis.call('HDEL', P..'f:hbi', w)
  return 0
end
redis.call('ZADD', P..'f:hb', now_ms() + ttl, w)
local rec = ARGV[4]
for i = 5, #ARGV do rec = rec..' '..ARGV[i] end
redis.call('HSET', P..'f:hbi', w, rec)
return 1`)

// Heartbeat says the worker is alive for b.TTL (Redis time).
func (s *Store) Heartbeat(ctx context.Context, b storage.Beat) error {
	maxd := b.MaxDeaths
	if maxd < 1 {
		maxd = storage.DefaultMaxDeaths
	}
	args := make([]any, 0, 4+len(b.InFlight))
	args = append(args, s.prefix, b.Worker, max(b.TTL.Milliseconds(), 0), maxd)
	for _, tok := range b.InFlight {
		if tok != "" && !strings.ContainsAny(tok, " \t\r\n") {
			args = append(args, tok)
		}
	}
	return s.wrap("heartbeat of "+b.Worker, heartbeatScript.Run(ctx, s.rdb, nil, args...).Err())
}
