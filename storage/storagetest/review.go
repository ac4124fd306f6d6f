package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

var reviewTests = []test{
	{"OldestPending", testReviewOldestPending},
	{"EnqueueOnce", testReviewEnqueueOnce},
	{"EnqueueConcurrent", testReviewEnqueueConcurrent},
	{"PriorityOrder", testReviewOrder},
	{"Filters", testReviewFilters},
	{"ClaimItemRules", testReviewClaimItem},
	{"RenewRelease", testReviewRenewRelease},
	{"DecideRules", testReviewDecideRules},
	{"EscalateAndAmend", testReviewEscalateAmend},
	{"ExpiredClaimBackAtPriority", testReviewExpiredClaim},
	{"ReapClaims", testReviewReap},
	{"AuditTrail", testReviewAudit},
	{"ConcurrentClaimers", testReviewConcurrentClaimers},
	{"AbandonedClaimsNothingLost", testReviewAbandoned},
	{"LapsedClaimStillDecidable", testReviewLapsedDecide},
	{"BadInput", testReviewBadInput},
}

func flaggedAd(name string, score int, cat lokerwatch.Category, source, lang string) *lokerwatch.Ad {
	url := "http://" + source + ".example/ad/" + name
	return &lokerwatch.Ad{
		ID: lokerwatch.AdID(source, url), Source: source, URL: url, Title: "ad " + name, Lang: lang,
		FetchedAt:  t0,
		Assessment: &lokerwatch.Assessment{Score: score, Flagged: true, Category: cat},
	}
}

func enqueue(t *testing.T, s storage.Store, ad *lokerwatch.Ad) *lokerwatch.ReviewItem {
	t.Helper()
	it, created, err := s.Enqueue(testCtx(t), ad)
	must(t, err, "enqueue "+ad.Title)
	if !created {
		t.Fatalf("enqueue %s: created = false for a new ad", ad.Title)
	}
	return it
}

func getItem(t *testing.T, s storage.Store, id string) *lokerwatch.ReviewItem {
	t.Helper()
	it, err := s.GetItem(testCtx(t), id)
	must(t, err, "get item "+id)
	return it
}

func claimNext(t *testing.T, s storage.Store, reviewer string, f storage.ReviewFilter) *lokerwatch.ReviewItem {
	t.Helper()
	it, err := s.ClaimNext(testCtx(t), reviewer, time.Minute, f)
	must(t, err, "claim next for "+reviewer)
	return it
}

func decide(verdict lokerwatch.Verdict, id, reviewer string) lokerwatch.Decision {
	return lokerwatch.Decision{ItemID: id, Verdict: verdict, Reviewer: reviewer, Note: "note by " + reviewer}
}

func testReviewEnqueueOnce(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	ad := flaggedAd("one", 70, lokerwatch.CategoryScam, "chan", "id")
	before := time.Now()
	it := enqueue(t, s, ad)
	if it.ID == "" || it.AdID != ad.ID || it.URL != ad.URL || it.Title != ad.Title || it.Source != "chan" || it.Lang != "id" ||
		it.Score != 70 || it.Category != lokerwatch.CategoryScam || it.Status != lokerwatch.StatusPending || it.Claimant != "" {
		t.Fatalf("enqueued item = %+v", it)
	}
	if !near(it.CreatedAt, before, 10*time.Second) {
		t.Fatalf("CreatedAt = %v, want about now", it.CreatedAt)
	}

	ad.Assessment.Score = 85
	again, created, err := s.Enqueue(ctx, ad)
	must(t, err, "enqueue again")
	if created || again.ID != it.ID {
		t.Fatalf("second enqueue: created %v id %s, want the existing item %s", created, again.ID, it.ID)
	}
	if again.Score != 85 || getItem(t, s, it.ID).Score != 85 {
		t.Fatalf("second enqueue did not refresh the pending item's score: %d", again.Score)
	}
	byAd, err := s.ItemForAd(ctx, ad.ID)
	must(t, err, "item for ad")
	if byAd.ID != it.ID {
		t.Fatalf("ItemForAd = %s, want %s", byAd.ID, it.ID)
	}
	_, err = s.GetItem(ctx, "no-such-item")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown item")
	_, err = s.ItemForAd(ctx, "no-such-ad")
	wantErr(t, err, lokerwatch.ErrNotFound, "item for unknown ad")

	// Once decided, a re-crawl neither re-opens the item nor changes its score.
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictScam, it.ID, "alice"))
	must(t, err, "decide")
	ad.Assessment.Score = 20
	again, created, err = s.Enqueue(ctx, ad)
	must(t, err, "enqueue decided")
	if created || again.ID != it.ID || again.Status != lokerwatch.StatusDecided || again.Score != 85 {
		t.Fatalf("enqueue of a decided ad = %+v created %v, want the decided item unchanged", again, created)
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count items")
	if counts[lokerwatch.StatusDecided] != 1 || counts[lokerwatch.StatusPending] != 0 {
		t.Fatalf("CountItems = %v", counts)
	}
}

func testReviewEnqueueConcurrent(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const workers = 16
	ads := []*lokerwatch.Ad{
		flaggedAd("x", 60, lokerwatch.CategoryScam, "chan", "id"),
		flaggedAd("y", 61, lokerwatch.CategoryScam, "chan", "id"),
	}
	var created atomic.Int32
	ids := make([]string, workers*len(ads))
	var wg sync.WaitGroup
	for w := range workers {
		for j, ad := range ads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each worker has its own copy, as two crawler processes would.
				cp := *ad
				it, c, err := s.Enqueue(ctx, &cp)
				if err != nil {
					t.Errorf("enqueue: %v", err)
					return
				}
				if c {
					created.Add(1)
				}
				ids[w*len(ads)+j] = it.ID
			}()
		}
	}
	wg.Wait()
	if created.Load() != int32(len(ads)) {
		t.Fatalf("%d concurrent enqueues of %d ads created %d items", workers, len(ads), created.Load())
	}
	for w := range workers {
		for j := range ads {
			if ids[w*len(ads)+j] != ids[j] {
				t.Fatalf("enqueue returned item %s and %s for one ad", ids[w*len(ads)+j], ids[j])
			}
		}
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count")
	if counts[lokerwatch.StatusPending] != int64(len(ads)) {
		t.Fatalf("pending = %d, want %d", counts[lokerwatch.StatusPending], len(ads))
	}
	evs, err := s.ListAudit(ctx, storage.AuditFilter{Object: ids[0]})
	must(t, err, "audit")
	if n := countActions(evs, "review.enqueue"); n != 1 {
		t.Fatalf("%d review.enqueue audit events for one item, want 1", n)
	}
}

func countActions(evs []lokerwatch.AuditEvent, action string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action {
			n++
		}
	}
	return n
}

func testReviewOrder(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	// Enqueued in this order; distinct CreatedAt so "oldest first" is defined.
	order := []struct {
		name  string
		score int
	}{{"a", 50}, {"b", 90}, {"c", 70}, {"d", 90}, {"e", 70}, {"f", 95}}
	ids := map[string]string{}
	for _, o := range order {
		it := enqueue(t, s, flaggedAd(o.name, o.score, lokerwatch.CategoryScam, "chan", "id"))
		ids[it.ID] = o.name
		time.Sleep(3 * time.Millisecond)
	}
	want := []string{"f", "b", "d", "c", "e", "a"}
	list, err := s.ListItems(ctx, storage.ReviewFilter{})
	must(t, err, "list")
	var got []string
	for _, it := range list {
		got = append(got, ids[it.ID])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListItems order = %v, want %v (score desc, oldest first)", got, want)
	}
	page, err := s.ListItems(ctx, storage.ReviewFilter{Limit: 2, Offset: 2})
	must(t, err, "list page")
	if len(page) != 2 || ids[page[0].ID] != "d" || ids[page[1].ID] != "c" {
		t.Fatalf("ListItems limit 2 offset 2 = %v, want d, c", page)
	}
	got = nil
	for range order {
		got = append(got, ids[claimNext(t, s, "alice", storage.ReviewFilter{}).ID])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ClaimNext order = %v, want %v", got, want)
	}
	_, err = s.ClaimNext(ctx, "alice", time.Minute, storage.ReviewFilter{})
	wantErr(t, err, lokerwatch.ErrEmpty, "claim from an empty queue")
}

func testReviewFilters(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	scam := enqueue(t, s, flaggedAd("scam", 90, lokerwatch.CategoryScam, "chan", "id"))
	time.Sleep(3 * time.Millisecond)
	mid := time.Now()
	time.Sleep(3 * time.Millisecond)
	traf := enqueue(t, s, flaggedAd("traf", 60, lokerwatch.CategoryTrafficking, "board", "en"))
	nonp := enqueue(t, s, flaggedAd("nonp", 80, lokerwatch.CategoryNonprocedural, "board", "id"))

	for _, tc := range []struct {
		name string
		f    storage.ReviewFilter
		want []string
	}{
		{"all", storage.ReviewFilter{}, []string{scam.ID, nonp.ID, traf.ID}},
		{"category", storage.ReviewFilter{Category: lokerwatch.CategoryTrafficking}, []string{traf.ID}},
		{"source", storage.ReviewFilter{Source: "board"}, []string{nonp.ID, traf.ID}},
		{"lang", storage.ReviewFilter{Lang: "id"}, []string{scam.ID, nonp.ID}},
		{"since", storage.ReviewFilter{Since: mid}, []string{nonp.ID, traf.ID}},
		{"until", storage.ReviewFilter{Until: mid}, []string{scam.ID}},
		{"none", storage.ReviewFilter{Source: "board", Lang: "xx"}, nil},
		{"pending", storage.ReviewFilter{Status: lokerwatch.StatusPending, Limit: 1}, []string{scam.ID}},
	} {
		list, err := s.ListItems(ctx, tc.f)
		must(t, err, "list "+tc.name)
		var got []string
		for _, it := range list {
			got = append(got, it.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListItems %s = %v, want %v", tc.name, got, tc.want)
		}
	}

	// ClaimNext honours the filter and ignores Status.
	it := claimNext(t, s, "alice", storage.ReviewFilter{Source: "board", Status: lokerwatch.StatusDecided})
	if it.ID != nonp.ID {
		t.Fatalf("claim next from board = %s, want %s", it.ID, nonp.ID)
	}
	it = claimNext(t, s, "bob", storage.ReviewFilter{Lang: "en"})
	if it.ID != traf.ID {
		t.Fatalf("claim next in en = %s, want %s", it.ID, traf.ID)
	}
	_, err := s.ClaimNext(ctx, "bob", time.Minute, storage.ReviewFilter{Category: lokerwatch.CategoryTrafficking})
	wantErr(t, err, lokerwatch.ErrEmpty, "claim next when the only match is claimed")

	for status, want := range map[lokerwatch.ReviewStatus][]string{
		lokerwatch.StatusClaimed: {nonp.ID, traf.ID},
		lokerwatch.StatusPending: {scam.ID},
		lokerwatch.StatusDecided: nil,
	} {
		list, err := s.ListItems(ctx, storage.ReviewFilter{Status: status})
		must(t, err, "list by status")
		var got []string
		for _, it := range list {
			got = append(got, it.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListItems status %s = %v, want %v", status, got, want)
		}
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count")
	if counts[lokerwatch.StatusPending] != 1 || counts[lokerwatch.StatusClaimed] != 2 || counts[lokerwatch.StatusDecided] != 0 {
		t.Fatalf("CountItems = %v, want pending 1 claimed 2", counts)
	}
}

func testReviewClaimItem(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	it := enqueue(t, s, flaggedAd("c", 70, lokerwatch.CategoryScam, "chan", "id"))
	_, err := s.ClaimItem(ctx, "missing", "alice", time.Minute)
	wantErr(t, err, lokerwatch.ErrNotFound, "claim unknown item")

	start := time.Now()
	got, err := s.ClaimItem(ctx, it.ID, "alice", time.Minute)
	must(t, err, "claim item")
	if got.Status != lokerwatch.StatusClaimed || got.Claimant != "alice" || !near(got.LeaseUntil, start.Add(time.Minute), 10*time.Second) {
		t.Fatalf("claimed item = %+v", got)
	}
	if g := getItem(t, s, it.ID); g.Status != lokerwatch.StatusClaimed || g.Claimant != "alice" {
		t.Fatalf("stored item after claim = %+v", g)
	}
	_, err = s.ClaimItem(ctx, it.ID, "bob", time.Minute)
	wantErr(t, err, lokerwatch.ErrNotClaimant, "claim an item another reviewer holds")
	_, err = s.ClaimItem(ctx, it.ID, "alice", time.Minute)
	must(t, err, "re-claim own item")
	_, err = s.ClaimNext(ctx, "bob", time.Minute, storage.ReviewFilter{})
	wantErr(t, err, lokerwatch.ErrEmpty, "claim next while the only item is held")

	_, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, it.ID, "alice"))
	must(t, err, "decide")
	_, err = s.ClaimItem(ctx, it.ID, "bob", time.Minute)
	wantErr(t, err, lokerwatch.ErrAlreadyDecided, "claim a decided item")

	short := enqueue(t, s, flaggedAd("short", 70, lokerwatch.CategoryScam, "chan", "id"))
	_, err = s.ClaimItem(ctx, short.ID, "alice", 60*time.Millisecond)
	must(t, err, "claim with a short lease")
	eventually(t, 5*time.Second, "the lease to expire so bob can claim", func() bool {
		got, err := s.ClaimItem(ctx, short.ID, "bob", time.Minute)
		if errors.Is(err, lokerwatch.ErrNotClaimant) {
			return false
		}
		must(t, err, "claim after expiry")
		if got.Claimant != "bob" {
			t.Fatalf("claimant = %q, want bob", got.Claimant)
		}
		return true
	})
}

func testReviewRenewRelease(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	top := enqueue(t, s, flaggedAd("top", 95, lokerwatch.CategoryScam, "chan", "id"))
	enqueue(t, s, flaggedAd("low", 40, lokerwatch.CategoryScam, "chan", "id"))

	it, err := s.ClaimNext(ctx, "alice", time.Minute, storage.ReviewFilter{})
	must(t, err, "claim")
	if it.ID != top.ID {
		t.Fatalf("claimed %s, want the top item", it.ID)
	}
	wantErr(t, s.RenewItem(ctx, it.ID, "bob", time.Minute), lokerwatch.ErrNotClaimant, "renew by another reviewer")
	wantErr(t, s.RenewItem(ctx, "missing", "alice", time.Minute), lokerwatch.ErrNotFound, "renew unknown item")
	// Renewed for two hours: the lease ends long after the original
	// minute (a renewal moves it, whatever the original said).
	renewed := time.Now()
	must(t, s.RenewItem(ctx, it.ID, "alice", 2*time.Hour), "renew")
	g := getItem(t, s, it.ID)
	if !near(g.LeaseUntil, renewed.Add(2*time.Hour), 10*time.Minute) || g.Claimant != "alice" {
		t.Fatalf("after renew: %+v, want lease until about %v", g, renewed.Add(2*time.Hour))
	}
	_, err = s.ClaimItem(ctx, it.ID, "bob", time.Minute)
	wantErr(t, err, lokerwatch.ErrNotClaimant, "claim a renewed item")

	wantErr(t, s.ReleaseItem(ctx, it.ID, "bob"), lokerwatch.ErrNotClaimant, "release by another reviewer")
	must(t, s.ReleaseItem(ctx, it.ID, "alice"), "release")
	g = getItem(t, s, it.ID)
	if g.Status != lokerwatch.StatusPending || g.Claimant != "" {
		t.Fatalf("released item = %+v, want pending and unclaimed", g)
	}
	wantErr(t, s.RenewItem(ctx, it.ID, "alice", time.Minute), lokerwatch.ErrNotClaimant, "renew after release")
	wantErr(t, s.ReleaseItem(ctx, it.ID, "alice"), lokerwatch.ErrNotClaimant, "release twice")
	if next := claimNext(t, s, "bob", storage.ReviewFilter{}); next.ID != top.ID {
		t.Fatalf("after release claim next = %s, want the released top item %s", next.ID, top.ID)
	}

	// A lapsed lease is not held any more.
	low := claimNext(t, s, "carol", storage.ReviewFilter{})
	must(t, s.ReleaseItem(ctx, low.ID, "carol"), "release low")
	_, err = s.ClaimItem(ctx, low.ID, "carol", 50*time.Millisecond)
	must(t, err, "claim low briefly")
	time.Sleep(150 * time.Millisecond) // the lease has certainly run out: waiting for time itself
	wantErr(t, s.RenewItem(ctx, low.ID, "carol", time.Minute), lokerwatch.ErrNotClaimant, "renew a lapsed lease")
	wantErr(t, s.ReleaseItem(ctx, low.ID, "carol"), lokerwatch.ErrNotClaimant, "release a lapsed lease")
}

func testReviewDecideRules(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	a := enqueue(t, s, flaggedAd("a", 90, lokerwatch.CategoryScam, "chan", "id"))
	b := enqueue(t, s, flaggedAd("b", 80, lokerwatch.CategoryScam, "chan", "id"))

	_, err := s.Decide(ctx, decide(lokerwatch.VerdictScam, "missing", "alice"))
	wantErr(t, err, lokerwatch.ErrNotFound, "decide unknown item")
	if _, err = s.Decide(ctx, decide("maybe", a.ID, "alice")); err == nil {
		t.Fatal("decide with an unknown verdict succeeded")
	}
	if _, err = s.Decide(ctx, lokerwatch.Decision{ItemID: a.ID, Verdict: lokerwatch.VerdictScam}); err == nil {
		t.Fatal("decide without a reviewer succeeded")
	}
	if g := getItem(t, s, a.ID); g.Status != lokerwatch.StatusPending {
		t.Fatalf("refused decisions changed the item: %+v", g)
	}

	_, err = s.ClaimItem(ctx, a.ID, "alice", time.Minute)
	must(t, err, "claim")
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, a.ID, "bob"))
	wantErr(t, err, lokerwatch.ErrNotClaimant, "decide an item another reviewer holds")

	before := time.Now()
	d := decide(lokerwatch.VerdictTrafficking, a.ID, "alice")
	d.Remote = "192.0.2.7"
	got, err := s.Decide(ctx, d)
	must(t, err, "decide by claimant")
	if got.Status != lokerwatch.StatusDecided || got.Verdict != lokerwatch.VerdictTrafficking || got.Reviewer != "alice" ||
		got.Note != "note by alice" || got.Claimant != "" || !near(got.DecidedAt, before, 10*time.Second) {
		t.Fatalf("decided item = %+v", got)
	}
	if g := getItem(t, s, a.ID); g.Status != lokerwatch.StatusDecided || g.Verdict != lokerwatch.VerdictTrafficking {
		t.Fatalf("stored decided item = %+v", g)
	}
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, a.ID, "alice"))
	wantErr(t, err, lokerwatch.ErrAlreadyDecided, "decide twice without amend")

	// Pending and unclaimed: claimed and decided at once.
	got, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, b.ID, "bob"))
	must(t, err, "decide unclaimed")
	if got.Status != lokerwatch.StatusDecided || got.Reviewer != "bob" {
		t.Fatalf("decided unclaimed item = %+v", got)
	}

	hist, err := s.Decisions(ctx, a.ID)
	must(t, err, "decisions")
	if len(hist) != 1 || hist[0].Verdict != lokerwatch.VerdictTrafficking || hist[0].Reviewer != "alice" ||
		hist[0].AdID != a.AdID || hist[0].ItemID != a.ID || hist[0].Remote != "192.0.2.7" || hist[0].Note != "note by alice" ||
		!near(hist[0].DecidedAt, before, 10*time.Second) {
		t.Fatalf("decision history = %+v", hist)
	}
	hist, err = s.Decisions(ctx, "missing")
	if err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
		t.Fatalf("decisions of unknown item: %v", err)
	}
	if len(hist) != 0 {
		t.Fatalf("decisions of unknown item = %v", hist)
	}

	// A decision after the lease lapsed and another reviewer took the item.
	c := enqueue(t, s, flaggedAd("c", 70, lokerwatch.CategoryScam, "chan", "id"))
	_, err = s.ClaimItem(ctx, c.ID, "alice", 50*time.Millisecond)
	must(t, err, "claim c")
	eventually(t, 5*time.Second, "bob to take over the lapsed claim", func() bool {
		_, err := s.ClaimItem(ctx, c.ID, "bob", time.Minute)
		return err == nil
	})
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictScam, c.ID, "alice"))
	wantErr(t, err, lokerwatch.ErrNotClaimant, "decide after losing the lease")
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictScam, c.ID, "bob"))
	must(t, err, "decide by the new claimant")
}

func testReviewEscalateAmend(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	it := enqueue(t, s, flaggedAd("e", 75, lokerwatch.CategoryScam, "chan", "id"))
	claimNext(t, s, "alice", storage.ReviewFilter{})
	got, err := s.Decide(ctx, decide(lokerwatch.VerdictEscalate, it.ID, "alice"))
	must(t, err, "escalate")
	if got.Status != lokerwatch.StatusPending || got.Claimant != "" || got.Verdict != lokerwatch.VerdictEscalate {
		t.Fatalf("escalated item = %+v, want pending, unclaimed, verdict escalate", got)
	}
	senior := claimNext(t, s, "senior", storage.ReviewFilter{})
	if senior.ID != it.ID {
		t.Fatalf("escalated item not claimable again: got %s", senior.ID)
	}
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictScam, it.ID, "senior"))
	must(t, err, "decide escalated item")

	_, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, it.ID, "lead"))
	wantErr(t, err, lokerwatch.ErrAlreadyDecided, "change a verdict without amend")
	amend := decide(lokerwatch.VerdictTrafficking, it.ID, "lead")
	amend.Amend = true
	got, err = s.Decide(ctx, amend)
	must(t, err, "amend")
	if got.Status != lokerwatch.StatusDecided || got.Verdict != lokerwatch.VerdictTrafficking || got.Reviewer != "lead" {
		t.Fatalf("amended item = %+v", got)
	}
	hist, err := s.Decisions(ctx, it.ID)
	must(t, err, "decisions")
	var verdicts []lokerwatch.Verdict
	for _, d := range hist {
		verdicts = append(verdicts, d.Verdict)
	}
	want := []lokerwatch.Verdict{lokerwatch.VerdictEscalate, lokerwatch.VerdictScam, lokerwatch.VerdictTrafficking}
	if !slices.Equal(verdicts, want) {
		t.Fatalf("decision history = %v, want %v (oldest first, nothing overwritten)", verdicts, want)
	}
	if !hist[2].Amend || hist[1].Amend {
		t.Fatalf("amend flags in history = %v %v, want only the last set", hist[1].Amend, hist[2].Amend)
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count")
	if counts[lokerwatch.StatusDecided] != 1 {
		t.Fatalf("CountItems = %v", counts)
	}
}

func testReviewExpiredClaim(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	enqueue(t, s, flaggedAd("mid", 60, lokerwatch.CategoryScam, "chan", "id"))
	top := enqueue(t, s, flaggedAd("top", 90, lokerwatch.CategoryScam, "chan", "id"))
	it, err := s.ClaimNext(ctx, "alice", time.Minute, storage.ReviewFilter{})
	must(t, err, "claim")
	if it.ID != top.ID {
		t.Fatalf("claimed %s, want top", it.ID)
	}
	if next := claimNext(t, s, "bob", storage.ReviewFilter{}); next.ID == top.ID {
		t.Fatal("a live claim was handed to another reviewer")
	} else {
		must(t, s.ReleaseItem(ctx, next.ID, "bob"), "release")
	}
	// alice walks away: her lease runs out now, not when a loaded machine
	// happens to have paused long enough.
	must(t, s.RenewItem(ctx, top.ID, "alice", time.Millisecond), "expire alice's claim")
	time.Sleep(5 * time.Millisecond)
	// Without waiting for a reaper, the abandoned top item comes back first.
	eventually(t, 5*time.Second, "the expired claim to come back at its priority", func() bool {
		next := claimNext(t, s, "carol", storage.ReviewFilter{})
		if next.ID == top.ID {
			if next.Claimant != "carol" {
				t.Fatalf("claimant %q, want carol", next.Claimant)
			}
			return true
		}
		must(t, s.ReleaseItem(ctx, next.ID, "carol"), "release")
		return false
	})
	wantErr(t, s.RenewItem(ctx, top.ID, "alice", time.Minute), lokerwatch.ErrNotClaimant, "renew by the claimant who lost it")
}

func testReviewReap(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	a := enqueue(t, s, flaggedAd("a", 90, lokerwatch.CategoryScam, "chan", "id"))
	b := enqueue(t, s, flaggedAd("b", 80, lokerwatch.CategoryScam, "chan", "id"))
	_, err := s.ClaimItem(ctx, b.ID, "bob", time.Minute)
	must(t, err, "claim b")
	n, err := s.ReapClaims(ctx)
	must(t, err, "reap")
	if n != 0 {
		t.Fatalf("reaped %d live claims", n)
	}
	_, err = s.ClaimItem(ctx, a.ID, "alice", 50*time.Millisecond)
	must(t, err, "claim a")
	eventually(t, 5*time.Second, "the expired claim to be reaped", func() bool {
		n, err := s.ReapClaims(ctx)
		must(t, err, "reap")
		if n > 1 {
			t.Fatalf("reaped %d, only one claim expired", n)
		}
		return n == 1
	})
	if g := getItem(t, s, a.ID); g.Status != lokerwatch.StatusPending || g.Claimant != "" {
		t.Fatalf("reaped item = %+v, want pending and unclaimed", g)
	}
	if g := getItem(t, s, b.ID); g.Status != lokerwatch.StatusClaimed || g.Claimant != "bob" {
		t.Fatalf("live claim changed by reap: %+v", g)
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count")
	if counts[lokerwatch.StatusPending] != 1 || counts[lokerwatch.StatusClaimed] != 1 {
		t.Fatalf("CountItems after reap = %v", counts)
	}
	evs, err := s.ListAudit(ctx, storage.AuditFilter{Object: a.ID})
	must(t, err, "audit")
	if countActions(evs, "review.expire") != 1 {
		t.Fatalf("audit of the reaped item = %v, want one review.expire", evs)
	}
	if next := claimNext(t, s, "carol", storage.ReviewFilter{}); next.ID != a.ID {
		t.Fatalf("after reap claim next = %s, want %s", next.ID, a.ID)
	}
}

func testReviewAudit(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	it := enqueue(t, s, flaggedAd("audited", 88, lokerwatch.CategoryScam, "chan", "id"))
	claimNext(t, s, "alice", storage.ReviewFilter{})
	must(t, s.RenewItem(ctx, it.ID, "alice", time.Minute), "renew")
	must(t, s.ReleaseItem(ctx, it.ID, "alice"), "release")
	_, err := s.ClaimItem(ctx, it.ID, "bob", time.Minute)
	must(t, err, "claim")
	d := decide(lokerwatch.VerdictScam, it.ID, "bob")
	d.Remote = "198.51.100.9"
	_, err = s.Decide(ctx, d)
	must(t, err, "decide")
	amend := decide(lokerwatch.VerdictTrafficking, it.ID, "lead")
	amend.Amend = true
	_, err = s.Decide(ctx, amend)
	must(t, err, "amend")
	// Refused actions leave no trace of a state change.
	_, err = s.Decide(ctx, decide(lokerwatch.VerdictBenign, it.ID, "mallory"))
	wantErr(t, err, lokerwatch.ErrAlreadyDecided, "decide without amend")

	evs, err := s.ListAudit(ctx, storage.AuditFilter{Object: it.ID})
	must(t, err, "list audit")
	type row struct{ action, actor string }
	var got []row
	for _, e := range evs {
		if e.Action == "review.renew" {
			continue // optional
		}
		got = append(got, row{e.Action, e.Actor})
		if e.Object != it.ID || e.ID == "" || !near(e.Time, time.Now(), time.Minute) {
			t.Errorf("audit event %+v", e)
		}
	}
	want := []row{
		{"review.enqueue", ""}, {"review.claim", "alice"}, {"review.release", "alice"},
		{"review.claim", "bob"}, {"review.decide", "bob"}, {"review.amend", "lead"},
	}
	if len(got) != len(want) {
		t.Fatalf("audit trail = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].action != want[i].action || (want[i].actor != "" && got[i].actor != want[i].actor) {
			t.Fatalf("audit trail = %v, want %v", got, want)
		}
	}
	for _, e := range evs {
		if e.Action == "review.decide" && e.Remote != "198.51.100.9" {
			t.Errorf("decide audit event lost the client address: %+v", e)
		}
	}
	byBob, err := s.ListAudit(ctx, storage.AuditFilter{Actor: "bob"})
	must(t, err, "list by actor")
	if len(byBob) != 2 {
		t.Fatalf("audit by bob = %v, want claim and decide", byBob)
	}
}

func testReviewConcurrentClaimers(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const items, reviewers = 40, 6
	for i := range items {
		enqueue(t, s, flaggedAd(fmt.Sprint("c", i), 40+i%50, lokerwatch.CategoryScam, "chan", "id"))
	}
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for r := range reviewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("analyst-", r)
			for {
				it, err := s.ClaimNext(ctx, name, time.Minute, storage.ReviewFilter{})
				if errors.Is(err, lokerwatch.ErrEmpty) {
					return
				}
				if err != nil {
					t.Errorf("claim next: %v", err)
					return
				}
				mu.Lock()
				if prev, dup := got[it.ID]; dup {
					t.Errorf("item %s handed to %s and %s", it.ID, prev, name)
				}
				got[it.ID] = name
				mu.Unlock()
				if _, err := s.Decide(ctx, decide(lokerwatch.VerdictScam, it.ID, name)); err != nil {
					t.Errorf("decide %s by %s: %v", it.ID, name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(got) != items {
		t.Fatalf("%d items claimed, want %d", len(got), items)
	}
	counts, err := s.CountItems(ctx)
	must(t, err, "count")
	if counts[lokerwatch.StatusDecided] != items || counts[lokerwatch.StatusPending] != 0 || counts[lokerwatch.StatusClaimed] != 0 {
		t.Fatalf("CountItems = %v, want all %d decided", counts, items)
	}
	for id, who := range got {
		hist, err := s.Decisions(ctx, id)
		must(t, err, "decisions")
		if len(hist) != 1 || hist[0].Reviewer != who {
			t.Fatalf("decisions of %s = %+v, want one by %s", id, hist, who)
		}
	}
}

// testReviewAbandoned has reviewers that walk away from claims: every item is
// still decided exactly once, by someone holding it.
func testReviewAbandoned(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	const items, reviewers = 30, 4
	for i := range items {
		enqueue(t, s, flaggedAd(fmt.Sprint("ab", i), 50+i, lokerwatch.CategoryScam, "chan", "id"))
	}
	var (
		mu        sync.Mutex
		abandoned = map[string]bool{}
		decided   = map[string]int{}
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(20 * time.Second)
	for r := range reviewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("analyst-", r)
			n := 0
			for time.Now().Before(deadline) {
				it, err := s.ClaimNext(ctx, name, time.Minute, storage.ReviewFilter{})
				if errors.Is(err, lokerwatch.ErrEmpty) {
					counts, err := s.CountItems(ctx)
					if err != nil {
						t.Errorf("count: %v", err)
						return
					}
					if counts[lokerwatch.StatusDecided] == items {
						return
					}
					if _, err := s.ReapClaims(ctx); err != nil {
						t.Errorf("reap: %v", err)
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Errorf("claim next: %v", err)
					return
				}
				n++
				mu.Lock()
				if n%4 == 0 && !abandoned[it.ID] {
					abandoned[it.ID] = true // walk away from it: the lease runs out now
					mu.Unlock()
					if err := s.RenewItem(ctx, it.ID, name, time.Millisecond); err != nil {
						t.Errorf("expire %s: %v", it.ID, err)
						return
					}
					continue
				}
				mu.Unlock()
				_, err = s.Decide(ctx, decide(lokerwatch.VerdictScam, it.ID, name))
				if errors.Is(err, lokerwatch.ErrNotClaimant) || errors.Is(err, lokerwatch.ErrAlreadyDecided) {
					continue // too slow (a loaded machine): the lease ran out and another took it
				}
				if err != nil {
					t.Errorf("decide %s: %v", it.ID, err)
					return
				}
				mu.Lock()
				decided[it.ID]++
				mu.Unlock()
			}
			t.Errorf("%s gave up: the queue never emptied", name)
		}()
	}
	wg.Wait()
	if len(abandoned) == 0 {
		t.Fatal("no claim was abandoned; the test did not test anything")
	}
	if len(decided) != items {
		t.Fatalf("%d items decided, want %d", len(decided), items)
	}
	for id, n := range decided {
		if n != 1 {
			t.Errorf("item %s decided %d times", id, n)
		}
	}
}

// testReviewLapsedDecide: a reviewer whose lease ran out while nobody else
// took the item can still record the decision (the item is unclaimed).
func testReviewLapsedDecide(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	it := enqueue(t, s, flaggedAd("slow", 70, lokerwatch.CategoryScam, "chan", "id"))
	_, err := s.ClaimItem(ctx, it.ID, "alice", 50*time.Millisecond)
	must(t, err, "claim")
	time.Sleep(120 * time.Millisecond) // the lease has run out: waiting for time itself
	got, err := s.Decide(ctx, decide(lokerwatch.VerdictScam, it.ID, "alice"))
	must(t, err, "decide after the lease lapsed, nobody else holding it")
	if got.Status != lokerwatch.StatusDecided || got.Reviewer != "alice" {
		t.Fatalf("item = %+v", got)
	}
}

func testReviewBadInput(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	if _, _, err := s.Enqueue(ctx, &lokerwatch.Ad{Title: "no id"}); err == nil {
		t.Error("enqueue of an ad without ID succeeded")
	}
	if _, err := s.ClaimNext(ctx, "", time.Minute, storage.ReviewFilter{}); err == nil {
		t.Error("claim next without a reviewer succeeded")
	}
	it := enqueue(t, s, flaggedAd("ok", 70, lokerwatch.CategoryScam, "chan", "id"))
	if _, err := s.ClaimItem(ctx, it.ID, "", time.Minute); err == nil {
		t.Error("claim item without a reviewer succeeded")
	}
	if g := getItem(t, s, it.ID); g.Status != lokerwatch.StatusPending {
		t.Fatalf("refused claims changed the item: %+v", g)
	}
	if counts, err := s.CountItems(ctx); err != nil || counts[lokerwatch.StatusPending] != 1 {
		t.Fatalf("CountItems = %v, %v", counts, err)
	}
}

// testReviewOldestPending checks the optional storage.OldestPender that the
// metrics collector uses: the oldest pending item's creation time, no
// matter its score, and zero once nothing is pending.
func testReviewOldestPending(t *testing.T, s storage.Store) {
	op, ok := s.(storage.OldestPender)
	if !ok {
		t.Skip("store does not implement storage.OldestPender")
	}
	ctx := testCtx(t)
	got, err := op.OldestPending(ctx)
	must(t, err, "oldest pending of an empty queue")
	if !got.IsZero() {
		t.Fatalf("empty queue: oldest pending = %v, want zero", got)
	}
	low := enqueue(t, s, flaggedAd("old-low", 55, lokerwatch.CategoryScam, "src", "id"))
	time.Sleep(5 * time.Millisecond) // distinct creation times, even at millisecond resolution
	high := enqueue(t, s, flaggedAd("new-high", 95, lokerwatch.CategoryScam, "src", "id"))
	got, err = op.OldestPending(ctx)
	must(t, err, "oldest pending")
	if d := got.Sub(low.CreatedAt); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("oldest pending = %v, want the low-score item's %v", got, low.CreatedAt)
	}
	for _, it := range []*lokerwatch.ReviewItem{low, high} {
		_, err := s.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, Verdict: lokerwatch.VerdictBenign, Reviewer: "ana"})
		must(t, err, "decide "+it.ID)
	}
	got, err = op.OldestPending(ctx)
	must(t, err, "oldest pending after deciding all")
	if !got.IsZero() {
		t.Errorf("nothing pending: oldest pending = %v, want zero", got)
	}
}
