package crawler_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestLapsingHeartbeatStopsFetch: while a worker's beats cannot reach the
// store (Redis refuses writes: maxmemory 1 with noeviction), its leases
// may be handed to another worker at any moment, so it cuts its fetch in
// flight instead of going on with a host that may no longer be its own;
// once beats get through again it claims the page again and finishes.
func TestLapsingHeartbeatStopsFetch(t *testing.T) {
	goredis.SetLogger(quietLogger{})
	srv := redistest.Start(t, redistest.Config{Args: []string{"--maxmemory-policy", "noeviction"}})
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rc.Close()
	var (
		slowHits atomic.Int32
		cut      = make(chan struct{}, 4)
		arrived  = make(chan struct{}, 4)
	)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		if slowHits.Add(1) == 1 {
			// The first fetch hangs until the crawler gives it up.
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
				cut <- struct{}{}
			case <-time.After(time.Minute):
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>ok</body></html>"))
	}))
	defer site.Close()
	st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := testConfig(config.Source{Name: "board", Type: lokerwatch.SourceJobBoard, Seeds: []string{site.URL + "/slow"}})
	cfg.Crawl.Heartbeat = config.Duration(time.Second)
	cfg.Crawl.Timeout = config.Duration(time.Minute) // the cut must come from the lapse, not the timeout
	c, err := crawler.New(crawler.Options{Config: cfg, Store: st, Classifier: newClassifier(t), Worker: t.Name(),
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		sum crawler.Summary
		err error
	}
	done := make(chan result, 1)
	go func() { s, err := c.Run(ctx); done <- result{s, err} }()

	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch never reached the site")
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-cut:
		t.Logf("fetch cut %s after the store started refusing beats (heartbeat 1s)", time.Since(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch in flight was not cut while the worker's heartbeat could not reach the store")
	}
	if err := rc.ConfigSet(context.Background(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || !r.sum.Finished || r.sum.Errors != 0 {
		t.Fatalf("Run = %+v, %v; want the page fetched again and the crawl finished", r.sum, r.err)
	}
	if n := slowHits.Load(); n != 2 {
		t.Errorf("the page was asked %d times, want 2 (cut, then again)", n)
	}
}
