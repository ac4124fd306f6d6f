package notify_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
)

// scamPage is a job ad the built-in rules flag.
func scamPage(i int) string {
	return fmt.Sprintf(`<!doctype html><html><head><title>Admin Kamboja %d</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"JobPosting","title":"Lowongan admin Kamboja nomor %d",
"description":"Gaji 20 juta, tiket ditanggung, tanpa pengalaman, hubungi WA 0812-3456-78%02d, berangkat minggu ini pakai visa turis"}</script>
</head><body>Lowongan admin Kamboja %d</body></html>`, i, i, i, i)
}

// The crawl does not wait for alerts: with the webhook hanging on every
// request and the Bot API refusing connections, a crawl of a board of
// flagged ads finishes; when both come back, each ad is announced once
// on each channel.
func TestCrawlDoesNotStallWhileReceiversAreDown(t *testing.T) {
	const ads = 6
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				switch {
				case r.URL.Path == "/robots.txt":
					fmt.Fprint(w, "User-agent: *\nAllow: /\n")
				case r.URL.Path == "/jobs":
					fmt.Fprint(w, "<html><body>")
					for i := range ads {
						fmt.Fprintf(w, `<a href="/job/%d">job %d</a> `, i, i)
					}
					fmt.Fprint(w, "</body></html>")
				default:
					var i int
					if _, err := fmt.Sscanf(r.URL.Path, "/job/%d", &i); err != nil || i >= ads {
						http.NotFound(w, r)
						return
					}
					fmt.Fprint(w, scamPage(i))
				}
			}))
			defer site.Close()

			// The webhook takes each request and answers nothing until released.
			release := make(chan struct{})
			var hanging atomic.Int64
			hook := &hookReceiver{t: t}
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hanging.Add(1)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				hook.ServeHTTP(w, r)
			}))
			defer hs.Close()
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()
			// The Bot API's address, with nothing listening.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tgAddr := ln.Addr().String()
			ln.Close()

			ncfg := notifyConfig(hs.URL, "http://"+tgAddr)
			ncfg.Rules[0].MinScore = 50
			ncfg.Timeout = config.Duration(2 * time.Minute) // the hanging requests hang for the whole crawl
			h := newNotifier(t, st, ncfg)
			h.run(t)

			cfg := config.Default()
			cfg.Crawl.AllowPrivate = []string{"127.0.0.1"}
			cfg.Crawl.HostDelay = 0
			cfg.Crawl.Parallelism = 2
			cfg.Crawl.Timeout = config.Duration(10 * time.Second)
			cfg.Crawl.Lease = config.Duration(time.Minute)
			cfg.Sources = []config.Source{{Name: "board", Type: lokerwatch.SourceJobBoard,
				Seeds: []string{site.URL + "/jobs"}, Follow: []string{`/job/`}}}
			eng, err := classifiers.New(classifiers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cr, err := crawler.New(crawler.Options{Config: cfg, Store: st, Classifier: eng, Alerts: h.n, Worker: "t"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, err := cr.Seed(ctx); err != nil {
				t.Fatal(err)
			}
			sum, err := cr.Run(ctx)
			if err != nil || !sum.Finished || sum.Flagged != ads || sum.Queued != ads {
				t.Fatalf("crawl: %+v, %v; want it finished with %d ads flagged and queued", sum, err, ads)
			}
			// The crawl is over while no alert has been delivered.
			if n := len(hook.deliveries()); n != 0 {
				t.Fatalf("%d webhook deliveries before the receiver answered anything", n)
			}
			eventually(t, "the senders to be stuck on the hanging webhook", func() bool { return hanging.Load() >= 1 })
			s, err := st.AlertStats(ctx)
			if err != nil || s.Pending != 2*ads {
				t.Fatalf("outbox after the crawl: %+v, %v; want %d pending", s, err, 2*ads)
			}

			// Both receivers come back.
			close(release)
			tg := &tgReceiver{}
			ln, err = net.Listen("tcp", tgAddr)
			if err != nil {
				t.Skipf("the Bot API's port was taken meanwhile: %v", err)
			}
			ts := httptest.NewUnstartedServer(tg)
			ts.Listener.Close()
			ts.Listener = ln
			ts.Start()
			defer ts.Close()
			eventually(t, "every ad announced on both channels", func() bool {
				return len(hook.deliveries()) == ads && len(tg.messages()) == ads
			})
			if err := h.n.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, d := range hook.deliveries() {
				seen[d.Event.Item.ID]++
			}
			if len(seen) != ads || len(hook.refused()) > 0 {
				t.Errorf("webhook: %d items announced (%v), bad signatures %v", len(seen), seen, hook.refused())
			}
			for _, m := range tg.messages() {
				if m.ChatID != testChat {
					t.Errorf("chat_id %q", m.ChatID)
				}
			}
			if s, _ := st.AlertStats(ctx); s.Sent != 2*ads {
				t.Errorf("outbox at the end: %+v", s)
			}
		})
	}
}
