package crawler_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testConfig(sources ...config.Source) *config.Config {
	cfg := config.Default()
	cfg.Crawl.AllowPrivate = []string{"127.0.0.1"} // the httptest servers
	cfg.Crawl.UserAgent = "lokerwatch-test/1.0"
	cfg.Crawl.Parallelism = 4
	cfg.Crawl.HostDelay = 0
	cfg.Crawl.Timeout = config.Duration(5 * time.Second)
	cfg.Crawl.Lease = config.Duration(10 * time.Second)
	cfg.Sources = sources
	return cfg
}

func newTestCrawler(t *testing.T, cfg *config.Config, st crawler.Store, follow bool) *crawler.Crawler {
	t.Helper()
	c, err := crawler.New(crawler.Options{
		Config: cfg, Store: st, Classifier: newClassifier(t), Worker: t.Name(), Follow: follow,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counter is a test server that counts requests per path.
type counter struct {
	mu   sync.Mutex
	hits map[string][]time.Time
}

func (c *counter) hit(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hits == nil {
		c.hits = map[string][]time.Time{}
	}
	c.hits[r.URL.RequestURI()] = append(c.hits[r.URL.RequestURI()], time.Now())
}

func (c *counter) times(path string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.hits[path]...)
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, h := range c.hits {
		if p != "/robots.txt" {
			n += len(h)
		}
	}
	return n
}

// chain serves /p/N linking to /p/N+1 (and N+2) forever.
func chain(cnt *counter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.hit(r)
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &n); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><body><a href="/p/%d">next</a> <a href="/p/%d">skip</a></body></html>`, n+1, n+2)
	})
}

func TestMaxPagesAndDepth(t *testing.T) {
	for _, tt := range []struct {
		name               string
		maxPages, maxDepth int
		want               int
		finished           bool
	}{
		{"max_pages", 5, 50, 5, false},
		{"max_depth", 0, 3, 7, true}, // /p/0; /p/1,/p/2; /p/3,/p/4; /p/5,/p/6 (depth 3)
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cnt counter
			srv := httptest.NewServer(chain(&cnt))
			defer srv.Close()
			cfg := testConfig(config.Source{Name: "chain", Type: lokerwatch.SourceJobBoard,
				Seeds: []string{srv.URL + "/p/0"}, Follow: []string{`/p/\d+$`}})
			cfg.Crawl.MaxPages, cfg.Crawl.MaxDepth = tt.maxPages, tt.maxDepth
			c := newTestCrawler(t, cfg, openStore(t), false)
			sum := seedAndRun(t, c, 20*time.Second)
			if cnt.total() != tt.want || sum.Pages != tt.want || sum.Finished != tt.finished {
				t.Errorf("fetched %d, summary %+v; want %d pages, finished %v", cnt.total(), sum, tt.want, tt.finished)
			}
		})
	}
}

func TestRetryAfterRestsHost(t *testing.T) {
	var cnt counter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.hit(r)
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		if len(cnt.times("/busy")) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>ok</p>"))
	}))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "busy", Type: lokerwatch.SourceJobBoard, Seeds: []string{srv.URL + "/busy"}})
	c := newTestCrawler(t, cfg, openStore(t), false)
	sum := seedAndRun(t, c, 20*time.Second)
	hits := cnt.times("/busy")
	if len(hits) != 2 || !sum.Finished {
		t.Fatalf("/busy fetched %d times, summary %+v; want a retry after the 429", len(hits), sum)
	}
	if gap := hits[1].Sub(hits[0]); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestFollowRecrawlsListings(t *testing.T) {
	var cnt counter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.hit(r)
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><div class="post"><p class="t">Lowongan kasir</p></div><a href="/old">x</a></body></html>`))
	}))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "forum", Type: lokerwatch.SourceHTML, Seeds: []string{srv.URL + "/list"},
		Follow: []string{`/old$`}, Every: config.Duration(150 * time.Millisecond),
		Profile: &config.Profile{Item: "div.post", Text: "p.t"}})
	st := openStore(t)
	c := newTestCrawler(t, cfg, st, true)
	// Until the listing was fetched four times (the fourth may be cut
	// short by the stop; three visits are whole), however long that
	// takes on a loaded machine.
	sum := runUntil(t, c, 30*time.Second, "the listing to be fetched 4 times", func() bool {
		return len(cnt.times("/list")) >= 4
	})
	hits := cnt.times("/list")
	for i := 1; i < len(hits); i++ {
		if gap := hits[i].Sub(hits[i-1]); gap < 150*time.Millisecond {
			t.Errorf("listing revisit %d came %s after the previous; every is 150ms", i, gap)
		}
	}
	if n := len(cnt.times("/old")); n != 1 {
		t.Errorf("a page (not a listing) fetched %d times; want once", n)
	}
	// The post on /list and the one on /old; revisits find them again.
	if sum.Finished || sum.NewAds != 2 || sum.Ads < 4 {
		t.Errorf("summary %+v: want not finished (follow), two new ads seen again on revisits", sum)
	}
}

// TestFollowRevisitsAdPages: with ad_every, a worker with --follow asks
// for an ad page again with its validators; a 304 changes nothing, and
// the page edited in place updates its stored ad instead of adding one.
// The listing, with every 0, is fetched once.
func TestFollowRevisitsAdPages(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) crawler.Store
	}{
		{"sqlite", func(t *testing.T) crawler.Store { return openStore(t) }},
		{"redis", func(t *testing.T) crawler.Store { return redistest.OpenStore(t) }},
	}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var conditional, notModified int
			var cnt counter
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cnt.hit(r)
				w.Header().Set("Content-Type", "text/html")
				switch r.URL.Path {
				case "/list":
					w.Write([]byte(`<html><body><a href="/ad">Lowongan kasir</a></body></html>`))
					return
				case "/ad":
				default:
					http.NotFound(w, r)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				// Unchanged for two revisits, then edited in place.
				etag, text := `"v1"`, "Dicari operator produksi"
				if len(cnt.times("/ad")) > 3 {
					etag, text = `"v2"`, "Dicari operator produksi, gaji 20 juta, tiket ditanggung"
				}
				if inm := r.Header.Get("If-None-Match"); inm != "" {
					conditional++
					if inm == etag {
						notModified++
						w.WriteHeader(http.StatusNotModified)
						return
					}
				}
				w.Header().Set("ETag", etag)
				fmt.Fprintf(w, `<html><head><script type="application/ld+json">{"@type":"JobPosting","title":"Operator","description":%q}</script></head></html>`, text)
			}))
			defer srv.Close()
			cfg := testConfig(config.Source{Name: "board", Type: lokerwatch.SourceJobBoard, Seeds: []string{srv.URL + "/list"},
				Follow: []string{`/ad$`}, AdEvery: config.Duration(100 * time.Millisecond)})
			st := tc.open(t)
			c := newTestCrawler(t, cfg, st, true)
			deadline := time.Now().Add(10 * time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := c.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			done := make(chan crawler.Summary)
			go func() {
				sum, err := c.Run(ctx)
				if err != nil {
					t.Error(err)
				}
				done <- sum
			}()
			for len(cnt.times("/ad")) < 6 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			sum := <-done

			if n := len(cnt.times("/ad")); n < 6 {
				t.Fatalf("ad page fetched %d times in 10s with ad_every: 100ms; want at least 6", n)
			}
			if n := len(cnt.times("/list")); n != 1 {
				t.Errorf("listing with every 0 fetched %d times; want once", n)
			}
			mu.Lock()
			if fetches := len(cnt.times("/ad")); conditional != fetches-1 || notModified < 3 {
				t.Errorf("%d fetches of the ad page: %d conditional, %d answered 304; want all but the first conditional and at least 3 304s",
					fetches, conditional, notModified)
			}
			mu.Unlock()
			var texts []string
			err := st.ScanAds(context.Background(), storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
				if strings.HasSuffix(ad.URL, "/ad") || strings.HasSuffix(ad.PageURL, "/ad") {
					texts = append(texts, ad.Text)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(texts) != 1 || !strings.Contains(texts[0], "20 juta") {
				t.Errorf("ads of the edited page: %q; want one, with the edited text", texts)
			}
			// Two URLs, however often visited: each is in one state.
			if fs, err := st.FrontierStats(context.Background()); err != nil || fs.Queued+fs.InFlight+fs.Done+fs.Failed+fs.Dead != 2 {
				t.Errorf("frontier stats %+v, %v: want the 2 URLs counted once each", fs, err)
			}
			if sum.NewAds != 1 || sum.Ads < 2 {
				t.Errorf("summary %+v: want the ad page's ad new once and stored again when edited", sum)
			}
		})
	}
}

func TestStopGivesWorkBack(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := testConfig(config.Source{Name: "slow", Type: lokerwatch.SourceJobBoard, Seeds: []string{srv.URL + "/slow"}})
	st := openStore(t)
	c := newTestCrawler(t, cfg, st, false)
	if _, err := c.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stopped while the fetch is in flight, however long it took to start.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		select {
		case <-arrived:
		case <-ctx.Done():
		}
		cancel()
	}()
	sum, err := c.Run(ctx)
	if err != nil || sum.Finished {
		t.Fatalf("Run = %+v, %v", sum, err)
	}
	// The interrupted fetch is neither done nor failed: the stopping worker
	// gives it back (Release), so another takes it without waiting out the
	// lease, and its attempt is not counted.
	fs, err := st.FrontierStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fs.Queued != 1 || fs.InFlight != 0 || fs.Done != 0 || fs.Failed != 0 || fs.Dead != 0 {
		t.Errorf("after stop: %+v; want the URL queued again", fs)
	}
	l, err := st.ClaimRequest(context.Background(), "other", time.Minute)
	if err != nil {
		t.Fatalf("claim the given-back URL: %v", err)
	}
	if l.Attempts != 0 {
		t.Errorf("given-back URL has %d attempts, want 0", l.Attempts)
	}
}

func TestNewRejectsBadSources(t *testing.T) {
	st := openStore(t)
	for _, tt := range []struct {
		src  config.Source
		want string
	}{
		{config.Source{Name: "a", Type: lokerwatch.SourceJobBoard, Seeds: []string{"http://x/"}, Follow: []string{"("}}, "follow[0]"},
		{config.Source{Name: "b", Type: lokerwatch.SourceHTML, Seeds: []string{"http://x/"}, Profile: &config.Profile{Item: "div[", Text: "p"}}, "item selector"},
		{config.Source{Name: "c", Type: lokerwatch.SourceHTML, Seeds: []string{"http://x/"}}, "profile"},
		{config.Source{Name: "d", Type: "forum", Seeds: []string{"http://x/"}}, "unknown type"},
		{config.Source{Name: "e", Type: lokerwatch.SourceRSS, Seeds: []string{"ftp://x/feed"}}, "seed"},
	} {
		_, err := crawler.New(crawler.Options{Config: testConfig(tt.src), Store: st, Classifier: newClassifier(t)})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.src.Name) {
			t.Errorf("source %s: err %v, want one naming the source and %q", tt.src.Name, err, tt.want)
		}
	}
}

func TestGuardRefusalIsRecorded(t *testing.T) {
	var cnt counter
	srv := httptest.NewServer(chain(&cnt))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "intranet", Type: lokerwatch.SourceJobBoard, Seeds: []string{srv.URL + "/p/0"}})
	st := openStore(t)
	c, err := crawler.New(crawler.Options{
		Config: cfg, Store: st, Classifier: newClassifier(t), Worker: t.Name(),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, fmt.Errorf("%w: %s is loopback", crawler.ErrRefused, addr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Refused != 1 || !sum.Finished || cnt.total() != 0 {
		t.Errorf("summary %+v, %d requests reached the server; want one refusal and none", sum, cnt.total())
	}
	failed, err := st.ListFailed(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Dead || !strings.Contains(failed[0].Reason, "is loopback") {
		t.Errorf("failed requests %+v; want the seed, failed for good with the guard's reason", failed)
	}
}

func openStoreB(b *testing.B) *sqlite.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "lw.db"))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func newBenchCrawler(b *testing.B, cfg *config.Config, st crawler.Store, clf crawler.Classifier) *crawler.Crawler {
	b.Helper()
	c, err := crawler.New(crawler.Options{Config: cfg, Store: st, Classifier: clf, Worker: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// TestDefaultGuard: with no Dial and no crawl.allow_private, crawler.New
// guards the crawl: a loopback seed is refused, robots.txt included, and
// nothing reaches the server.
func TestDefaultGuard(t *testing.T) {
	var cnt counter
	srv := httptest.NewServer(chain(&cnt))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "local", Type: lokerwatch.SourceJobBoard, Seeds: []string{srv.URL + "/p/0"}})
	cfg.Crawl.AllowPrivate = nil
	st := openStore(t)
	c := newTestCrawler(t, cfg, st, false)
	ctx := context.Background()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cnt.mu.Lock()
	hits := len(cnt.hits)
	cnt.mu.Unlock()
	if sum.Refused != 1 || hits != 0 {
		t.Errorf("summary %+v, %d paths hit; want the seed refused and no request", sum, hits)
	}
	failed, _ := st.ListFailed(ctx, 10)
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "is loopback") || !strings.Contains(failed[0].Reason, "crawl.allow_private") {
		t.Errorf("failed %+v; want the refusal naming the rule and the way to allow it", failed)
	}
}

func TestPagesPerHost(t *testing.T) {
	var cnt counter
	srv := httptest.NewServer(chain(&cnt))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "chain", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{srv.URL + "/p/0"}, Follow: []string{`/p/\d+$`}})
	cfg.Crawl.PagesPerHost = 4
	c := newTestCrawler(t, cfg, openStore(t), false)
	ctx := context.Background()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cnt.total() != 4 || !sum.Finished || sum.Skipped["pages_per_host"] == 0 {
		t.Errorf("%d pages fetched, summary %+v; want 4 and the rest skipped as pages_per_host", cnt.total(), sum)
	}
}

// seedAndRun seeds c and runs it until it finishes or timeout passes,
// failing the test on an error.
func seedAndRun(t *testing.T, c *crawler.Crawler, timeout time.Duration) crawler.Summary {
	t.Helper()
	if _, err := c.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// runUntil seeds and runs the crawler until cond holds (polled), then
// stops it and returns its summary; it fails the test when cond does not
// hold within timeout.
func runUntil(t *testing.T, c *crawler.Crawler, timeout time.Duration, what string, cond func() bool) crawler.Summary {
	t.Helper()
	if _, err := c.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sum crawler.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := c.Run(ctx)
		done <- result{sum, err}
	}()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.sum
}

// TestRestFlushesFinishedPages: a page finished while its host rests is
// stored and acked during that rest, not held until the turn's next
// flush (the extractor works beside the fetcher, so the page may finish
// after the rest began).
func TestRestFlushesFinishedPages(t *testing.T) {
	const delay = 400 * time.Millisecond
	st := openStore(t)
	var mu sync.Mutex
	doneAt := map[string]int64{} // path -> frontier done count when it was requested
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		fs, err := st.FrontierStats(r.Context())
		if err != nil {
			t.Errorf("frontier stats: %v", err)
		}
		mu.Lock()
		doneAt[r.URL.Path] = fs.Done
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/s" {
			w.Write([]byte(`<html><body><a href="/a/1">1</a> <a href="/a/2">2</a> <a href="/a/3">3</a></body></html>`))
			return
		}
		w.Write([]byte(`<html><body><p>Lowongan operator pabrik, gaji UMR.</p></body></html>`))
	}))
	defer srv.Close()
	cfg := testConfig(config.Source{Name: "board", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{srv.URL + "/s"}, Follow: []string{`/a/\d+$`}})
	cfg.Crawl.HostDelay = config.Duration(delay)
	c := newTestCrawler(t, cfg, st, false)
	sum := seedAndRun(t, c, 30*time.Second)
	if !sum.Finished || sum.Pages != 4 {
		t.Fatalf("summary %+v, want 4 pages and finished", sum)
	}
	mu.Lock()
	defer mu.Unlock()
	// /s and /a/1 are done by the time /a/2 is asked for, /a/2 by /a/3.
	if doneAt["/a/2"] < 2 || doneAt["/a/3"] < 3 {
		t.Errorf("done count when /a/2 and /a/3 were requested: %d, %d; want 2 and 3 (pages acked during the rests)", doneAt["/a/2"], doneAt["/a/3"])
	}
}
