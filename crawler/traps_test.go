package crawler_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
)

// syncBuffer is a log sink safe for the crawler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTrapsByYield: a listing that pages forever while showing the same
// ads is cut after barrenListings pages without anything new; a chain of
// ad pages linking deeper is cut at max_depth. Each cut is counted per
// source and reason in the summary, the store (status) and
// lokerwatch_links_dropped_total, and logged at WARN once per source and
// reason, not once per link.
func TestTrapsByYield(t *testing.T) {
	var fetched sync.Map
	mux := http.NewServeMux()
	// /list?page=N: the same three ads on every page, and a next page.
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		fetched.Store(r.URL.RequestURI(), true)
		fmt.Fprintf(w, `<html><body><a href="/ad/1">1</a><a href="/ad/2">2</a><a href="/ad/3">3</a>
			<a href="/deep/1">deep</a><a href="/list?page=%d">next</a></body></html>`, p+1)
	})
	// /ad/N: an ad page.
	mux.HandleFunc("/ad/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<html><head><script type="application/ld+json">{"@type":"JobPosting","title":"Operator %s","description":"Lowongan operator pabrik."}</script></head></html>`, r.URL.Path)
	})
	// /deep/N: pages linking one level deeper, forever.
	mux.HandleFunc("/deep/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/deep/"))
		fmt.Fprintf(w, `<html><body><a href="/deep/%d">deeper</a><a href="/deep/%d?x=1">deeper too</a></body></html>`, n+1, n+1)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := testConfig(config.Source{Name: "endless", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{srv.URL + "/list?page=1"}, Follow: []string{`/list\?page=\d+$`, `/ad/\d+$`, `/deep/\d+`}})
	cfg.Crawl.Robots = false
	st := openStore(t)
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	c, err := crawler.New(crawler.Options{Config: cfg, Store: st, Classifier: newClassifier(t), Worker: t.Name(),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(ctx)
	if err != nil || !sum.Finished {
		t.Fatalf("crawl: %+v, %v", sum, err)
	}
	t.Logf("summary: %+v", sum)

	listings := 0
	fetched.Range(func(k, _ any) bool { listings++; return true })
	// Page 1 brings the ads; pages 2… bring nothing new, and the one
	// after the barrenListings-th is not fetched. (Listing pages in
	// flight at once may add one or two.)
	if listings < 11 || listings > 14 {
		t.Errorf("%d listing pages fetched, want about 1 + 10", listings)
	}
	barren := crawler.Drop{Source: "endless", Reason: "trap: listing pages add no new links"}
	deep := crawler.Drop{Source: "endless", Reason: "max_depth"}
	if sum.Dropped[barren] < 1 || sum.Dropped[deep] < 1 {
		t.Errorf("dropped %v, want the listing trap and max_depth counted", sum.Dropped)
	}
	for d, n := range sum.Dropped {
		if d != barren && d != deep {
			t.Errorf("unexpected drop %v: %d", d, n)
		}
		got := testutil.ToFloat64(mustCounter(t, reg, d))
		if got != float64(n) {
			t.Errorf("lokerwatch_links_dropped_total%v = %v, want %d", d, got, n)
		}
	}
	stored, err := st.DroppedLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(sum.Dropped) {
		t.Errorf("store has %v, summary %v", stored, sum.Dropped)
	}
	for _, d := range stored {
		if int(d.N) != sum.Dropped[crawler.Drop{Source: d.Source, Reason: d.Reason}] {
			t.Errorf("store: %+v, summary %v", d, sum.Dropped)
		}
	}
	// One WARN per source and reason as it happens (and one each in the
	// closing summary), however many links.
	for _, d := range []crawler.Drop{barren, deep} {
		if n := strings.Count(logs.String(), `msg="links dropped by a crawl limit; counted`); n != 2 {
			t.Errorf("%d WARN lines on first drops, want 2 (one per reason)\n%s", n, logs.String())
			break
		}
		if l := logs.String(); !strings.Contains(l, fmt.Sprintf(`reason="%s"`, d.Reason)) && !strings.Contains(l, "reason="+d.Reason+" ") {
			t.Errorf("no WARN for %v", d)
		}
	}
}

// mustCounter finds the lokerwatch_links_dropped_total series of d.
func mustCounter(t *testing.T, reg *prometheus.Registry, d crawler.Drop) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "lokerwatch_links_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["source"] == d.Source && labels["reason"] == d.Reason {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	t.Fatalf("no lokerwatch_links_dropped_total series for %v", d)
	return nil
}
