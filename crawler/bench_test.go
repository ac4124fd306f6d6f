package crawler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// benchSite serves /jobs linking to n ad pages /job/N spread over hosts
// servers (the frontier fetches one host with one worker at a time, as
// politeness asks), each a JobPosting in JSON-LD, about 3 KB like a real
// job board page.
func benchSite(n, hosts int) (*httptest.Server, func()) {
	var srvs []*httptest.Server
	h := benchHandler(n, func(i int) string { return srvs[i%len(srvs)].URL })
	for i := 0; i < hosts; i++ {
		srvs = append(srvs, httptest.NewServer(h))
	}
	return srvs[0], func() {
		for _, s := range srvs {
			s.Close()
		}
	}
}

func benchHandler(n int, host func(int) string) http.Handler {
	filler := strings.Repeat("<p>Persyaratan umum dan deskripsi pekerjaan untuk posisi ini.</p>", 30)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/jobs" {
			var b strings.Builder
			b.WriteString("<html><body><ul>")
			for i := 0; i < n; i++ {
				fmt.Fprintf(&b, `<li><a href="%s/job/%d">Lowongan %d</a></li>`, host(i), i, i)
			}
			b.WriteString("</ul></body></html>")
			w.Write([]byte(b.String()))
			return
		}
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/job/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		jp, _ := json.Marshal(map[string]any{"@context": "https://schema.org", "@type": "JobPosting",
			"title": fmt.Sprintf("Operator produksi %d", id), "description": "<p>Dibutuhkan operator produksi, gaji UMK.</p>",
			"datePosted": "2026-05-01", "hiringOrganization": map[string]any{"name": "PT Contoh"}})
		fmt.Fprintf(w, `<html><head><script type="application/ld+json">%s</script></head><body>%s<a href="/jobs">back</a></body></html>`, jp, filler)
	})
}

// BenchmarkCrawl reports pages per second of the crawler (SQLite store,
// robots off, host_delay 0) against a local job board on 8 hosts, beside a bare colly
// collector crawling the same site at the same parallelism and extracting
// the same JSON-LD: the baseline for what the frontier, the store and the
// classifier cost.
func BenchmarkCrawl(b *testing.B) {
	const pages = 300
	const parallelism = 8
	srv, stop := benchSite(pages, parallelism)
	defer stop()

	run := func(b *testing.B, open func(b *testing.B) (crawler.Store, func())) {
		cfg := config.Default()
		cfg.Crawl.AllowPrivate = []string{"127.0.0.1"} // the httptest servers
		cfg.Crawl.UserAgent = "lokerwatch-bench/1.0"
		cfg.Crawl.Parallelism = parallelism
		cfg.Crawl.HostDelay = 0
		cfg.Crawl.Robots = false
		cfg.Sources = []config.Source{{Name: "board", Type: lokerwatch.SourceJobBoard,
			Seeds: []string{srv.URL + "/jobs"}, Follow: []string{`/job/\d+$`}}}
		clf := newClassifier(&testing.T{})
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, closeStore := open(b)
			c := newBenchCrawler(b, cfg, st, clf)
			if _, err := c.Seed(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sum, err := c.Run(context.Background())
			if err != nil || sum.Ads != pages {
				b.Fatalf("run: %+v, %v", sum, err)
			}
			total += sum.Duration
			b.StopTimer()
			closeStore()
			b.StartTimer()
		}
		b.ReportMetric(float64((pages+1)*b.N)/total.Seconds(), "pages/s")
	}
	b.Run("lokerwatch-sqlite", func(b *testing.B) {
		run(b, func(b *testing.B) (crawler.Store, func()) {
			st := openStoreB(b)
			return st, func() { st.Close() }
		})
	})
	b.Run("lokerwatch-redis", func(b *testing.B) {
		if _, err := exec.LookPath("redis-server"); err != nil {
			b.Skip("redis-server not installed (apt-get install redis-server)")
		}
		srv := redistest.Start(b, redistest.Config{})
		run(b, func(b *testing.B) (crawler.Store, func()) {
			st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{Prefix: fmt.Sprintf("b%d:", time.Now().UnixNano())})
			if err != nil {
				b.Fatal(err)
			}
			return st, func() { st.Close() }
		})
	})

	b.Run("bare-colly", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			var ads atomic.Int64
			c := colly.NewCollector(colly.Async(true))
			c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: parallelism})
			c.OnHTML("a[href]", func(e *colly.HTMLElement) {
				if strings.Contains(e.Attr("href"), "/job/") {
					e.Request.Visit(e.Attr("href"))
				}
			})
			c.OnHTML(`script[type="application/ld+json"]`, func(e *colly.HTMLElement) {
				var v map[string]any
				if json.Unmarshal([]byte(e.Text), &v) == nil && v["@type"] == "JobPosting" {
					ads.Add(1)
				}
			})
			start := time.Now()
			c.Visit(srv.URL + "/jobs")
			c.Wait()
			total += time.Since(start)
			if ads.Load() != pages {
				b.Fatalf("bare colly found %d ads", ads.Load())
			}
		}
		b.ReportMetric(float64((pages+1)*b.N)/total.Seconds(), "pages/s")
	})
}
