package storagetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

var frontierTests = []test{
	{"AddSeenDedup", testFrontierAddSeen},
	{"ClaimAck", testFrontierClaimAck},
	{"OneFetchPerHost", testFrontierOneFetchPerHost},
	{"HostDelayAfterAck", testFrontierHostDelayAck},
	{"HostDelayAfterFail", testFrontierHostDelayFail},
	{"NotBefore", testFrontierNotBefore},
	{"LeaseExtendAndReap", testFrontierLeaseReap},
	{"RetryThenDead", testFrontierRetryDead},
	{"DeadAtOnce", testFrontierDeadAtOnce},
	{"PermanentFailure", testFrontierPermanent},
	{"ListFailedNewestFirst", testFrontierListFailed},
	{"RevisitAndConditional", testFrontierRevisit},
	{"RevisitCounts", testFrontierRevisitCounts},
	{"ConcurrentAdd", testFrontierConcurrentAdd},
	{"ConcurrentClaimers", testFrontierConcurrentClaimers},
	{"ConcurrentPoliteness", testFrontierConcurrentPoliteness},
	{"AbandonedLeasesNothingLost", testFrontierAbandoned},
	{"BadRequests", testFrontierBadRequests},
	{"CancelledContext", testFrontierCancelled},
}

func req(url string) storage.Request {
	return storage.Request{URL: url, Source: "src", Depth: 1, Kind: "page"}
}

func stats(t *testing.T, s storage.Store) storage.FrontierStats {
	t.Helper()
	st, err := s.FrontierStats(testCtx(t))
	must(t, err, "frontier stats")
	return st
}

func wantStats(t *testing.T, s storage.Store, queued, inFlight, done, failed, dead int64) storage.FrontierStats {
	t.Helper()
	st := stats(t, s)
	if st.Queued != queued || st.InFlight != inFlight || st.Done != done || st.Failed != failed || st.Dead != dead {
		t.Fatalf("stats = queued %d in flight %d done %d failed %d dead %d, want %d %d %d %d %d",
			st.Queued, st.InFlight, st.Done, st.Failed, st.Dead, queued, inFlight, done, failed, dead)
	}
	return st
}

func claim(t *testing.T, s storage.Store, worker string, ttl time.Duration) *storage.Lease {
	t.Helper()
	l, err := s.ClaimRequest(testCtx(t), worker, ttl)
	must(t, err, "claim request")
	if l == nil {
		t.Fatal("claim request returned nil lease and nil error")
	}
	return l
}

func wantEmpty(t *testing.T, s storage.Store) {
	t.Helper()
	l, err := s.ClaimRequest(testCtx(t), "w-empty", time.Minute)
	if !errors.Is(err, lokerwatch.ErrEmpty) {
		if l != nil {
			t.Fatalf("claim: got %s, want ErrEmpty", l.URL)
		}
		t.Fatalf("claim: got error %v, want ErrEmpty", err)
	}
}

// claimWithin polls until a request can be claimed.
func claimWithin(t *testing.T, s storage.Store, worker string, timeout time.Duration) *storage.Lease {
	t.Helper()
	var l *storage.Lease
	eventually(t, timeout, "a claimable request", func() bool {
		var err error
		l, err = s.ClaimRequest(testCtx(t), worker, time.Minute)
		if errors.Is(err, lokerwatch.ErrEmpty) {
			return false
		}
		must(t, err, "claim request")
		return true
	})
	return l
}

func testFrontierAddSeen(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	st := stats(t, s)
	if !st.OldestQueued.IsZero() || !st.Finished() {
		t.Fatalf("empty frontier stats = %+v, want zero and finished", st)
	}
	before := time.Now()
	n, err := s.Add(ctx, req("http://a.example/1"), req("http://a.example/2"), req("http://a.example/1"))
	after := time.Now()
	must(t, err, "add")
	if n != 2 {
		t.Fatalf("add with a duplicate in the batch queued %d, want 2", n)
	}
	for url, want := range map[string]bool{"http://a.example/1": true, "http://a.example/2": true, "http://a.example/3": false} {
		got, err := s.Seen(ctx, url)
		must(t, err, "seen")
		if got != want {
			t.Errorf("Seen(%s) = %v, want %v", url, got, want)
		}
	}
	n, err = s.Add(ctx, req("http://a.example/2"), req("http://a.example/3"))
	must(t, err, "add again")
	if n != 1 {
		t.Fatalf("second add queued %d, want 1 (only the unseen URL)", n)
	}
	n, err = s.Add(ctx)
	must(t, err, "add nothing")
	if n != 0 {
		t.Fatalf("empty add queued %d", n)
	}
	st = wantStats(t, s, 3, 0, 0, 0, 0)
	if st.Finished() {
		t.Fatal("Finished with 3 queued")
	}
	if st.OldestQueued.Before(before.Add(-time.Second)) || st.OldestQueued.After(after.Add(time.Second)) {
		t.Fatalf("OldestQueued = %v, want between %v and %v", st.OldestQueued, before, after)
	}
}

func testFrontierClaimAck(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	wantEmpty(t, s)
	r := storage.Request{URL: "http://Jobs.example:8080/job/7?x=1", Source: "board", Depth: 3, Kind: "page"}
	_, err := s.Add(ctx, r)
	must(t, err, "add")
	start := time.Now()
	l := claim(t, s, "worker-1", 30*time.Second)
	if l.URL != r.URL || l.Source != "board" || l.Depth != 3 || l.Kind != "page" || l.Attempts != 0 {
		t.Fatalf("lease request = %+v, want %+v", l.Request, r)
	}
	if l.Host != "jobs.example:8080" {
		t.Errorf("lease host = %q, want jobs.example:8080", l.Host)
	}
	if l.Worker != "worker-1" || l.Token == "" {
		t.Errorf("lease worker %q token %q", l.Worker, l.Token)
	}
	if !near(l.Until, start.Add(30*time.Second), 5*time.Second) {
		t.Errorf("lease until %v, want about %v", l.Until, start.Add(30*time.Second))
	}
	wantStats(t, s, 0, 1, 0, 0, 0)
	wantEmpty(t, s)
	must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack")
	st := wantStats(t, s, 0, 0, 1, 0, 0)
	if !st.Finished() || !st.OldestQueued.IsZero() {
		t.Fatalf("stats after ack = %+v, want finished with zero OldestQueued", st)
	}
	wantErr(t, s.Ack(ctx, l, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "second ack")
	wantErr(t, s.Extend(ctx, time.Minute, l), lokerwatch.ErrLeaseLost, "extend after ack")
	wantErr(t, s.Fail(ctx, l, storage.FailOptions{Reason: "x"}), lokerwatch.ErrLeaseLost, "fail after ack")
	forged := *l
	forged.Token = "not-a-token"
	wantErr(t, s.Ack(ctx, &forged, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "ack with a wrong token")
	wantEmpty(t, s)
	n, err := s.Add(ctx, r)
	must(t, err, "re-add done URL")
	if n != 0 {
		t.Fatal("a done URL was queued again without Revisit")
	}
}

func testFrontierOneFetchPerHost(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.Add(ctx, req("http://a.example/1"), req("http://a.example/2"), req("http://b.example/1"))
	must(t, err, "add")
	l1 := claim(t, s, "w1", time.Minute)
	l2 := claim(t, s, "w2", time.Minute)
	if l1.Host == l2.Host {
		t.Fatalf("two requests of host %s in flight at once: %s and %s", l1.Host, l1.URL, l2.URL)
	}
	wantEmpty(t, s) // the remaining a.example request waits for its host
	wantStats(t, s, 1, 2, 0, 0, 0)
	la := l1
	if l2.Host == "a.example" {
		la = l2
	}
	must(t, s.Ack(ctx, la, storage.AckOptions{}), "ack")
	l3 := claim(t, s, "w3", time.Minute)
	if l3.Host != "a.example" {
		t.Fatalf("after ack claimed %s, want the other a.example request", l3.URL)
	}
}

func testFrontierHostDelayAck(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const delay = 400 * time.Millisecond
	_, err := s.Add(ctx, req("http://slow.example/1"), req("http://slow.example/2"), req("http://other.example/1"))
	must(t, err, "add")
	var l *storage.Lease
	for l == nil || l.Host != "slow.example" {
		l = claim(t, s, "w1", time.Minute)
	}
	acked := time.Now()
	must(t, s.Ack(ctx, l, storage.AckOptions{HostDelay: delay}), "ack")
	// Another host is not held up by the resting one.
	for {
		o, err := s.ClaimRequest(ctx, "w2", time.Minute)
		if errors.Is(err, lokerwatch.ErrEmpty) {
			break
		}
		must(t, err, "claim")
		if o.Host == "slow.example" {
			t.Fatalf("claimed %s %v after ack with host delay %v", o.URL, time.Since(acked), delay)
		}
	}
	next := claimWithin(t, s, "w3", 5*time.Second)
	if got := time.Since(acked); got < delay-2*time.Millisecond {
		t.Fatalf("host claimed again %v after ack, want at least %v", got, delay)
	}
	if next.Host != "slow.example" {
		t.Fatalf("claimed %s, want slow.example", next.URL)
	}
}

func testFrontierHostDelayFail(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const delay = 400 * time.Millisecond
	_, err := s.Add(ctx, req("http://busy.example/1"), req("http://busy.example/2"))
	must(t, err, "add")
	l := claim(t, s, "w1", time.Minute)
	failed := time.Now()
	must(t, s.Fail(ctx, l, storage.FailOptions{Reason: "HTTP 429", Retry: true, MaxAttempts: 5, HostDelay: delay}), "fail")
	wantEmpty(t, s)
	next := claimWithin(t, s, "w2", 5*time.Second)
	if got := time.Since(failed); got < delay-2*time.Millisecond {
		t.Fatalf("host claimed again %v after a failure with host delay %v", got, delay)
	}
	if next.URL != "http://busy.example/2" {
		t.Fatalf("claimed %s, want the other request (the failed one is backing off)", next.URL)
	}
	wantStats(t, s, 1, 1, 0, 0, 0)
}

func testFrontierNotBefore(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const wait = 300 * time.Millisecond
	added := time.Now()
	later := req("http://a.example/later")
	later.NotBefore = added.Add(wait)
	_, err := s.Add(ctx, later)
	must(t, err, "add")
	wantEmpty(t, s)
	if st := wantStats(t, s, 1, 0, 0, 0, 0); st.Finished() {
		t.Fatal("Finished while a delayed request is queued")
	}
	// A delayed request does not block its host for others.
	_, err = s.Add(ctx, req("http://a.example/now"))
	must(t, err, "add")
	now := claim(t, s, "w1", time.Minute)
	if now.URL != "http://a.example/now" {
		t.Fatalf("claimed %s before its NotBefore", now.URL)
	}
	must(t, s.Ack(ctx, now, storage.AckOptions{}), "ack")
	l := claimWithin(t, s, "w2", 5*time.Second)
	if got := time.Since(added); got < wait-2*time.Millisecond {
		t.Fatalf("claimed %v after add, NotBefore was %v after", got, wait)
	}
	if l.URL != later.URL || !near(l.NotBefore, later.NotBefore, time.Millisecond) {
		t.Fatalf("lease = %+v, want %s with NotBefore %v", l.Request, later.URL, later.NotBefore)
	}
}

func testFrontierLeaseReap(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.Add(ctx, req("http://a.example/1"), req("http://b.example/1"))
	must(t, err, "add")
	kept, err := s.ClaimRequest(ctx, "w1", time.Minute)
	must(t, err, "claim")
	extended := time.Now()
	must(t, s.Extend(ctx, 2*time.Minute, kept), "extend")
	if !near(kept.Until, extended.Add(2*time.Minute), 30*time.Second) {
		t.Fatalf("extend set Until %v, want about %v", kept.Until, extended.Add(2*time.Minute))
	}
	n, err := s.ReapRequests(ctx)
	must(t, err, "reap")
	if n != 0 {
		t.Fatalf("reaped %d live leases", n)
	}
	lost, err := s.ClaimRequest(ctx, "w2", time.Minute)
	must(t, err, "claim")
	expire(t, s, lost)
	eventually(t, 5*time.Second, "the expired lease to be reaped", func() bool {
		n, err := s.ReapRequests(ctx)
		must(t, err, "reap")
		if n > 1 {
			t.Fatalf("reaped %d leases, only one expired", n)
		}
		return n == 1
	})
	wantStats(t, s, 1, 1, 0, 0, 0)
	wantErr(t, s.Extend(ctx, time.Minute, lost), lokerwatch.ErrLeaseLost, "extend a reaped lease")
	again := claim(t, s, "w3", time.Minute)
	if again.URL != lost.URL || again.Token == lost.Token {
		t.Fatalf("after reap claimed %s token %s, want %s with a new token", again.URL, again.Token, lost.URL)
	}
	if again.Attempts != 0 {
		t.Errorf("a reaped request has Attempts %d; an expired lease is not a failed fetch", again.Attempts)
	}
	wantErr(t, s.Ack(ctx, lost, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "ack by the worker that lost the lease")
	wantErr(t, s.Fail(ctx, lost, storage.FailOptions{Reason: "late"}), lokerwatch.ErrLeaseLost, "fail by the worker that lost the lease")
	wantErr(t, s.Extend(ctx, time.Minute, lost), lokerwatch.ErrLeaseLost, "extend a lease taken by another worker")
	must(t, s.Ack(ctx, again, storage.AckOptions{}), "ack by the new holder")
	must(t, s.Ack(ctx, kept, storage.AckOptions{}), "ack the extended lease")
	wantStats(t, s, 0, 0, 2, 0, 0)
}

func testFrontierRetryDead(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "http://flaky.example/job/1"
	_, err := s.Add(ctx, req(u))
	must(t, err, "add")
	l := claim(t, s, "w1", time.Minute)
	failed := time.Now()
	must(t, s.Fail(ctx, l, storage.FailOptions{Reason: "timeout", Retry: true, MaxAttempts: 2}), "fail 1")
	st := wantStats(t, s, 1, 0, 0, 0, 0)
	if st.Finished() {
		t.Fatal("Finished while a retry is waiting")
	}
	wantEmpty(t, s) // backing off
	l = claimWithin(t, s, "w2", 10*time.Second)
	if got := time.Since(failed); got < 500*time.Millisecond {
		t.Fatalf("retry claimed %v after the failure, want a back-off of at least 500ms", got)
	}
	if l.URL != u || l.Attempts != 1 {
		t.Fatalf("retry lease = %+v, want %s with Attempts 1", l.Request, u)
	}
	must(t, s.Fail(ctx, l, storage.FailOptions{Reason: "timeout again", Retry: true, MaxAttempts: 2}), "fail 2")
	st = wantStats(t, s, 0, 0, 0, 0, 1)
	if !st.Finished() {
		t.Fatal("not Finished with only a dead request")
	}
	wantEmpty(t, s)
	fs, err := s.ListFailed(ctx, 10)
	must(t, err, "list failed")
	if len(fs) != 1 {
		t.Fatalf("ListFailed returned %d, want 1", len(fs))
	}
	f := fs[0]
	if f.URL != u || !f.Dead || f.Reason != "timeout again" || f.Attempts != 2 || f.Source != "src" {
		t.Fatalf("failed request = %+v, want %s dead after 2 attempts with the last reason", f, u)
	}
	if !near(f.FailedAt, time.Now(), 10*time.Second) {
		t.Errorf("FailedAt = %v, want about now", f.FailedAt)
	}
	seen, err := s.Seen(ctx, u)
	must(t, err, "seen")
	if !seen {
		t.Error("a dead URL is no longer seen")
	}
}

func testFrontierDeadAtOnce(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.Add(ctx, req("http://a.example/1"))
	must(t, err, "add")
	l := claim(t, s, "w1", time.Minute)
	must(t, s.Fail(ctx, l, storage.FailOptions{Reason: "5xx", Retry: true, MaxAttempts: 1}), "fail")
	wantStats(t, s, 0, 0, 0, 0, 1)
}

func testFrontierPermanent(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "http://a.example/gone"
	_, err := s.Add(ctx, req(u), req("http://a.example/next"))
	must(t, err, "add")
	l := claim(t, s, "w1", time.Minute)
	if l.URL != u {
		// Claim order within a host is not part of the contract; fail the other.
		u = l.URL
	}
	must(t, s.Fail(ctx, l, storage.FailOptions{Reason: "HTTP 404", MaxAttempts: 5}), "fail")
	wantStats(t, s, 1, 0, 0, 1, 0)
	next := claim(t, s, "w1", time.Minute) // a permanent failure does not rest the host
	if next.URL == u {
		t.Fatal("permanently failed request was handed out again")
	}
	fs, err := s.ListFailed(ctx, 0)
	must(t, err, "list failed")
	if len(fs) != 1 || fs[0].URL != u || fs[0].Dead || fs[0].Reason != "HTTP 404" {
		t.Fatalf("ListFailed = %+v, want %s failed (not dead) with reason HTTP 404", fs, u)
	}
	n, err := s.Add(ctx, req(u))
	must(t, err, "re-add")
	if n != 0 {
		t.Fatal("a failed URL was queued again without Revisit")
	}
}

func testFrontierListFailed(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	for i := range 3 {
		_, err := s.Add(ctx, req(fmt.Sprintf("http://h%d.example/", i)))
		must(t, err, "add")
		l := claim(t, s, "w", time.Minute)
		must(t, s.Fail(ctx, l, storage.FailOptions{Reason: fmt.Sprint("reason ", i)}), "fail")
		time.Sleep(2 * time.Millisecond) // distinct FailedAt for a defined order
	}
	fs, err := s.ListFailed(ctx, 2)
	must(t, err, "list failed")
	if len(fs) != 2 || fs[0].URL != "http://h2.example/" || fs[1].URL != "http://h1.example/" {
		t.Fatalf("ListFailed(2) = %+v, want h2 then h1", fs)
	}
	if fs[0].FailedAt.Before(fs[1].FailedAt) {
		t.Fatalf("ListFailed not newest first: %v before %v", fs[0].FailedAt, fs[1].FailedAt)
	}
}

// testFrontierRevisitCounts: a URL visited again is counted done once,
// not once per visit, for a listing and for a page marked Recur.
func testFrontierRevisitCounts(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	page := req("http://board.example/job/1")
	page.Recur = true
	listing := storage.Request{URL: "http://board.example/jobs", Source: "src", Kind: "listing"}
	_, err := s.Add(ctx, page, listing)
	must(t, err, "add")
	for visit := range 3 {
		for range 2 {
			l := claim(t, s, "w", time.Minute)
			must(t, s.Ack(ctx, l, storage.AckOptions{ETag: fmt.Sprintf(`"v%d"`, visit)}), "ack")
		}
		wantStats(t, s, 0, 0, 2, 0, 0)
		for _, r := range []storage.Request{page, listing} {
			r.Revisit = true
			n, err := s.Add(ctx, r)
			must(t, err, "revisit "+r.URL)
			if n != 1 {
				t.Fatalf("revisit %d of %s queued %d", visit, r.URL, n)
			}
		}
		wantStats(t, s, 2, 0, 0, 0, 0)
	}
}

func testFrontierRevisit(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "http://chan.example/s/lokerln"
	listing := storage.Request{URL: u, Source: "channel", Kind: "listing"}
	n, err := s.Add(ctx, listing)
	must(t, err, "add")
	if n != 1 {
		t.Fatalf("add queued %d", n)
	}
	l := claim(t, s, "w1", time.Minute)
	if l.ETag != "" || l.LastModified != "" {
		t.Fatalf("first claim carries ETag %q LastModified %q", l.ETag, l.LastModified)
	}
	must(t, s.Ack(ctx, l, storage.AckOptions{ETag: `"v1"`, LastModified: "Mon, 02 Jan 2026 15:04:05 GMT"}), "ack")

	if n, _ = s.Add(ctx, listing); n != 0 {
		t.Fatal("a seen URL was queued without Revisit")
	}
	revisit := listing
	revisit.Revisit = true
	n, err = s.Add(ctx, revisit, revisit)
	must(t, err, "revisit")
	if n != 1 {
		t.Fatalf("revisit queued %d, want 1", n)
	}
	n, err = s.Add(ctx, revisit)
	must(t, err, "revisit while queued")
	if n != 0 {
		t.Fatal("revisit queued a URL that is already queued")
	}
	wantStats(t, s, 1, 0, 0, 0, 0)
	l = claim(t, s, "w2", time.Minute)
	if l.URL != u || l.ETag != `"v1"` || l.LastModified != "Mon, 02 Jan 2026 15:04:05 GMT" || !l.Revisit || l.Kind != "listing" {
		t.Fatalf("revisit lease = %+v, want the ETag and LastModified of the last fetch", l.Request)
	}
	n, err = s.Add(ctx, revisit)
	must(t, err, "revisit while in flight")
	if n != 0 {
		t.Fatal("revisit queued a URL that is in flight")
	}
	must(t, s.Ack(ctx, l, storage.AckOptions{ETag: `"v2"`}), "ack")
	wantStats(t, s, 0, 0, 1, 0, 0)

	// Revisit of a URL never seen queues it and marks it seen.
	fresh := storage.Request{URL: "http://chan.example/s/other", Source: "channel", Kind: "listing", Revisit: true}
	n, err = s.Add(ctx, fresh)
	must(t, err, "revisit fresh")
	if n != 1 {
		t.Fatal("revisit of an unseen URL was not queued")
	}
	if seen, _ := s.Seen(ctx, fresh.URL); !seen {
		t.Fatal("revisit did not mark the URL seen")
	}
	// The ETag of the latest Ack wins.
	if n, _ = s.Add(ctx, revisit); n != 1 {
		t.Fatal("second revisit not queued")
	}
	for range 2 {
		l = claim(t, s, "w3", time.Minute)
		if l.URL == u && l.ETag != `"v2"` {
			t.Fatalf("ETag %q, want the latest \"v2\"", l.ETag)
		}
		must(t, s.Ack(ctx, l, storage.AckOptions{}), "ack")
	}
}

func testFrontierConcurrentAdd(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const workers, urls = 8, 30
	var wg sync.WaitGroup
	total := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range urls {
				// Each worker adds every URL, in a different order, some revisits.
				j := (i*7 + w*13) % urls
				r := req(fmt.Sprintf("http://h%d.example/p/%d", j%5, j))
				r.Revisit = w%2 == 0
				n, err := s.Add(ctx, r)
				if err != nil {
					t.Errorf("add: %v", err)
					return
				}
				total[w] += n
			}
		}()
	}
	wg.Wait()
	sum := 0
	for _, n := range total {
		sum += n
	}
	if sum != urls {
		t.Fatalf("%d workers adding the same %d URLs queued %d in total", workers, urls, sum)
	}
	wantStats(t, s, urls, 0, 0, 0, 0)
}

func testFrontierConcurrentClaimers(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const hosts, perHost, workers = 10, 16, 8
	var reqs []storage.Request
	for h := range hosts {
		for p := range perHost {
			reqs = append(reqs, req(fmt.Sprintf("http://h%d.example/job/%d", h, p)))
		}
	}
	n, err := s.Add(ctx, reqs...)
	must(t, err, "add")
	if n != len(reqs) {
		t.Fatalf("queued %d of %d", n, len(reqs))
	}
	var (
		mu       sync.Mutex
		inFlight = map[string]string{} // host -> URL being fetched
		got      = map[string]int{}
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprint("worker-", w)
			for {
				l := claimUntilFinished(ctx, t, s, worker, time.Minute, time.Millisecond)
				if l == nil {
					return
				}
				mu.Lock()
				if other, busy := inFlight[l.Host]; busy {
					t.Errorf("%s claimed %s while %s of the same host is in flight", worker, l.URL, other)
				}
				inFlight[l.Host] = l.URL
				got[l.URL]++
				mu.Unlock()
				runtime.Gosched() // "fetch": let other claimers run meanwhile
				// The host leaves our in-flight map before the store frees
				// it, so a claim seen above is always a real overlap.
				mu.Lock()
				delete(inFlight, l.Host)
				mu.Unlock()
				if err := s.Ack(ctx, l, storage.AckOptions{}); err != nil {
					t.Errorf("ack %s: %v", l.URL, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range reqs {
		if got[r.URL] != 1 {
			t.Errorf("%s handed out %d times, want once", r.URL, got[r.URL])
		}
	}
	wantStats(t, s, 0, 0, int64(len(reqs)), 0, 0)
}

// testFrontierConcurrentPoliteness checks the host delay across workers: no
// host is claimed again before HostDelay has passed since its last Ack.
func testFrontierConcurrentPoliteness(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const hosts, perHost, workers = 3, 5, 6
	const delay = 30 * time.Millisecond
	for h := range hosts {
		for p := range perHost {
			_, err := s.Add(ctx, req(fmt.Sprintf("http://p%d.example/%d", h, p)))
			must(t, err, "add")
		}
	}
	var (
		mu      sync.Mutex
		lastAck = map[string]time.Time{} // host -> when its last Ack was sent
		wg      sync.WaitGroup
		claims  int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				l := claimUntilFinished(ctx, t, s, fmt.Sprint("w", w), time.Minute, time.Millisecond)
				if l == nil {
					return
				}
				mu.Lock()
				claims++
				if prev, ok := lastAck[l.Host]; ok {
					if gap := time.Since(prev); gap < delay-2*time.Millisecond {
						t.Errorf("host %s claimed %v after its last ack, host delay %v", l.Host, gap, delay)
					}
				}
				lastAck[l.Host] = time.Now()
				mu.Unlock()
				if err := s.Ack(ctx, l, storage.AckOptions{HostDelay: delay}); err != nil {
					t.Errorf("ack: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if claims != hosts*perHost {
		t.Fatalf("%d claims, want %d", claims, hosts*perHost)
	}
}

// testFrontierAbandoned has workers that die holding leases: the reaper
// returns their requests and every URL is fetched to the end exactly once
// successfully.
func testFrontierAbandoned(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const urls, workers = 40, 4
	for i := range urls {
		_, err := s.Add(ctx, req(fmt.Sprintf("http://d%d.example/%d", i%8, i)))
		must(t, err, "add")
	}
	stop := make(chan struct{})
	reaped := make(chan int)
	go func() {
		total := 0
		defer func() { reaped <- total }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n, err := s.ReapRequests(ctx)
				if err != nil {
					t.Errorf("reap: %v", err)
					return
				}
				total += n
			}
		}
	}()
	var (
		mu        sync.Mutex
		acked     = map[string]int{}
		abandoned = map[string]bool{}
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(20 * time.Second)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claimsByMe := 0
			for time.Now().Before(deadline) {
				// Not claimUntilFinished: this loop must give up at the deadline.
				l, err := s.ClaimRequest(ctx, fmt.Sprint("w", w), time.Minute)
				if errors.Is(err, lokerwatch.ErrEmpty) {
					st, err := s.FrontierStats(ctx)
					if err != nil {
						t.Errorf("stats: %v", err)
						return
					}
					if st.Finished() {
						return
					}
					time.Sleep(2 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				claimsByMe++
				mu.Lock()
				// Each worker "crashes" on every third claim, once per URL.
				if claimsByMe%3 == 0 && !abandoned[l.URL] {
					abandoned[l.URL] = true
					mu.Unlock()
					// It dies: its long lease runs out now.
					if err := s.Extend(ctx, time.Millisecond, l); err != nil {
						t.Errorf("expire %s: %v", l.URL, err)
						return
					}
					continue
				}
				mu.Unlock()
				err = s.Ack(ctx, l, storage.AckOptions{})
				if errors.Is(err, lokerwatch.ErrLeaseLost) {
					continue // too slow (a loaded machine): another worker takes it over
				}
				if err != nil {
					t.Errorf("ack %s: %v", l.URL, err)
					return
				}
				mu.Lock()
				acked[l.URL]++
				mu.Unlock()
			}
			t.Errorf("worker %d gave up: the frontier never finished", w)
		}()
	}
	wg.Wait()
	close(stop)
	total := <-reaped
	if len(abandoned) == 0 {
		t.Fatal("no lease was abandoned; the test did not test anything")
	}
	for i := range urls {
		u := fmt.Sprintf("http://d%d.example/%d", i%8, i)
		if acked[u] != 1 {
			t.Errorf("%s acked %d times, want once", u, acked[u])
		}
	}
	if total == 0 {
		t.Log("the reaper found nothing: claims reaped the abandoned leases lazily")
	}
	wantStats(t, s, 0, 0, urls, 0, 0)
}

func testFrontierBadRequests(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	n, err := s.Add(ctx, req("http://ok.example/1"), req("no-host-here"), req("http://[::1"), req(""), req("http://ok.example/2"))
	if err == nil {
		t.Fatal("add with unusable URLs returned no error")
	}
	if n != 2 {
		t.Fatalf("add with 3 unusable URLs of 5 queued %d, want the 2 good ones", n)
	}
	wantStats(t, s, 2, 0, 0, 0, 0)
	if seen, _ := s.Seen(ctx, "no-host-here"); seen {
		t.Fatal("an unusable URL was marked seen")
	}
}

func testFrontierCancelled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if _, err := s.Add(ctx, req("http://a.example/1")); !errors.Is(err, context.Canceled) {
		t.Fatalf("add with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.ClaimRequest(ctx, "w", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("claim with a cancelled context: %v, want context.Canceled", err)
	}
	if seen, err := s.Seen(testCtx(t), "http://a.example/1"); err != nil || seen {
		t.Fatalf("after a cancelled add Seen = %v, %v; want false", seen, err)
	}
}

// claimUntilFinished claims a request for worker, waiting out empty
// moments while other workers still hold requests. It returns nil when the
// frontier is finished, or after reporting an error.
func claimUntilFinished(ctx context.Context, t *testing.T, s storage.Store, worker string, ttl, pause time.Duration) *storage.Lease {
	for {
		l, err := s.ClaimRequest(ctx, worker, ttl)
		if errors.Is(err, lokerwatch.ErrEmpty) {
			st, err := s.FrontierStats(ctx)
			if err != nil {
				t.Errorf("stats: %v", err)
				return nil
			}
			if st.Finished() {
				return nil
			}
			time.Sleep(pause)
			continue
		}
		if err != nil {
			t.Errorf("claim: %v", err)
			return nil
		}
		return l
	}
}
