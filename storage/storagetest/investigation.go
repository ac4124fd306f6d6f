package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Personas and cases. Choices fixed here for both backends:
//
//   - A persona's ID is the ID of the first ad of its larger side: a new
//     persona takes its ad's ID; a merge keeps the ID of the persona with
//     more ads (ties: the smaller ID). GetPersona and PersonaAds of a
//     merged persona's ID answer for the persona it is part of now.
//   - PersonaAds lists ads in the order they joined; PersonaKeys sorts by
//     kind, then value. PersonaOf an unlinked ad is ErrNotFound.
//   - Case IDs are "1", "2", … in creation order; ListCases is newest
//     first. An unknown or malformed case ID is ErrNotFound. Audit events
//     have object "case:ID" and actions case.create, case.add, case.note,
//     case.status.
var personaTests = []test{
	{"NewAndJoin", testPersonaJoin},
	{"MergeBySize", testPersonaMerge},
	{"RelinkIdempotent", testPersonaRelink},
	{"RepostLink", testPersonaRepost},
	{"ConcurrentLinks", testPersonaConcurrent},
}

var caseTests = []test{
	{"Lifecycle", testCaseLifecycle},
	{"NotFoundAndBadStatus", testCaseErrors},
}

func pk(kind lokerwatch.EntityKind, v string) lokerwatch.IndexKey {
	return lokerwatch.IndexKey{Kind: kind, Value: v}
}

func link(t *testing.T, s storage.Store, ad string, day int, cat lokerwatch.Category, src string, keys ...lokerwatch.IndexKey) storage.Persona {
	t.Helper()
	when := t0.AddDate(0, 0, day)
	p, err := s.LinkPersona(testCtx(t), storage.PersonaLink{AdID: ad, Keys: keys, FirstSeen: when, LastSeen: when.Add(time.Hour), Category: cat, Source: src})
	must(t, err, "link "+ad)
	return p
}

func testPersonaJoin(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	bank := pk(lokerwatch.EntityBank, "bca:1234567890")
	_, err := s.PersonaOf(ctx, "a1")
	wantErr(t, err, lokerwatch.ErrNotFound, "persona of unlinked ad")
	p1 := link(t, s, "a1", 0, lokerwatch.CategoryScam, "board", bank)
	if p1.ID != "a1" || p1.Size != 1 {
		t.Fatalf("first persona %+v, want ID a1 size 1", p1)
	}
	p2 := link(t, s, "a2", 3, lokerwatch.CategoryTrafficking, "tg", bank, pk(lokerwatch.EntityPhone, "+6281234567890"))
	if p2.ID != "a1" || p2.Size != 2 {
		t.Fatalf("joined persona %+v, want a1 size 2", p2)
	}
	if !p2.FirstSeen.Equal(t0) || !p2.LastSeen.Equal(t0.AddDate(0, 0, 3).Add(time.Hour)) {
		t.Errorf("persona seen %v..%v", p2.FirstSeen, p2.LastSeen)
	}
	if p2.Categories[lokerwatch.CategoryScam] != 1 || p2.Categories[lokerwatch.CategoryTrafficking] != 1 {
		t.Errorf("categories %v", p2.Categories)
	}
	if p2.Sources["board"] != 1 || p2.Sources["tg"] != 1 {
		t.Errorf("sources %v", p2.Sources)
	}
	// An unrelated ad gets its own persona.
	p3 := link(t, s, "b1", 1, "", "board", pk(lokerwatch.EntityPhone, "+6289999999999"))
	if p3.ID != "b1" || p3.Size != 1 {
		t.Fatalf("unrelated persona %+v", p3)
	}
	if got, err := s.PersonaOf(ctx, "a2"); err != nil || got.ID != "a1" || got.Size != 2 {
		t.Fatalf("persona of a2: %+v %v", got, err)
	}
	ads, err := s.PersonaAds(ctx, "a1", 0)
	must(t, err, "persona ads")
	if !slices.Equal(ads, []string{"a1", "a2"}) {
		t.Fatalf("persona ads %v", ads)
	}
	keys, err := s.PersonaKeys(ctx, "a1", 0)
	must(t, err, "persona keys")
	if !slices.Equal(keys, []lokerwatch.IndexKey{bank, pk(lokerwatch.EntityPhone, "+6281234567890")}) {
		t.Fatalf("persona keys %v", keys)
	}
	if ads, _ := s.PersonaAds(ctx, "a1", 1); len(ads) != 1 {
		t.Fatalf("limit 1 gave %v", ads)
	}
	_, err = s.GetPersona(ctx, "nope")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown persona")
}

func testPersonaMerge(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	acc, wal := pk(lokerwatch.EntityBank, "bri:012301012345501"), pk(lokerwatch.EntityEWallet, "dana:+6281234567890")
	// Persona x: three ads through an account; persona y: two through a wallet.
	for i, id := range []string{"x1", "x2", "x3"} {
		link(t, s, id, i, lokerwatch.CategoryScam, "board", acc)
	}
	for i, id := range []string{"y1", "y2"} {
		link(t, s, id, 10+i, lokerwatch.CategoryNonprocedural, "tg", wal)
	}
	// An ad with both merges them into the larger, x1.
	p := link(t, s, "z", 20, lokerwatch.CategoryScam, "rss", acc, wal)
	if p.ID != "x1" || p.Size != 6 {
		t.Fatalf("merged persona %+v, want x1 with 6 ads", p)
	}
	if p.Categories[lokerwatch.CategoryScam] != 4 || p.Categories[lokerwatch.CategoryNonprocedural] != 2 {
		t.Errorf("merged categories %v", p.Categories)
	}
	if !p.FirstSeen.Equal(t0) || !p.LastSeen.Equal(t0.AddDate(0, 0, 20).Add(time.Hour)) {
		t.Errorf("merged seen %v..%v", p.FirstSeen, p.LastSeen)
	}
	for _, id := range []string{"y1", "y2", "z"} {
		if got, err := s.PersonaOf(ctx, id); err != nil || got.ID != "x1" {
			t.Fatalf("persona of %s after merge: %+v %v", id, got, err)
		}
	}
	// The merged persona's ID forwards.
	got, err := s.GetPersona(ctx, "y1")
	must(t, err, "get merged persona")
	if got.ID != "x1" || got.Size != 6 {
		t.Fatalf("forwarded persona %+v", got)
	}
	ads, err := s.PersonaAds(ctx, "y1", 0)
	must(t, err, "ads of merged persona")
	slices.Sort(ads)
	if !slices.Equal(ads, []string{"x1", "x2", "x3", "y1", "y2", "z"}) {
		t.Fatalf("ads %v", ads)
	}
	// A later merge of x1 into a bigger persona still forwards y1 (one hop).
	big := pk(lokerwatch.EntityCrypto, "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	for i := range 7 {
		link(t, s, fmt.Sprintf("w%d", i), 30+i, "", "board", big)
	}
	p = link(t, s, "bridge", 40, "", "board", big, acc)
	if p.ID != "w0" || p.Size != 14 {
		t.Fatalf("second merge %+v, want w0 with 14", p)
	}
	for _, id := range []string{"y1", "x1"} {
		got, err := s.GetPersona(ctx, id)
		if err != nil || got.ID != "w0" {
			t.Fatalf("persona %s forwards to %+v %v, want w0", id, got, err)
		}
	}
	keys, err := s.PersonaKeys(ctx, "w0", 0)
	must(t, err, "keys")
	if len(keys) != 3 {
		t.Fatalf("keys after merges %v", keys)
	}
}

func testPersonaRelink(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	k := pk(lokerwatch.EntityTelegram, "lokerjob")
	link(t, s, "a", 0, lokerwatch.CategoryScam, "board", k)
	p := link(t, s, "a", 5, lokerwatch.CategoryScam, "board", k)
	if p.Size != 1 || p.Categories[lokerwatch.CategoryScam] != 1 {
		t.Fatalf("relink counted twice: %+v", p)
	}
	if !p.LastSeen.Equal(t0.AddDate(0, 0, 5).Add(time.Hour)) {
		t.Errorf("relink did not move last seen: %v", p.LastSeen)
	}
	// An updated ad with a new key still merges.
	link(t, s, "b", 1, "", "board", pk(lokerwatch.EntityPhone, "+6281111111111"))
	p = link(t, s, "b", 6, "", "board", pk(lokerwatch.EntityPhone, "+6281111111111"), k)
	if p.Size != 2 {
		t.Fatalf("relink with a new key: %+v", p)
	}
	if got, _ := s.PersonaOf(ctx, "a"); got.ID != p.ID {
		t.Fatalf("a in %s, b in %s", got.ID, p.ID)
	}
}

func testPersonaRepost(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	link(t, s, "orig", 0, lokerwatch.CategoryScam, "board", pk(lokerwatch.EntityPhone, "+6282222222222"))
	p, err := s.LinkPersona(ctx, storage.PersonaLink{AdID: "repost", Ads: []string{"orig", "unknown-ad"}, FirstSeen: t0, LastSeen: t0})
	must(t, err, "link repost")
	if p.ID != "orig" || p.Size != 2 {
		t.Fatalf("repost persona %+v", p)
	}
}

// Links racing from several workers end in one persona holding every ad.
func testPersonaConcurrent(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	k := pk(lokerwatch.EntityWhatsApp, "+6283333333333")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each ad has its own phone and the shared one: chains of merges.
			own := pk(lokerwatch.EntityPhone, fmt.Sprintf("+62844%08d", i))
			_, err := s.LinkPersona(ctx, storage.PersonaLink{AdID: fmt.Sprintf("c%02d", i), Keys: []lokerwatch.IndexKey{own, k}, FirstSeen: t0, LastSeen: t0})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent link")
	}
	p, err := s.PersonaOf(ctx, "c00")
	must(t, err, "persona of c00")
	if p.Size != 40 {
		t.Fatalf("size %d, want 40", p.Size)
	}
	ads, err := s.PersonaAds(ctx, p.ID, 0)
	must(t, err, "ads")
	if len(ads) != 40 {
		t.Fatalf("%d ads listed", len(ads))
	}
}

func testCaseLifecycle(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	by := storage.CaseActor{User: "ina", Remote: "10.0.0.5"}
	c, err := s.CreateCase(ctx, "Rekening BCA Hendra", by)
	must(t, err, "create case")
	if c.ID != "1" || c.Status != storage.CaseOpen || c.CreatedBy != "ina" || c.CreatedAt.IsZero() {
		t.Fatalf("new case %+v", c)
	}
	c2, err := s.CreateCase(ctx, "second", by)
	must(t, err, "create second")
	if c2.ID != "2" {
		t.Fatalf("second case ID %q", c2.ID)
	}
	for _, it := range []storage.CaseItem{{Kind: "ad", Ref: "ad1"}, {Kind: "entity", Ref: "bank:bca:1234567890"}, {Kind: "persona", Ref: "ad1"}} {
		added, err := s.AddCaseItem(ctx, "1", it, by)
		must(t, err, "add item")
		if !added {
			t.Fatalf("item %v not added", it)
		}
	}
	added, err := s.AddCaseItem(ctx, "1", storage.CaseItem{Kind: "ad", Ref: "ad1"}, by)
	must(t, err, "add again")
	if added {
		t.Fatal("an item was added twice")
	}
	must(t, s.AddCaseNote(ctx, "1", storage.CaseNote{Text: "same account in two sources"}, by), "note")
	must(t, s.SetCaseStatus(ctx, "1", storage.CaseReferred, "budi", by), "status")
	got, err := s.GetCase(ctx, "1")
	must(t, err, "get case")
	if got.Status != storage.CaseReferred || got.Assignee != "budi" || got.Title != "Rekening BCA Hendra" {
		t.Fatalf("case %+v", got)
	}
	if len(got.Items) != 3 || got.Items[0].Ref != "ad1" || got.Items[1].Kind != "entity" || got.Items[0].By != "ina" || got.Items[0].Added.IsZero() {
		t.Fatalf("items %+v", got.Items)
	}
	if len(got.Notes) != 1 || got.Notes[0].Author != "ina" || got.Notes[0].Text != "same account in two sources" {
		t.Fatalf("notes %+v", got.Notes)
	}
	// Status without an assignee keeps the assignee.
	must(t, s.SetCaseStatus(ctx, "1", storage.CaseClosed, "", by), "close")
	got, _ = s.GetCase(ctx, "1")
	if got.Status != storage.CaseClosed || got.Assignee != "budi" {
		t.Fatalf("after close %+v", got)
	}
	list, err := s.ListCases(ctx, 0)
	must(t, err, "list")
	if len(list) != 2 || list[0].ID != "2" || list[1].ID != "1" {
		t.Fatalf("list %+v", list)
	}
	evs, err := s.ListAudit(ctx, storage.AuditFilter{Object: "case:1"})
	must(t, err, "audit")
	var actions []string
	for _, ev := range evs {
		if ev.Actor != "ina" || ev.Remote != "10.0.0.5" {
			t.Errorf("audit event %+v", ev)
		}
		actions = append(actions, ev.Action)
	}
	want := []string{"case.create", "case.add", "case.add", "case.add", "case.note", "case.status", "case.status"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
}

func testCaseErrors(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	by := storage.CaseActor{User: "ina"}
	for _, id := range []string{"1", "0", "-3", "x", "1 OR 1=1", ""} {
		_, err := s.GetCase(ctx, id)
		wantErr(t, err, lokerwatch.ErrNotFound, "get case "+id)
		_, err = s.AddCaseItem(ctx, id, storage.CaseItem{Kind: "ad", Ref: "a"}, by)
		wantErr(t, err, lokerwatch.ErrNotFound, "add to case "+id)
		wantErr(t, s.AddCaseNote(ctx, id, storage.CaseNote{Text: "x"}, by), lokerwatch.ErrNotFound, "note on case "+id)
	}
	_, err := s.CreateCase(ctx, "c", by)
	must(t, err, "create")
	if err := s.SetCaseStatus(ctx, "1", "lost", "", by); err == nil || errors.Is(err, lokerwatch.ErrNotFound) {
		t.Fatalf("unknown status: %v", err)
	}
	if evs, _ := s.ListAudit(ctx, storage.AuditFilter{Object: "case:1"}); len(evs) != 1 {
		t.Fatalf("refused changes were audited: %+v", evs)
	}
}
