package review

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

const (
	benchItems    = 10_000
	benchAnalysts = 20
	// p99Gate is the bound for the queue page and claims.
	p99Gate = 50 * time.Millisecond
)

// BenchmarkReviewDesk serves the console over real HTTP from a SQLite
// store holding 10,000 pending items, to 20 analysts at once (each with
// its own session and its own goroutine), and reports the median and 99th
// percentile latency of the queue page and of "claim next", alone and
// mixed ("work"). /healthz under the same load is the baseline: what HTTP
// and the session-less middleware cost on this machine.
//
// LOKERWATCH_BENCH_STORE=redis runs it on a redis-server started for it.
func BenchmarkReviewDesk(b *testing.B) {
	var st storage.Store = testStore(b)
	if os.Getenv("LOKERWATCH_BENCH_STORE") == "redis" {
		st = redisStore(b)
	}
	srv, err := New(Options{Store: st, Lease: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ts := newBenchServer(b, srv)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	cats := lokerwatch.Categories
	start := time.Now()
	for i := range benchItems {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("bench-%05d", i), Source: fmt.Sprint("source-", i%7), Lang: []string{"id", "en"}[i%2],
			URL: fmt.Sprintf("https://jobs.example/%d", i), Title: fmt.Sprintf("Lowongan kerja luar negeri nomor %d, gaji besar", i),
			Assessment: &lokerwatch.Assessment{Score: 30 + rng.IntN(71), Flagged: true, Category: cats[i%len(cats)]}}
		if _, _, err := st.Enqueue(ctx, ad); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("queued %d items in %v", benchItems, time.Since(start).Round(time.Millisecond))
	if la, err := os.ReadFile("/proc/loadavg"); err == nil { // the machine is shared: say how busy it was
		b.Logf("load average before the run: %s", strings.TrimSpace(string(la)))
		b.Cleanup(func() {
			if la, err := os.ReadFile("/proc/loadavg"); err == nil {
				b.Logf("load average after the run: %s", strings.TrimSpace(string(la)))
			}
		})
	}
	hash, err := hashPassword("not used: sessions are made directly")
	if err != nil {
		b.Fatal(err)
	}
	cookies := make([]*http.Cookie, benchAnalysts)
	csrfs := make([]string, benchAnalysts)
	for i := range benchAnalysts {
		name := fmt.Sprintf("analyst%02d", i)
		if err := st.PutUser(ctx, &storage.User{Name: name, Role: storage.RoleAnalyst, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		secret := fmt.Sprintf("bench-session-secret-%02d", i)
		csrfs[i] = fmt.Sprintf("bench-csrf-%02d", i)
		if err := st.PutSession(ctx, &storage.Session{ID: secretID(secret), User: name, CSRF: csrfs[i], CreatedAt: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		cookies[i] = &http.Cookie{Name: "lw_session", Value: secret}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchAnalysts}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}

	// drive runs b.N steps from exactly benchAnalysts goroutines, one per
	// analyst, each starting its next step as soon as the last one is
	// answered (no think time: the worst case for 20 analysts), and reports
	// the median and 99th percentile latency of each kind of timed request.
	// The latencies are measured by the client, so they include HTTP both
	// ways; a step may also make untimed requests (releasing a claim), which
	// still load the server.
	drive := func(b *testing.B, kinds []string, step func(who int, timed func(kind int, since time.Time)) error, gate bool) {
		for who := range benchAnalysts { // warm up: connections, statement caches
			if err := step(who, func(int, time.Time) {}); err != nil {
				b.Fatal(err)
			}
		}
		var (
			mu   sync.Mutex
			all  = make([][]time.Duration, len(kinds))
			done atomic.Int64
			wg   sync.WaitGroup
		)
		b.ResetTimer()
		for who := range benchAnalysts {
			wg.Go(func() {
				mine := make([][]time.Duration, len(kinds))
				timed := func(kind int, since time.Time) { mine[kind] = append(mine[kind], time.Since(since)) }
				for done.Add(1) <= int64(b.N) {
					if err := step(who, timed); err != nil {
						b.Error(err)
						break
					}
				}
				mu.Lock()
				for k := range kinds {
					all[k] = append(all[k], mine[k]...)
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		b.StopTimer()
		for k, kind := range kinds {
			lat := all[k]
			if len(lat) == 0 {
				continue
			}
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
			prefix := ""
			if len(kinds) > 1 {
				prefix = kind + "-"
			}
			b.ReportMetric(float64(p99.Microseconds())/1000, prefix+"p99-ms")
			b.ReportMetric(float64(p50.Microseconds())/1000, prefix+"p50-ms")
			// The gate needs enough samples for a 99th percentile to mean
			// something; the first rounds of a benchmark (b.N = 1, 100)
			// only size the run.
			if gate && len(lat) >= 500 && p99 >= p99Gate {
				b.Errorf("%s: p99 %v (p50 %v, %d requests), want under %v", kind, p99, p50, len(lat), p99Gate)
			}
		}
	}
	get := func(who int, path string) error {
		req, _ := http.NewRequest("GET", ts+path, nil)
		req.AddCookie(cookies[who])
		return expect(hc, req, 200)
	}
	// claim claims the top item for an analyst, checks that nobody else
	// holds it, and returns the (untimed) release that puts it back, so
	// that 10,000 items stay pending and all fight over the top of the queue.
	var holdMu sync.Mutex
	holder := map[string]int{}
	claim := func(who int) (release func() error, err error) {
		req, _ := http.NewRequest("POST", ts+"/api/queue/next", nil)
		req.AddCookie(cookies[who])
		req.Header.Set("X-CSRF-Token", csrfs[who])
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var it lokerwatch.ReviewItem
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("claim next: %s", resp.Status)
		}
		if err := jsonDecode(resp.Body, &it); err != nil {
			return nil, err
		}
		holdMu.Lock()
		other, held := holder[it.ID]
		holder[it.ID] = who
		holdMu.Unlock()
		if held {
			return nil, fmt.Errorf("item %s handed to analyst %d while analyst %d holds it", it.ID, who, other)
		}
		return func() error {
			holdMu.Lock()
			delete(holder, it.ID)
			holdMu.Unlock()
			req, _ := http.NewRequest("POST", ts+"/api/items/"+it.ID+"/release", nil)
			req.AddCookie(cookies[who])
			req.Header.Set("X-CSRF-Token", csrfs[who])
			return expect(hc, req, 200)
		}, nil
	}
	getStep := func(path string) func(int, func(int, time.Time)) error {
		return func(who int, timed func(int, time.Time)) error {
			t0 := time.Now()
			if err := get(who, path); err != nil {
				return err
			}
			timed(0, t0)
			return nil
		}
	}
	claimStep := func(who int, timed func(int, time.Time)) error {
		t0 := time.Now()
		release, err := claim(who)
		if err != nil {
			return err
		}
		timed(0, t0)
		return release()
	}

	b.Run("baseline-healthz", func(b *testing.B) {
		drive(b, []string{"healthz"}, getStep("/healthz"), false)
	})
	// Pages alone: identical reads overlap, nothing changes the queue.
	b.Run("queue-page", func(b *testing.B) {
		drive(b, []string{"queue"}, getStep("/?status=pending"), true)
	})
	b.Run("queue-page-filtered", func(b *testing.B) {
		drive(b, []string{"queue"}, getStep("/?status=pending&category=trafficking&lang=en"), true)
	})
	b.Run("claim-next", func(b *testing.B) {
		drive(b, []string{"claim"}, claimStep, true)
	})
	// The working day: each analyst loads the queue, claims the top item,
	// and (untimed) gives it back, so pages are read while claims change
	// the queue and the cached counts are forgotten on every claim.
	b.Run("work", func(b *testing.B) {
		drive(b, []string{"queue", "claim"}, func(who int, timed func(int, time.Time)) error {
			t0 := time.Now()
			if err := get(who, "/?status=pending"); err != nil {
				return err
			}
			timed(0, t0)
			t0 = time.Now()
			release, err := claim(who)
			if err != nil {
				return err
			}
			timed(1, t0)
			return release()
		}, true)
	})
	if n, _ := st.CountItems(ctx); n[lokerwatch.StatusPending]+n[lokerwatch.StatusClaimed] != benchItems {
		b.Logf("counts after the run: %v", n)
	}
}

func expect(hc *http.Client, req *http.Request, code int) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != code {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	return nil
}
