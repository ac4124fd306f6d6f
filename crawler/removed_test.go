package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
)

// TestRemovedAd: an ad page that answers 404 or 410 when revisited (as
// ad_every queues it) marks its ad removed; the ad and its text are kept.
func TestRemovedAd(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var gone atomic.Bool
			mux := http.NewServeMux()
			mux.HandleFunc("/jobs", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `<html><body><a href="/job/1">1</a></body></html>`)
			})
			mux.HandleFunc("/job/1", func(w http.ResponseWriter, r *http.Request) {
				if gone.Load() {
					http.Error(w, "gone", status)
					return
				}
				fmt.Fprint(w, `<html><head><script type="application/ld+json">{"@type":"JobPosting","title":"Operator","description":"Lowongan operator pabrik."}</script></head></html>`)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			cfg := testConfig(config.Source{Name: "board", Type: lokerwatch.SourceJobBoard,
				Seeds: []string{srv.URL + "/jobs"}, Follow: []string{`/job/\d+$`}, AdEvery: config.Duration(time.Hour)})
			cfg.Crawl.Robots = false
			st := openStore(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := newTestCrawler(t, cfg, st, false)
			if _, err := c.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			if sum, err := c.Run(ctx); err != nil || sum.Ads != 1 {
				t.Fatalf("first crawl: %+v, %v", sum, err)
			}
			u := srv.URL + "/job/1"
			ad, err := st.GetAd(ctx, lokerwatch.PageAdID(u))
			if err != nil || !ad.RemovedAt.IsZero() {
				t.Fatalf("ad after the first crawl: %+v, %v", ad, err)
			}

			// The revisit, as a long-running worker queues it after ad_every.
			gone.Store(true)
			if n, err := st.Add(ctx, storage.Request{URL: u, Source: "board", Depth: 1, Kind: "page", Revisit: true, Recur: true}); err != nil || n != 1 {
				t.Fatalf("queue the revisit: %d, %v", n, err)
			}
			before := time.Now()
			sum, err := newTestCrawler(t, cfg, st, false).Run(ctx)
			if err != nil || sum.Removed != 1 {
				t.Fatalf("revisit: %+v, %v; want one ad marked removed", sum, err)
			}
			ad, err = st.GetAd(ctx, lokerwatch.PageAdID(u))
			if err != nil {
				t.Fatal(err)
			}
			if ad.RemovedAt.Before(before.Add(-time.Second)) || ad.Title != "Operator" {
				t.Errorf("ad after its page went: removed at %v, title %q", ad.RemovedAt, ad.Title)
			}
		})
	}
}
