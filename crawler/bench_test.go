package crawler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
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

// BenchmarkCrawl reports pages per second of the crawler — one worker
// process, crawl.parallelism 8, robots off, host_delay 0 — on SQLite
// (lokerwatch crawl) and on Redis (lokerwatch worker), beside a bare colly
// collector crawling the same fixture at the same parallelism with the same
// HTTP client settings and parsing every page with goquery too: the
// baseline for what the frontier, the store and the (real) classifier cost.
//
// The fixture is issue 4's: a listing linking 5,000 ad pages. It is served
// from 8 local hosts because the frontier fetches a host with at most one
// worker at a time, whatever the parallelism — that is its politeness
// contract across workers, not a limit of this machine — so 8 hosts are
// what lets 8 fetches run at once; colly, which limits only the total,
// gets the same 8 hosts.
//
// This machine is shared and its load swings, so redis-vs-colly runs both
// arms in every iteration, in alternating order, and reports the ratio of
// their speeds (x-colly; issue 4 asks for at least 0.7) beside each arm's
// pages/s. redis-2-workers-vs-colly does the same with two workers
// sharing one crawl on Redis, each with half the parallelism.
func BenchmarkCrawl(b *testing.B) {
	const pages = 5000
	const parallelism = 8
	srv, stop := benchSite(pages, parallelism)
	defer stop()
	cfg := config.Default()
	cfg.Crawl.AllowPrivate = []string{"127.0.0.1"} // the httptest servers
	cfg.Crawl.UserAgent = "lokerwatch-bench/1.0"
	cfg.Crawl.Parallelism = parallelism
	cfg.Crawl.HostDelay = 0
	cfg.Crawl.Robots = false
	cfg.Sources = []config.Source{{Name: "board", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{srv.URL + "/jobs"}, Follow: []string{`/job/\d+$`}}}
	clf := newClassifier(b)

	// crawl runs one crawl of the fixture on a fresh store; only Run is timed.
	crawl := func(b *testing.B, open func(b *testing.B) (crawler.Store, func())) time.Duration {
		b.StopTimer()
		st, closeStore := open(b)
		defer closeStore()
		c := newBenchCrawler(b, cfg, st, clf)
		if _, err := c.Seed(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := c.Run(context.Background())
		b.StopTimer()
		if err != nil || sum.Ads != pages || sum.Pages != pages+1 || sum.Errors != 0 {
			b.Fatalf("run: %+v, %v", sum, err)
		}
		return sum.Duration
	}
	collyCrawl := func(b *testing.B) time.Duration {
		b.StopTimer()
		c := bareColly(cfg)
		var ads atomic.Int64
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
		b.StartTimer()
		start := time.Now()
		c.Visit(srv.URL + "/jobs")
		c.Wait()
		took := time.Since(start)
		b.StopTimer()
		if ads.Load() != pages {
			b.Fatalf("bare colly found %d ads", ads.Load())
		}
		return took
	}
	rate := func(d time.Duration, n int) float64 { return float64((pages+1)*n) / d.Seconds() }
	openSQLite := func(b *testing.B) (crawler.Store, func()) {
		st := openStoreB(b)
		return st, func() { st.Close() }
	}
	// Each crawl gets its own redis-server, as each SQLite crawl gets its
	// own file: a crawl into a keyspace holding earlier crawls' keys pays
	// for their rehashing and would be slower for it.
	redisServer := func(b *testing.B) (url string, stop func()) {
		srv := redistest.Start(b, redistest.Config{})
		return srv.URL(), srv.Stop
	}
	openOn := func(b *testing.B, url string) *redis.Store {
		st, err := redis.OpenURL(context.Background(), url, redis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	openRedis := func(b *testing.B) (crawler.Store, func()) {
		url, stop := redisServer(b)
		st := openOn(b, url)
		return st, func() { st.Close(); stop() }
	}
	linked := func(open func(b *testing.B) (crawler.Store, func())) func(b *testing.B) (crawler.Store, func()) {
		return func(b *testing.B) (crawler.Store, func()) {
			st, stop := open(b)
			ps := st.(persona.Store)
			return persona.Linking(st.(storage.Store), persona.NewLinker(ps, persona.Options{Weak: clf.LicensedContact})), stop
		}
	}

	b.Run("lokerwatch-sqlite-linked", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += crawl(b, linked(openSQLite))
		}
		b.ReportMetric(rate(total, b.N), "pages/s")
	})
	b.Run("lokerwatch-redis-linked", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += crawl(b, linked(openRedis))
		}
		b.ReportMetric(rate(total, b.N), "pages/s")
	})
	b.Run("lokerwatch-sqlite", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += crawl(b, openSQLite)
		}
		b.ReportMetric(rate(total, b.N), "pages/s")
	})
	b.Run("lokerwatch-redis", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += crawl(b, openRedis)
		}
		b.ReportMetric(rate(total, b.N), "pages/s")
	})
	b.Run("bare-colly", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			total += collyCrawl(b)
		}
		b.ReportMetric(rate(total, b.N), "pages/s")
	})
	// workers crawls with k workers on one fresh Redis, each its own
	// client and crawl.parallelism/k fetches, so that together they have
	// colly's parallelism; it is timed from the start of the first to the
	// end of the last.
	workers := func(k int) func(b *testing.B) time.Duration {
		return func(b *testing.B) time.Duration {
			b.StopTimer()
			wcfg := *cfg
			wcfg.Crawl.Parallelism = parallelism / k
			url, stop := redisServer(b)
			defer stop()
			cs := make([]*crawler.Crawler, k)
			for w := range cs {
				st := openOn(b, url)
				defer st.Close()
				c, err := crawler.New(crawler.Options{Config: &wcfg, Store: st, Classifier: clf, Worker: fmt.Sprintf("bench-%d", w)})
				if err != nil {
					b.Fatal(err)
				}
				if w == 0 {
					if _, err := c.Seed(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				cs[w] = c
			}
			sums := make([]crawler.Summary, k)
			errs := make([]error, k)
			var wg sync.WaitGroup
			b.StartTimer()
			start := time.Now()
			for w, c := range cs {
				wg.Go(func() { sums[w], errs[w] = c.Run(context.Background()) })
			}
			wg.Wait()
			took := time.Since(start)
			b.StopTimer()
			var ads, fetched int
			for w := range cs {
				if errs[w] != nil || sums[w].Errors != 0 {
					b.Fatalf("worker %d: %+v, %v", w, sums[w], errs[w])
				}
				ads, fetched = ads+sums[w].Ads, fetched+sums[w].Pages
			}
			if ads != pages || fetched != pages+1 {
				b.Fatalf("%d workers stored %d ads from %d pages, want %d from %d", k, ads, fetched, pages, pages+1)
			}
			return took
		}
	}
	// versus runs an arm and bare colly in every iteration, in alternating
	// order, and reports both speeds and their ratio.
	versus := func(name string, arm func(b *testing.B) time.Duration) {
		b.Run(name, func(b *testing.B) {
			var lw, bare time.Duration
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					lw += arm(b)
					bare += collyCrawl(b)
				} else {
					bare += collyCrawl(b)
					lw += arm(b)
				}
			}
			b.ReportMetric(rate(lw, b.N), "lw-pages/s")
			b.ReportMetric(rate(bare, b.N), "colly-pages/s")
			b.ReportMetric(bare.Seconds()/lw.Seconds(), "x-colly")
		})
	}
	versus("sqlite-vs-colly", func(b *testing.B) time.Duration { return crawl(b, openSQLite) })
	versus("redis-vs-colly", func(b *testing.B) time.Duration { return crawl(b, openRedis) })
	// The -linked arms store through persona.Linking, as lokerwatch crawl
	// and worker do: every stored ad is put into its persona (its strong
	// entities and its reposts, looked up by SimHash band).
	versus("sqlite-linked-vs-colly", func(b *testing.B) time.Duration { return crawl(b, linked(openSQLite)) })
	versus("redis-linked-vs-colly", func(b *testing.B) time.Duration { return crawl(b, linked(openRedis)) })
	versus("redis-2-workers-vs-colly", workers(2))
}

// bareColly is a collector with the crawler's HTTP settings (fetch.go:
// transport limits, no compression asked by Go, no cookies, same user
// agent and body limit) and the same parallelism.
func bareColly(cfg *config.Config) *colly.Collector {
	c := colly.NewCollector(colly.Async(true), colly.UserAgent(cfg.Crawl.UserAgent))
	c.MaxBodySize = int(cfg.Crawl.MaxBody)
	c.DisableCookies()
	c.SetRequestTimeout(cfg.Crawl.Timeout.D() + time.Second)
	c.WithTransport(&http.Transport{
		DialContext:            (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DisableCompression:     true,
		TLSHandshakeTimeout:    15 * time.Second,
		ResponseHeaderTimeout:  cfg.Crawl.Timeout.D(),
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 256 << 10,
	})
	c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: cfg.Crawl.Parallelism})
	return c
}
