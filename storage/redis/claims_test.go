package redis_test

// Tests that back what docs/operator.md says about Redis: the memory a queued
// URL costs and the retry back-off.

import (
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestQueuedURLMemory measures what a queued URL costs in Redis
// (docs/operator.md: about 700 bytes until it is done), with URLs of a real
// job board's length (about 80 bytes) on 50 hosts, the exact seen set.
func TestQueuedURLMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("queues 20,000 URLs")
	}
	srv := redistest.Start(t, redistest.Config{})
	c := redisClient(t, srv)
	s := openStore(t, srv, redis.Options{})
	ctx := ctxT(t)
	const n = 20_000
	before := usedMemory(t, c)
	var reqs []storage.Request
	for i := range n {
		reqs = append(reqs, storage.Request{
			URL:    fmt.Sprintf("https://www.loker-host%02d.example.co.id/lowongan/%07d-customer-service-phnom-penh", i%50, i),
			Source: "board", Depth: 2, Kind: "page",
		})
		if len(reqs) == 500 {
			if _, err := s.Add(ctx, reqs...); err != nil {
				t.Fatal(err)
			}
			reqs = reqs[:0]
		}
	}
	per := float64(usedMemory(t, c)-before) / n
	t.Logf("%.0f bytes of Redis memory per queued URL (%d URLs)", per, n)
	if per < 500 || per > 900 {
		t.Errorf("%.0f bytes per queued URL; docs/operator.md says about 700: measure again and update it", per)
	}
}

// TestRetryBackoff: a retryable failure comes back after
// 1s·2^(attempts−1), capped at 1 h (the default Options). The ready time
// is read from the host's queue (Redis time around each Fail brackets
// it); the request is then made ready at once to try the next attempt
// without waiting the back-off out.
func TestRetryBackoff(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	c := redisClient(t, srv)
	prefix := fmt.Sprintf("backoff%d:", prefixSeq.Add(1))
	s := openStore(t, srv, redis.Options{Prefix: prefix})
	ctx := ctxT(t)
	const url, host = "http://retry.example/job/1", "retry.example"
	if _, err := s.Add(ctx, storage.Request{URL: url, Kind: "page"}); err != nil {
		t.Fatal(err)
	}
	redisMS := func() int64 {
		tm, err := c.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	const maxAttempts = 16
	for attempt := 1; attempt < maxAttempts; attempt++ {
		l, err := s.ClaimRequest(ctx, "w", time.Minute)
		if err != nil {
			t.Fatalf("attempt %d: claim: %v", attempt, err)
		}
		if l.Attempts != attempt-1 {
			t.Fatalf("claim %d has Attempts %d", attempt, l.Attempts)
		}
		t0 := redisMS()
		if err := s.Fail(ctx, l, storage.FailOptions{Reason: "HTTP 503", Retry: true, MaxAttempts: maxAttempts}); err != nil {
			t.Fatal(err)
		}
		t1 := redisMS()
		ready, err := c.ZScore(ctx, prefix+"f:q:"+host, url).Result()
		if err != nil {
			t.Fatalf("attempt %d: the URL is not queued again: %v", attempt, err)
		}
		want := min(time.Second<<(attempt-1), time.Hour).Milliseconds()
		if got := int64(ready); got < t0+want || got > t1+want {
			t.Errorf("after failure %d the URL is ready %d ms after the failure, want %d", attempt, got-t0, want)
		}
		// Ready now, for the next attempt.
		if err := c.ZAdd(ctx, prefix+"f:q:"+host, goredis.Z{Score: 0, Member: url}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, prefix+"f:sched", goredis.Z{Score: 0, Member: host}).Err(); err != nil {
			t.Fatal(err)
		}
	}
}
