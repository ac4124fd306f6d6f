package review

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Browser tests of the queue's issue-22 behaviour: a repost cluster decided
// in one action, sorting, "my claims", the keyboard help, and the claim
// given back when the analyst leaves an item (q, closing the page).
//
// LW_SCREENSHOT_DIR=$PWD/../docs go test -run 'TestBrowserQueue' ./review
// writes queue.png and cluster.png there (docs/analyst-queue.md shows them).

// screenshot writes the tab's viewport to name in $LW_SCREENSHOT_DIR, if set.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("LW_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png := get(b, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatalf("write screenshot: %v", err)
	}
}

// eventually waits (generously: the machine may be busy) for cond.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s (%s)", what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserQueueCluster(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	addReposts(t, e.st, "ad-kamboja", map[string]uint64{"ad-kamboja-r2": 1 << 40, "ad-kamboja-r3": 1<<20 | 1<<21})
	ctx := context.Background()
	if _, err := e.st.ClaimItem(ctx, "ad-kamboja-r2", "bob", time.Hour); err != nil {
		t.Fatal(err)
	}
	base := e.ts.URL
	b.login(base, "alice")

	// The cluster is one row, first (highest score), with its size, its
	// reason, a snippet and the linked-ad count.
	row := get(b, "cluster row", chromedp.Evaluate[map[string]string](`(() => {
		const r = document.querySelector('tr[data-row]');
		return {ad: r.dataset.ad, cluster: r.hasAttribute('data-cluster') ? 'yes' : 'no',
			badge: (r.querySelector('.badge.cluster') || {}).textContent || '',
			why: (r.querySelector('.why-line') || {}).textContent || '',
			snippet: (r.querySelector('.snippet') || {}).textContent || '',
			linked: r.querySelector('td.linked').textContent};
	})()`))
	if row["ad"] != "ad-kamboja" || row["cluster"] != "yes" || row["badge"] != "cluster of 3" {
		t.Fatalf("first queue row %v: want the Kamboja cluster of 3 pending (r2 is bob's)", row)
	}
	if row["why"] == "" || row["snippet"] == "" || row["linked"] == "0" {
		t.Errorf("cluster row without reason, snippet or linked ads: %v", row)
	}
	b.screenshot("queue.png")

	// Enter opens the cluster's page, claiming nothing.
	b.do("enter on the cluster", key(kb.Enter), chromedp.WaitVisible(chromedp.CSS("table#members")))
	if it, _ := e.st.GetItem(ctx, "ad-kamboja"); it.Status != lokerwatch.StatusPending {
		t.Errorf("opening the cluster claimed its head: %+v", it)
	}
	state := func() map[string]string {
		return get(b, "members", chromedp.Evaluate[map[string]string](`Object.fromEntries(
			Array.from(document.querySelectorAll('input[name=member]')).map(c => [c.value, c.disabled ? 'disabled' : (c.checked ? 'on' : 'off')]))`))
	}
	want := map[string]string{"ad-kamboja": "on", "ad-kamboja-repost": "on", "ad-kamboja-r3": "on", "ad-kamboja-r2": "disabled"}
	if got := state(); !mapsEqual(got, want) {
		t.Fatalf("members %v, want %v (bob's r2 cannot be ticked)", got, want)
	}
	b.do("a: none", key("a"))
	if got := state(); got["ad-kamboja"] != "off" || got["ad-kamboja-r3"] != "off" || got["ad-kamboja-r2"] != "disabled" {
		t.Errorf("after a: %v, want none ticked", got)
	}
	b.do("a: all, then untick r3", key("a"), chromedp.Click(chromedp.CSS(`input[value="ad-kamboja-r3"]`)))
	if got := state(); got["ad-kamboja"] != "on" || got["ad-kamboja-repost"] != "on" || got["ad-kamboja-r3"] != "off" {
		t.Errorf("after a and a click: %v", got)
	}
	b.screenshot("cluster.png")
	b.do("1: scam for the ticked", key("1"), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	flash := get(b, "flash", chromedp.Text(chromedp.CSS("p.flash")))
	if !strings.Contains(flash, "Decided 2 members of the cluster") {
		t.Errorf("flash %q", flash)
	}
	for id, w := range map[string]string{"ad-kamboja": "scam", "ad-kamboja-repost": "scam", "ad-kamboja-r3": "", "ad-kamboja-r2": ""} {
		ds, err := e.st.Decisions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if (w == "" && len(ds) != 0) || (w != "" && (len(ds) != 1 || string(ds[0].Verdict) != w || ds[0].Reviewer != "alice")) {
			t.Errorf("decisions of %s: %+v, want %q", id, ds, w)
		}
	}
	if it, _ := e.st.GetItem(ctx, "ad-kamboja-r2"); it.Claimant != "bob" {
		t.Errorf("bob's member after alice's cluster decision: %+v", it)
	}
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBrowserQueueSortMine(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	ctx := context.Background()
	for id, who := range map[string]string{"ad-thai": "alice", "ad-jepang": "bob"} {
		if _, err := e.st.ClaimItem(ctx, id, who, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	base := e.ts.URL
	b.login(base, "alice")
	rows := func() []string {
		return get(b, "rows", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('tr[data-row]')).map(r => r.dataset.ad)`))
	}
	sources := func() []string {
		return get(b, "sources", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('tr[data-row] td:nth-child(6)')).map(td => td.textContent)`))
	}
	// Header links sort (plain links: no script involved), again to reverse.
	b.do("sort by source", chromedp.Click(chromedp.CSS(`th[data-sort=source] a`)), chromedp.WaitVisible(chromedp.CSS(`th[data-sort=source] a`)))
	if s := sources(); !slices.IsSorted(s) || len(s) < 3 {
		t.Errorf("by source: %v", s)
	}
	if loc := get(b, "location", chromedp.Location()); !strings.Contains(loc, "sort=source") {
		t.Errorf("sorted page at %s", loc)
	}
	b.do("reverse", chromedp.Click(chromedp.CSS(`th[data-sort=source] a`)), chromedp.WaitVisible(chromedp.CSS(`th[data-sort=source] a`)))
	if s := sources(); !slices.IsSortedFunc(s, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("by source, reversed: %v", s)
	}
	b.do("by age", chromedp.Click(chromedp.CSS(`th[data-sort=age] a`)), chromedp.WaitVisible(chromedp.CSS(`th[data-sort=age] a`)))
	if arrow := get(b, "age header", chromedp.Text(chromedp.CSS(`th[data-sort=age]`))); arrow != "Queued ▼" {
		t.Errorf("age header %q", arrow)
	}

	// m: my claims, alice's only.
	b.do("m", key("m"), chromedp.WaitVisible(chromedp.CSS(`#my-claims.on`)))
	if r := rows(); !slices.Equal(r, []string{"ad-thai"}) {
		t.Errorf("my claims: %v, want [ad-thai]", r)
	}

	// ? lists every key the console script answers.
	js, err := os.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range regexp.MustCompile(`case '([^']+)':`).FindAllStringSubmatch(string(js), -1) {
		keys = append(keys, m[1])
	}
	b.do("?", key("?"), chromedp.WaitVisible(chromedp.CSS("#help")))
	listed := get(b, "help keys", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#help kbd')).map(k => k.textContent)`))
	if len(keys) < 10 {
		t.Fatalf("found only %v in console.js", keys)
	}
	for _, k := range keys {
		if !slices.Contains(listed, k) {
			t.Errorf("key %q answered by console.js is not in the help (%v)", k, listed)
		}
	}
}

func TestBrowserQueueReleaseOnLeave(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	ctx := context.Background()
	base := e.ts.URL
	b.login(base, "alice")
	released := func(id string) func() (bool, string) {
		return func() (bool, string) {
			it, err := e.st.GetItem(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			return it.Status == lokerwatch.StatusPending && it.Claimant == "", string(it.Status) + " by " + it.Claimant
		}
	}
	releases := func(id string) int {
		evs, err := e.st.ListAudit(ctx, storage.AuditFilter{Object: id, Actor: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Action == "review.release" {
				n++
			}
		}
		return n
	}

	// q: back to the queue, the claim given back at once.
	b.do("claim the top item", key("c"), waitItem("ad-kamboja"), chromedp.WaitVisible(chromedp.CSS("article.ad[data-mine]")))
	if it, _ := e.st.GetItem(ctx, "ad-kamboja"); it.Claimant != "alice" {
		t.Fatalf("c did not claim: %+v", it)
	}
	b.do("q", key("q"), chromedp.WaitVisible(chromedp.CSS("table#queue")))
	eventually(t, "released after q", released("ad-kamboja"))
	if n := releases("ad-kamboja"); n != 1 {
		t.Errorf("%d release events after q, want 1", n)
	}

	// Navigating away: the same.
	b.do("claim again", key("c"), waitItem("ad-kamboja"), chromedp.WaitVisible(chromedp.CSS("article.ad[data-mine]")))
	b.do("leave for another site", chromedp.Navigate("about:blank"))
	eventually(t, "released after navigating away", released("ad-kamboja"))

	// Closing the page: the same.
	b.do("claim in the tab", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table#queue")),
		key("c"), waitItem("ad-kamboja"), chromedp.WaitVisible(chromedp.CSS("article.ad[data-mine]")))
	if _, err := chromedp.Call(b.ctx, page.Close, cdp.Empty{}); err != nil {
		t.Fatalf("close the tab: %v", err)
	}
	eventually(t, "released after closing the page", released("ad-kamboja"))
	if n := releases("ad-kamboja"); n != 3 {
		t.Errorf("%d release events, want 3 (q, away, close)", n)
	}

	// A decision is not followed by a release of anything else.
	b2 := browser(t)
	b2.login(base, "alice")
	b2.do("claim and decide", key("c"), waitItem("ad-kamboja"), chromedp.WaitVisible(chromedp.CSS("article.ad[data-mine]")),
		key("1"), waitItem("ad-kamboja-repost"), chromedp.WaitVisible(chromedp.CSS("article.ad[data-mine]")))
	time.Sleep(500 * time.Millisecond) // a stray beacon would have arrived by now
	if it, _ := e.st.GetItem(ctx, "ad-kamboja-repost"); it.Claimant != "alice" {
		t.Errorf("next item after a decision: %+v, want claimed by alice", it)
	}
	if n := releases("ad-kamboja"); n != 3 {
		t.Errorf("release events on the decided item: %d, want still 3", n)
	}
}
