package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Robots answers are kept as "status\nbody" under robots:<key> with a Redis
// TTL, so every worker shares them and they expire by themselves.

// GetRobots returns a cached robots.txt; found is false when absent or expired.
func (s *Store) GetRobots(ctx context.Context, key string) ([]byte, int, bool, error) {
	v, err := s.rdb.Get(ctx, s.k("robots:", key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, s.wrap("get robots.txt of "+key, err)
	}
	head, body, ok := bytes.Cut(v, []byte("\n"))
	status, err := strconv.Atoi(string(head))
	if !ok || err != nil {
		return nil, 0, false, fmt.Errorf("get robots.txt of %s: malformed cache entry", key)
	}
	return body, status, true, nil
}

// PutRobots caches a robots.txt answer for ttl.
func (s *Store) PutRobots(ctx context.Context, key string, body []byte, status int, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("put robots.txt of %s: ttl %v must be positive", key, ttl)
	}
	v := make([]byte, 0, len(body)+8)
	v = strconv.AppendInt(v, int64(status), 10)
	v = append(v, '\n')
	v = append(v, body...)
	return s.wrap("put robots.txt of "+key, s.rdb.Set(ctx, s.k("robots:", key), v, ttl).Err())
}
