package review

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
	"github.com/lokerwatch/lokerwatch/storage"
)

// addReposts stores and queues copies of the fixture ad base, each with
// its fingerprint changed in the bits given (within 3 bits: reposts).
func addReposts(t testing.TB, st storage.Store, base string, reposts map[string]uint64) {
	t.Helper()
	ctx := context.Background()
	orig, err := st.GetAd(ctx, base)
	if err != nil {
		t.Fatalf("get fixture ad %s: %v", base, err)
	}
	for id, flip := range reposts {
		ad := *orig
		ad.ID, ad.URL = id, "https://repost.example/"+id
		ad.Title = orig.Title + " (" + id + ")"
		ad.Fingerprint = orig.Fingerprint ^ flip
		a := *orig.Assessment
		a.Score = orig.Assessment.Score - 20
		ad.Assessment = &a
		if _, err := st.PutAd(ctx, &ad); err != nil {
			t.Fatalf("put repost %s: %v", id, err)
		}
		if _, _, err := st.Enqueue(ctx, &ad); err != nil {
			t.Fatalf("queue repost %s: %v", id, err)
		}
	}
}

var rowAdRE = regexp.MustCompile(`<tr data-row data-ad="([^"]+)"`)

func rowAds(body string) []string {
	var out []string
	for _, m := range rowAdRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestClusterDecision decides a repost cluster in one form on both stores:
// every member the analyst may decide gets its own decision and audit
// event; the member another analyst holds is left to them, even when the
// form names it.
func TestClusterDecision(t *testing.T) {
	forEachStore(t, func(t *testing.T, newStore func(testing.TB) storage.Store) {
		ctx := context.Background()
		e := newEnv(t, newStore(t))
		loadFixtures(t, e.st)
		addReposts(t, e.st, "ad-kamboja", map[string]uint64{"ad-kamboja-r2": 1 << 40, "ad-kamboja-r3": 1<<20 | 1<<21})
		members := []string{"ad-kamboja", "ad-kamboja-repost", "ad-kamboja-r2", "ad-kamboja-r3"}
		head, err := e.st.GetItem(ctx, "ad-kamboja")
		if err != nil {
			t.Fatal(err)
		}
		key := head.ClusterKey()

		alice, bob := e.client(t).mustLogin("alice"), e.client(t).mustLogin("bob")
		if r := bob.api("POST", "/api/items/ad-kamboja-r2/claim", nil); r.code != http.StatusOK {
			t.Fatalf("bob claims r2: %d %s", r.code, r.body)
		}

		// The queue shows the cluster as one row with its size.
		q := alice.get("/")
		rows := rowAds(q.body)
		if len(rows) == 0 || rows[0] != "ad-kamboja" || slices.Contains(rows, "ad-kamboja-repost") || slices.Contains(rows, "ad-kamboja-r3") {
			t.Fatalf("queue rows %v: want the cluster once, under ad-kamboja", rows)
		}
		if !strings.Contains(q.body, "cluster of 3") { // r2 is claimed, not pending
			t.Errorf("queue does not say the pending cluster's size:\n%s", grepLines(q.body, "cluster"))
		}
		// The cluster page: r2 is bob's and cannot be ticked.
		page := alice.get(clusterPath(key, "", ""))
		if page.code != http.StatusOK {
			t.Fatalf("cluster page: %d", page.code)
		}
		if !regexp.MustCompile(`value="ad-kamboja-r2" disabled`).MatchString(page.body) || !strings.Contains(page.body, "held by bob") {
			t.Errorf("cluster page does not hold r2 back for bob:\n%s", grepLines(page.body, "r2"))
		}

		// Without the form token nothing happens.
		form := url.Values{"verdict": {"scam"}, "note": {"one compound, four posts"}, "member": members}
		if r := alice.postForm(clusterPath(key, "decide", ""), form); r.code != http.StatusForbidden {
			t.Fatalf("cluster decision without CSRF token: %d", r.code)
		}
		// A forged form names all four, r2 too.
		form.Set("csrf", alice.csrf)
		r := alice.postForm(clusterPath(key, "decide", ""), form)
		if r.code != http.StatusSeeOther {
			t.Fatalf("cluster decision: %d %s", r.code, r.body)
		}
		loc := r.hdr.Get("Location")
		if !strings.Contains(loc, "done=3") || !strings.Contains(loc, "held=1") {
			t.Errorf("cluster decision went to %s, want done=3 and held=1", loc)
		}
		if flash := alice.get(loc).body; !strings.Contains(flash, "Decided 3 members of the cluster") ||
			!strings.Contains(flash, "1 member is held by another reviewer: left to them") {
			t.Errorf("flash after the cluster decision:\n%s", grepLines(flash, "flash"))
		}
		for _, id := range members {
			ds, err := e.st.Decisions(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := e.st.ListAudit(ctx, storage.AuditFilter{Object: id, Actor: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			var decides int
			for _, ev := range evs {
				if ev.Action == "review.decide" {
					decides++
				}
			}
			it, err := e.st.GetItem(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if id == "ad-kamboja-r2" {
				if len(ds) != 0 || decides != 0 || it.Status != lokerwatch.StatusClaimed || it.Claimant != "bob" {
					t.Errorf("r2 (bob's): %d decisions, %d decide events, %s by %q; want untouched and bob's", len(ds), decides, it.Status, it.Claimant)
				}
				continue
			}
			if len(ds) != 1 || ds[0].Verdict != lokerwatch.VerdictScam || ds[0].Reviewer != "alice" || ds[0].Note != "one compound, four posts" {
				t.Errorf("decisions of %s: %+v, want one scam by alice with the note", id, ds)
			}
			if decides != 1 || it.Status != lokerwatch.StatusDecided {
				t.Errorf("%s: %d review.decide events by alice, status %s; want 1, decided", id, decides, it.Status)
			}
		}
		// Bob still decides his own.
		if r := bob.api("POST", "/api/items/ad-kamboja-r2/decide", map[string]any{"verdict": "scam"}); r.code != http.StatusOK {
			t.Errorf("bob decides r2: %d %s", r.code, r.body)
		}
		// Nothing ticked: refused, nothing changed.
		if r := alice.postForm(clusterPath(key, "decide", ""), url.Values{"verdict": {"benign"}, "csrf": {alice.csrf}}); r.code != http.StatusBadRequest {
			t.Errorf("cluster decision with no member: %d", r.code)
		}
		if r := alice.get(clusterPath("no-such-cluster", "", "")); r.code != http.StatusNotFound {
			t.Errorf("unknown cluster: %d", r.code)
		}
	})
}

// TestQueueSortMineRelease covers the queue's sort links (no script
// needed), "my claims" and the release a leaving page sends as a beacon
// (a form body with the CSRF token).
func TestQueueSortMineRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, newStore func(testing.TB) storage.Store) {
		e := newEnv(t, newStore(t))
		loadFixtures(t, e.st)
		alice, bob := e.client(t).mustLogin("alice"), e.client(t).mustLogin("bob")

		byScore := rowAds(alice.get("/").body)
		want := []string{"ad-kamboja", "ad-thai", "ad-hostile", "ad-jepang"}
		if !slices.Equal(byScore[:min(len(byScore), len(want))], want) {
			t.Errorf("queue by score: %v, want %v first", byScore, want)
		}
		bySource := alice.get("/?sort=source")
		rows := rowAds(bySource.body)
		if i, j := slices.Index(rows, "ad-hostile"), slices.Index(rows, "ad-jepang"); i < 0 || j < 0 || i > j {
			t.Errorf("queue by source: %v (forum-x must come before jobboard-a)", rows)
		}
		if !regexp.MustCompile(`data-sort="source"><a href="/\?[^"]*rev=1[^"]*">Source ▼`).MatchString(bySource.body) {
			t.Errorf("the current sort column does not link to its reverse:\n%s", grepLines(bySource.body, "data-sort"))
		}
		if rev := rowAds(alice.get("/?sort=score&rev=1").body); len(rev) == 0 || rev[len(rev)-1] != "ad-kamboja" {
			t.Errorf("queue by score reversed: %v", rev)
		}
		if r := alice.get("/?sort=bogus"); !strings.Contains(r.body, "want score, age, source or size") {
			t.Errorf("bad sort not reported:\n%s", grepLines(r.body, "error"))
		}

		// My claims: alice's, not bob's.
		for c, id := range map[*client]string{alice: "ad-thai", bob: "ad-jepang"} {
			if r := c.api("POST", "/api/items/"+id+"/claim", nil); r.code != http.StatusOK {
				t.Fatalf("claim %s: %d", id, r.code)
			}
		}
		if mine := rowAds(alice.get("/?mine=1").body); !slices.Equal(mine, []string{"ad-thai"}) {
			t.Errorf("alice's claims: %v, want [ad-thai]", mine)
		}

		// The beacon: a form post with the token releases; without it, not.
		beacon := func(c *client, id, token string) int {
			v := url.Values{}
			if token != "" {
				v.Set("csrf", token)
			}
			return c.postForm("/api/items/"+id+"/release", v).code
		}
		if code := beacon(alice, "ad-thai", ""); code != http.StatusForbidden {
			t.Errorf("release beacon without token: %d", code)
		}
		if code := beacon(alice, "ad-jepang", alice.csrf); code != http.StatusConflict {
			t.Errorf("alice's beacon for bob's item: %d, want 409", code)
		}
		if code := beacon(alice, "ad-thai", alice.csrf); code != http.StatusOK {
			t.Errorf("release beacon: %d", code)
		}
		if mine := rowAds(alice.get("/?mine=1").body); len(mine) != 0 {
			t.Errorf("alice's claims after the beacon: %v", mine)
		}
		if it, _ := e.st.GetItem(context.Background(), "ad-jepang"); it.Claimant != "bob" {
			t.Errorf("bob's claim after alice's beacon: %+v", it)
		}
	})
}

func TestQueueTopReason(t *testing.T) {
	a := &lokerwatch.Assessment{Signals: []lokerwatch.Signal{
		{Rule: "post.live_contact", Weight: -30, Description: "a live contact"},
		{Rule: "scam.salary", Weight: 20, Description: "salary far above the market", Evidence: "Gaji\n15 juta"},
		{Rule: "scam.compound", Weight: 35, Evidence: "Sihanoukville"},
		{Rule: "scam.other", Weight: 35, Description: "later, same weight"},
	}}
	// The queue row and the ad page share one top reason (Server.topReason):
	// the rule that added the most, first of equal ones, its rule id when
	// it has no description, with its first phrase.
	s := &Server{describe: func(rule, lang string) string {
		if rule == "scam.compound" && lang == "id" {
			return "Lokasi kompleks penipuan (Kemlu): Sihanoukville, Myawaddy."
		}
		return ""
	}}
	if r := s.topReason(i18n.English, a); r.Text != "scam.compound" || r.Phrase != "Sihanoukville" {
		t.Errorf("top reason %+v, want the first rule of the highest weight (its id when no description)", r)
	}
	if r := s.topReason(i18n.Indonesian, a); r.Text != "lokasi kompleks penipuan" || r.Phrase != "Sihanoukville" {
		t.Errorf("top reason in Indonesian %+v, want the first clause of the rule's Indonesian description", r)
	}
	if r := s.topReason(i18n.English, &lokerwatch.Assessment{Signals: a.Signals[:1]}); r.Text != "" {
		t.Errorf("a signal against is no reason: %+v", r)
	}
	if r := s.topReason(i18n.English, nil); r != (reason{}) {
		t.Errorf("nil assessment: %+v", r)
	}
	// Two signals of one rule add up: 20+20 beats 35.
	two := &lokerwatch.Assessment{Signals: append(slices.Clone(a.Signals), lokerwatch.Signal{Rule: "scam.salary", Weight: 20, Evidence: "USD 1500"})}
	if r := s.topReason(i18n.English, two); r.Text != "salary far above the market" || r.Phrase != "Gaji\n15 juta" {
		t.Errorf("summed rule: %+v", r)
	}
	// The row shows it on one line, cut to fit.
	info := adRowInfo{reasons: map[i18n.Lang]reason{i18n.English: s.topReason(i18n.English, two)}}
	if got := info.in(i18n.English); got.Reason != "salary far above the market" || got.Phrase != "Gaji 15 juta" {
		t.Errorf("row info %+v", got)
	}
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"Gaji  15\njuta per bulan", 100, "Gaji 15 juta per bulan"},
		{"ééééééé", 4, "ééé…"},
		{"one, two, three", 6, "one…"},
	} {
		if got := cutRunes(oneLine(tc.in), tc.n); got != tc.want {
			t.Errorf("cut %q to %d: %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if nearDupMaxBit != storage.ClusterMaxBits {
		t.Errorf("linked ads call %d bits a near-duplicate, clusters %d", nearDupMaxBit, storage.ClusterMaxBits)
	}
}

// meetingStore is the real store whose ListItems waits (up to a few
// seconds) until two calls are in it at once, so that the shared reads of
// queueReads overlap for sure.
type meetingStore struct {
	Store
	arrived chan struct{}
}

func (m *meetingStore) ListItems(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	m.arrived <- struct{}{}
	deadline := time.After(3 * time.Second)
	for len(m.arrived) < 2 {
		select {
		case <-deadline:
			return m.Store.ListItems(ctx, f)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return m.Store.ListItems(ctx, f)
}

// TestQueueReadsKeepViewsApart: overlapping reads of the queue share one
// store query only when they ask the same thing; one analyst's "my claims"
// never answers another's.
func TestQueueReadsKeepViewsApart(t *testing.T) {
	st := testStore(t)
	loadFixtures(t, st)
	ctx := context.Background()
	for id, who := range map[string]string{"ad-thai": "alice", "ad-jepang": "bob"} {
		if _, err := st.ClaimItem(ctx, id, who, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	m := &meetingStore{Store: st, arrived: make(chan struct{}, 2)}
	q := newQueueReads(m)
	var wg sync.WaitGroup
	got := map[string][]string{}
	var mu sync.Mutex
	for _, who := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := q.list(ctx, storage.ReviewFilter{Status: lokerwatch.StatusClaimed, Claimant: who, Limit: 50})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got[who] = ids(items)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !slices.Equal(got["alice"], []string{"ad-thai"}) || !slices.Equal(got["bob"], []string{"ad-jepang"}) {
		t.Errorf("overlapping my-claims reads: %v", got)
	}
}

func ids(items []lokerwatch.ReviewItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}
