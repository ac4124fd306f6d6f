package review

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// TestRulesPage: the admin's Rules page counts each rule's hits on decided
// items by verdict and its precision on those verdicts; other roles are
// refused.
func TestRulesPage(t *testing.T) {
	st := testStore(t)
	env := newEnv(t, st)
	ctx := context.Background()
	mk := func(id string, rules ...string) *lokerwatch.Ad {
		ad := &lokerwatch.Ad{ID: id, Source: "s", URL: "https://x.example/" + id, FetchedAt: time.Now(), Title: "ad " + id, Text: "text"}
		a := &lokerwatch.Assessment{Score: 80, Flagged: true, Category: lokerwatch.CategoryScam, Categories: map[lokerwatch.Category]int{}, Version: "r+m1"}
		for _, r := range rules {
			a.Signals = append(a.Signals, lokerwatch.Signal{Rule: r, Weight: 10, Description: "desc of " + r})
		}
		ad.Assessment = a
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		return ad
	}
	decide := func(ad *lokerwatch.Ad, v lokerwatch.Verdict) {
		it, _, err := st.Enqueue(ctx, ad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, AdID: ad.ID, Verdict: v, Reviewer: "root", DecidedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	decide(mk("a1", "sc.lure", "cue.passport"), lokerwatch.VerdictScam)
	decide(mk("a2", "sc.lure"), lokerwatch.VerdictTrafficking)
	decide(mk("a3", "sc.lure", "cue.passport"), lokerwatch.VerdictBenign)
	it, _, err := st.Enqueue(ctx, mk("a4", "sc.lure")) // undecided: not counted
	if err != nil || it == nil {
		t.Fatal(err)
	}

	r := env.client(t).mustLogin("root").get("/rules")
	if r.code != http.StatusOK {
		t.Fatalf("GET /rules as admin: %d", r.code)
	}
	row := func(rule string) string {
		m := regexp.MustCompile(`(?s)<code>` + regexp.QuoteMeta(rule) + `</code>.*?</tr>`).FindString(r.body)
		if m == "" {
			t.Fatalf("no row for %s in:\n%s", rule, r.body)
		}
		return regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m, " ")
	}
	// sc.lure: 2 risky, 1 benign, precision 0.67; cue.passport: 1 and 1, 0.50
	for rule, want := range map[string][]string{"sc.lure": {" 2 ", " 1 ", "0.67"}, "cue.passport": {" 1 ", "0.50"}} {
		got := strings.Join(strings.Fields(row(rule)), "  ")
		for _, w := range want {
			if !strings.Contains(" "+got+" ", w) {
				t.Errorf("%s row %q lacks %q", rule, got, strings.TrimSpace(w))
			}
		}
	}
	if !strings.Contains(r.body, "3 ads analysts decided (2 risky, 1 benign)") {
		t.Errorf("summary missing:\n%s", r.body)
	}
	for _, who := range []string{"alice", "ivan"} {
		if code := env.client(t).mustLogin(who).get("/rules").code; code != http.StatusForbidden {
			t.Errorf("GET /rules as %s: %d, want 403", who, code)
		}
	}
}
