package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestWorkersGoOnWhenRedisFull: Redis with maxmemory-policy noeviction
// runs out of memory mid-crawl (maxmemory is set below what it uses, so
// every write fails with OOM): the workers log it, back off without
// exiting, and finish the crawl with nothing lost once memory is raised.
func TestWorkersGoOnWhenRedisFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true, Args: []string{"--maxmemory-policy", "noeviction"}})
	lokerwatchBin(t)
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	const nAds, nHosts, scamEvery = 300, 3, 10
	b := newJobBoard(t, nAds, nHosts, scamEvery)
	var (
		mu   sync.Mutex
		hits int
		full = make(chan struct{})
	)
	b.hook = func(h int, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/job/") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if hits++; hits == 100 {
			if err := rc.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
				t.Errorf("CONFIG SET maxmemory 1: %v", err)
			}
			close(full)
		}
	}
	cfg := crawlConfig(t, b, "")
	store := srv.URL()
	if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	args := []string{"worker", "--config", cfg, "--store", store}
	ws := []*proc{startProc(t, "worker-1", nil, args...), startProc(t, "worker-2", nil, args...)}
	select {
	case <-full:
	case <-time.After(60 * time.Second):
		t.Fatal("the workers never fetched 100 ad pages")
	}
	for _, w := range ws {
		waitFor(t, 30*time.Second, w.name+" to log that Redis refuses writes (OOM)", func() bool {
			return strings.Contains(w.stderr.String(), "OOM")
		})
	}
	// Full for a while: the workers back off and stay.
	time.Sleep(2 * time.Second)
	for _, w := range ws {
		select {
		case <-w.done:
			t.Fatalf("%s exited while Redis was full; stderr:\n%s", w.name, tail(w.stderr.String(), 4096))
		default:
		}
	}
	fetchesWhileFull := b.adFetches()
	if fetchesWhileFull >= nAds {
		t.Fatalf("the crawl was over (%d ad fetches) though Redis was full: the test proves nothing", fetchesWhileFull)
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if code := w.wait(t, 90*time.Second); code != 0 {
			t.Fatalf("%s exited %d after memory was raised; stderr:\n%s", w.name, code, tail(w.stderr.String(), 4096))
		}
	}
	st := openRedis(t, store)
	checkStore(t, b, st)
	t.Logf("%d ad fetches for %d ads (%d when Redis was full)", b.adFetches(), nAds, fetchesWhileFull)
}
