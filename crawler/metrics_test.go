package crawler_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
)

const okJobPage = `<!doctype html><html><head><title>Admin</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"JobPosting","title":"Staf admin gudang",
"description":"PT Maju Jaya membuka lowongan staf admin gudang di Cikarang. Kirim CV ke hrd@majujaya.co.id.",
"hiringOrganization":{"@type":"Organization","name":"PT Maju Jaya"}}</script></head><body>ok</body></html>`

// TestCrawlMetrics crawls a web built so that each fetch has a known
// outcome, then checks every series of the crawler's metrics and lints
// what a scrape would return.
func TestCrawlMetrics(t *testing.T) {
	// board: one host with every kind of answer but 429.
	board := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		case "/start":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body>`)
			for _, p := range []string{"/ok", "/missing", "/broken", "/private/x", "/redirect-private", "/big", "/hang"} {
				fmt.Fprintf(w, `<a href="%s">x</a>`, p)
			}
			fmt.Fprint(w, `</body></html>`)
		case "/ok":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, okJobPage)
		case "/broken":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/redirect-private":
			http.Redirect(w, r, "/private/y", http.StatusFound)
		case "/big":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body><p>"+strings.Repeat("lowongan ", 20000)+"</p></body></html>")
		case "/hang":
			<-r.Context().Done() // until the crawler gives up
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<html><body><h1>Feed moved</h1></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer board.Close()
	// busy: a host that asks us to slow down (it then rests for 30 s, so it
	// gets a host of its own).
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer busy.Close()
	// intranet: the guard refuses it.
	intranet := httptest.NewServer(http.NotFoundHandler())
	defer intranet.Close()
	// gone: nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()

	cfg := testConfig(
		config.Source{Name: "board", Type: lokerwatch.SourceJobBoard, Seeds: []string{board.URL + "/start"}, Follow: []string{`/`}},
		config.Source{Name: "classifieds", Type: lokerwatch.SourceRSS, Seeds: []string{board.URL + "/feed.xml"}},
		config.Source{Name: "busy", Type: lokerwatch.SourceJobBoard, Seeds: []string{busy.URL + "/jobs"}},
		config.Source{Name: "intranet", Type: lokerwatch.SourceJobBoard, Seeds: []string{intranet.URL + "/jobs"}},
		config.Source{Name: "gone", Type: lokerwatch.SourceJobBoard, Seeds: []string{gone + "/jobs"}},
	)
	cfg.Crawl.MaxAttempts = 1 // one fetch per URL, so the counts are exact
	cfg.Crawl.MaxBody = 64 << 10
	cfg.Crawl.Timeout = config.Duration(300 * time.Millisecond)
	refused := strings.TrimPrefix(intranet.URL, "http://")
	var d net.Dialer
	reg := prometheus.NewPedanticRegistry()
	c, err := crawler.New(crawler.Options{
		Config: cfg, Store: openStore(t), Classifier: newClassifier(t), Worker: t.Name(), Registerer: reg,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == refused {
				return nil, fmt.Errorf("%w: %s is private", crawler.ErrRefused, addr)
			}
			return d.DialContext(ctx, network, addr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Before the first fetch every source × outcome series is there at 0.
	if n := testutil.CollectAndCount(reg, "lokerwatch_crawl_requests_total"); n != 6*len(crawler.Outcomes) {
		t.Errorf("%d request series before the crawl, want %d (5 sources and other, × %d outcomes)", n, 6*len(crawler.Outcomes), len(crawler.Outcomes))
	}

	ctx := context.Background()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Finished {
		t.Fatalf("crawl did not finish: %+v", sum)
	}

	want := map[string]float64{}
	for _, s := range []string{"board", "classifieds", "busy", "intranet", "gone", "other"} {
		for _, o := range crawler.Outcomes {
			want[s+"/"+o] = 0
		}
	}
	for k, v := range map[string]float64{
		"board/ok": 2, "board/http_4xx": 1, "board/http_5xx": 1, "board/robots_denied": 2,
		"board/too_large": 1, "board/timeout": 1,
		"classifieds/ok": 1, "busy/http_429": 1, "intranet/guard_denied": 1, "gone/network": 1,
	} {
		want[k] = v
	}
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]float64{} // family -> "label values" -> value
	for _, mf := range families {
		vals := map[string]float64{}
		for _, m := range mf.GetMetric() {
			var lv []string
			for _, lp := range m.GetLabel() {
				lv = append(lv, lp.GetValue())
			}
			key := strings.Join(lv, "/")
			switch {
			case m.Counter != nil:
				vals[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				vals[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				vals[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
		byName[mf.GetName()] = vals
	}
	// Labels come sorted by name: outcome before source.
	for key, v := range byName["lokerwatch_crawl_requests_total"] {
		o, s, _ := strings.Cut(key, "/")
		got[s+"/"+o] = v
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("lokerwatch_crawl_requests_total{source/outcome=%s} = %v, want %v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d request series, want %d: %v", len(got), len(want), got)
	}

	// Fetches made: seven of board's URLs (/private/x was refused before),
	// the feed and busy's; the guard's and the dead host's URLs failed at
	// robots.txt.
	if n := byName["lokerwatch_crawl_request_duration_seconds"][""]; n != 9 {
		t.Errorf("duration histogram has %v observations, want 9 fetches", n)
	}
	if v := byName["lokerwatch_crawl_in_flight_requests"][""]; v != 0 {
		t.Errorf("in-flight after the crawl = %v, want 0", v)
	}
	if v := byName["lokerwatch_crawl_workers"][""]; v != float64(cfg.Crawl.Parallelism) {
		t.Errorf("workers = %v, want crawl.parallelism %d", v, cfg.Crawl.Parallelism)
	}
	for src, v := range byName["lokerwatch_crawl_last_success_timestamp_seconds"] {
		succeeded := src == "board" || src == "classifieds"
		if succeeded && (v < float64(start.Unix()) || v > float64(time.Now().Unix()+1)) {
			t.Errorf("last success of %s = %v, want a time during the crawl", src, v)
		}
		if !succeeded && v != 0 {
			t.Errorf("last success of %s = %v, want 0 (it never gave a page)", src, v)
		}
	}
	for key, w := range map[string]float64{
		"ok/board": 3, "parse_error/board": 0, "ok/classifieds": 0, "parse_error/classifieds": 1,
	} {
		// Labels sorted by name: result before source.
		if v := byName["lokerwatch_pages_parsed_total"][key]; v != w {
			t.Errorf("lokerwatch_pages_parsed_total{result/source=%s} = %v, want %v", key, v, w)
		}
	}
	if v := byName["lokerwatch_ads_extracted_total"]["board"]; v != 1 || float64(sum.Ads) != v {
		t.Errorf("ads extracted from board = %v (summary %d), want 1", v, sum.Ads)
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestCrawlMetricsOptional: without a Registerer the crawler works and
// exports nothing; two crawlers on one registry share the metrics.
func TestCrawlMetricsOptional(t *testing.T) {
	cfg := testConfig(config.Source{Name: "a", Type: lokerwatch.SourceJobBoard, Seeds: []string{"https://example.org/"}})
	if _, err := crawler.New(crawler.Options{Config: cfg, Store: openStore(t), Classifier: newClassifier(t)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := crawler.New(crawler.Options{Config: cfg, Store: openStore(t), Classifier: newClassifier(t), Registerer: reg}); err != nil {
			t.Fatalf("second crawler on one registry: %v", err)
		}
	}
	// A name taken by a metric of another kind is an error, not a panic.
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "lokerwatch_crawl_requests_total", Help: "x"}))
	if _, err := crawler.New(crawler.Options{Config: cfg, Store: openStore(t), Classifier: newClassifier(t), Registerer: clash}); err == nil {
		t.Error("a clashing metric name was accepted")
	}
}
