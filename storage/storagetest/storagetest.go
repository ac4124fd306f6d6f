// Package storagetest is the conformance suite every storage backend must
// pass. A backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return openFresh(t) })
//	}
//
// open must return a fresh, empty store each time it is called; subtests run
// in parallel, so stores opened for different subtests must not share data
// (a new file, a new key prefix, …). The suite closes the store it opened.
//
// The suite only uses the storage interfaces, never backend internals. Where
// storage.go leaves a detail open, the suite fixes it so that both backends
// behave the same; those choices are listed here:
//
//   - Frontier: a request is queued, in flight, done, failed (permanent) or
//     dead (retries exhausted); FrontierStats counts URLs by state. Attempts is 0
//     on the first claim and counts failed tries. A Retry failure whose attempt
//     count reaches MaxAttempts is dead (MaxAttempts 1: dead at once).
//     Back-off after a retryable failure is at least 500ms (base 1s doubling,
//     capped, is the intended default). Ack, Extend and Fail with a lease that was
//     reaped, re-claimed or already ended return lokerwatch.ErrLeaseLost.
//     Extend updates l.Until. Host is host[:port] of the URL, lower case.
//     Add skips requests whose URL has no host, returns an error naming them
//     and still queues the rest. An expired lease is not a failed attempt.
//   - Turns: ClaimRequests takes n < 1 as 1 and refuses a ttl that is not
//     positive (an error, not ErrEmpty). A turn's requests come oldest ready
//     first, where ready is max(added, NotBefore, back-off); the order of
//     requests ready in the same millisecond is open, and so is which free
//     host a turn goes to. Extend with several leases sets Until on the live
//     ones only and leaves the lost ones' Until as it was; Extend and Release
//     of no lease do nothing. Release puts a request back at its old ready
//     time (before requests queued since) with its Attempts, rests nothing,
//     and skips lost leases without error; a released lease is lost (Ack,
//     Fail and Extend return ErrLeaseLost). After a turn, its host rests
//     for the longest HostDelay asked by any Ack or Fail of the turn, not
//     the last one's. Reaping an expired turn requeues all its requests and
//     frees the host. ContinueTurn refuses with plain ErrEmpty while another
//     host is ready or the held host has nothing ready, and with ErrEmpty
//     wrapping ErrLeaseLost when the held lease is another worker's or was
//     acked, released or reaped; its leases hold the host as the turn's.
//   - Liveness: a worker that never called Heartbeat keeps its leases to
//     their deadlines. Once it beats, a lapsed heartbeat gives all its
//     leases back at the next claim or ReapRequests, at their old places
//     with Attempts unchanged; its Ack, Extend and Fail then return
//     ErrLeaseLost. A request named in InFlight at MaxDeaths lapses is
//     dead with reason storage.DiedReason(MaxDeaths); deaths count within
//     one visit: once it is done and queued again, it starts from none. Heartbeat with TTL 0 ends the heartbeat without reclaiming.
//   - FinishPages: one result per page, in order; no pages give no results.
//     A page without ads is acked all the same. The AckOptions of a page are
//     applied as by Ack (ETag kept for the next conditional fetch). A page
//     whose lease is lost — even when another worker holds the URL again —
//     gets Err wrapping ErrLeaseLost and nil Puts, and the new holder's lease
//     is untouched. An ad without ID fails the whole call with an error that
//     is not ErrLeaseLost; then no ad is written and every lease still holds.
//   - Ads: LastSeen is the ad's FetchedAt (now when zero); FirstSeen is kept from
//     the first PutAd; both are also set on the *Ad passed in. ScanAds orders by
//     LastSeen, then ID. DeleteAd of an unknown ID returns ErrNotFound. AdsByKey
//     returns an empty result (not an error) for an unknown key.
//   - Review: ListAudit is oldest first (append order) and Limit keeps the oldest.
//     Audit actions are review.enqueue, review.claim, review.renew,
//     review.release, review.expire, review.decide and review.amend (a decision
//     on an already decided item with Amend); Object is the item ID. An escalated
//     item is pending, unclaimed, with Verdict escalate. An expired claim counts
//     as unclaimed: RenewItem by its old claimant returns ErrNotClaimant and
//     ClaimNext/ClaimItem hand it out again; while nobody has, its old
//     claimant may still Decide it. Decide refuses an unknown verdict and a
//     missing reviewer; Enqueue, PutAd, PutEvidence and PutUser refuse a
//     missing ID or name.
//   - A cancelled context makes a call fail with an error that wraps
//     context.Canceled, and nothing is written.
//   - Users: PasswordHash (json:"-") is stored; ListUsers is sorted by name.
//     Sessions with a zero Expires never expire.
//   - Evidence: WARC bytes (json:"-") are stored; EvidenceForAd is ordered by
//     CapturedAt.
package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/storage"
)

// Run runs the whole conformance suite against the backend that open creates.
func Run(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Frontier", frontierTests},
		{"Turns", turnTests},
		{"Liveness", livenessTests},
		{"FinishPages", finishTests},
		{"Robots", robotsTests},
		{"Ads", adsTests},
		{"AdIdentity", identityTests},
		{"Review", reviewTests},
		{"Audit", auditTests},
		{"Evidence", evidenceTests},
		{"Users", usersTests},
		{"Personas", personaTests},
		{"Cases", caseTests},
		{"Outbox", outboxTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := open(t)
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("close store: %v", err)
						}
					})
					if err := s.Ping(testCtx(t)); err != nil {
						t.Fatalf("ping fresh store: %v", err)
					}
					tc.fn(t, s)
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

// testCtx is a context that ends with the test, bounded so that a hung
// backend fails the test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// eventually polls cond every few milliseconds until it returns true or
// timeout passes. Lease and delay tests wait for time itself, so polling is
// the signal; the timeout is generous so a loaded CI machine does not fail.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// near reports whether got is within tol of want.
func near(got, want time.Time, tol time.Duration) bool {
	d := got.Sub(want)
	return d <= tol && d >= -tol
}
