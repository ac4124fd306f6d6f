package redis_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

var seenURLs = flag.Int("seen-urls", 1_000_000, "URLs loaded by BenchmarkSeenMemory")

// BenchmarkFrontier measures add+claim+ack of one URL per operation with N
// goroutines (each its own worker), against a scrapy-redis style
// destructive queue (LPUSH + RPOP, no lease, no ack, no politeness) on the
// same server as the baseline.
//
//	go test -run '^$' -bench BenchmarkFrontier ./storage/redis/
func BenchmarkFrontier(b *testing.B) {
	srv := redistest.Start(b, redistest.Config{})
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("store/goroutines=%d", n), func(b *testing.B) {
			s := openStore(b, srv, redis.Options{})
			ctx := context.Background()
			var seq atomic.Int64
			start := time.Now()
			b.ResetTimer()
			runN(b, n, func() error {
				i := seq.Add(1)
				u := fmt.Sprintf("https://h%d.example/lowongan/%d", i%1000, i)
				if _, err := s.Add(ctx, storage.Request{URL: u, Source: "bench", Kind: "page"}); err != nil {
					return err
				}
				for {
					l, err := s.ClaimRequest(ctx, "w", time.Minute)
					if errors.Is(err, lokerwatch.ErrEmpty) {
						continue // another goroutine took ours; one of theirs comes
					}
					if err != nil {
						return err
					}
					return s.Ack(ctx, l, storage.AckOptions{})
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "urls/s")
		})
		b.Run(fmt.Sprintf("baseline-list/goroutines=%d", n), func(b *testing.B) {
			c := redisClient(b, srv)
			ctx := context.Background()
			key := fmt.Sprintf("bench-list-%d", prefixSeq.Add(1))
			var seq atomic.Int64
			start := time.Now()
			b.ResetTimer()
			runN(b, n, func() error {
				i := seq.Add(1)
				if err := c.LPush(ctx, key, fmt.Sprintf("https://h%d.example/lowongan/%d", i%1000, i)).Err(); err != nil {
					return err
				}
				return c.RPop(ctx, key).Err()
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "urls/s")
		})
	}
}

// runN runs op b.N times spread over n goroutines.
func runN(b *testing.B, n int, op func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					once.Do(func() { b.Error(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkSeenMemory loads -seen-urls URLs (default 1,000,000) into each
// seen set and reports Redis memory per URL (INFO used_memory delta), next
// to a plain Redis SET of 40-character SHA-1 hex fingerprints, the
// scrapy-redis dupefilter. It fails when the 1% Bloom filter needs more
// than 2 bytes per URL.
//
//	go test -run '^$' -bench BenchmarkSeenMemory -benchtime 1x ./storage/redis/
func BenchmarkSeenMemory(b *testing.B) {
	n := *seenURLs
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://www.loker%d.example/lowongan/kerja-%d?ref=feed", i%5000, i)
	}
	probe := make([]string, 20_000)
	for i := range probe {
		probe[i] = fmt.Sprintf("https://www.unseen%d.example/job/%d", i%5000, i)
	}
	cases := []struct {
		name string
		opts *redis.SeenOptions
		gate float64
	}{
		{"bloom-1%", &redis.SeenOptions{Kind: redis.SeenBloom, Capacity: int64(n), ErrorRate: 0.01}, 2},
		{"bloom-0.1%", &redis.SeenOptions{Kind: redis.SeenBloom, Capacity: int64(n), ErrorRate: 0.001}, 0},
		{"exact", &redis.SeenOptions{Kind: redis.SeenExact, Capacity: int64(n)}, 0},
		{"baseline-sha1-hex-set", nil, 0},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			srv := redistest.Start(b, redistest.Config{})
			c := redisClient(b, srv)
			ctx := context.Background()
			for range b.N {
				if err := c.FlushAll(ctx).Err(); err != nil {
					b.Fatal(err)
				}
				before := usedMemory(b, c)
				start := time.Now()
				var fp int
				// Loading runs on its own connections, closed before the
				// second measure so that client buffers do not count.
				if tc.opts == nil {
					lc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
					loadSHA1Set(b, lc, urls)
					lc.Close()
				} else {
					s, err := redis.OpenURL(ctx, srv.URL(), redis.Options{Prefix: "m:", Seen: *tc.opts})
					if err != nil {
						b.Fatal(err)
					}
					loadSeen(b, s, urls)
					fp = countSeen(b, s, probe)
					s.Close()
				}
				load := time.Since(start) // includes the false-positive probe
				after := usedMemoryQuiet(b, c, before)
				perURL := float64(after-before) / float64(n)
				b.ReportMetric(perURL, "bytes/url")
				b.ReportMetric(float64(n)/load.Seconds(), "urls/s")
				if tc.opts != nil && tc.opts.Kind == redis.SeenBloom {
					b.ReportMetric(float64(fp)/float64(len(probe)), "false-pos-rate")
				}
				if tc.gate > 0 && perURL > tc.gate {
					b.Errorf("%s uses %.2f bytes per URL, want ≤ %.1f", tc.name, perURL, tc.gate)
				}
			}
		})
	}
}

// usedMemoryQuiet reads used_memory once the closed loading connections
// are gone from CLIENT LIST (their buffers freed).
func usedMemoryQuiet(b *testing.B, c *goredis.Client, _ int64) int64 {
	ctx := context.Background()
	for range 500 {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			b.Fatal(err)
		}
		if strings.Count(strings.TrimSpace(list), "\n") == 0 { // only us
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return usedMemory(b, c)
}

// usedMemory reads INFO used_memory after emptying the slow log: slow
// Lua batches fill it with up to 128 entries of arguments (~300 KB), a
// bounded diagnostic buffer that is not part of any seen set.
func usedMemory(b testing.TB, c *goredis.Client) int64 {
	if err := c.SlowLogReset(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("INFO memory has no used_memory")
	return 0
}

// loadSeen loads URLs with 4 concurrent MarkSeen streams (Lua batches of 1000).
func loadSeen(b *testing.B, s *redis.Store, urls []string) {
	const streams, batch = 4, 10_000
	var wg sync.WaitGroup
	var next atomic.Int64
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(batch)) - batch
				if i >= len(urls) {
					return
				}
				if _, err := s.MarkSeen(context.Background(), urls[i:min(i+batch, len(urls))]...); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func countSeen(b *testing.B, s *redis.Store, urls []string) int {
	n := 0
	for _, u := range urls {
		ok, err := s.Seen(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			n++
		}
	}
	return n
}

// loadSHA1Set is the scrapy-redis dupefilter: SADD of sha1 hex strings.
func loadSHA1Set(b *testing.B, c *goredis.Client, urls []string) {
	ctx := context.Background()
	for i := 0; i < len(urls); i += 10_000 {
		_, err := c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for j := i; j < min(i+10_000, len(urls)); j += 1000 {
				members := make([]any, 0, 1000)
				for _, u := range urls[j:min(j+1000, len(urls))] {
					h := sha1.Sum([]byte(u))
					members = append(members, hex.EncodeToString(h[:]))
				}
				p.SAdd(ctx, "dupefilter", members...)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
