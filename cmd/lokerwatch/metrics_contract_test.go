package main

import (
	"os/exec"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lokerwatch/lokerwatch/deploy"
	"github.com/lokerwatch/lokerwatch/review"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// notExportedYet lists metrics of the contract whose exporter is not
// written yet, with who owes them. The test fails when one of them shows
// up, so that the entry is removed.
var notExportedYet = map[string]string{}

// Series Prometheus makes itself; the program cannot export them.
var prometheusMade = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}

const scamJobPage = `<!doctype html><html><head><title>Admin Kamboja</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"JobPosting","title":"Lowongan admin Kamboja",
"description":"Gaji 20 juta, tiket ditanggung, tanpa pengalaman, hubungi WA 0812-3456-7890, berangkat minggu ini pakai visa turis"}</script>
</head><body>Lowongan admin Kamboja</body></html>`

const cleanJobPage = `<!doctype html><html><head><title>Staf gudang</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"JobPosting","title":"Staf gudang",
"description":"PT Maju Jaya membuka lowongan staf gudang di Cikarang. Kirim CV ke hrd@majujaya.co.id."}</script>
</head><body>Staf gudang</body></html>`

// TestMetricsContract crawls a fixture board as `lokerwatch crawl
// --metrics-listen` does, scrapes its /metrics, builds the review console the
// way `serve` does and scrapes its /metrics, lints both, and checks that
// every metric the alert rules and the Grafana dashboards read
// (deploy.Queries) is among the metrics the program exports.
func TestMetricsContract(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		case "/jobs":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><a href="/job/1">1</a> <a href="/job/2">2</a> <a href="/job/3">3</a> <a href="/private/4">4</a></body></html>`)
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
	// The on-call webhook (issue 22): the flagged ad is announced to it.
	var hookCalls atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookCalls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	cfgPath := writeFile(t, "lw.yaml", fmt.Sprintf(`crawl:
  user_agent: "lokerwatch-test/1.0"
  parallelism: 2
  host_delay: 0s
  timeout: 5s
  max_attempts: 1
  allow_private: ["127.0.0.1"]
sources:
  - {name: board, type: jobboard, seeds: ["%s/jobs"], follow: ['/job/', '/private/']}
notify:
  webhook: {url: "%s/hook", secret: "contract-test-secret-0123"}
  rules:
    - {name: high, min_score: 50, to: [webhook]}
`, site.URL, hook.URL))
	dbPath := filepath.Join(t.TempDir(), "lw.db")

	// The crawl, wired as `lokerwatch crawl` wires it (runCrawl, but the
	// store stays open for the scrape; the process would exit instead).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	var c common
	fs := flags(e, "crawl", "")
	c.register(fs)
	c.registerMetrics(fs)
	if err := parse(fs, []string{"--config", cfgPath, "--store", "sqlite:" + dbPath,
		"--metrics-listen", "127.0.0.1:0", "--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	p, err := buildPipeline(ctx, e, &c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.crawler.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := runCrawler(ctx, p, nil)
	if err != nil || !sum.Finished || sum.Flagged != 1 {
		t.Fatalf("crawl: %+v, %v; want it finished with the Cambodia ad flagged\nstderr: %s", sum, err, stderr.String())
	}
	p.alerts.drain(ctx, p.log, time.Minute)
	if n := hookCalls.Load(); n != 1 {
		t.Errorf("the on-call webhook was called %d times, want 1", n)
	}
	addr := metricsAddr(t, stderr.String())
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := httpGet(t, "http://"+addr+path); code != http.StatusOK {
			t.Errorf("crawl %s: %d", path, code)
		}
	}
	_, crawlText := httpGet(t, "http://"+addr+"/metrics")
	// OpenMetrics when a scraper asks for it.
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(string(body), "# EOF\n") {
			t.Errorf("/metrics asked for OpenMetrics: Content-Type %q, body ends %q", ct, tail(string(body), 20))
		}
	}
	crawlFamilies := parseMetrics(t, "crawl /metrics", crawlText)

	// The numbers say what happened: the fixture board gave 3 pages (the
	// 404 is http_4xx, the private page robots_denied), 2 ads, 1 flagged.
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"lokerwatch_crawl_requests_total", map[string]string{"source": "board", "outcome": "ok"}, 3},
		{"lokerwatch_crawl_requests_total", map[string]string{"source": "board", "outcome": "http_4xx"}, 1},
		{"lokerwatch_crawl_requests_total", map[string]string{"source": "board", "outcome": "robots_denied"}, 1},
		{"lokerwatch_crawl_requests_total", map[string]string{"source": "other", "outcome": "timeout"}, 0},
		{"lokerwatch_ads_extracted_total", map[string]string{"source": "board"}, 2},
		{"lokerwatch_ads_flagged_total", map[string]string{"source": "board"}, 1},
		{"lokerwatch_links_dropped_total", map[string]string{"source": "board", "reason": "max_depth"}, 0},
		{"lokerwatch_ads_classified_total", map[string]string{"verdict": "flagged"}, 1},
		{"lokerwatch_frontier_requests", map[string]string{"state": "done"}, 3},
		{"lokerwatch_review_items", map[string]string{"status": "pending"}, 1},
		{"lokerwatch_crawl_workers", nil, 2},
		{"lokerwatch_store_scrape_errors", nil, 0},
		{"lokerwatch_notify_sent_total", map[string]string{"channel": "webhook"}, 1},
		{"lokerwatch_notify_failed_total", map[string]string{"channel": "telegram"}, 0},
		{"lokerwatch_notify_retried_total", map[string]string{"channel": "webhook"}, 0},
		{"lokerwatch_notify_queue_depth", nil, 0},
		{"lokerwatch_notify_outbox_alerts", map[string]string{"state": "sent"}, 1},
	} {
		if got, ok := value(crawlFamilies[c.family], c.labels); !ok || got != c.want {
			t.Errorf("crawl: %s%v = %v (found %v), want %v", c.family, c.labels, got, ok, c.want)
		}
	}

	// The review console, built as `serve` builds it, after a request.
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := newRegistry(st, slog.New(slog.DiscardHandler))
	srv, err := review.New(review.Options{Store: st, Gatherer: reg, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("console /metrics: %d", rec.Code)
	}
	consoleFamilies := parseMetrics(t, "console /metrics", rec.Body.String())
	if got, ok := value(consoleFamilies["lokerwatch_http_requests_total"], map[string]string{"handler": "GET /healthz", "code": "200"}); !ok || got != 1 {
		t.Errorf("console: lokerwatch_http_requests_total{handler=GET /healthz,code=200} = %v (found %v), want 1", got, ok)
	}

	// A worker on Redis also exports the store's error counters.
	redisFamilies := map[string]*dto.MetricFamily{}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Log("redis-server not installed (apt-get install redis-server): Redis metrics not checked")
	} else {
		rsrv := redistest.Start(t, redistest.Config{})
		rst, err := openStore(context.Background(), &config.Config{Store: rsrv.URL()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rst.Close()
		rreg := newRegistry(rst, nil)
		if problems, err := testutil.GatherAndLint(rreg); err != nil || len(problems) > 0 {
			t.Errorf("redis store metrics lint: %v %v", problems, err)
		}
		mfs, err := rreg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			redisFamilies[mf.GetName()] = mf
		}
	}

	exported := map[string]bool{}
	for _, fams := range []map[string]*dto.MetricFamily{crawlFamilies, consoleFamilies, redisFamilies} {
		for _, mf := range fams {
			for _, n := range seriesNames(mf) {
				exported[n] = true
			}
		}
	}

	queries, err := deploy.Queries("../../deploy")
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 20 {
		t.Fatalf("only %d PromQL expressions found in deploy/; the reader lost some", len(queries))
	}
	missing := map[string][]string{}
	checked := map[string]bool{}
	for _, q := range queries {
		names, err := deploy.MetricNames(q.Expr)
		if err != nil {
			t.Errorf("%s: %v\n\texpr: %s", q.Where, err, q.Expr)
			continue
		}
		for _, n := range names {
			if slices.Contains(prometheusMade, n) {
				continue
			}
			checked[n] = true
			if !exported[n] {
				missing[n] = append(missing[n], q.Where)
			}
		}
	}
	for name, where := range missing {
		if why, ok := notExportedYet[baseName(name)]; ok {
			t.Logf("not exported yet: %s (%s), read by %d queries", name, why, len(where))
			continue
		}
		t.Errorf("%s is read by %s but not exported by lokerwatch crawl or serve", name, strings.Join(where, "; "))
	}
	for name := range notExportedYet {
		if exported[name] {
			t.Errorf("%s is exported now: remove it from notExportedYet", name)
		}
	}
	t.Logf("%d PromQL expressions read %d metrics; %d series names exported", len(queries), len(checked), len(exported))
}

// metricsAddr finds the address the metrics server listens on in the JSON log.
func metricsAddr(t *testing.T, log string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "metrics listening" {
			return l.Addr
		}
	}
	t.Fatalf("no \"metrics listening\" line in the log:\n%s", log)
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// parseMetrics parses a scrape in the text format and lints it.
func parseMetrics(t *testing.T, what, text string) map[string]*dto.MetricFamily {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("%s: lint: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: lint: %s: %s", what, p.Metric, p.Text)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader([]byte(text)))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return fams
}

// seriesNames are the names a family's series have in Prometheus.
func seriesNames(mf *dto.MetricFamily) []string {
	n := mf.GetName()
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{n, n + "_bucket", n + "_sum", n + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{n, n + "_sum", n + "_count"}
	}
	return []string{n}
}

func baseName(n string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(n, suf); ok {
			return b
		}
	}
	return n
}

// value is the value of the family's series with exactly these labels.
func value(mf *dto.MetricFamily, want map[string]string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			if want[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
