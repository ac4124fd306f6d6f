package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Issue 22: repost clusters, sorting and "my claims" in the review queue.
// Both stores arrange a selection with storage.ArrangeItems; these tests
// pin what they feed it (clusters given at Enqueue, lapsed claims shown
// as pending) and that the arrangement reaches the caller.
var reviewQueueTests = []test{
	{"ClustersAtEnqueue", testQueueClusters},
	{"GroupedByCluster", testQueueGrouped},
	{"Sorts", testQueueSorts},
	{"MyClaims", testQueueMyClaims},
}

// repost is a flagged ad with a fingerprint, stored (so the SimHash band
// index knows it) and queued.
func repost(t *testing.T, s storage.Store, name string, score int, source string, fp uint64) *lokerwatch.ReviewItem {
	t.Helper()
	ad := flaggedAd(name, score, lokerwatch.CategoryScam, source, "id")
	ad.Text = "text of " + name
	ad.Fingerprint = fp
	_, err := s.PutAd(testCtx(t), ad)
	must(t, err, "put ad "+name)
	return enqueue(t, s, ad)
}

const fpBase = 0x1234_5678_9abc_def0

func ids(items []lokerwatch.ReviewItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func listF(t *testing.T, s storage.Store, f storage.ReviewFilter) []lokerwatch.ReviewItem {
	t.Helper()
	items, err := s.ListItems(testCtx(t), f)
	must(t, err, "list items")
	return items
}

func testQueueClusters(t *testing.T, s storage.Store) {
	a := repost(t, s, "a", 80, "board", fpBase)
	b := repost(t, s, "b", 70, "board", fpBase^0b1)       // 1 bit off: a repost of a
	c := repost(t, s, "c", 60, "forum", fpBase^0b111<<20) // 3 bits off, another band
	far := repost(t, s, "far", 90, "board", fpBase^0xffff_0000_0000_ffff)
	bare := repost(t, s, "bare", 50, "board", 0)
	if a.Cluster == "" {
		t.Fatalf("ad with a fingerprint queued without a cluster: %+v", a)
	}
	for _, it := range []*lokerwatch.ReviewItem{b, c} {
		if it.Cluster != a.Cluster {
			t.Errorf("repost %s: cluster %q, want a's %q", it.Title, it.Cluster, a.Cluster)
		}
		if got := getItem(t, s, it.ID).Cluster; got != a.Cluster {
			t.Errorf("repost %s as stored: cluster %q, want %q", it.Title, got, a.Cluster)
		}
	}
	if far.Cluster == "" || far.Cluster == a.Cluster {
		t.Errorf("unrelated ad: cluster %q (a's is %q), want one of its own", far.Cluster, a.Cluster)
	}
	if bare.Cluster != "" || bare.ClusterKey() != "item:"+bare.ID {
		t.Errorf("ad without fingerprint: cluster %q key %q, want none", bare.Cluster, bare.ClusterKey())
	}
	// Queued again (a rescore): the cluster stays.
	ad, err := s.GetAd(testCtx(t), b.AdID)
	must(t, err, "get ad b")
	again, created, err := s.Enqueue(testCtx(t), ad)
	must(t, err, "enqueue b again")
	if created || again.Cluster != a.Cluster {
		t.Errorf("b queued again: created=%v cluster %q, want false and %q", created, again.Cluster, a.Cluster)
	}
	members := listF(t, s, storage.ReviewFilter{Cluster: a.Cluster})
	if got, want := ids(members), []string{a.ID, b.ID, c.ID}; !slices.Equal(got, want) {
		t.Errorf("members of a's cluster = %v, want %v (priority order)", got, want)
	}
	if got := ids(listF(t, s, storage.ReviewFilter{Cluster: bare.ClusterKey()})); !slices.Equal(got, []string{bare.ID}) {
		t.Errorf("cluster of the bare ad = %v, want just it", got)
	}
}

func testQueueGrouped(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	a := repost(t, s, "a", 80, "board", fpBase)
	b := repost(t, s, "b", 85, "board", fpBase^0b10)
	c := repost(t, s, "c", 60, "forum", fpBase^0b100)
	far := repost(t, s, "far", 90, "board", ^uint64(fpBase))
	bare := repost(t, s, "bare", 50, "board", 0)

	f := storage.ReviewFilter{Status: lokerwatch.StatusPending, Group: true}
	rows := listF(t, s, f)
	if got, want := ids(rows), []string{far.ID, b.ID, bare.ID}; !slices.Equal(got, want) {
		t.Fatalf("grouped pending = %v, want %v (far, the cluster under its best member b, bare)", got, want)
	}
	if sizes := []int{rows[0].ClusterSize, rows[1].ClusterSize, rows[2].ClusterSize}; !slices.Equal(sizes, []int{1, 3, 1}) {
		t.Errorf("cluster sizes = %v, want [1 3 1]", sizes)
	}
	// Paged in priority order (the queue page's read).
	for _, pg := range []struct {
		off, lim int
		want     []string
	}{{0, 1, []string{far.ID}}, {1, 1, []string{b.ID}}, {1, 5, []string{b.ID, bare.ID}}, {3, 5, nil}} {
		g := f
		g.Offset, g.Limit = pg.off, pg.lim
		got := listF(t, s, g)
		if !slices.Equal(ids(got), pg.want) {
			t.Errorf("grouped pending, offset %d limit %d = %v, want %v", pg.off, pg.lim, ids(got), pg.want)
		}
		for _, it := range got {
			if it.ID == b.ID && it.ClusterSize != 3 {
				t.Errorf("grouped page offset %d: b's cluster size %d, want 3", pg.off, it.ClusterSize)
			}
		}
	}
	if got := ids(listF(t, s, storage.ReviewFilter{Group: true, Source: "forum"})); !slices.Equal(got, []string{c.ID}) {
		t.Errorf("grouped, source forum = %v, want [c]", got)
	}
	f.Sort = storage.SortSize
	if got, want := ids(listF(t, s, f)), []string{b.ID, far.ID, bare.ID}; !slices.Equal(got, want) {
		t.Errorf("grouped by size = %v, want %v", got, want)
	}
	f.Limit, f.Offset = 1, 1
	if got := ids(listF(t, s, f)); !slices.Equal(got, []string{far.ID}) {
		t.Errorf("grouped by size, second page of one = %v, want [far]", got)
	}

	// A decided member leaves the pending group; the decided view has it.
	_, err := s.Decide(ctx, lokerwatch.Decision{ItemID: b.ID, Verdict: lokerwatch.VerdictScam, Reviewer: "alice"})
	must(t, err, "decide b")
	rows = listF(t, s, storage.ReviewFilter{Status: lokerwatch.StatusPending, Group: true})
	if got, want := ids(rows), []string{far.ID, a.ID, bare.ID}; !slices.Equal(got, want) || rows[1].ClusterSize != 2 {
		t.Errorf("grouped pending after deciding b = %v (size %d), want %v with a's cluster of 2", got, rows[1].ClusterSize, want)
	}
	dec := listF(t, s, storage.ReviewFilter{Status: lokerwatch.StatusDecided, Group: true})
	if len(dec) != 1 || dec[0].ID != b.ID || dec[0].ClusterSize != 1 {
		t.Errorf("grouped decided = %+v, want b alone", dec)
	}
	// A claimed member is still in the "all" group, with its claim.
	_, err = s.ClaimItem(ctx, c.ID, "bob", time.Hour)
	must(t, err, "claim c")
	all := listF(t, s, storage.ReviewFilter{Group: true, Cluster: a.Cluster})
	if len(all) != 1 || all[0].ClusterSize != 3 {
		t.Errorf("a's cluster, all statuses, grouped = %+v, want one row of 3", all)
	}
}

func testQueueSorts(t *testing.T, s storage.Store) {
	// Created one after the other: a few milliseconds apart, so that stores
	// with millisecond clocks tell them apart too.
	var items []*lokerwatch.ReviewItem
	for _, x := range []struct {
		name, source string
		score        int
	}{{"old", "zeta", 40}, {"mid", "alpha", 90}, {"new", "mu", 60}, {"tie", "alpha", 60}} {
		items = append(items, repost(t, s, x.name, x.score, x.source, 0))
		time.Sleep(3 * time.Millisecond)
	}
	old, mid, nw, tie := items[0], items[1], items[2], items[3]
	cases := []struct {
		name string
		f    storage.ReviewFilter
		want []string
	}{
		{"score", storage.ReviewFilter{Sort: storage.SortScore}, []string{mid.ID, nw.ID, tie.ID, old.ID}},
		{"score reversed", storage.ReviewFilter{Sort: storage.SortScore, Reverse: true}, []string{old.ID, tie.ID, nw.ID, mid.ID}},
		{"age", storage.ReviewFilter{Sort: storage.SortAge}, []string{old.ID, mid.ID, nw.ID, tie.ID}},
		{"age reversed", storage.ReviewFilter{Sort: storage.SortAge, Reverse: true}, []string{tie.ID, nw.ID, mid.ID, old.ID}},
		{"source", storage.ReviewFilter{Sort: storage.SortSource}, []string{mid.ID, tie.ID, nw.ID, old.ID}},
		{"source, filtered", storage.ReviewFilter{Sort: storage.SortSource, Source: "alpha"}, []string{mid.ID, tie.ID}},
		{"age, paged", storage.ReviewFilter{Sort: storage.SortAge, Offset: 1, Limit: 2}, []string{mid.ID, nw.ID}},
		{"size (all alone: priority)", storage.ReviewFilter{Sort: storage.SortSize}, []string{mid.ID, nw.ID, tie.ID, old.ID}},
	}
	for _, tc := range cases {
		if got := ids(listF(t, s, tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testQueueMyClaims(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	a := repost(t, s, "a", 80, "board", 0)
	b := repost(t, s, "b", 70, "board", 0)
	c := repost(t, s, "c", 60, "board", 0)
	d := repost(t, s, "d", 50, "board", 0)
	for _, x := range []struct {
		it  *lokerwatch.ReviewItem
		who string
		ttl time.Duration
	}{{a, "alice", time.Hour}, {b, "bob", time.Hour}, {c, "alice", time.Hour}, {d, "alice", time.Millisecond}} {
		_, err := s.ClaimItem(ctx, x.it.ID, x.who, x.ttl)
		must(t, err, "claim "+x.it.Title)
	}
	// d's lease lapses: it is nobody's claim any more.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.ReapClaims(ctx)
		must(t, err, "reap claims")
		if getItem(t, s, d.ID).Status == lokerwatch.StatusPending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 1 ms lease did not lapse in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mine := listF(t, s, storage.ReviewFilter{Claimant: "alice"})
	if got, want := ids(mine), []string{a.ID, c.ID}; !slices.Equal(got, want) {
		t.Errorf("alice's claims = %v, want %v", got, want)
	}
	if got := ids(listF(t, s, storage.ReviewFilter{Claimant: "alice", Status: lokerwatch.StatusPending})); len(got) != 0 {
		t.Errorf("alice's claims among pending items = %v, want none", got)
	}
	must(t, s.ReleaseItem(ctx, a.ID, "alice"), "release a")
	_, err := s.Decide(ctx, lokerwatch.Decision{ItemID: c.ID, Verdict: lokerwatch.VerdictBenign, Reviewer: "alice"})
	must(t, err, "decide c")
	if got := ids(listF(t, s, storage.ReviewFilter{Claimant: "alice"})); len(got) != 0 {
		t.Errorf("alice's claims after release and decision = %v, want none", got)
	}
	if got := ids(listF(t, s, storage.ReviewFilter{Claimant: "bob"})); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("bob's claims = %v, want [b]", got)
	}
}
