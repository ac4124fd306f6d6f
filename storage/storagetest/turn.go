package storagetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Turns: ClaimRequests, Release and Extend of several leases.
var turnTests = []test{
	{"OneHostEndsByAck", testTurnEndsBy("ack")},
	{"OneHostEndsByFail", testTurnEndsBy("fail")},
	{"OneHostEndsByRelease", testTurnEndsBy("release")},
	{"Size", testTurnSize},
	{"KeepsLongestRest", testTurnRest},
	{"Release", testTurnRelease},
	{"ExtendSeveral", testTurnExtend},
	{"ReapExpiredTurn", testTurnReap},
	{"ConcurrentTurns", testTurnConcurrent},
	{"Continue", testTurnContinue},
	{"ContinueLost", testTurnContinueLost},
}

// claimTurn claims a turn of at most n requests and checks its shape: one
// host, the worker's, distinct tokens, Until about ttl from now.
func claimTurn(t *testing.T, s storage.Store, worker string, ttl time.Duration, n int) []*storage.Lease {
	t.Helper()
	start := time.Now()
	ls, err := s.ClaimRequests(testCtx(t), worker, ttl, n)
	must(t, err, "claim requests")
	checkTurn(t, ls, worker, n)
	for _, l := range ls {
		if !near(l.Until, start.Add(ttl), 5*time.Second) {
			t.Errorf("lease on %s until %v, want about %v", l.URL, l.Until, start.Add(ttl))
		}
	}
	return ls
}

// checkTurn reports a turn that is empty, larger than n, spans hosts or
// repeats a token or URL.
func checkTurn(t *testing.T, ls []*storage.Lease, worker string, n int) {
	t.Helper()
	if len(ls) == 0 || len(ls) > max(n, 1) {
		t.Fatalf("turn of %d leases, want 1 to %d", len(ls), max(n, 1))
	}
	tokens, urls := map[string]bool{}, map[string]bool{}
	for _, l := range ls {
		if l.Host != ls[0].Host {
			t.Fatalf("one turn holds hosts %s and %s", ls[0].Host, l.Host)
		}
		if l.Worker != worker || l.Token == "" || tokens[l.Token] || urls[l.URL] {
			t.Fatalf("turn lease %s: worker %q token %q (tokens and URLs must be distinct)", l.URL, l.Worker, l.Token)
		}
		tokens[l.Token], urls[l.URL] = true, true
	}
}

func leaseURLs(ls []*storage.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.URL
	}
	return out
}

func wantURLs(t *testing.T, ls []*storage.Lease, want []string, what string) {
	t.Helper()
	if got := leaseURLs(ls); !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// addSpaced adds the URLs one by one, a few milliseconds apart, so that
// their ready times differ (and their order is defined) at the
// millisecond resolution of a backend.
func addSpaced(t *testing.T, s storage.Store, urls ...string) {
	t.Helper()
	for i, u := range urls {
		if i > 0 {
			time.Sleep(3 * time.Millisecond)
		}
		n, err := s.Add(testCtx(t), req(u))
		must(t, err, "add "+u)
		if n != 1 {
			t.Fatalf("add %s queued %d", u, n)
		}
	}
}

// testTurnEndsBy: a turn holds up to n ready requests of one host, oldest
// ready first and none before its NotBefore; while any lease of the turn
// lives nobody gets another URL of that host, other hosts are still
// handed out, and the host is free once the last lease ended by end.
func testTurnEndsBy(end string) func(t *testing.T, s storage.Store) {
	return func(t *testing.T, s storage.Store) {
		ctx := testCtx(t)
		addSpaced(t, s, "http://a.example/1", "http://a.example/2")
		late := req("http://a.example/late")
		late.NotBefore = time.Now().Add(50 * time.Millisecond) // after a/2, whatever the load
		future := req("http://a.example/future")
		future.NotBefore = time.Now().Add(time.Hour)
		_, err := s.Add(ctx, late, future)
		must(t, err, "add delayed")
		time.Sleep(time.Until(late.NotBefore) + 5*time.Millisecond)
		addSpaced(t, s, "http://a.example/3") // ready after late

		turn := claimTurn(t, s, "w1", time.Minute, 3)
		wantURLs(t, turn, []string{"http://a.example/1", "http://a.example/2", late.URL}, "turn of 3")
		if !near(turn[2].NotBefore, late.NotBefore, time.Millisecond) {
			t.Errorf("lease NotBefore %v, want %v", turn[2].NotBefore, late.NotBefore)
		}
		wantStats(t, s, 2, 3, 0, 0, 0)
		wantEmpty(t, s) // a/3 is ready but its host is in a turn

		addSpaced(t, s, "http://b.example/1", "http://b.example/2")
		other := claimTurn(t, s, "w2", time.Minute, 5)
		wantURLs(t, other, []string{"http://b.example/1", "http://b.example/2"}, "turn at another host")
		wantEmpty(t, s)

		must(t, s.Ack(ctx, turn[0], storage.AckOptions{}), "ack 1 of 3")
		wantEmpty(t, s)
		must(t, s.Ack(ctx, turn[1], storage.AckOptions{}), "ack 2 of 3")
		wantEmpty(t, s)
		want := []string{"http://a.example/3"}
		switch end {
		case "ack":
			must(t, s.Ack(ctx, turn[2], storage.AckOptions{}), "ack the last")
		case "fail":
			must(t, s.Fail(ctx, turn[2], storage.FailOptions{Reason: "HTTP 404"}), "fail the last")
		case "release":
			must(t, s.Release(ctx, turn[2]), "release the last")
			want = []string{late.URL, "http://a.example/3"} // back at its place
		default:
			t.Fatalf("unknown end %q", end)
		}
		next := claimTurn(t, s, "w3", time.Minute, 10)
		wantURLs(t, next, want, "turn after the last lease ended by "+end)
		if next[0].Attempts != 0 {
			t.Errorf("%s has Attempts %d, want 0", next[0].URL, next[0].Attempts)
		}
		if st := stats(t, s); st.Queued != 1 || st.InFlight != int64(len(next)+len(other)) {
			t.Fatalf("stats %+v, want the future request queued and %d in flight", st, len(next)+len(other))
		}
	}
}

// testTurnSize: n caps the turn, n < 1 counts as 1, and a lease ttl that is
// not positive is refused.
func testTurnSize(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	all := []string{"http://a.example/1", "http://a.example/2", "http://a.example/3", "http://a.example/4"}
	addSpaced(t, s, all...)
	for _, tc := range []struct{ n, want int }{{-1, 1}, {0, 1}, {1, 1}, {3, 3}, {4, 4}, {10, 4}} {
		ls := claimTurn(t, s, "w", time.Minute, tc.n)
		wantURLs(t, ls, all[:tc.want], fmt.Sprintf("ClaimRequests(n=%d)", tc.n))
		must(t, s.Release(ctx, ls...), "release")
		wantStats(t, s, 4, 0, 0, 0, 0)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		ls, err := s.ClaimRequests(ctx, "w", ttl, 2)
		if err == nil || errors.Is(err, lokerwatch.ErrEmpty) {
			t.Fatalf("ClaimRequests with ttl %v: %d leases, error %v; want an error", ttl, len(ls), err)
		}
	}
	wantStats(t, s, 4, 0, 0, 0, 0)
}

// testTurnRest: the host rests after its turn for the longest HostDelay
// any lease of the turn asked for, not the last one's.
func testTurnRest(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const delay = 400 * time.Millisecond
	addSpaced(t, s, "http://r.example/1", "http://r.example/2", "http://r.example/3")
	turn := claimTurn(t, s, "w1", time.Minute, 2)
	failed := time.Now()
	must(t, s.Fail(ctx, turn[0], storage.FailOptions{Reason: "HTTP 503", HostDelay: delay}), "fail")
	must(t, s.Ack(ctx, turn[1], storage.AckOptions{}), "ack without delay")
	wantEmpty(t, s)
	next := claimWithin(t, s, "w2", 5*time.Second)
	if got := time.Since(failed); got < delay-2*time.Millisecond {
		t.Fatalf("host claimed again %v after a fail with host delay %v in its turn", got, delay)
	}
	if next.URL != "http://r.example/3" {
		t.Fatalf("claimed %s, want r.example/3", next.URL)
	}
}

// testTurnRelease: released leases go back to the queue at their place
// without an attempt or a rest; the host waits for the rest of its turn;
// a released lease is lost; releasing a lost lease is no error.
func testTurnRelease(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	must(t, s.Release(ctx), "release nothing")
	addSpaced(t, s, "http://a.example/1", "http://a.example/2")
	turn := claimTurn(t, s, "w1", time.Minute, 5)
	wantURLs(t, turn, []string{"http://a.example/1", "http://a.example/2"}, "turn")
	wantStats(t, s, 0, 2, 0, 0, 0)

	must(t, s.Release(ctx, turn[1]), "release one lease of the turn")
	wantStats(t, s, 1, 1, 0, 0, 0)
	wantEmpty(t, s) // the turn still holds a/1
	wantErr(t, s.Ack(ctx, turn[1], storage.AckOptions{}), lokerwatch.ErrLeaseLost, "ack a released lease")
	wantErr(t, s.Extend(ctx, time.Minute, turn[1]), lokerwatch.ErrLeaseLost, "extend a released lease")
	wantErr(t, s.Fail(ctx, turn[1], storage.FailOptions{Reason: "x", Retry: true}), lokerwatch.ErrLeaseLost, "fail a released lease")
	must(t, s.Release(ctx, turn[1]), "release a released lease")
	wantStats(t, s, 1, 1, 0, 0, 0)

	must(t, s.Ack(ctx, turn[0], storage.AckOptions{}), "ack the rest of the turn")
	again := claimTurn(t, s, "w2", time.Minute, 5)
	wantURLs(t, again, []string{"http://a.example/2"}, "turn after the release")
	if again[0].Attempts != 0 || again[0].Token == turn[1].Token {
		t.Fatalf("released request claimed with Attempts %d token %q; want 0 and a new token", again[0].Attempts, again[0].Token)
	}

	// Released again, with a lost lease in the same call: a/2 goes back
	// before a request added since, and the host does not rest.
	addSpaced(t, s, "http://a.example/3")
	must(t, s.Release(ctx, turn[0], again[0]), "release a live and a lost lease")
	wantStats(t, s, 2, 0, 1, 0, 0)
	next := claimTurn(t, s, "w3", time.Minute, 1)
	wantURLs(t, next, []string{"http://a.example/2"}, "claim right after the release")
	must(t, s.Ack(ctx, next[0], storage.AckOptions{}), "ack")
}

// testTurnExtend: Extend of several leases extends the live ones and sets
// their Until even when one of them was reaped and taken by another worker;
// it then reports ErrLeaseLost, and the new holder's lease is untouched.
func testTurnExtend(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	must(t, s.Extend(ctx, time.Minute), "extend nothing")
	addSpaced(t, s, "http://a.example/1", "http://a.example/2")
	turn := claimTurn(t, s, "w1", 10*time.Second, 2)
	addSpaced(t, s, "http://b.example/1")
	short := claimTurn(t, s, "w1", 50*time.Millisecond, 1)[0]
	reapOne(t, s)
	holder := claim(t, s, "w2", 10*time.Second)
	if holder.URL != short.URL {
		t.Fatalf("claimed %s, want the reaped %s", holder.URL, short.URL)
	}

	shortUntil := short.Until
	extended := time.Now()
	err := s.Extend(ctx, 2*time.Minute, turn[0], short, turn[1])
	wantErr(t, err, lokerwatch.ErrLeaseLost, "extend with a lost lease among live ones")
	for _, l := range turn {
		if !near(l.Until, extended.Add(2*time.Minute), 30*time.Second) {
			t.Errorf("live lease on %s until %v, want about %v", l.URL, l.Until, extended.Add(2*time.Minute))
		}
	}
	if !short.Until.Equal(shortUntil) {
		t.Errorf("lost lease Until moved from %v to %v", shortUntil, short.Until)
	}
	must(t, s.Extend(ctx, time.Minute, turn...), "extend the whole turn")
	must(t, s.Ack(ctx, holder, storage.AckOptions{}), "ack by the new holder")
	for _, l := range turn {
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack an extended lease")
	}
	wantStats(t, s, 0, 0, 3, 0, 0)
}

// testTurnReap: when a turn's leases expire, ReapRequests returns all its
// URLs to the queue and frees the host, without counting an attempt; a
// live lease of another host stays.
func testTurnReap(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	urls := []string{"http://a.example/1", "http://a.example/2", "http://a.example/3"}
	addSpaced(t, s, urls...)
	turn := claimTurn(t, s, "w1", 50*time.Millisecond, 5)
	wantURLs(t, turn, urls, "turn")
	addSpaced(t, s, "http://b.example/1")
	kept := claim(t, s, "w2", time.Minute)
	reaped := 0
	eventually(t, 5*time.Second, "the expired turn to be reaped", func() bool {
		n, err := s.ReapRequests(ctx)
		must(t, err, "reap")
		reaped += n
		return reaped >= len(turn)
	})
	if reaped != len(turn) {
		t.Fatalf("reaped %d leases, want the %d of the turn", reaped, len(turn))
	}
	wantStats(t, s, 3, 1, 0, 0, 0)
	for _, l := range turn {
		wantErr(t, s.Ack(ctx, l, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "ack a reaped lease")
	}
	again := claimTurn(t, s, "w3", time.Minute, 5)
	if got := leaseURLs(again); !slices.Equal(slices.Sorted(slices.Values(got)), urls) {
		t.Fatalf("turn after the reap: %v, want all of %v", got, urls)
	}
	for _, l := range again {
		if l.Attempts != 0 {
			t.Errorf("reaped %s has Attempts %d, want 0", l.URL, l.Attempts)
		}
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack")
	}
	must(t, s.Ack(ctx, kept, storage.AckOptions{}), "ack the live lease of the other host")
	wantStats(t, s, 0, 0, 4, 0, 0)
}

// testTurnConcurrent: workers taking turns of up to 5 over many hosts
// never hold one host twice at once, and every URL is acked exactly once,
// though some turns are cut short and their rest released.
func testTurnConcurrent(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const hosts, perHost, workers, n = 12, 15, 8, 5
	var reqs []storage.Request
	for h := range hosts {
		for p := range perHost {
			reqs = append(reqs, req(fmt.Sprintf("http://t%d.example/job/%d", h, p)))
		}
	}
	added, err := s.Add(ctx, reqs...)
	must(t, err, "add")
	if added != len(reqs) {
		t.Fatalf("queued %d of %d", added, len(reqs))
	}
	var (
		mu       sync.Mutex
		inTurn   = map[string]string{} // host -> worker having its turn
		acked    = map[string]int{}
		released int
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprint("worker-", w)
			for turns := 1; ; turns++ {
				ls := claimTurnUntilFinished(ctx, t, s, worker, n)
				if ls == nil {
					return
				}
				if len(ls) == 0 || len(ls) > n {
					t.Errorf("%s got a turn of %d leases", worker, len(ls))
					return
				}
				host := ls[0].Host
				mu.Lock()
				for _, l := range ls {
					if l.Host != host {
						t.Errorf("%s got a turn over %s and %s", worker, host, l.Host)
					}
				}
				if other, busy := inTurn[host]; busy {
					t.Errorf("%s got a turn at %s while %s has one", worker, host, other)
				}
				inTurn[host] = worker
				mu.Unlock()
				// Every third turn of two or more is cut after its first URL.
				keep := len(ls)
				if turns%3 == 0 && len(ls) > 1 {
					keep = 1
				}
				for i, l := range ls[:keep] {
					runtime.Gosched() // "fetch": let other claimers run meanwhile
					if i == len(ls)-1 {
						// The host leaves our map before the store frees it,
						// so an overlap seen above is a real one.
						mu.Lock()
						delete(inTurn, host)
						mu.Unlock()
					}
					if err := s.Ack(ctx, l, storage.AckOptions{}); err != nil {
						t.Errorf("ack %s: %v", l.URL, err)
						return
					}
					mu.Lock()
					acked[l.URL]++
					mu.Unlock()
				}
				if keep < len(ls) {
					mu.Lock()
					delete(inTurn, host)
					released += len(ls) - keep
					mu.Unlock()
					if err := s.Release(ctx, ls[keep:]...); err != nil {
						t.Errorf("release: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range reqs {
		if acked[r.URL] != 1 {
			t.Errorf("%s acked %d times, want once", r.URL, acked[r.URL])
		}
	}
	if released == 0 {
		t.Log("no turn was cut short")
	}
	wantStats(t, s, 0, 0, int64(len(reqs)), 0, 0)
}

// claimTurnUntilFinished is claimUntilFinished for turns.
func claimTurnUntilFinished(ctx context.Context, t *testing.T, s storage.Store, worker string, n int) []*storage.Lease {
	for {
		ls, err := s.ClaimRequests(ctx, worker, time.Minute, n)
		if errors.Is(err, lokerwatch.ErrEmpty) {
			st, err := s.FrontierStats(ctx)
			if err != nil {
				t.Errorf("stats: %v", err)
				return nil
			}
			if st.Finished() {
				return nil
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Errorf("claim requests: %v", err)
			return nil
		}
		return ls
	}
}

// reapOne waits for the one short lease a test let expire to be reaped,
// and fails if more than that one was.
func reapOne(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := testCtx(t)
	reaped := 0
	eventually(t, 5*time.Second, "the short lease to be reaped", func() bool {
		n, err := s.ReapRequests(ctx)
		must(t, err, "reap")
		reaped += n
		return reaped >= 1
	})
	if reaped != 1 {
		t.Fatalf("reaped %d leases, only one expired", reaped)
	}
}

// testTurnContinue: a worker alone with work lengthens its turn at its
// host with new leases that hold the host like the first ones; once
// another host is ready, or the host has nothing ready, it cannot.
func testTurnContinue(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	urls := []string{"http://a.example/1", "http://a.example/2", "http://a.example/3", "http://a.example/4", "http://a.example/5"}
	addSpaced(t, s, urls...)
	turn := claimTurn(t, s, "w1", time.Minute, 2)
	wantURLs(t, turn, urls[:2], "first turn")
	must(t, s.Ack(ctx, turn[0], storage.AckOptions{}), "ack the first")

	start := time.Now()
	more, err := s.ContinueTurn(ctx, "w1", time.Minute, turn[1], 2)
	must(t, err, "continue turn")
	checkTurn(t, more, "w1", 2)
	wantURLs(t, more, urls[2:4], "continued turn")
	for _, l := range more {
		if l.Host != "a.example" || !near(l.Until, start.Add(time.Minute), 5*time.Second) {
			t.Errorf("continued lease on %s: host %s until %v", l.URL, l.Host, l.Until)
		}
		if l.Token == turn[0].Token || l.Token == turn[1].Token {
			t.Errorf("continued lease on %s reuses token %s", l.URL, l.Token)
		}
	}
	wantStats(t, s, 1, 3, 1, 0, 0)

	// The host stays held until the last lease of the whole turn ends.
	must(t, s.Ack(ctx, turn[1], storage.AckOptions{}), "ack the held lease")
	wantEmpty(t, s)
	must(t, s.Ack(ctx, more[0], storage.AckOptions{}), "ack a continued lease")
	wantEmpty(t, s)

	// Another host ready: it is served first.
	addSpaced(t, s, "http://b.example/1")
	_, err = s.ContinueTurn(ctx, "w1", time.Minute, more[1], 5)
	wantErr(t, err, lokerwatch.ErrEmpty, "continue while another host is ready")
	if errors.Is(err, lokerwatch.ErrLeaseLost) {
		t.Fatalf("continue while another host is ready: %v, the held lease is not lost", err)
	}
	other := claimTurn(t, s, "w2", time.Minute, 5)
	wantURLs(t, other, []string{"http://b.example/1"}, "the waiting host")

	// Alone again, the last URL of a.example; then nothing is ready.
	last, err := s.ContinueTurn(ctx, "w1", time.Minute, more[1], 5)
	must(t, err, "continue to the last URL")
	wantURLs(t, last, urls[4:], "continued to the last")
	_, err = s.ContinueTurn(ctx, "w1", time.Minute, last[0], 5)
	wantErr(t, err, lokerwatch.ErrEmpty, "continue with nothing ready")
	for _, l := range []*storage.Lease{more[1], last[0], other[0]} {
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack "+l.URL)
	}
	wantStats(t, s, 0, 0, 6, 0, 0)

	for _, ttl := range []time.Duration{0, -time.Second} {
		ls, err := s.ContinueTurn(ctx, "w1", ttl, last[0], 1)
		if err == nil || errors.Is(err, lokerwatch.ErrEmpty) {
			t.Fatalf("ContinueTurn with ttl %v: %d leases, error %v; want an error", ttl, len(ls), err)
		}
	}
}

// testTurnContinueLost: a turn goes on only from a live lease of the
// worker's own: not another worker's, nor one acked, released or expired.
func testTurnContinueLost(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	addSpaced(t, s, "http://a.example/1", "http://a.example/2", "http://a.example/3", "http://a.example/4")
	turn := claimTurn(t, s, "w1", time.Minute, 2)
	lost := func(worker string, l *storage.Lease, what string) {
		t.Helper()
		ls, err := s.ContinueTurn(ctx, worker, time.Minute, l, 2)
		if !errors.Is(err, lokerwatch.ErrEmpty) || !errors.Is(err, lokerwatch.ErrLeaseLost) {
			t.Fatalf("%s: %d leases, error %v; want ErrEmpty and ErrLeaseLost", what, len(ls), err)
		}
	}
	lost("w2", turn[0], "continue another worker's turn")
	must(t, s.Ack(ctx, turn[0], storage.AckOptions{}), "ack")
	lost("w1", turn[0], "continue from an acked lease")
	must(t, s.Release(ctx, turn[1]), "release")
	lost("w1", turn[1], "continue from a released lease")
	wantStats(t, s, 3, 0, 1, 0, 0)

	short := claimTurn(t, s, "w1", 50*time.Millisecond, 1)[0]
	time.Sleep(100 * time.Millisecond)
	lost("w1", short, "continue from an expired lease")
	// Nothing was taken by the refusals: the reaped URL and the rest are queued.
	wantStats(t, s, 3, 0, 1, 0, 0)
}
