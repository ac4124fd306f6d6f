package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// redisClient is a plain client for looking at what the store wrote.
func redisClient(t testing.TB, srv *redistest.Server) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisCrashAndRestart kills redis-server (SIGKILL, AOF with fsync
// always) while workers add, claim and ack, keeps it down for a while,
// starts it again, and checks that the same Store values reconnect, that
// errors during the outage say Redis is unreachable, and that every URL
// ends up done: nothing queued was lost.
func TestRedisCrashAndRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{AOF: true})
	prefix := fmt.Sprintf("crash%d:", prefixSeq.Add(1))
	ctx := ctxT(t)
	const total, workers = 300, 3
	// A claim whose reply the crash took away leaves a lease nobody
	// holds: it comes back when the lease runs out. A worker slower than
	// the lease loses its URL to another, which redoes it: extra work,
	// never a wrong count, so the lease may be short.
	const lease = 2 * time.Second

	stores := make([]*redis.Store, workers)
	for i := range stores {
		stores[i] = openStore(t, srv, redis.Options{Prefix: prefix})
	}
	// Half the URLs are there before the crash, half are added during and after.
	add := func(s *redis.Store, from, to int) error {
		var reqs []storage.Request
		for i := from; i < to; i++ {
			reqs = append(reqs, storage.Request{URL: fmt.Sprintf("http://h%d.example/p/%d", i%20, i), Kind: "page"})
		}
		_, err := s.Add(ctx, reqs...)
		return err
	}
	if err := add(stores[0], 0, total/2); err != nil {
		t.Fatal(err)
	}

	var (
		outageErrs atomic.Int64
		otherErrs  = make(chan error, 100)
		acked      atomic.Int64
		down       = make(chan struct{})
		wg         sync.WaitGroup
	)
	// retry runs op until it succeeds, backing off while Redis is down.
	retry := func(op func() error) error {
		for {
			err := op()
			if err == nil || !errors.Is(err, redis.ErrUnreachable) {
				return err
			}
			outageErrs.Add(1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for w := range workers {
		s := stores[w]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var l *storage.Lease
				err := retry(func() (err error) { l, err = s.ClaimRequest(ctx, fmt.Sprint("w", w), lease); return })
				if errors.Is(err, lokerwatch.ErrEmpty) {
					var st storage.FrontierStats
					if err := retry(func() (err error) { st, err = s.FrontierStats(ctx); return }); err != nil {
						otherErrs <- err
						return
					}
					if st.Finished() && st.Done >= total {
						return
					}
					_ = retry(func() error { _, err := s.ReapRequests(ctx); return err })
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if err != nil {
					otherErrs <- err
					return
				}
				err = retry(func() error { return s.Ack(ctx, l, storage.AckOptions{}) })
				switch {
				case err == nil:
					acked.Add(1)
				case errors.Is(err, lokerwatch.ErrLeaseLost):
					// Acked before the crash took the reply away, or reaped:
					// either way the frontier still accounts for the URL.
				default:
					otherErrs <- err
					return
				}
			}
		}()
	}
	// Crash once some work is done, add the second half while Redis is down
	// (the adder must see ErrUnreachable and retry), then restart.
	// Every wait has a deadline: a broken frontier fails the test, it
	// does not hang it.
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after 30s waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitUntil("40 acks before the crash", func() bool { return acked.Load() >= 40 })
	srv.Kill()
	close(down)
	addErr := make(chan error, 1)
	go func() {
		<-down
		addErr <- retry(func() error { return add(stores[1], total/2, total) })
	}()
	waitUntil("5 operations to see Redis unreachable", func() bool { return outageErrs.Load() >= 5 })
	srv.Restart()
	if err := <-addErr; err != nil {
		t.Fatalf("add during the outage: %v", err)
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(90 * time.Second):
		t.Fatal("the workers did not finish within 90 s of the restart")
	}
	close(otherErrs)
	for err := range otherErrs {
		t.Errorf("worker: %v", err)
	}
	st, err := stores[2].FrontierStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != total || !st.Finished() || st.Failed+st.Dead != 0 {
		t.Fatalf("after the crash: %+v, want all %d done", st, total)
	}
	if outageErrs.Load() == 0 {
		t.Fatal("no operation saw Redis unreachable")
	}
	t.Logf("%d operations saw Redis unreachable and were retried; %d acks", outageErrs.Load(), acked.Load())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage tests cause many on purpose.
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}
