package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

var prefixSeq atomic.Int64

// openStore opens a store on srv with a fresh key prefix unless opts has one.
func openStore(t testing.TB, srv *redistest.Server, opts redis.Options) *redis.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("t%d:", prefixSeq.Add(1))
	}
	s, err := redis.OpenURL(context.Background(), srv.URL(), opts)
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenURLErrors(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"http://127.0.0.1:1/0", `scheme must be redis:// or rediss://`},
		{"redis:///0", "no host"},
		{"redis://127.0.0.1:99999/0", `bad port "99999"`},
		{"redis://127.0.0.1:7000/abc", "invalid database number"},
		{"redis://127.0.0.1:7000/1/2", "invalid URL path"},
		{"redis://127.0.0.1:7000/0?bogus=1", "bogus"},
		{"redis://user:s3cret@127.0.0.1:7000/x", "invalid database number"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := redis.OpenURL(ctxT(t), tc.url, redis.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OpenURL(%q) error = %v, want one containing %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestOpenURLUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = redis.OpenURL(ctxT(t), "redis://:pw@"+addr+"/0?dial_timeout=500ms", redis.Options{})
	if !errors.Is(err, redis.ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("OpenURL on a closed port: %v, want ErrUnreachable naming %s", err, addr)
	}
}

func TestOpenURLPrefixAndPassword(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{Args: []string{"--requirepass", "pw-123"}})
	if _, err := redis.OpenURL(ctxT(t), srv.URL(), redis.Options{}); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("open without the password: %v, want NOAUTH", err)
	}
	s, err := redis.OpenURL(ctxT(t), "redis://:pw-123@"+srv.Addr+"/2?prefix=crawl1:", redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Prefix() != "crawl1:" {
		t.Fatalf("prefix = %q, want crawl1: from the URL", s.Prefix())
	}
	if _, err := s.Add(ctxT(t), storage.Request{URL: "http://a.example/", Kind: "seed"}); err != nil {
		t.Fatal(err)
	}
	if db := s.Client().Options().DB; db != 2 {
		t.Fatalf("db = %d, want 2", db)
	}
}

// TestKeysUnderPrefix runs every kind of write and checks that each key
// Redis holds starts with the prefix: two crawls can share one Redis.
func TestKeysUnderPrefix(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	for _, kind := range []string{redis.SeenExact, redis.SeenBloom} {
		s := openStore(t, srv, redis.Options{Prefix: "pfx-" + kind + ":", Seen: redis.SeenOptions{Kind: kind, Capacity: 1000}})
		ctx := ctxT(t)
		if _, err := s.Add(ctx, storage.Request{URL: "http://a.example/x", Kind: "listing"}); err != nil {
			t.Fatal(err)
		}
		l, err := s.ClaimRequest(ctx, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fail(ctx, l, storage.FailOptions{Reason: "404"}); err != nil {
			t.Fatal(err)
		}
		ad := &lokerwatch.Ad{ID: "ad1", Source: "s", Title: "t", Entities: lokerwatch.Entities{Phones: []string{"+62"}},
			Assessment: &lokerwatch.Assessment{Score: 80, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, err := s.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Decide(ctx, lokerwatch.Decision{ItemID: "ad1", Verdict: lokerwatch.VerdictScam, Reviewer: "r"}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRobots(ctx, "http://a.example", []byte("User-agent: *"), 200, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.PutEvidence(ctx, &storage.EvidenceRecord{ID: "e1", AdIDs: []string{"ad1"}, WARC: []byte("w")}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutUser(ctx, &storage.User{Name: "u", Role: storage.RoleAnalyst}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSession(ctx, &storage.Session{ID: "s1", User: "u", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := redisClient(t, srv).Keys(ctxT(t), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 20 {
		t.Fatalf("only %d keys written: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "pfx-exact:") && !strings.HasPrefix(k, "pfx-bloom:") {
			t.Errorf("key %q is outside the prefix", k)
		}
	}
}

func TestSeenSets(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	const n = 10_000
	urls := make([]string, n+5000)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://board.example/job/%d?ref=%d", i, i*7)
	}
	for _, tc := range []struct {
		opts   redis.SeenOptions
		maxFPR float64
	}{
		{redis.SeenOptions{Kind: redis.SeenExact, Capacity: n}, 0},
		{redis.SeenOptions{Kind: redis.SeenBloom, Capacity: n, ErrorRate: 0.01}, 0.02},
		{redis.SeenOptions{Kind: redis.SeenBloom, Capacity: n, ErrorRate: 0.001}, 0.003},
	} {
		t.Run(fmt.Sprintf("%s-%g", tc.opts.Kind, tc.opts.ErrorRate), func(t *testing.T) {
			ctx := ctxT(t)
			s := openStore(t, srv, redis.Options{Seen: tc.opts})
			added, err := s.MarkSeen(ctx, urls[:n]...)
			if err != nil {
				t.Fatal(err)
			}
			if added < n-int(float64(n)*tc.maxFPR) || added > n {
				t.Fatalf("MarkSeen reported %d new of %d", added, n)
			}
			if again, _ := s.MarkSeen(ctx, urls[:100]...); again != 0 {
				t.Fatalf("marking seen URLs again reported %d new", again)
			}
			for _, u := range urls[:n:n][:500] {
				if ok, err := s.Seen(ctx, u); err != nil || !ok {
					t.Fatalf("Seen(%s) = %v, %v after adding it", u, ok, err)
				}
			}
			fp := 0
			for _, u := range urls[n:] {
				ok, err := s.Seen(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					fp++
				}
			}
			if rate := float64(fp) / float64(len(urls)-n); rate > tc.maxFPR {
				t.Fatalf("false positive rate %.4f, want at most %.4f", rate, tc.maxFPR)
			}
			// A second store on the same prefix configured differently
			// adopts the recorded layout: same answers.
			other := openStore(t, srv, redis.Options{Prefix: s.Prefix(), Seen: redis.SeenOptions{Kind: redis.SeenBloom, Capacity: 7, ErrorRate: 0.5}})
			for _, u := range urls[:50] {
				if ok, err := other.Seen(ctx, u); err != nil || !ok {
					t.Fatalf("second store: Seen(%s) = %v, %v", u, ok, err)
				}
			}
		})
	}
}

// TestBloomPreallocated checks the Bloom bitmap is allocated at its exact
// size (SETBIT growth would over-allocate up to 2×).
func TestBloomPreallocated(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{Seen: redis.SeenOptions{Kind: redis.SeenBloom, Capacity: 1_000_000, ErrorRate: 0.01}})
	ctx := ctxT(t)
	if _, err := s.MarkSeen(ctx, "https://a.example/"); err != nil {
		t.Fatal(err)
	}
	used, err := redisClient(t, srv).MemoryUsage(ctx, s.Prefix()+"seen:b:0").Result()
	if err != nil {
		t.Fatal(err)
	}
	if perURL := float64(used) / 1e6; perURL > 1.35 {
		t.Fatalf("bitmap for 1M URLs at 1%% uses %d bytes (%.2f per URL), want ≤ 1.35", used, perURL)
	}
}

func TestSeenOptionsInvalid(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	for _, o := range []redis.SeenOptions{{Kind: "cuckoo"}, {Kind: redis.SeenBloom, ErrorRate: 1.5}} {
		s := openStore(t, srv, redis.Options{Seen: o})
		if _, err := s.Add(ctxT(t), storage.Request{URL: "http://a.example/"}); err == nil {
			t.Errorf("Add with seen options %+v succeeded", o)
		}
	}
}

func TestAddReportsBadRequests(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	n, err := s.Add(ctxT(t),
		storage.Request{URL: "http://ok.example/1"},
		storage.Request{URL: "/relative/path"},
		storage.Request{URL: "http://bad example/"},
		storage.Request{URL: "http://ok.example/2"})
	if n != 2 {
		t.Fatalf("queued %d, want the 2 good requests", n)
	}
	if err == nil || !strings.Contains(err.Error(), "request 1 \"/relative/path\"") || !strings.Contains(err.Error(), "request 2") {
		t.Fatalf("error = %v, want one naming requests 1 and 2", err)
	}
}

// TestPolitenessAcrossStores runs workers on separate Store values (as on
// separate machines) and checks that no host is fetched twice at once or
// sooner than HostDelay after the previous fetch ended.
func TestPolitenessAcrossStores(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	const hosts, perHost, workers = 4, 6, 6
	const delay = 40 * time.Millisecond
	prefix := fmt.Sprintf("pol%d:", prefixSeq.Add(1))
	ctx := ctxT(t)
	seed := openStore(t, srv, redis.Options{Prefix: prefix})
	var reqs []storage.Request
	for h := range hosts {
		for p := range perHost {
			reqs = append(reqs, storage.Request{URL: fmt.Sprintf("http://h%d.example:8080/job/%d", h, p), Kind: "page"})
		}
	}
	if n, err := seed.Add(ctx, reqs...); err != nil || n != len(reqs) {
		t.Fatalf("add: %d, %v", n, err)
	}
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	fetches := map[string][]span{}
	var wg sync.WaitGroup
	for w := range workers {
		st := openStore(t, srv, redis.Options{Prefix: prefix})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l, err := st.ClaimRequest(ctx, fmt.Sprint("w", w), time.Minute)
				if errors.Is(err, lokerwatch.ErrEmpty) {
					fs, err := st.FrontierStats(ctx)
					if err != nil || fs.Finished() {
						return
					}
					time.Sleep(2 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				start := time.Now()
				time.Sleep(3 * time.Millisecond) // the fetch
				end := time.Now()
				mu.Lock()
				fetches[l.Host] = append(fetches[l.Host], span{start, end})
				mu.Unlock()
				if err := st.Ack(ctx, l, storage.AckOptions{HostDelay: delay}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(fetches) != hosts {
		t.Fatalf("fetched %d hosts, want %d", len(fetches), hosts)
	}
	for host, spans := range fetches {
		if len(spans) != perHost {
			t.Errorf("%s fetched %d times, want %d", host, len(spans), perHost)
		}
		for i := 1; i < len(spans); i++ {
			// spans are appended after the fetch, under the lock, in claim
			// order per host because a host has one fetch at a time.
			if gap := spans[i].start.Sub(spans[i-1].end); gap < delay-2*time.Millisecond {
				t.Errorf("%s: fetch %d started %v after the previous ended, want ≥ %v", host, i, gap, delay)
			}
		}
	}
}

// TestEnqueueRace enqueues the same ads from many goroutines on two stores
// at once: one item per ad, one enqueue event per ad in the audit stream.
func TestEnqueueRace(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	prefix := fmt.Sprintf("race%d:", prefixSeq.Add(1))
	stores := []*redis.Store{openStore(t, srv, redis.Options{Prefix: prefix}), openStore(t, srv, redis.Options{Prefix: prefix})}
	ctx := ctxT(t)
	const ads, goroutines = 30, 8
	var created atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%2]
			for i := range ads {
				ad := &lokerwatch.Ad{ID: fmt.Sprintf("ad-%02d", (i+g*7)%ads), Title: "x",
					Assessment: &lokerwatch.Assessment{Score: 60 + i%30, Flagged: true, Category: lokerwatch.CategoryScam}}
				_, isNew, err := s.Enqueue(ctx, ad)
				if err != nil {
					t.Error(err)
					return
				}
				if isNew {
					created.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if created.Load() != ads {
		t.Fatalf("%d items created for %d ads", created.Load(), ads)
	}
	counts, err := stores[0].CountItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[lokerwatch.StatusPending] != ads {
		t.Fatalf("pending = %d, want %d", counts[lokerwatch.StatusPending], ads)
	}
	evs, err := stores[1].ListAudit(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	perAd := map[string]int{}
	for _, ev := range evs {
		if ev.Action == "review.enqueue" {
			perAd[ev.Object]++
		}
	}
	for id, n := range perAd {
		if n != 1 {
			t.Errorf("%s has %d enqueue events", id, n)
		}
	}
	if len(perAd) != ads {
		t.Errorf("enqueue events for %d ads, want %d", len(perAd), ads)
	}
}

// TestClaimNextScansPastNonMatching puts more non-matching items above
// the matching one than one script window holds.
func TestClaimNextScansPastNonMatching(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	ctx := ctxT(t)
	for i := range 450 {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("en-%03d", i), Lang: "en",
			Assessment: &lokerwatch.Assessment{Score: 90, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, _, err := s.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	want := &lokerwatch.Ad{ID: "id-1", Lang: "id", Assessment: &lokerwatch.Assessment{Score: 10, Flagged: true, Category: lokerwatch.CategoryScam}}
	if _, _, err := s.Enqueue(ctx, want); err != nil {
		t.Fatal(err)
	}
	it, err := s.ClaimNext(ctx, "ana", time.Minute, storage.ReviewFilter{Lang: "id"})
	if err != nil || it.ID != "id-1" {
		t.Fatalf("ClaimNext(lang id) = %v, %v; want id-1", it, err)
	}
	if _, err := s.ClaimNext(ctx, "ana", time.Minute, storage.ReviewFilter{Lang: "id"}); !errors.Is(err, lokerwatch.ErrEmpty) {
		t.Fatalf("second ClaimNext(lang id): %v, want ErrEmpty", err)
	}
}

// TestLapsedClaimCountsAsPending checks that listing and counting return
// lapsed claims to the queue without waiting for a reaper.
func TestLapsedClaimCountsAsPending(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	ctx := ctxT(t)
	ad := &lokerwatch.Ad{ID: "a1", Assessment: &lokerwatch.Assessment{Score: 70, Flagged: true}}
	if _, _, err := s.Enqueue(ctx, ad); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimItem(ctx, "a1", "ana", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.CountItems(ctx); c[lokerwatch.StatusClaimed] != 1 {
		t.Fatalf("counts right after the claim = %v, want 1 claimed", c)
	}
	time.Sleep(60 * time.Millisecond) // let the lease run out: waiting for time itself
	items, err := s.ListItems(ctx, storage.ReviewFilter{Status: lokerwatch.StatusPending})
	if err != nil || len(items) != 1 || items[0].Claimant != "" {
		t.Fatalf("pending items after the lease lapsed = %+v, %v; want a1 unclaimed", items, err)
	}
	if c, _ := s.CountItems(ctx); c[lokerwatch.StatusPending] != 1 || c[lokerwatch.StatusClaimed] != 0 {
		t.Fatalf("counts after the lease lapsed = %v", c)
	}
}
