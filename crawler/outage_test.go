package crawler_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestGiveUpAfterStoreOutage: with Redis gone for good, a worker without
// Follow gives up (Run returns an error) once StoreOutage has passed —
// 5 minutes by default (TestDefaultStoreOutage), 2 s here — while one
// with Follow keeps waiting until it is stopped.
func TestGiveUpAfterStoreOutage(t *testing.T) {
	// go-redis logs every failed dial; this outage is on purpose.
	goredis.SetLogger(quietLogger{})
	srv := redistest.Start(t, redistest.Config{})
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>ok</body></html>"))
	}))
	defer site.Close()
	st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := testConfig(config.Source{Name: "board", Type: lokerwatch.SourceJobBoard, Seeds: []string{site.URL + "/jobs"}})
	// The heartbeat lapses (after 2/3 s) before StoreOutage (2 s) passes:
	// the give-up counts the time without a beat as well as failed claims.
	cfg.Crawl.Heartbeat = config.Duration(time.Second)
	newCrawler := func(follow bool) *crawler.Crawler {
		c, err := crawler.New(crawler.Options{
			Config: cfg, Store: st, Classifier: newClassifier(t), Worker: t.Name(), Follow: follow,
			StoreOutage: 2 * time.Second,
			Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newCrawler(false)
	if _, err := c.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Kill()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err = c.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "store unusable for 2s") {
		t.Fatalf("Run with the store gone: %v, want it to give up after StoreOutage", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("gave up after %s, before StoreOutage (2s)", took)
	}

	// With Follow it waits for the store as long as it takes.
	f := newCrawler(true)
	fctx, fcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := f.Run(fctx); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("a Follow worker gave up on the store: %v", err)
	case <-time.After(5 * time.Second): // more than twice StoreOutage
	}
	fcancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopped Follow worker: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the Follow worker did not stop")
	}
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
