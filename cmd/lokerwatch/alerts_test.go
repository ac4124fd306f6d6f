package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// `crawl` raises the alert and, with the webhook failing, leaves it in the
// store's outbox when it exits; `serve` on the same store sends it once
// the webhook answers. The secret is given in the environment and never
// printed.
func TestCrawlThenServeDeliversAlert(t *testing.T) {
	old := alertDrain
	alertDrain = 2 * time.Second
	t.Cleanup(func() { alertDrain = old })

	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/jobs":
			fmt.Fprint(w, `<html><body><a href="/job/1">1</a></body></html>`)
		case "/job/1":
			fmt.Fprint(w, scamJobPage)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	var up atomic.Bool
	var tries, delivered atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if !strings.HasPrefix(r.Header.Get("X-Lokerwatch-Signature"), "t=") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	const secret = "cli-test-secret-0123456789"
	cfgPath := writeFile(t, "lw.yaml", fmt.Sprintf(`crawl:
  user_agent: "lokerwatch-test/1.0"
  host_delay: 0s
  timeout: 5s
  robots: false
  allow_private: ["127.0.0.1"]
sources:
  - {name: board, type: jobboard, seeds: ["%s/jobs"], follow: ['/job/']}
notify:
  webhook: {url: "%s/hook"}
  backoff: 100ms
  max_backoff: 500ms
  max_attempts: 1000
  rules:
    - {name: high, min_score: 50, to: [webhook]}
`, site.URL, hook.URL))
	store := "sqlite:" + filepath.Join(t.TempDir(), "lw.db")
	environ := []string{"LOKERWATCH_NOTIFY_WEBHOOK_SECRET=" + secret}

	var out, errb syncBuffer
	code := run(context.Background(), []string{"crawl", "--config", cfgPath, "--store", store},
		&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: environ})
	if code != 0 || !strings.Contains(out.String(), "flagged 1") {
		t.Fatalf("crawl: exit %d, out %q, err %s", code, out.String(), errb.String())
	}
	if tries.Load() == 0 || delivered.Load() != 0 {
		t.Fatalf("crawl: %d tries, %d delivered; want tries and nothing delivered", tries.Load(), delivered.Load())
	}
	if !strings.Contains(errb.String(), "wait in the store's outbox") || strings.Contains(errb.String(), secret) {
		t.Errorf("crawl log: want the outbox warning and no secret:\n%s", errb.String())
	}

	up.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfgPath, "--store", store, "--listen", "127.0.0.1:0"},
			&env{stdin: strings.NewReader(""), stdout: &sout, stderr: &serr, environ: environ})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for delivered.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve: exit %d: %s", code, serr.String())
	}
	if delivered.Load() != 1 {
		t.Fatalf("serve delivered %d alerts, want 1\n%s", delivered.Load(), serr.String())
	}
	if strings.Contains(serr.String(), secret) {
		t.Errorf("serve log shows the secret:\n%s", serr.String())
	}
}
