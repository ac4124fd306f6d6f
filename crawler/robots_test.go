package crawler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func TestParseRobots(t *testing.T) {
	const body = `
Disallow: /before-any-group
User-agent: otherbot
Disallow: /

User-agent: lokerwatch
Disallow: /private/
Allow: /private/open
Crawl-delay: not-a-number
Crawl-delay: 2.5

User-agent: *
Disallow: /
`
	tests := []struct {
		status int
		body   string
		agent  string
		path   string
		allow  bool
		delay  time.Duration
	}{
		{200, body, "lokerwatch", "/jobs", true, 2500 * time.Millisecond},
		{200, body, "lokerwatch", "/private/x", false, 2500 * time.Millisecond},
		{200, body, "lokerwatch", "/private/open/1", true, 2500 * time.Millisecond},
		{200, body, "lokerwatch", "/before-any-group", true, 2500 * time.Millisecond},
		{200, body, "somebot", "/jobs", false, 0},
		{200, "<html>soft 404</html>", "lokerwatch", "/x", true, 0},
		{404, "", "lokerwatch", "/x", true, 0},
		{403, "", "lokerwatch", "/x", true, 0},
		{200, "User-agent: *\nCrawl-delay: 1e300\nDisallow: /q?", "lokerwatch", "/q?a=1", false, -1},
	}
	for _, tt := range tests {
		d := parseRobots(tt.status, []byte(tt.body))
		g := d.FindGroup(tt.agent)
		if got := g.Test(tt.path); got != tt.allow {
			t.Errorf("%d %q: %s may fetch %s = %v, want %v", tt.status, tt.body, tt.agent, tt.path, got, tt.allow)
		}
		if tt.delay >= 0 && g.CrawlDelay != tt.delay {
			t.Errorf("%d %q: %s crawl-delay %v, want %v", tt.status, tt.body, tt.agent, g.CrawlDelay, tt.delay)
		}
	}
	if d := parseRobots(503, nil); d.TestAgent("/", "lokerwatch") {
		t.Error("a 5xx robots.txt must disallow for now")
	}
	if agentToken("lokerwatch/0.1 (+https://github.com/lokerwatch/lokerwatch)") != "lokerwatch" {
		t.Error("agent token")
	}
}

func TestRobotsCheckSharedCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var fetches atomic.Int32
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/robots.txt" {
			t.Errorf("unexpected fetch %s", r.URL)
		}
		fetches.Add(1)
		if s := int(status.Load()); s != 200 {
			http.Error(w, "down", s)
			return
		}
		w.Write([]byte("User-agent: *\nDisallow: /private/\nCrawl-delay: 120\n"))
	}))
	defer srv.Close()

	newRobots := func() *robots {
		f := testFetcher(fetcherOptions{})
		return &robots{store: st, agent: "lokerwatch", ttl: time.Hour, maxDelay: 30 * time.Second,
			fetch: readRobots(f.plain, "lokerwatch-test/1.0"), local: map[string]*robotsRules{}, inflight: map[string]*sync.WaitGroup{}}
	}
	r := newRobots()
	u := func(p string) *url.URL { x, _ := url.Parse(srv.URL + p); return x }

	// Many workers asking at once cause one fetch.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, delay, err := r.check(ctx, u("/jobs"))
			if err != nil || !ok || delay != 30*time.Second {
				t.Errorf("check /jobs = %v, %v, %v; want allowed, Crawl-delay capped at 30s", ok, delay, err)
			}
		}()
	}
	wg.Wait()
	if ok, _, err := r.check(ctx, u("/private/a?b=1")); err != nil || ok {
		t.Errorf("check /private/a = %v, %v; want disallowed", ok, err)
	}
	// Another worker (a new process) reads the store, not the site.
	if ok, _, err := newRobots().check(ctx, u("/private/x")); err != nil || ok {
		t.Errorf("second worker: %v, %v", ok, err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}

	// A server error is not a verdict: the URL is retried later.
	status.Store(503)
	other := httptest.NewServer(srv.Config.Handler)
	defer other.Close()
	ou, _ := url.Parse(other.URL + "/jobs")
	if _, _, err := r.check(ctx, ou); !errors.Is(err, errRobotsUnavailable) {
		t.Errorf("5xx robots.txt: err %v, want errRobotsUnavailable", err)
	}
	// An unreachable host neither.
	dead, _ := url.Parse("http://127.0.0.1:1/jobs")
	if _, _, err := r.check(ctx, dead); !errors.Is(err, errRobotsUnavailable) {
		t.Errorf("unreachable host: err %v, want errRobotsUnavailable", err)
	}
}
