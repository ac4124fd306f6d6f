package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Liveness: Heartbeat, and what a lapsed heartbeat does to leases. Leases
// here are an hour long, so only a heartbeat can bring them back within
// the test; a heartbeat is made to lapse with a TTL of a millisecond and
// the tests wait for the reclaim as a condition, never for a time.
var livenessTests = []test{
	{"LiveWorkerKeepsLeases", testLiveWorkerKeeps},
	{"LapsedWorkerLeasesComeBack", testLapsedWorker},
	{"InFlightAtDeathsGoesDead", testDeathsDead},
	{"AckForgetsDeaths", testAckForgetsDeaths},
	{"HeartbeatEnds", testHeartbeatEnds},
}

const longLease = time.Hour

func beat(t *testing.T, s storage.Store, b storage.Beat) {
	t.Helper()
	must(t, s.Heartbeat(testCtx(t), b), "heartbeat of "+b.Worker)
}

// addHost queues n pages of one host and returns their URLs.
func addHost(t *testing.T, s storage.Store, host string, n int) []string {
	t.Helper()
	var urls []string
	var reqs []storage.Request
	for i := range n {
		u := fmt.Sprintf("http://%s/p%d", host, i)
		urls = append(urls, u)
		reqs = append(reqs, req(u))
	}
	added, err := s.Add(testCtx(t), reqs...)
	must(t, err, "add")
	if added != n {
		t.Fatalf("added %d, want %d", added, n)
	}
	return urls
}

// lapse makes the worker's heartbeat run out at once, naming inflight.
func lapse(t *testing.T, s storage.Store, worker string, maxDeaths int, inflight ...*storage.Lease) {
	t.Helper()
	var toks []string
	for _, l := range inflight {
		toks = append(toks, l.Token)
	}
	beat(t, s, storage.Beat{Worker: worker, TTL: time.Millisecond, InFlight: toks, MaxDeaths: maxDeaths})
}

// reclaimWithin polls ClaimRequests for another worker until it gets a
// turn (the lapsed worker's leases came back).
func reclaimWithin(t *testing.T, s storage.Store, worker string, n int) []*storage.Lease {
	t.Helper()
	var ls []*storage.Lease
	eventually(t, 30*time.Second, "the lapsed worker's leases to come back", func() bool {
		var err error
		ls, err = s.ClaimRequests(testCtx(t), worker, longLease, n)
		if errors.Is(err, lokerwatch.ErrEmpty) {
			return false
		}
		must(t, err, "claim requests")
		return true
	})
	checkTurn(t, ls, worker, n)
	return ls
}

func testLiveWorkerKeeps(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	addHost(t, s, "live.example", 3)
	beat(t, s, storage.Beat{Worker: "w1", TTL: longLease})
	ls := claimTurn(t, s, "w1", longLease, 3)
	beat(t, s, storage.Beat{Worker: "w1", TTL: longLease, InFlight: []string{ls[0].Token}})
	n, err := s.ReapRequests(ctx)
	must(t, err, "reap")
	if n != 0 {
		t.Fatalf("reaped %d leases of a live worker", n)
	}
	wantEmpty(t, s)
	must(t, s.Extend(ctx, longLease, ls...), "extend a live worker's leases")
	for _, l := range ls {
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack "+l.URL)
	}
	wantStats(t, s, 0, 0, 3, 0, 0)
}

func testLapsedWorker(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	urls := addHost(t, s, "lapse.example", 3)
	ls := claimTurn(t, s, "w1", longLease, 3)
	wantURLs(t, ls, urls, "w1's turn")
	// A worker that never beat is judged by its leases only; once it
	// beats, by its heartbeat.
	lapse(t, s, "w1", 3, ls[1])
	got := reclaimWithin(t, s, "w2", 3)
	wantURLs(t, got, urls, "the reclaimed turn, in its old order")
	for _, l := range got {
		if l.Attempts != 0 {
			t.Errorf("%s: attempts %d after its worker died, want 0 (a death is not a failed try)", l.URL, l.Attempts)
		}
	}
	for _, l := range ls {
		wantErr(t, s.Ack(ctx, l, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "dead worker's ack of "+l.URL)
	}
	wantErr(t, s.Extend(ctx, longLease, ls[0]), lokerwatch.ErrLeaseLost, "dead worker's extend")
	for _, l := range got {
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack "+l.URL)
	}
	st := stats(t, s)
	if st.Done < 3 || st.Dead != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v: want the three done, nothing dead", st)
	}
}

func testDeathsDead(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	urls := addHost(t, s, "poison.example", 3)
	const maxDeaths = 3
	for death := 1; death <= maxDeaths; death++ {
		w := fmt.Sprintf("w%d", death)
		ls := claimTurn(t, s, w, longLease, 3)
		wantURLs(t, ls, urls[:len(ls)], w+"'s turn")
		// urls[0] was being fetched each time the worker died.
		lapse(t, s, w, maxDeaths, ls[0])
		eventually(t, 30*time.Second, w+"'s leases to be reclaimed", func() bool {
			_, err := s.ReapRequests(ctx)
			must(t, err, "reap")
			return stats(t, s).InFlight == 0
		})
		if death < maxDeaths {
			wantStats(t, s, 3, 0, 0, 0, 0)
		}
	}
	wantStats(t, s, 2, 0, 0, 0, 1)
	fs, err := s.ListFailed(ctx, 0)
	must(t, err, "list failed")
	if len(fs) != 1 || fs[0].URL != urls[0] || !fs[0].Dead || fs[0].Reason != storage.DiedReason(maxDeaths) {
		t.Fatalf("failed = %+v, want %s dead with reason %q", fs, urls[0], storage.DiedReason(maxDeaths))
	}
	ls := claimTurn(t, s, "w9", longLease, 3)
	wantURLs(t, ls, urls[1:], "the rest of the dead workers' turns")
	for _, l := range ls {
		if l.Attempts != 0 {
			t.Errorf("%s: attempts %d, want 0: only the URL in flight counts a death", l.URL, l.Attempts)
		}
	}
}

func testAckForgetsDeaths(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	urls := addHost(t, s, "flaky.example", 1)
	ls := claimTurn(t, s, "w1", longLease, 1)
	lapse(t, s, "w1", 2, ls[0])
	got := reclaimWithin(t, s, "w2", 1)
	// w2 finishes it: the death is forgotten; a revisit that kills a
	// worker once more is one death, not the second.
	must(t, s.Ack(ctx, got[0], storage.AckOptions{}), "ack")
	r := req(urls[0])
	r.Revisit = true
	if _, err := s.Add(ctx, r); err != nil {
		t.Fatal(err)
	}
	ls = reclaimWithin(t, s, "w3", 1)
	lapse(t, s, "w3", 2, ls[0])
	ls = reclaimWithin(t, s, "w4", 1)
	wantURLs(t, ls, urls, "the revisit after one death")
	if st := stats(t, s); st.InFlight != 1 || st.Dead != 0 {
		t.Fatalf("stats %+v: want the revisit in flight, nothing dead", st)
	}
}

func testHeartbeatEnds(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	addHost(t, s, "leave.example", 1)
	ls := claimTurn(t, s, "w1", longLease, 1)
	beat(t, s, storage.Beat{Worker: "w1", TTL: time.Millisecond})
	beat(t, s, storage.Beat{Worker: "w1", TTL: 0}) // leaves: no heartbeat to lapse
	time.Sleep(20 * time.Millisecond)              // past the 1 ms beat, had it stayed
	n, err := s.ReapRequests(ctx)
	must(t, err, "reap")
	if n != 0 {
		t.Fatalf("reaped %d leases of a worker that ended its heartbeat; its leases run to their own end", n)
	}
	must(t, s.Extend(ctx, longLease, ls...), "extend")
	must(t, s.Ack(ctx, ls[0], storage.AckOptions{}), "ack")
}
