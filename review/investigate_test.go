package review

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/demo"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The demo's shared account: a board ad and a channel post pay into it.
const demoAccount = "/entities/bank/bca:4471209385"

// crawlDemo crawls the sample web into st, linking personas and keeping
// captures, as `lokerwatch demo` does.
func crawlDemo(t testing.TB, st storage.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	linked := persona.Linking(st, persona.NewLinker(st, persona.Options{}))
	if err := demo.Run(ctx, demo.Options{Store: linked, Once: true, Archiver: evidence.NewArchiver(st, evidence.ArchiverOptions{})}); err != nil {
		t.Fatalf("crawl the demo web: %v", err)
	}
}

func signingKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// What each role may do with entities, personas and cases.
func TestInvestigationRoles(t *testing.T) {
	forEachStore(t, func(t *testing.T, newStore func(testing.TB) storage.Store) {
		st := newStore(t)
		crawlDemo(t, st)
		key := signingKey(t)
		e := newEnv(t, st, func(o *Options) { o.SigningKey = key })
		anon := e.client(t)
		alice := e.client(t).mustLogin("alice")
		ivan := e.client(t).mustLogin("ivan")

		// Anonymous: login page, 401 for the API.
		if r := anon.get(demoAccount); r.code != http.StatusSeeOther || !strings.HasPrefix(r.hdr.Get("Location"), "/login") {
			t.Fatalf("anonymous entity page: %d %s", r.code, r.hdr.Get("Location"))
		}
		if r := anon.get("/api" + demoAccount); r.code != http.StatusUnauthorized {
			t.Fatalf("anonymous entity API: %d", r.code)
		}

		// Analyst: pivots from the account to the persona.
		r := alice.get(demoAccount)
		if r.code != 200 {
			t.Fatalf("analyst entity page: %d %s", r.code, r.body)
		}
		for _, want := range []string{"Hendra Wijaya", "Operator Data Entry - Poipet", "BERANGKAT MINGGU INI", `href="/personas/`, "links ads into personas"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("entity page lacks %q", want)
			}
		}
		if strings.Contains(r.body, `action="/cases/add"`) {
			t.Error("an analyst is offered to add to a case")
		}
		ent := decodeTo[entityData](t, alice.get("/api"+demoAccount))
		if ent.Total != 2 || len(ent.Sources) != 2 || len(ent.Personas) != 1 || len(ent.Timeline) < 2 || ent.Holders[0] != "Hendra Wijaya" {
			t.Fatalf("entity API: %+v", ent)
		}
		co := false
		for _, c := range ent.CoEntities {
			co = co || c.Kind == lokerwatch.EntityCrypto
		}
		if !co {
			t.Errorf("the TRC20 wallet named with the account is not listed: %+v", ent.CoEntities)
		}
		pid := ent.Personas[0].ID
		pr := alice.get("/personas/" + pid)
		if pr.code != 200 || !strings.Contains(pr.body, "<svg") || !strings.Contains(pr.body, `href="/entities/bank/bca:4471209385"`) {
			t.Fatalf("persona page: %d", pr.code)
		}
		if strings.Contains(pr.body, "<script>") || strings.Contains(pr.body, " style=") {
			t.Error("persona page has inline script or style")
		}
		per := decodeTo[personaData](t, alice.get("/api/personas/"+pid))
		if per.Persona.Size < 2 || len(per.Sources) < 2 || len(per.Graph.Nodes) < 3 {
			t.Fatalf("persona API: %+v", per.Persona)
		}
		for _, path := range []string{"/cases", "/cases/1", "/cases/1/export", "/api/cases"} {
			if r := alice.get(path); r.code != http.StatusForbidden {
				t.Errorf("analyst GET %s: %d, want 403", path, r.code)
			}
		}
		if r := alice.postForm("/cases/add", url.Values{"csrf": {alice.csrf}, "kind": {"persona"}, "ref": {pid}, "title": {"x"}}); r.code != http.StatusForbidden {
			t.Errorf("analyst add to case: %d, want 403", r.code)
		}

		// The ad page links its account to the entity page and shows its persona.
		adPage := alice.get("/ad/" + ent.Ads[0].ID)
		if !strings.Contains(adPage.body, `href="`+demoAccount+`"`) || !strings.Contains(adPage.body, `id="ad-persona"`) {
			t.Errorf("ad page does not link the account and the persona")
		}

		// Investigator: opens a case from the persona, notes, refers, exports.
		if r := ivan.postForm("/cases/add", url.Values{"kind": {"persona"}, "ref": {pid}, "title": {"x"}}); r.code != http.StatusForbidden {
			t.Errorf("add to case without CSRF token: %d, want 403", r.code)
		}
		r = ivan.postForm("/cases/add", url.Values{"csrf": {ivan.csrf}, "case": {"new"}, "kind": {"persona"}, "ref": {pid}, "title": {`Hendra <script>alert(1)</script>`}})
		if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/cases/1" {
			t.Fatalf("new case from persona: %d %s %s", r.code, r.hdr.Get("Location"), r.body)
		}
		for _, bad := range []url.Values{
			{"kind": {"ad"}, "ref": {"no-such-ad"}, "case": {"1"}},
			{"kind": {"entity"}, "ref": {"bank:bca:0000000000"}, "case": {"1"}},
			{"kind": {"entity"}, "ref": {"nokind"}, "case": {"1"}},
			{"kind": {"bogus"}, "ref": {"x"}, "case": {"1"}},
			{"kind": {"persona"}, "ref": {pid}, "case": {"new"}, "title": {"  "}},
			{"kind": {"persona"}, "ref": {pid}, "case": {"77"}},
		} {
			bad.Set("csrf", ivan.csrf)
			if r := ivan.postForm("/cases/add", bad); r.code != http.StatusBadRequest && r.code != http.StatusNotFound {
				t.Errorf("bad add %v: %d", bad, r.code)
			}
		}
		if r := ivan.postForm("/cases/add", url.Values{"csrf": {ivan.csrf}, "case": {"1"}, "kind": {"entity"}, "ref": {"bank:bca:4471209385"}}); r.code != http.StatusSeeOther {
			t.Fatalf("add entity: %d", r.code)
		}
		if r := ivan.postForm("/cases/1/note", url.Values{"csrf": {ivan.csrf}, "note": {"Board and channel pay into one account."}}); r.code != http.StatusSeeOther {
			t.Fatalf("note: %d", r.code)
		}
		if r := ivan.postForm("/cases/1/note", url.Values{"csrf": {ivan.csrf}, "note": {" "}}); r.code != http.StatusBadRequest {
			t.Errorf("empty note: %d", r.code)
		}
		if r := ivan.postForm("/cases/1/status", url.Values{"csrf": {ivan.csrf}, "status": {"referred"}, "assignee": {"nobody"}}); r.code != http.StatusBadRequest {
			t.Errorf("unknown assignee: %d", r.code)
		}
		if r := ivan.postForm("/cases/1/status", url.Values{"csrf": {ivan.csrf}, "status": {"lost"}}); r.code != http.StatusBadRequest {
			t.Errorf("unknown status: %d", r.code)
		}
		if r := ivan.postForm("/cases/1/status", url.Values{"csrf": {ivan.csrf}, "status": {"referred"}, "assignee": {"root"}}); r.code != http.StatusSeeOther {
			t.Fatalf("status: %d", r.code)
		}
		cp := ivan.get("/cases/1")
		if cp.code != 200 || strings.Contains(cp.body, "<script>alert(1)") || !strings.Contains(cp.body, "&lt;script&gt;") ||
			!strings.Contains(cp.body, "Board and channel pay into one account.") || !strings.Contains(cp.body, "assigned to <b>root</b>") {
			t.Fatalf("case page: %d\n%s", cp.code, cp.body)
		}
		exp := ivan.get("/cases/1/export")
		if exp.code != 200 || exp.hdr.Get("Content-Type") != "application/wacz+zip" {
			t.Fatalf("export: %d %s", exp.code, exp.hdr.Get("Content-Type"))
		}
		rep, err := evidence.Verify(bytes.NewReader([]byte(exp.body)), int64(len(exp.body)), &key.PublicKey)
		if err != nil || !rep.Intact() || !rep.KeyTrusted {
			t.Fatalf("verify console export: %v %+v", err, rep)
		}

		// Every change is on the case's audit trail, with who and from where.
		evs, err := st.ListAudit(context.Background(), storage.AuditFilter{Object: "case:1"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action)
			if ev.Actor != "ivan" || ev.Remote == "" {
				t.Errorf("audit event %+v", ev)
			}
		}
		if got := strings.Join(actions, " "); got != "case.create case.add case.add case.note case.status case.export" {
			t.Errorf("case audit: %s", got)
		}

		// A search for the board ad's number links to the number's page.
		if sp := ivan.get("/search?q=0857-2210-4418"); !strings.Contains(sp.body, `href="/entities/phone/&#43;6285722104418"`) {
			t.Errorf("search does not link the entity page")
		}

		// Not found.
		for _, path := range []string{"/entities/bogus/x", "/entities/bank/bca:0000000000", "/personas/nope", "/cases/99", "/cases/x"} {
			if r := ivan.get(path); r.code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.code)
			}
		}
	})
}

func keyOf(kind, value string) lokerwatch.IndexKey {
	return lokerwatch.IndexKey{Kind: lokerwatch.EntityKind(kind), Value: value}
}

// Entity values with slashes and spaces (a Facebook group, an agency
// name) have pages; hostile values are escaped.
func TestEntityPathsAndEscaping(t *testing.T) {
	st := testStore(t)
	ad := &lokerwatch.Ad{ID: "fb-ad", Source: "forum", Title: `Loker <img src=x onerror=alert(1)>`,
		Entities: lokerwatch.Entities{Profiles: []string{"facebook:groups/lokerluarnegeri"}, Agencies: []string{"PT Maju <b>Jaya</b>"}}}
	if _, err := st.PutAd(context.Background(), ad); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	alice := e.client(t).mustLogin("alice")
	for _, path := range []string{
		entityHref(lokerwatch.EntityProfile, "facebook:groups/lokerluarnegeri"),
		entityHref(lokerwatch.EntityAgency, "PT Maju <b>Jaya</b>"),
	} {
		r := alice.get(path)
		if r.code != 200 {
			t.Fatalf("GET %s: %d", path, r.code)
		}
		if strings.Contains(r.body, "<img src=x") || strings.Contains(r.body, "<b>Jaya</b>") {
			t.Fatalf("GET %s: unescaped hostile text", path)
		}
	}
	page := alice.get("/ad/fb-ad")
	if !strings.Contains(page.body, `href="/entities/profile/facebook:groups%2Flokerluarnegeri"`) {
		t.Errorf("ad page does not link the group's page")
	}
}

// Scripts change cases through the JSON API, with the same checks and the
// same audit trail as the console; analysts may not.
func TestCaseAPI(t *testing.T) {
	st := testStore(t)
	crawlDemo(t, st)
	e := newEnv(t, st)
	ivan := e.client(t).mustLogin("ivan")
	alice := e.client(t).mustLogin("alice")
	if r := alice.api("POST", "/api/cases", map[string]string{"title": "x"}); r.code != http.StatusForbidden {
		t.Fatalf("analyst creates a case: %d", r.code)
	}
	r := ivan.api("POST", "/api/cases", map[string]string{"title": "API case"})
	if r.code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	c := decodeTo[storage.Case](t, r)
	for _, tc := range []struct {
		path string
		body any
		want int
	}{
		{"/api/cases/" + c.ID + "/items", map[string]string{"kind": "entity", "ref": "bank:bca:4471209385"}, 200},
		{"/api/cases/" + c.ID + "/items", map[string]string{"kind": "ad", "ref": "missing"}, 404},
		{"/api/cases/" + c.ID + "/items", map[string]string{"kind": "ad", "ref": "x", "extra": "y"}, 400},
		{"/api/cases/" + c.ID + "/notes", map[string]string{"text": "from a script"}, 200},
		{"/api/cases/" + c.ID + "/notes", map[string]string{"text": ""}, 400},
		{"/api/cases/" + c.ID + "/status", map[string]string{"status": "closed", "assignee": "ivan"}, 200},
		{"/api/cases/" + c.ID + "/status", map[string]string{"status": "closed", "assignee": "ghost"}, 400},
		{"/api/cases/99/notes", map[string]string{"text": "x"}, 404},
		{"/api/cases", map[string]string{"title": ""}, 400},
	} {
		if r := ivan.api("POST", tc.path, tc.body); r.code != tc.want {
			t.Errorf("POST %s %v: %d, want %d (%s)", tc.path, tc.body, r.code, tc.want, r.body)
		}
	}
	got := decodeTo[struct {
		Case storage.Case `json:"case"`
		Ads  []string     `json:"ads"`
	}](t, ivan.get("/api/cases/"+c.ID))
	if got.Case.Status != storage.CaseClosed || got.Case.Assignee != "ivan" || len(got.Case.Notes) != 1 || len(got.Ads) != 2 {
		t.Fatalf("case after API calls: %+v", got)
	}
	evs, _ := st.ListAudit(context.Background(), storage.AuditFilter{Object: "case:" + c.ID})
	if len(evs) != 4 {
		t.Fatalf("audit %+v", evs)
	}
}
