package review

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	anon := e.client(t)
	alice := e.client(t).mustLogin("alice")
	for _, tc := range []struct {
		c    *client
		path string
		code int
	}{
		{anon, "/login", 200}, {anon, "/healthz", 200}, {anon, "/readyz", 200}, {anon, "/metrics", 200},
		{anon, "/static/console.js", 200}, {anon, "/", 303}, {anon, "/api/queue", 401}, {anon, "/nope", 404},
		{alice, "/", 200}, {alice, "/ad/ad-kamboja", 200}, {alice, "/ad/ad-info-telegram", 200}, {alice, "/ad/ad-band-only", 200},
		{alice, "/?status=all&offset=2&limit=2", 200}, {alice, "/?status=bogus", 200}, {alice, "/ad/missing", 404}, {alice, "/users", 403},
		{alice, "/api/queue", 200}, {alice, "/api/nope", 404},
	} {
		r := tc.c.get(tc.path)
		if r.code != tc.code {
			t.Errorf("GET %s = %d, want %d", tc.path, r.code, tc.code)
		}
		if got := r.hdr.Get("Content-Security-Policy"); got != contentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", tc.path, got)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := r.hdr.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, h, got, want)
			}
		}
	}
}

func TestPanicGivesPlainError(t *testing.T) {
	e := newEnv(t, testStore(t))
	h := e.srv.recoverer(e.srv.securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret: db password hunter2 at /srv/lokerwatch/x.go:12")
	})))
	for _, path := range []string{"/x", "/api/x"} {
		rec := newRecorder()
		req, _ := http.NewRequest("GET", path, nil)
		h.ServeHTTP(rec, req)
		body := rec.body.String()
		if rec.code != 500 || strings.Contains(body, "hunter2") || strings.Contains(body, ".go:") || strings.Contains(body, "goroutine") {
			t.Errorf("%s: panic page %d leaks: %s", path, rec.code, body)
		}
	}
}

type recorder struct {
	hdr  http.Header
	code int
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{hdr: http.Header{}, code: 200} }
func (r *recorder) Header() http.Header         { return r.hdr }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func TestAnonymous(t *testing.T) {
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	anon := e.client(t)
	for _, path := range []string{"/", "/ad/ad-kamboja", "/search?q=x", "/users", "/export", "/audit"} {
		r := anon.get(path)
		if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s = %d to %q, want login redirect", path, r.code, r.hdr.Get("Location"))
		}
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/queue"}, {"POST", "/api/queue/next"}, {"GET", "/api/ads/ad-kamboja"}, {"GET", "/api/export"},
		{"GET", "/api/users"}, {"POST", "/api/items/ad-kamboja/decide"}, {"GET", "/api/me"},
	} {
		r := anon.api(tc.method, tc.path, nil)
		if r.code != http.StatusUnauthorized || !strings.Contains(r.hdr.Get("Content-Type"), "json") {
			t.Errorf("%s %s = %d %s, want 401 JSON", tc.method, tc.path, r.code, r.hdr.Get("Content-Type"))
		}
	}
	// A bogus bearer token or cookie is no better.
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/queue", nil)
	req.Header.Set("Authorization", "Bearer lwt_forged")
	if r := anon.do(req); r.code != 401 {
		t.Errorf("forged token: %d", r.code)
	}
}

func TestRoles(t *testing.T) { forEachStore(t, testRoles) }

func testRoles(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	users := map[string]*client{}
	for _, n := range []string{"alice", "ivan", "root"} {
		users[n] = e.client(t).mustLogin(n)
	}
	// who -> allowed
	type access struct {
		method, path string
		allowed      []string
	}
	all := []string{"alice", "ivan", "root"}
	inv := []string{"ivan", "root"}
	adm := []string{"root"}
	for _, a := range []access{
		{"GET", "/", all}, {"GET", "/ad/ad-kamboja", all}, {"GET", "/api/queue", all}, {"GET", "/api/ads/ad-kamboja", all},
		{"GET", "/api/items/ad-kamboja", all},
		{"GET", "/search?q=kamboja", inv}, {"GET", "/api/search?q=kamboja", inv},
		{"GET", "/export", inv}, {"GET", "/export/download", inv}, {"GET", "/api/export", inv},
		{"GET", "/ad/ad-hostile/capture/0/warc", inv},
		{"GET", "/audit", inv}, {"GET", "/api/audit", inv},
		{"GET", "/users", adm}, {"GET", "/api/users", adm},
		{"POST", "/api/users", adm}, {"POST", "/api/users/bob/token", adm}, {"POST", "/api/users/bob/disable", adm},
	} {
		for who, c := range users {
			var r response
			if a.method == "GET" {
				r = c.get(a.path)
			} else {
				r = c.api(a.method, a.path, map[string]any{})
			}
			want := slices.Contains(a.allowed, who)
			if got := r.code != http.StatusForbidden; got != want {
				t.Errorf("%s %s as %s: %d (allowed %v)", a.method, a.path, who, r.code, want)
			}
			if !want && strings.HasPrefix(a.path, "/api/") && !strings.Contains(r.body, `"error"`) {
				t.Errorf("%s %s as %s: 403 without JSON error: %s", a.method, a.path, who, r.body)
			}
		}
	}
	// The analyst's pages do not even link to what they cannot use.
	if body := users["alice"].get("/").body; strings.Contains(body, `href="/export"`) || strings.Contains(body, `href="/users"`) {
		t.Error("analyst sees export or users links")
	}
	if body := users["root"].get("/").body; !strings.Contains(body, `href="/users"`) {
		t.Error("admin does not see the users link")
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	alice := e.client(t).mustLogin("alice")
	decide := func(mod func(*http.Request), form url.Values) response {
		req, _ := http.NewRequest("POST", e.ts.URL+"/item/ad-kamboja/decide", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mod(req)
		return alice.do(req)
	}
	good := url.Values{"verdict": {"benign"}, "csrf": {alice.csrf}}
	noToken := url.Values{"verdict": {"benign"}}
	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
		form url.Values
	}{
		{"cross-site fetch metadata", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, good},
		{"same-site other origin", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, good},
		{"foreign Origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, good},
		{"no CSRF token", func(r *http.Request) {}, noToken},
		{"wrong CSRF token", func(r *http.Request) {}, url.Values{"verdict": {"benign"}, "csrf": {"guess"}}},
	} {
		if r := decide(tc.mod, tc.form); r.code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, r.code)
		}
	}
	if ds, _ := e.st.Decisions(context.Background(), "ad-kamboja"); len(ds) != 0 {
		t.Fatalf("a refused request left decisions: %v", ds)
	}
	// The same request from the console itself goes through.
	r := decide(func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin"); r.Header.Set("Origin", e.ts.URL) }, good)
	if r.code != http.StatusSeeOther {
		t.Fatalf("same-origin decide: %d %s", r.code, r.body)
	}
	// JSON API: the header token is required with a cookie session.
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/queue/next", nil)
	if r := alice.do(req); r.code != http.StatusForbidden {
		t.Errorf("API POST without X-CSRF-Token: %d", r.code)
	}
	// Logout is state-changing too.
	req, _ = http.NewRequest("POST", e.ts.URL+"/logout", nil)
	if r := alice.do(req); r.code != http.StatusForbidden {
		t.Errorf("logout without token: %d", r.code)
	}
	// Login needs the form's token (login CSRF).
	anon := e.client(t)
	if r := anon.postForm("/login", url.Values{"name": {"alice"}, "password": {testPassword}}); r.code != http.StatusForbidden {
		t.Errorf("login without form token: %d", r.code)
	}
}

func TestLoginCookiesThrottleAudit(t *testing.T) {
	e := newEnv(t, testStore(t), func(o *Options) { o.SecureCookies = true })
	c := e.client(t)
	// httptest is plain HTTP, so the jar will not send Secure cookies back:
	// look at the Set-Cookie header itself.
	lp := c.get("/login")
	tok := loginTokenRE.FindStringSubmatch(lp.body)[1]
	if lc := (&http.Response{Header: lp.hdr}).Cookies(); len(lc) != 1 || lc[0].Name != "__Host-lw_login" || !lc[0].Secure || !lc[0].HttpOnly {
		t.Fatalf("login form cookie %+v", lc)
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(url.Values{"login_token": {tok}, "name": {"alice"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "__Host-lw_login", Value: tok})
	r := c.do(req)
	if r.code != http.StatusSeeOther {
		t.Fatalf("login: %d", r.code)
	}
	var sess *http.Cookie
	for _, ck := range (&http.Response{Header: r.hdr}).Cookies() {
		if ck.Name == "__Host-lw_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", sess)
	}
	// The store holds a hash of the cookie, not the cookie.
	if _, err := e.st.GetSession(context.Background(), sess.Value); err == nil {
		t.Fatal("session stored under its secret")
	}
	if _, err := e.st.GetSession(context.Background(), secretID(sess.Value)); err != nil {
		t.Fatalf("session not stored by hash: %v", err)
	}

	// Throttling: plain cookies again.
	e2 := newEnv(t, testStore(t), frozenClock)
	m := e2.client(t)
	for i := 0; i < 5; i++ {
		if code := m.login("alice", "wrong password"); code != http.StatusUnauthorized {
			t.Fatalf("bad password %d: %d", i, code)
		}
	}
	if code := m.login("alice", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("login after 5 failures: %d, want 429", code)
	}
	// Other names from the same address are not held back (issue 20: made-up
	// names locked out everyone behind one address).
	if code := m.login("nobody", "whatever-long"); code != http.StatusUnauthorized {
		t.Fatalf("same address, other user: %d, want 401", code)
	}
	evs, err := e2.st.ListAudit(context.Background(), storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var failed, throttled int
	for _, ev := range evs {
		if ev.Action != "user.login" {
			continue
		}
		if ev.Remote != "127.0.0.1" || ev.Time.IsZero() {
			t.Errorf("login event without where or when: %+v", ev)
		}
		switch {
		case strings.HasPrefix(ev.Detail, "failed"):
			failed++
		case ev.Detail == "throttled":
			throttled++
		}
	}
	// Five events of its own per address and minute; the rest is summed up.
	if failed != 5 || throttled != 0 {
		t.Errorf("audit: %d failed, %d throttled logins; want 5, 0", failed, throttled)
	}
	e2.srv.Close(context.Background())
	evs, _ = e2.st.ListAudit(context.Background(), storage.AuditFilter{})
	var summed int
	for _, ev := range evs {
		if ev.Action == "user.login.failures" {
			summed++
			if !strings.HasPrefix(ev.Detail, "2 more failed logins (1 throttled) from 127.0.0.1") {
				t.Errorf("summary %q", ev.Detail)
			}
		}
	}
	if summed != 1 {
		t.Errorf("%d summaries of the folded attempts, want 1", summed)
	}
	// A successful login is audited too.
	e3 := newEnv(t, testStore(t))
	e3.client(t).mustLogin("ivan")
	evs, _ = e3.st.ListAudit(context.Background(), storage.AuditFilter{Actor: "ivan"})
	if len(evs) != 1 || evs[0].Action != "user.login" || !strings.HasPrefix(evs[0].Detail, "ok") || evs[0].Remote == "" {
		t.Errorf("successful login audit: %+v", evs)
	}
}

func TestDisabledUserAndTokens(t *testing.T) { forEachStore(t, testDisabledUserAndTokens) }

func testDisabledUserAndTokens(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	ctx := context.Background()
	tok, err := NewToken(ctx, e.st, "ivan")
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(method, path, tok string) int {
		req, _ := http.NewRequest(method, e.ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return e.client(t).do(req).code
	}
	if code := bearer("GET", "/api/search?q=%40hrd_kamboja", tok); code != 200 {
		t.Fatalf("token search: %d", code)
	}
	// Scripts need no CSRF token: a bearer token is never sent by a browser on its own.
	if code := bearer("POST", "/api/queue/next", tok); code != 200 {
		t.Fatalf("token claim: %d", code)
	}
	if code := bearer("GET", "/api/users", tok); code != 403 {
		t.Fatalf("investigator token on users: %d", code)
	}
	// A token is not a session cookie.
	c := e.client(t)
	u, _ := url.Parse(e.ts.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "lw_session", Value: tok}})
	if r := c.get("/api/me"); r.code != 401 {
		t.Fatalf("token as cookie: %d", r.code)
	}
	ivan := e.client(t).mustLogin("ivan")
	root := e.client(t).mustLogin("root")
	if r := root.api("POST", "/api/users/ivan/disable", map[string]any{}); r.code != 200 {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	if code := bearer("GET", "/api/me", tok); code != 401 {
		t.Errorf("disabled user's token: %d", code)
	}
	if r := ivan.get("/api/me"); r.code != 401 {
		t.Errorf("disabled user's session: %d", r.code)
	}
	if code := e.client(t).login("ivan", testPassword); code != 401 {
		t.Errorf("disabled user's login: %d", code)
	}
	if r := root.api("POST", "/api/users/root/disable", map[string]any{}); r.code != 400 {
		t.Errorf("admin disabling themselves: %d", r.code)
	}
	if r := root.api("POST", "/api/users", map[string]any{"name": "Bad Name", "role": "analyst", "password": "long enough password"}); r.code != 400 {
		t.Errorf("bad user name accepted: %d", r.code)
	}
	if r := root.api("POST", "/api/users", map[string]any{"name": "carol", "role": "analyst", "password": "short"}); r.code != 400 {
		t.Errorf("short password accepted: %d", r.code)
	}
	if r := root.api("POST", "/api/users", map[string]any{"name": "carol", "role": "boss", "password": "long enough password"}); r.code != 400 {
		t.Errorf("bad role accepted: %d", r.code)
	}
	if r := root.api("POST", "/api/users", map[string]any{"name": "carol", "role": "analyst", "password": "long enough password"}); r.code != 200 {
		t.Errorf("add user: %d %s", r.code, r.body)
	}
	if code := e.client(t).login("carol", "long enough password"); code != http.StatusSeeOther {
		t.Errorf("new user login: %d", code)
	}
	u2, err := e.st.GetUser(ctx, "carol")
	if err != nil || !strings.HasPrefix(u2.PasswordHash, "$argon2id$") {
		t.Errorf("stored hash: %+v %v", u2, err)
	}
}

// Two analysts (here ten) claiming at once never get the same item, and
// every item is handed out exactly once.
func TestConcurrentClaims(t *testing.T) { forEachStore(t, testConcurrentClaims) }

func testConcurrentClaims(t *testing.T, newStore func(testing.TB) storage.Store) {
	st := newStore(t)
	e := newEnv(t, st)
	ctx := context.Background()
	const items, analysts = 60, 10
	for i := range items {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("c%02d", i), Source: "s", Title: fmt.Sprint("ad ", i),
			Assessment: &lokerwatch.Assessment{Score: 50 + i%40, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	clients := make([]*client, analysts)
	for i := range clients {
		name := fmt.Sprintf("analyst%d", i)
		if err := AddUser(ctx, st, name, storage.RoleAnalyst, testPassword); err != nil {
			t.Fatal(err)
		}
		clients[i] = e.client(t).mustLogin(name)
	}
	var (
		mu    sync.Mutex
		owner = map[string]string{}
		dups  []string
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				r := c.api("POST", "/api/queue/next", nil)
				if r.code == http.StatusNotFound {
					return
				}
				if r.code != 200 {
					t.Errorf("analyst%d next: %d %s", i, r.code, r.body)
					return
				}
				var it lokerwatch.ReviewItem
				json.Unmarshal([]byte(r.body), &it)
				mu.Lock()
				if prev, ok := owner[it.ID]; ok {
					dups = append(dups, fmt.Sprintf("%s to %s and analyst%d", it.ID, prev, i))
				}
				owner[it.ID] = fmt.Sprintf("analyst%d", i)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(dups) > 0 {
		t.Fatalf("items claimed twice: %v", dups)
	}
	if len(owner) != items {
		t.Fatalf("%d items claimed, want %d", len(owner), items)
	}
}

func TestReviewFlowAPI(t *testing.T) { forEachStore(t, testReviewFlowAPI) }

func testReviewFlowAPI(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	alice, bob, ivan := e.client(t).mustLogin("alice"), e.client(t).mustLogin("bob"), e.client(t).mustLogin("ivan")

	q := decodeTo[queueResponse](t, alice.get("/api/queue"))
	if len(q.Items) != 6 || q.Counts["pending"] != 6 {
		t.Fatalf("queue: %d items, counts %v", len(q.Items), q.Counts)
	}
	for i := 1; i < len(q.Items); i++ {
		if q.Items[i].Score > q.Items[i-1].Score {
			t.Fatalf("queue not highest score first: %v", q.Items)
		}
	}
	if f := decodeTo[queueResponse](t, alice.get("/api/queue?category=trafficking")); len(f.Items) != 1 || f.Items[0].AdID != "ad-thai" {
		t.Fatalf("category filter: %+v", f.Items)
	}
	if f := decodeTo[queueResponse](t, alice.get("/api/queue?source=jobboard-a")); len(f.Items) != 2 {
		t.Fatalf("source filter: %+v", f.Items)
	}
	if r := alice.get("/api/queue?status=bogus"); r.code != 400 {
		t.Fatalf("bad status filter: %d", r.code)
	}
	if r := alice.get("/api/queue?since=yesterday"); r.code != 400 {
		t.Fatalf("bad date filter: %d", r.code)
	}

	it := decodeTo[lokerwatch.ReviewItem](t, alice.api("POST", "/api/queue/next", nil))
	if it.AdID != "ad-kamboja" || it.Claimant != "alice" {
		t.Fatalf("next: %+v", it)
	}
	// Bob cannot decide or claim what Alice holds.
	if r := bob.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "benign"}); r.code != http.StatusConflict {
		t.Fatalf("bob decides alice's item: %d %s", r.code, r.body)
	}
	if r := bob.api("POST", "/api/items/"+it.ID+"/claim", nil); r.code != http.StatusConflict {
		t.Fatalf("bob claims alice's item: %d", r.code)
	}
	if r := alice.api("POST", "/api/items/"+it.ID+"/renew", nil); r.code != 200 {
		t.Fatalf("renew: %d", r.code)
	}
	if r := alice.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "maybe"}); r.code != 400 {
		t.Fatalf("bad verdict: %d", r.code)
	}
	if r := alice.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "scam", "bogus": 1}); r.code != 400 {
		t.Fatalf("unknown field: %d", r.code)
	}
	r := alice.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "scam", "note": "Sihanoukville compound"})
	if r.code != 200 {
		t.Fatalf("decide: %d %s", r.code, r.body)
	}
	if r := bob.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "benign"}); r.code != http.StatusConflict {
		t.Fatalf("decide a decided item without amend: %d", r.code)
	}
	if r := ivan.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": "trafficking", "amend": true}); r.code != 200 {
		t.Fatalf("amend: %d %s", r.code, r.body)
	}
	got := decodeTo[itemResponse](t, alice.get("/api/items/"+it.ID))
	if len(got.Decisions) != 2 || got.Decisions[0].Verdict != "scam" || got.Decisions[0].Note != "Sihanoukville compound" ||
		got.Decisions[1].Verdict != "trafficking" || got.Item.Verdict != "trafficking" || got.Ad == nil {
		t.Fatalf("history: %+v", got)
	}
	if got.Decisions[0].Remote != "127.0.0.1" {
		t.Errorf("decision lost the client address: %+v", got.Decisions[0])
	}
	evs, _ := e.st.ListAudit(context.Background(), storage.AuditFilter{Object: it.ID})
	var acts []string
	for _, ev := range evs {
		acts = append(acts, ev.Actor+":"+ev.Action)
	}
	if !slices.Contains(acts, "alice:review.decide") || !slices.Contains(acts, "ivan:review.amend") {
		t.Errorf("audit of decisions: %v", acts)
	}

	// Escalated items wait for a senior reviewer: analysts skip them.
	it2 := decodeTo[lokerwatch.ReviewItem](t, bob.api("POST", "/api/queue/next", nil))
	if it2.AdID != "ad-kamboja-repost" {
		t.Fatalf("second next: %+v", it2)
	}
	if r := bob.api("POST", "/api/items/"+it2.ID+"/decide", map[string]any{"verdict": "escalate"}); r.code != 200 {
		t.Fatalf("escalate: %d", r.code)
	}
	if n := decodeTo[lokerwatch.ReviewItem](t, bob.api("POST", "/api/queue/next", nil)); n.ID == it2.ID {
		t.Fatalf("analyst got the escalated item back")
	}
	if n := decodeTo[lokerwatch.ReviewItem](t, ivan.api("POST", "/api/queue/next", nil)); n.ID != it2.ID {
		t.Fatalf("investigator next = %s, want the escalated %s", n.ID, it2.ID)
	}
	if r := alice.api("POST", "/api/items/nope/claim", nil); r.code != 404 {
		t.Errorf("claim unknown item: %d", r.code)
	}
}

func TestAdPageHighlightsAndLinks(t *testing.T) { forEachStore(t, testAdPageHighlightsAndLinks) }

func testAdPageHighlightsAndLinks(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	alice := e.client(t).mustLogin("alice")
	body := alice.get("/ad/ad-kamboja").body
	for _, want := range []string{
		`<mark class="hl cat-scam" title="scam.job_title (scam): Typing/admin/CS job typical of scam compounds" data-sigs="0">admin online</mark>`,
		`<span id="sig-5" class="anchor"></span>`,
		`Known scam-compound hotspot`, `href="#sig-3"`,
		`href="/ad/ad-kamboja-repost"`, `near-duplicate text (2 bits)`,
		`href="/ad/ad-thai"`, `phone &#43;6281234567890`,
		`href="/ad/ad-info-telegram"`, `Telegram @hrd_kamboja`,
		`<meter min="0" max="100" low="50" high="80" optimum="0" value="92">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("ad page lacks %s", want)
		}
	}
	if strings.Contains(body, "ad-band-only") {
		t.Error("an ad sharing only one SimHash band (32 bits apart) is listed as linked")
	}
	ad := decodeTo[adResponse](t, alice.get("/api/ads/ad-kamboja"))
	reasons := map[string][]string{}
	for _, l := range ad.Linked {
		reasons[l.ID] = l.Reasons
	}
	if len(ad.Linked) != 4 || !slices.Equal(reasons["ad-thai"], []string{"phone +6281234567890"}) {
		t.Errorf("linked: %+v", ad.Linked)
	}
	if got := reasons["ad-kamboja-repost"]; !slices.Equal(got, []string{"near-duplicate text (2 bits)"}) {
		t.Errorf("repost reasons %v", got)
	}
	if _, ok := reasons["ad-hostile"]; !ok {
		t.Errorf("hostile ad shares the telegram handle but is not linked: %v", reasons)
	}
	for _, l := range ad.Linked {
		if l.LastSeen.IsZero() || l.FirstSeen.IsZero() {
			t.Errorf("linked ad %s without first/last seen", l.ID)
		}
	}
}

func TestHostileAdIsText(t *testing.T) { forEachStore(t, testHostileAdIsText) }

func testHostileAdIsText(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	alice := e.client(t).mustLogin("alice")
	body := alice.get("/ad/ad-hostile").body
	main := body[strings.Index(body, "<main>"):]
	for _, bad := range []string{"<script>window", "<img src=x", "onerror=\"", "<svg", "<iframe src=javascript", `href="javascript:`, "<a href=\"javascript"} {
		if strings.Contains(main, bad) {
			t.Errorf("ad page carries live markup %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;window.__pwned=1", "&lt;img src=x ", "javascript:window.__pwned=1"} {
		if !strings.Contains(main, want) {
			t.Errorf("ad page does not show %q as text", want)
		}
	}
	// The only scripts are the console's own.
	if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/static/console.js" defer></script>`) {
		t.Errorf("%d script tags", n)
	}
	r := alice.get("/ad/ad-hostile/capture/0")
	if r.code != 200 || r.hdr.Get("Content-Type") != "text/plain; charset=utf-8" || r.hdr.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(r.hdr.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("capture: %d %v", r.code, r.hdr)
	}
	if !strings.Contains(r.body, `<script type="application/ld+json">`) || !strings.Contains(r.body, "URL: https://forum.example/t/123") {
		t.Errorf("capture body (gzip-decoded page text) missing: %s", r.body)
	}
	if r := alice.get("/ad/ad-hostile/capture/1"); r.code != 404 {
		t.Errorf("capture past the end: %d", r.code)
	}
	if r := alice.get("/ad/ad-hostile/capture/-1"); r.code != 404 {
		t.Errorf("negative capture: %d", r.code)
	}
}

func TestSearch(t *testing.T) { forEachStore(t, testSearch) }

func testSearch(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	ivan := e.client(t).mustLogin("ivan")
	for _, tc := range []struct {
		q, kind string
		want    []string
	}{
		{"0812-3456-7890", "", []string{"ad-kamboja", "ad-thai"}},
		{"+62 812 3456 7890", "phone", []string{"ad-kamboja", "ad-thai"}},
		{"62812 3456 7890", "", []string{"ad-kamboja", "ad-thai"}},
		{"@HRD_Kamboja", "", []string{"ad-kamboja", "ad-hostile", "ad-info-telegram"}},
		{"https://t.me/hrd_kamboja", "handle", []string{"ad-kamboja", "ad-hostile", "ad-info-telegram"}},
		{"Magang.Jepang@Example.com", "", []string{"ad-jepang", "ad-taiwan"}},
		{"maju jaya", "agency", []string{"ad-jepang", "ad-taiwan"}},
		{"PT Maju Jaya Abadi", "agency", []string{"ad-jepang", "ad-taiwan"}},
		{"paspor dipegang", "", []string{"ad-thai"}},
		{"SIHANOUKVILLE", "text", []string{"ad-kamboja", "ad-kamboja-repost"}},
		{"nothing matches this", "", nil},
	} {
		r := ivan.get("/api/search?" + url.Values{"q": {tc.q}, "kind": {tc.kind}}.Encode())
		if r.code != 200 {
			t.Errorf("search %q: %d %s", tc.q, r.code, r.body)
			continue
		}
		res := decodeTo[searchResult](t, r)
		var got []string
		for _, a := range res.Ads {
			got = append(got, a.ID)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) || res.Total != len(tc.want) {
			t.Errorf("search %q (%s as %s): %v, want %v", tc.q, tc.kind, res.Kind, got, tc.want)
		}
	}
	res := decodeTo[searchResult](t, ivan.get("/api/search?q=0812-3456-7890"))
	if res.Normalised != "+6281234567890" || res.FirstSeen.IsZero() || res.LastSeen.Before(res.FirstSeen) || res.BySource["loker-fb"] != 2 {
		t.Errorf("phone search summary: %+v", res)
	}
	for _, q := range []string{"/api/search?q=", "/api/search?q=12&kind=phone", "/api/search?q=x&kind=bogus"} {
		if r := ivan.get(q); r.code != 400 {
			t.Errorf("%s: %d", q, r.code)
		}
	}
	page := ivan.get("/search?q=%400812-3456-7890&kind=phone")
	if page.code != 200 || !strings.Contains(page.body, "&#43;6281234567890") || !strings.Contains(page.body, `href="/ad/ad-thai"`) {
		t.Errorf("search page: %d", page.code)
	}
	if evs, _ := e.st.ListAudit(context.Background(), storage.AuditFilter{Actor: "ivan"}); len(evs) < 10 {
		t.Errorf("searches not audited: %d events", len(evs))
	}
}

func TestExport(t *testing.T) { forEachStore(t, testExport) }

func testExport(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	ctx := context.Background()
	for _, d := range []lokerwatch.Decision{
		{ItemID: "ad-kamboja", Verdict: lokerwatch.VerdictScam, Reviewer: "alice"},
		{ItemID: "ad-hostile", Verdict: lokerwatch.VerdictScam, Reviewer: "alice", Note: "=HYPERLINK(\"http://evil\")"},
		{ItemID: "ad-taiwan", Verdict: lokerwatch.VerdictBenign, Reviewer: "bob"},
	} {
		if _, err := e.st.Decide(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ivan := e.client(t).mustLogin("ivan")
	r := ivan.get("/api/export?verdict=scam")
	if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", r.code, r.hdr)
	}
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if len(lines) != 2 {
		t.Fatalf("export has %d lines, want 2 scam decisions:\n%s", len(lines), r.body)
	}
	var rec exportRecord
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Item.AdID != "ad-hostile" || rec.Ad == nil || len(rec.Decisions) != 1 || len(rec.Captures) != 1 || !strings.HasPrefix(rec.Captures[0].Digest, "sha256:") {
		t.Fatalf("export record: %+v", rec)
	}
	r = ivan.get("/api/export?format=csv")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("csv cell %q could run as a formula", cell)
			}
		}
	}
	if r := ivan.get("/api/export?format=xml"); r.code != 400 {
		t.Errorf("bad format: %d", r.code)
	}
	evs, _ := e.st.ListAudit(ctx, storage.AuditFilter{Actor: "ivan"})
	n := 0
	for _, ev := range evs {
		if ev.Action == "export" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d exports audited, want 2", n)
	}
	warc := ivan.get("/ad/ad-hostile/capture/0/warc")
	if warc.code != 200 || warc.hdr.Get("Content-Type") != "application/warc" || len(warc.body) < 100 {
		t.Errorf("warc download: %d", warc.code)
	}
}

func TestConsoleForms(t *testing.T) { forEachStore(t, testConsoleForms) }

func testConsoleForms(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	loadFixtures(t, e.st)
	alice := e.client(t).mustLogin("alice")
	// Queue page: highest first, counts, filters.
	body := alice.get("/").body
	if i, j := strings.Index(body, "ad-kamboja\""), strings.Index(body, "ad-thai\""); i < 0 || j < 0 || i > j {
		t.Fatal("queue page not by score")
	}
	if !strings.Contains(body, "<b>6</b> pending") {
		t.Error("queue page lacks counts")
	}
	if b := alice.get("/?category=nonprocedural&lang=id").body; strings.Contains(b, `data-ad="ad-kamboja"`) || !strings.Contains(b, `data-ad="ad-jepang"`) {
		t.Error("filter not applied on the queue page")
	}
	// Claim next with a filter, decide and get the next one of the same filter.
	r := alice.postForm("/next?category=nonprocedural", url.Values{"csrf": {alice.csrf}})
	if r.code != 303 || r.hdr.Get("Location") != "/ad/ad-jepang?category=nonprocedural" {
		t.Fatalf("next: %d %s", r.code, r.hdr.Get("Location"))
	}
	r = alice.postForm("/item/ad-jepang/decide?category=nonprocedural", url.Values{"csrf": {alice.csrf}, "verdict": {"nonprocedural"}, "next": {"1"}, "note": {"no LPK"}})
	if r.code != 303 || r.hdr.Get("Location") != "/ad/ad-taiwan?category=nonprocedural" {
		t.Fatalf("decide and next: %d %s", r.code, r.hdr.Get("Location"))
	}
	// Skip: the next item is not the skipped one, and the skipped one is pending again.
	r = alice.postForm("/item/ad-taiwan/release?category=nonprocedural", url.Values{"csrf": {alice.csrf}, "next": {"1"}})
	if r.code != 303 || !strings.HasPrefix(r.hdr.Get("Location"), "/?msg=released") {
		t.Fatalf("skip with nothing else in the filter: %d %s", r.code, r.hdr.Get("Location"))
	}
	it, _ := e.st.GetItem(context.Background(), "ad-taiwan")
	if it.Status != lokerwatch.StatusPending {
		t.Fatalf("skipped item is %s", it.Status)
	}
	r = alice.postForm("/item/ad-taiwan/decide", url.Values{"csrf": {alice.csrf}, "verdict": {"benign"}})
	if r.code != 303 || r.hdr.Get("Location") != "/ad/ad-taiwan?msg=decided" {
		t.Fatalf("decide pending item directly: %d %s", r.code, r.hdr.Get("Location"))
	}
	r = alice.postForm("/item/ad-taiwan/decide", url.Values{"csrf": {alice.csrf}, "verdict": {"nonprocedural"}, "next": {"1"}})
	if r.code != http.StatusConflict {
		t.Fatalf("decide a decided item without amend: %d", r.code)
	}
	r = alice.postForm("/item/ad-taiwan/decide", url.Values{"csrf": {alice.csrf}, "verdict": {"benign"}, "next": {"1"}, "amend": {"1"}, "note": {"checked licence"}})
	if r.code != 303 || r.hdr.Get("Location") != "/ad/ad-taiwan?msg=decided" {
		t.Fatalf("amend: %d %s", r.code, r.hdr.Get("Location"))
	}
	page := alice.get("/ad/ad-taiwan?msg=decided").body
	if !strings.Contains(page, "checked licence") || !strings.Contains(page, "(amended)") {
		t.Error("ad page does not show the amendment in the history")
	}
	if !strings.Contains(page, "Decision recorded.") || !strings.Contains(page, "Decided: benign") {
		t.Error("ad page does not show the decision")
	}
	// Bob holds ad-thai: Alice sees who and cannot decide.
	bob := e.client(t).mustLogin("bob")
	if r := bob.postForm("/item/ad-thai/claim", url.Values{"csrf": {bob.csrf}}); r.code != 303 {
		t.Fatalf("bob claim: %d", r.code)
	}
	if p := alice.get("/ad/ad-thai").body; !strings.Contains(p, "Claimed by bob") || strings.Contains(p, `id="decide-form"`) {
		t.Error("alice can decide bob's item on the page")
	}
	r = alice.postForm("/item/ad-thai/decide", url.Values{"csrf": {alice.csrf}, "verdict": {"benign"}})
	if r.code != 303 || !strings.Contains(r.hdr.Get("Location"), "msg=lost") {
		t.Fatalf("decide bob's item: %d %s", r.code, r.hdr.Get("Location"))
	}
	// The flash message is chosen by key, not echoed.
	if p := alice.get("/?msg=%3Cb%3Eowned%3C/b%3E").body; strings.Contains(p, "owned") {
		t.Error("flash echoes the query")
	}
	// Logout ends the session.
	if r := alice.postForm("/logout", url.Values{"csrf": {alice.csrf}}); r.code != 303 {
		t.Fatalf("logout: %d", r.code)
	}
	if r := alice.get("/api/me"); r.code != 401 {
		t.Fatalf("after logout: %d", r.code)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	st := testStore(t)
	e := newEnv(t, st)
	c := e.client(t)
	c.mustLogin("alice")
	m := c.get("/metrics").body
	for _, want := range []string{`lokerwatch_review_logins_total{result="ok"} 1`, `lokerwatch_http_requests_total{code="303",handler="POST /login"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, "alice") {
		t.Error("metrics name a user")
	}
	if r := c.get("/readyz"); r.code != 200 {
		t.Fatalf("readyz: %d", r.code)
	}
	st.Close()
	if r := c.get("/readyz"); r.code != 503 || strings.Contains(r.body, "sql") {
		t.Fatalf("readyz with the store closed: %d %q", r.code, r.body)
	}
	if r := c.get("/healthz"); r.code != 200 {
		t.Fatalf("healthz: %d", r.code)
	}
	// A store failure behind a page is a plain 500, without the error text.
	if r := c.get("/"); r.code != 500 || strings.Contains(r.body, "sql") || strings.Contains(r.body, "closed") {
		t.Fatalf("page on a closed store: %d %s", r.code, r.body)
	}
}
