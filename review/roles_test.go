package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// queueAd stores a flagged ad and queues it; it returns the item ID.
func queueAd(t *testing.T, st storage.Store, id string) string {
	t.Helper()
	ctx := context.Background()
	ad := &lokerwatch.Ad{ID: id, URL: "https://example.org/" + id, Source: "test", Title: "Lowongan " + id, Text: "admin online",
		FetchedAt: time.Now().UTC(), Assessment: &lokerwatch.Assessment{Score: 70, Flagged: true, Category: lokerwatch.CategoryScam}}
	if _, err := st.PutAd(ctx, ad); err != nil {
		t.Fatal(err)
	}
	it, _, err := st.Enqueue(ctx, ad)
	if err != nil {
		t.Fatal(err)
	}
	return it.ID
}

// TestDecisionMatrix checks every cell of the matrix in roles.go through
// Decide and Claim, on both stores (issue 20 finding 5: an analyst claimed
// an escalated item by ID and amended an investigator's verdict).
func TestDecisionMatrix(t *testing.T) { forEachStore(t, testDecisionMatrix) }

func testDecisionMatrix(t *testing.T, newStore func(testing.TB) storage.Store) {
	st := newStore(t)
	ctx := context.Background()
	users := map[string]storage.Role{"alice": storage.RoleAnalyst, "bob": storage.RoleAnalyst, "ivan": storage.RoleInvestigator,
		"ines": storage.RoleInvestigator, "root": storage.RoleAdmin, "ada": storage.RoleAdmin, "gone": storage.RoleAnalyst}
	for name, role := range users {
		if err := AddUser(ctx, st, name, role, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	user := func(name string) *storage.User {
		u, err := st.GetUser(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// A decision by "ghost", a name that is no account (an old CLI run).
	decideAs := func(name, id string, v lokerwatch.Verdict) {
		t.Helper()
		if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: id, Verdict: v, Reviewer: name}); err != nil {
			t.Fatalf("set up: %s decides %s: %v", name, id, err)
		}
	}
	type situation struct {
		name  string
		setup func(actor, id string) // brings the item into the situation
		claim bool                   // the act is a claim (else an amendment or decision)
	}
	situations := []situation{
		{"decide an open item", func(string, string) {}, false},
		{"claim an escalated item", func(_, id string) { decideAs("bob", id, lokerwatch.VerdictEscalate) }, true},
		{"decide an escalated item", func(_, id string) { decideAs("bob", id, lokerwatch.VerdictEscalate) }, false},
		{"amend own decision", func(actor, id string) { decideAs(actor, id, lokerwatch.VerdictTrafficking) }, false},
		{"amend an analyst's decision", func(_, id string) { decideAs("bob", id, lokerwatch.VerdictTrafficking) }, false},
		{"amend an investigator's decision", func(_, id string) { decideAs("ines", id, lokerwatch.VerdictTrafficking) }, false},
		{"amend an admin's decision", func(_, id string) { decideAs("ada", id, lokerwatch.VerdictTrafficking) }, false},
		{"amend a non-account's decision", func(_, id string) { decideAs("ghost", id, lokerwatch.VerdictTrafficking) }, false},
	}
	want := map[string][3]bool{ // analyst, investigator, admin
		"decide an open item":              {true, true, true},
		"claim an escalated item":          {false, true, true},
		"decide an escalated item":         {false, true, true},
		"amend own decision":               {true, true, true},
		"amend an analyst's decision":      {false, true, true},
		"amend an investigator's decision": {false, true, true},
		"amend an admin's decision":        {false, false, true},
		"amend a non-account's decision":   {false, false, true},
	}
	n := 0
	for _, sit := range situations {
		for col, actor := range []string{"alice", "ivan", "root"} {
			n++
			id := queueAd(t, st, fmt.Sprintf("m%02d", n))
			sit.setup(actor, id)
			before, _ := st.GetItem(ctx, id)
			var err error
			if sit.claim {
				_, err = Claim(ctx, st, user(actor), id, time.Minute)
			} else {
				_, err = Decide(ctx, st, user(actor), lokerwatch.Decision{ItemID: id, Verdict: lokerwatch.VerdictBenign,
					Amend: before.Status == lokerwatch.StatusDecided})
			}
			allowed := want[sit.name][col]
			switch {
			case allowed && err != nil:
				t.Errorf("%s (%s) may %s: %v", actor, users[actor], sit.name, err)
			case !allowed && !errors.Is(err, ErrForbidden):
				t.Errorf("%s (%s) must not %s: err %v", actor, users[actor], sit.name, err)
			case !allowed:
				after, _ := st.GetItem(ctx, id)
				if after.Verdict != before.Verdict || after.Status != before.Status || after.Claimant != before.Claimant {
					t.Errorf("%s: refused, yet the item changed: %+v -> %+v", sit.name, before, after)
				}
			}
		}
	}
	// Disabled accounts decide nothing.
	g := user("gone")
	g.Disabled = true
	if _, err := Decide(ctx, st, g, lokerwatch.Decision{ItemID: queueAd(t, st, "m-off"), Verdict: lokerwatch.VerdictScam}); !errors.Is(err, ErrForbidden) {
		t.Errorf("disabled user decided: %v", err)
	}
}

// TestDecisionMatrixAPI: the console and API route decisions and claims
// through the matrix (the finding's two reproductions).
func TestDecisionMatrixAPI(t *testing.T) {
	e := newEnv(t, testStore(t))
	ctx := context.Background()
	esc := queueAd(t, e.st, "esc")
	traf := queueAd(t, e.st, "traf")
	if _, err := e.st.Decide(ctx, lokerwatch.Decision{ItemID: esc, Verdict: lokerwatch.VerdictEscalate, Reviewer: "bob"}); err != nil {
		t.Fatal(err)
	}
	ivan := e.client(t).mustLogin("ivan")
	if r := ivan.api("POST", "/api/items/"+traf+"/decide", map[string]any{"verdict": "trafficking"}); r.code != http.StatusOK {
		t.Fatalf("ivan decides: %d %s", r.code, r.body)
	}
	alice := e.client(t).mustLogin("alice")
	if r := alice.api("POST", "/api/items/"+esc+"/claim", nil); r.code != http.StatusForbidden {
		t.Errorf("analyst claims an escalated item by ID: %d %s", r.code, r.body)
	}
	if r := alice.api("POST", "/api/items/"+esc+"/decide", map[string]any{"verdict": "benign"}); r.code != http.StatusForbidden {
		t.Errorf("analyst decides an escalated item: %d %s", r.code, r.body)
	}
	if r := alice.api("POST", "/api/items/"+traf+"/decide", map[string]any{"verdict": "benign", "amend": true}); r.code != http.StatusForbidden {
		t.Errorf("analyst amends an investigator's trafficking verdict: %d %s", r.code, r.body)
	}
	// The console's form goes the same way.
	if r := alice.postForm("/item/"+esc+"/decide", map[string][]string{"verdict": {"benign"}, "csrf": {alice.csrf}}); r.code != http.StatusForbidden {
		t.Errorf("analyst decides an escalated item from the console: %d", r.code)
	}
	if it, _ := e.st.GetItem(ctx, traf); it.Verdict != lokerwatch.VerdictTrafficking {
		t.Errorf("trafficking verdict changed to %s", it.Verdict)
	}
	if r := ivan.api("POST", "/api/items/"+esc+"/decide", map[string]any{"verdict": "scam"}); r.code != http.StatusOK {
		t.Errorf("investigator decides the escalated item: %d %s", r.code, r.body)
	}
}
