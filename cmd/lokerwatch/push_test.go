package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestCrawlPushesMetrics: `crawl --push URL` sends its final metrics to a
// Pushgateway (here an httptest receiver speaking its API): one PUT to
// /metrics/job/lokerwatch-crawl/instance/HOST with the crawl's counters;
// a push the gateway refuses fails the command.
func TestCrawlPushesMetrics(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jobs":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><a href="/job/1">1</a> <a href="/job/2">2</a></body></html>`)
		case "/job/1":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, scamJobPage)
		case "/job/2":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, cleanJobPage)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	type push struct {
		method, path string
		families     map[string]*dto.MetricFamily
	}
	var (
		mu     sync.Mutex
		pushes []push
		refuse bool
	)
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fams := map[string]*dto.MetricFamily{}
		dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("pushed body does not decode: %v", err)
				}
				break
			}
			fams[mf.GetName()] = &mf
		}
		mu.Lock()
		pushes = append(pushes, push{r.Method, r.URL.Path, fams})
		no := refuse
		mu.Unlock()
		if no {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer gateway.Close()
	cfg := writeFile(t, "lw.yaml", fmt.Sprintf(`crawl:
  user_agent: "lokerwatch-test/1.0"
  host_delay: 0s
  allow_private: ["127.0.0.1"]
sources:
  - {name: board, type: jobboard, seeds: ["%s/jobs"], follow: ['/job/']}
`, site.URL))
	crawl := func() (int, string) {
		var stdout, stderr syncBuffer
		e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
		code := run(context.Background(), []string{"crawl", "--config", cfg,
			"--store", "sqlite:" + filepath.Join(t.TempDir(), "lw.db"), "--push", gateway.URL}, e)
		return code, stderr.String()
	}
	if code, stderr := crawl(); code != 0 {
		t.Fatalf("crawl --push: exit %d\n%s", code, stderr)
	}
	mu.Lock()
	if len(pushes) != 1 {
		t.Fatalf("%d pushes, want 1", len(pushes))
	}
	p := pushes[0]
	mu.Unlock()
	if p.method != http.MethodPut || !strings.HasPrefix(p.path, "/metrics/job/lokerwatch-crawl/instance/") {
		t.Errorf("push %s %s, want PUT /metrics/job/lokerwatch-crawl/instance/HOST", p.method, p.path)
	}
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"lokerwatch_crawl_requests_total", map[string]string{"source": "board", "outcome": "ok"}, 3},
		{"lokerwatch_ads_extracted_total", map[string]string{"source": "board"}, 2},
		{"lokerwatch_ads_flagged_total", map[string]string{"source": "board"}, 1},
		{"lokerwatch_frontier_requests", map[string]string{"state": "done"}, 3},
	} {
		if got, ok := value(p.families[c.family], c.labels); !ok || got != c.want {
			t.Errorf("pushed %s%v = %v (found %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}

	mu.Lock()
	refuse = true
	mu.Unlock()
	if code, stderr := crawl(); code != 1 || !strings.Contains(stderr, "push metrics to "+gateway.URL) {
		t.Errorf("crawl --push to a gateway that answers 500: exit %d, stderr %q; want exit 1 naming the gateway", code, stderr)
	}
}

// TestDemoMetricsListen: `demo --metrics-listen ADDR` serves the crawl's
// metrics while the demo serves its sample web.
func TestDemoMetricsListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--store", "sqlite:" + filepath.Join(t.TempDir(), "demo.db"),
			"--metrics-listen", "127.0.0.1:0", "--log-level", "info", "--log-format", "json"}, e)
	}()
	waitFor(t, 60*time.Second, "the demo to print its review queue", func() bool {
		return strings.Contains(stdout.String(), "flagged")
	})
	addr := metricsAddr(t, stderr.String())
	code, text := httpGet(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("demo /metrics: %d", code)
	}
	fams := parseMetrics(t, "demo /metrics", text)
	var ads float64
	for _, m := range fams["lokerwatch_ads_extracted_total"].GetMetric() {
		ads += m.GetCounter().GetValue()
	}
	if ads == 0 {
		t.Errorf("demo /metrics: lokerwatch_ads_extracted_total is 0 after the crawl:\n%s", tail(text, 2048))
	}
	for _, name := range []string{"lokerwatch_ads_flagged_total", "lokerwatch_ads_classified_total", "lokerwatch_frontier_requests"} {
		if fams[name] == nil {
			t.Errorf("demo /metrics lacks %s", name)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d on cancel; stderr:\n%s", code, tail(stderr.String(), 2048))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}
