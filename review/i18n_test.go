package review

import (
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// untranslatedPages are template files the tests below let speak English
// while they are being rewritten; none is left. Put a page here only for
// the time it takes to translate it.
var untranslatedPages = map[string]bool{}

// literalOK is text a template may carry as it is, in every language:
// names, codes, commands and punctuation.
var literalOK = []string{
	"lokerwatch verify", "lokerwatch export", "lokerwatch train --from-store", "Authorization: Bearer",
	"--public KEY.pem", "BUNDLE.wacz", "lokerwatch", "CSV", "Enter", "Esc",
}

var (
	tagRE      = regexp.MustCompile(`(?s)<[^>]*>`)
	attrTextRE = regexp.MustCompile(`\b(placeholder|title|aria-label|alt)="([^"{]*)"`)
	letterRE   = regexp.MustCompile(`\pL{2,}`)
)

// templateFiles are the console's template files (pages and partials).
func templateFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".html") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseTrees parses a template file into its trees (the funcs only need
// to exist).
func parseTrees(t *testing.T, name string) map[string]*parse.Tree {
	t.Helper()
	src, err := fs.ReadFile(templateFS, name)
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]any{}
	for k := range templateFuncs {
		funcs[k] = true
	}
	for k := range langFuncs(i18n.English) {
		funcs[k] = true
	}
	for _, k := range []string{"and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge", "call", "html", "urlquery", "js"} {
		funcs[k] = true
	}
	trees, err := parse.Parse(name, string(src), "{{", "}}", funcs)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return trees
}

// walk visits every node of a template tree.
func walk(n parse.Node, visit func(parse.Node)) {
	if n == nil {
		return
	}
	visit(n)
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walk(c, visit)
		}
	case *parse.ActionNode:
		walk(x.Pipe, visit)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walk(c, visit)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walk(a, visit)
		}
	case *parse.IfNode:
		walk(x.Pipe, visit)
		walk(x.List, visit)
		walk(x.ElseList, visit)
	case *parse.RangeNode:
		walk(x.Pipe, visit)
		walk(x.List, visit)
		walk(x.ElseList, visit)
	case *parse.WithNode:
		walk(x.Pipe, visit)
		walk(x.List, visit)
		walk(x.ElseList, visit)
	case *parse.TemplateNode:
		walk(x.Pipe, visit)
	}
}

// Every word a translated template shows goes through the catalog: no
// literal text between tags, none in placeholder, title, aria-label or alt
// attributes; and every key it names ({{t "key"}}, {{enum "prefix" …}})
// is in both catalogs.
func TestTemplatesSpeakThroughCatalog(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]bool{}
	for _, id := range cat.IDs() {
		if i := strings.LastIndexByte(id, '.'); i > 0 {
			prefixes[id[:i]] = true
		}
	}
	checked := 0
	for _, name := range templateFiles(t) {
		if untranslatedPages[filepath.Base(name)] {
			t.Logf("%s: not translated yet (untranslatedPages)", name)
			continue
		}
		checked++
		for _, tree := range parseTrees(t, name) {
			var text strings.Builder
			walk(tree.Root, func(n parse.Node) {
				switch x := n.(type) {
				case *parse.TextNode:
					text.Write(x.Text)
					text.WriteString("{{}}") // an action splits words
				case *parse.CommandNode:
					if len(x.Args) < 2 {
						return
					}
					fn, ok := x.Args[0].(*parse.IdentifierNode)
					arg, isStr := x.Args[1].(*parse.StringNode)
					if !ok || !isStr {
						return
					}
					switch fn.Ident {
					case "t":
						for _, l := range i18n.Langs {
							if !cat.Has(l, arg.Text) {
								t.Errorf("%s: {{t %q}}: no such message in %s.toml", name, arg.Text, l)
							}
						}
					case "enum":
						if !prefixes[arg.Text] {
							t.Errorf("%s: {{enum %q}}: the catalog has no %s.* messages", name, arg.Text, arg.Text)
						}
					}
				}
			})
			src := text.String()
			for _, m := range attrTextRE.FindAllStringSubmatch(src, -1) {
				if letterRE.MatchString(m[2]) {
					t.Errorf("%s: literal %s=%q: use {{t …}}", name, m[1], m[2])
				}
			}
			visible := tagRE.ReplaceAllString(src, " ")
			visible = html.UnescapeString(visible)
			for _, ok := range literalOK {
				visible = strings.ReplaceAll(visible, ok, " ")
			}
			for _, chunk := range strings.Split(visible, "{{}}") {
				if w := letterRE.FindString(chunk); w != "" {
					t.Errorf("%s: literal text %q (word %q): use {{t …}}", name, strings.Join(strings.Fields(chunk), " "), w)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d template files", checked)
	}
}

// Every message key the Go code names (tr(r, "key"), T(lang, "key"),
// enumLabel(lang, "prefix", …)) is in both catalogs.
func TestGoMessagesInCatalog(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok || (id.Name != "tr" && id.Name != "T") {
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true // a key chosen at run time: its cases are literals elsewhere
			}
			key, _ := strconv.Unquote(lit.Value)
			found++
			for _, l := range i18n.Langs {
				if !cat.Has(l, key) {
					t.Errorf("%s: %s(…, %q): no such message in %s.toml", fset.Position(call.Pos()), id.Name, key, l)
				}
			}
			return true
		})
	}
	if found < 10 {
		t.Fatalf("found only %d message keys in the Go code", found)
	}
	// Keys chosen at run time.
	for _, key := range []string{"users.now_disabled", "users.now_enabled", "count.not_flagged", "count.undecided"} {
		if !cat.Has(i18n.Indonesian, key) {
			t.Errorf("%s: not in id.toml", key)
		}
	}
	for _, key := range countNames {
		if !cat.Has(i18n.Indonesian, key) {
			t.Errorf("countNames: %s not in id.toml", key)
		}
	}
}

// langTransport sends an Accept-Language header, as a browser does.
type langTransport struct{ accept string }

func (l langTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept-Language", l.accept)
	return http.DefaultTransport.RoundTrip(r)
}

// speaking gives a client that asks for pages in accept.
func (c *client) speaking(accept string) *client {
	c.hc.Transport = langTransport{accept}
	return c
}

// enumPrefixes name stored values (verdicts, kinds, statuses): their
// English words also occur in data the page shows as it is (an ad's text,
// an audit detail), so the page test does not look for them.
var enumPrefixes = []string{"verdict.", "category.", "kind.", "tl.", "itemstatus.", "casestatus.", "role.", "searchkind.", "itemkind.", "count.", "status.", "adlang."}

// dataRE are the parts of a page that show data as it is (an ad's title,
// text, snippet, phrases and entities; an audit event's details; a
// language code): English there is the data's, not the console's.
var dataRE = regexp.MustCompile(`(?s)<div class="snippet muted">.*?</div>|<div class="adtext" id="adtext">.*?</div>|` +
	`<td class="title">\s*<a [^>]*>.*?</a>|<q>.*?</q>|<td class="phrases">.*?</td>|<td class="change">.*?</td>|<dd>.*?</dd>|` +
	`<a href="/ad/[^"]*" class="linked-ad">.*?</a>|<div class="ad-title">\s*<h1>.*?</h1>|<p class="meta">.*?</p>|<td>(id|en|mixed)</td>`)

// englishOnly are the English catalog's texts that cannot appear in an
// Indonesian page: those of four letters or more that are not also part
// of an Indonesian message, and not names of stored values.
func englishOnly(t *testing.T) []string {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var idTexts []string
	for _, k := range cat.IDs() {
		idTexts = append(idTexts, cat.T(i18n.Indonesian, k, "Count", 2))
	}
	var out []string
	for _, k := range cat.IDs() {
		en := cat.T(i18n.English, k)
		if slices.ContainsFunc(enumPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			continue
		}
		if strings.Contains(en, "{{") || strings.Contains(en, "<no value>") || len(en) < 4 || en == cat.T(i18n.Indonesian, k) {
			continue
		}
		if slices.ContainsFunc(idTexts, func(s string) bool { return strings.Contains(s, en) }) {
			continue
		}
		out = append(out, en)
	}
	return out
}

// visibleText is a page's text as a reader sees it (no tags, scripts or
// attribute values), unescaped.
func visibleText(page string) string {
	return html.UnescapeString(tagRE.ReplaceAllString(page, " "))
}

// A console in Indonesian: with Accept-Language id-ID every translated
// page says <html lang="id">, shows Indonesian and no English message of
// the catalog; the rules page gives the rules' Indonesian descriptions.
func TestConsoleInIndonesian(t *testing.T) {
	eng, err := classifiers.New(classifiers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := testStore(t)
	crawlDemo(t, st)
	e := newEnv(t, st, func(o *Options) { o.Describe = eng.RuleDescription })
	// Decisions for the rules page, a case for the case pages.
	root := e.client(t).mustLogin("root")
	q := decodeTo[struct {
		Items []struct {
			ID   string `json:"id"`
			AdID string `json:"ad_id"`
		} `json:"items"`
	}](t, root.api("GET", "/api/queue?limit=3", nil))
	if len(q.Items) < 3 {
		t.Fatalf("the demo queued %d items", len(q.Items))
	}
	for i, verdict := range []string{"scam", "benign", "nonprocedural"} {
		it := q.Items[i]
		if r := root.api("POST", "/api/items/"+it.ID+"/claim", nil); r.code != 200 {
			t.Fatalf("claim %s: %d %s", it.ID, r.code, r.body)
		}
		if r := root.api("POST", "/api/items/"+it.ID+"/decide", map[string]any{"verdict": verdict}); r.code != 200 {
			t.Fatalf("decide %s: %d %s", it.ID, r.code, r.body)
		}
	}
	if r := root.api("POST", "/api/cases", map[string]any{"title": "Sindikat Sihanoukville"}); r.code/100 != 2 {
		t.Fatalf("new case: %d %s", r.code, r.body)
	}
	for _, item := range []map[string]any{{"kind": "ad", "ref": q.Items[0].AdID}, {"kind": "entity", "ref": "bank:bca:4471209385"}} {
		if r := root.api("POST", "/api/cases/1/items", item); r.code/100 != 2 {
			t.Fatalf("add %v to the case: %d %s", item, r.code, r.body)
		}
	}

	forbidden := englishOnly(t)
	if len(forbidden) < 100 {
		t.Fatalf("only %d English-only messages to look for", len(forbidden))
	}
	id := e.client(t).speaking("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7")
	login := id.get("/login")
	check := func(path string, r response, want ...string) {
		t.Helper()
		if !strings.Contains(r.body, `<html lang="id">`) {
			t.Errorf("%s: not marked Indonesian (status %d)", path, r.code)
		}
		text := visibleText(r.body)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: no %q in the Indonesian page", path, w)
			}
		}
		text = visibleText(dataRE.ReplaceAllString(r.body, " "))
		for _, en := range forbidden {
			if strings.Contains(text, en) {
				t.Errorf("%s: English %q in the Indonesian page", path, en)
			}
		}
	}
	check("/login", login, "Masuk", "Nama pengguna", "Kata sandi", "Bahasa Indonesia")
	if code := id.login("root", "wrong password!"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	id.mustLogin("root")
	for _, p := range []struct {
		path string
		want []string
	}{
		{"/search?q=bca", []string{"Cari", "iklan untuk", "Skor", "Pertama terlihat"}},
		{"/cases", []string{"Kasus baru", "Dibuka oleh", "terbuka"}},
		{"/cases/1", []string{"Isi kasus", "Tambah catatan", "Linimasa", "Penanggung jawab", "rekening bank bca:4471209385", "pertama terlihat"}},
		{demoAccount, []string{"rekening bank", "pertama terlihat", "Muncul bersamanya", "Tambahkan ke kasus", "menghubungkan iklan menjadi persona"}},
		{"/export", []string{"Ekspor keputusan", "Unduh", "penipuan"}},
		{"/users", []string{"Tambah atau perbarui pengguna", "token API baru", "analis"}},
		{"/rules", []string{"Aturan", "Presisi", "Artinya", "3 iklan yang sudah diputuskan analis", "penipuan (online scam)"}},
		{"/no/such/page", []string{"Halaman tidak ditemukan.", "Tidak ditemukan", "Kembali ke antrean"}},
	} {
		check(p.path, id.get(p.path), p.want...)
	}
	// Each rule on the rules page is described in Indonesian.
	rules := id.get("/rules").body
	ids := regexp.MustCompile(`<td><code>([^<]+)</code></td>`).FindAllStringSubmatch(rules, -1)
	if len(ids) < 3 {
		t.Fatalf("the rules page lists %d rules", len(ids))
	}
	for _, m := range ids {
		rule := html.UnescapeString(m[1])
		want := eng.RuleDescription(rule, "id")
		if want == "" { // made in code, described in the catalog
			want = T(i18n.Indonesian, "signal."+rule)
		}
		if want == "" || want == eng.RuleDescription(rule, "en") || !strings.Contains(visibleText(rules), want) {
			t.Errorf("rules page: rule %s without its Indonesian description %q", m[1], want)
		}
	}
	// The queue, its flash messages and filters, the audit log.
	check("/", id.get("/"), "Antrean", "Klaim berikutnya", "klaim saya", "menunggu", "Ulangan", "Terkait", "Papan ketik", "Keluar")
	check("/?status=all", id.get("/?status=all"), "sudah diputuskan", "Inggris", "campuran")
	check("/?msg=released", id.get("/?msg=released"), "Item dikembalikan ke antrean.")
	check("/?msg=cluster", id.get("/?msg=cluster&done=2&held=1&skipped=1"),
		"2 anggota klaster diputuskan", "1 anggota sedang dipegang peninjau lain", "1 anggota sudah diputuskan")
	check("/?mine=1", id.get("/?mine=1"), "Anda tidak sedang memegang klaim.")
	check("/?status=bogus", id.get("/?status=bogus"), "Penyaring tidak sah:")
	check("/cluster/nope", id.get("/cluster/nope"), "Klaster iklan berulang itu tidak ada.")
	check("POST /cluster/nope/decide", id.postForm("/cluster/nope/decide", url.Values{"csrf": {id.csrf}, "verdict": {"scam"}}),
		"Centang paling sedikit satu anggota klaster untuk diputuskan.")
	check("/audit", id.get("/audit"), "Log audit", "Siapa", "Tindakan", "Yang berubah", "hari terakhir")
	// The ad pages: one decided (its history), one pending; the why in
	// Indonesian, from the rules' Indonesian descriptions.
	for i, it := range q.Items[:2] {
		path := "/ad/" + it.AdID
		want := []string{"Ditandai", "Alasan", "Menaikkan skor", "Teks", "Skor", "Iklan terkait", "Catatan", "Penipuan (online scam)"}
		if i == 0 {
			want = append(want, "Riwayat keputusan", "Sudah diputuskan: penipuan", "Ubah keputusan")
		}
		page := id.get(path)
		check(path, page, want...)
		ad := decodeTo[struct {
			Ad lokerwatch.Ad `json:"ad"`
		}](t, root.api("GET", "/api/ads/"+it.AdID, nil)).Ad
		if ad.Assessment == nil {
			t.Fatalf("%s: no assessment", path)
		}
		m := regexp.MustCompile(`id="why-sentence">([^<]+)<`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("%s: no why sentence", path)
		}
		sentence := html.UnescapeString(m[1])
		t.Logf("%s: %s", path, sentence)
		if want := whySentence(i18n.Indonesian, ad.Assessment, e.srv.describer(i18n.Indonesian)); sentence != want || !strings.HasPrefix(sentence, "Ditandai ") {
			t.Errorf("%s: sentence %q, want %q", path, sentence, want)
		}
		top := topReasons(ad.Assessment, 1, nil)
		if len(top) == 0 {
			t.Fatalf("%s: no reason", path)
		}
		if strings.Contains(sentence, top[0].Text) {
			t.Errorf("%s: the Indonesian sentence has the English reason %q: %q", path, top[0].Text, sentence)
		}
		// Every rule of the why is described in Indonesian (its tooltip).
		for _, sg := range ad.Assessment.Signals {
			want := eng.RuleDescription(sg.Rule, "id")
			if want == "" || sg.Weight == 0 {
				continue
			}
			if !strings.Contains(html.UnescapeString(page.body), sg.Rule+": "+want) {
				t.Errorf("%s: rule %s without its Indonesian description %q", path, sg.Rule, want)
			}
		}
	}
	// A persona page, from the entity's first persona link.
	ent := id.get(demoAccount).body
	if m := regexp.MustCompile(`href="(/personas/[^"]+)"`).FindStringSubmatch(ent); m != nil {
		check(m[1], id.get(m[1]), "Grafik", "Yang menghubungkannya", "terbaru di atas")
	} else {
		t.Error("the entity page links no persona")
	}
	// The users page's messages made in Go.
	r := id.postForm("/users/nobody/token", url.Values{"csrf": {id.csrf}})
	check("POST /users/nobody/token", r, "Pengguna tidak ditemukan.")
	// Refusals speak Indonesian on pages and stay English in the API.
	alice := e.client(t).speaking("id-ID").mustLogin("alice")
	r = alice.get("/users")
	if r.code != http.StatusForbidden {
		t.Fatalf("analyst on /users: %d", r.code)
	}
	check("/users as analyst", r, "403 Akses ditolak", "Ditolak: halaman ini memerlukan peran admin; peran Anda analis.")
	if r := alice.get("/api/users"); r.code != http.StatusForbidden || !strings.Contains(r.body, "Forbidden: this needs the admin role; you are analyst.") {
		t.Errorf("API refusal: %d %s", r.code, r.body)
	}
}

// The switcher: POST /lang sets the preference cookie, which wins over
// Accept-Language, and comes back to the page; a language we do not have
// and a foreign "next" are refused.
func TestLanguageSwitch(t *testing.T) {
	e := newEnv(t, testStore(t))
	c := e.client(t).speaking("id-ID")
	c.mustLogin("ivan")
	if p := c.get("/cases").body; !strings.Contains(p, `<html lang="id">`) || !strings.Contains(p, `name="lang" value="en"`) {
		t.Fatalf("Indonesian cases page without a switch to English:\n%s", p)
	}
	r := c.postForm("/lang", url.Values{"lang": {"en"}, "next": {"/cases?x=1"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/cases?x=1" {
		t.Fatalf("switch to English: %d, Location %q", r.code, r.hdr.Get("Location"))
	}
	var lc *http.Cookie
	for _, ck := range (&http.Response{Header: r.hdr}).Cookies() {
		if ck.Name == "lw_lang" {
			lc = ck
		}
	}
	if lc == nil || lc.Value != "en" || !lc.HttpOnly || lc.MaxAge < 30*24*3600 {
		t.Fatalf("language cookie %+v", lc)
	}
	if p := c.get("/cases").body; !strings.Contains(p, `<html lang="en">`) || !strings.Contains(p, "New case") || strings.Contains(p, "Kasus baru") {
		t.Error("after choosing English the page is not English despite Accept-Language id")
	}
	// The logged-out login page keeps the choice too.
	if r := c.postForm("/logout", url.Values{"csrf": {c.csrf}}); r.code != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.code)
	}
	if p := c.get("/login").body; !strings.Contains(p, "User name") {
		t.Error("login page after choosing English is not English")
	}
	r = c.postForm("/lang", url.Values{"lang": {"id"}, "next": {"//evil.example/x"}})
	if r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/" {
		t.Errorf("foreign next: %d, Location %q", r.code, r.hdr.Get("Location"))
	}
	if p := c.get("/login").body; !strings.Contains(p, "Nama pengguna") {
		t.Error("switching back to Indonesian did not take")
	}
	if r := c.postForm("/lang", url.Values{"lang": {"fr"}}); r.code != http.StatusBadRequest || !strings.Contains(r.body, "Bahasa tidak dikenal.") {
		t.Errorf("unknown language: %d", r.code)
	}
	// A forged cookie value is ignored: Accept-Language decides.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.ts.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "lw_lang", Value: `"><script>`}})
	f := e.client(t).speaking("id")
	f.hc.Jar = jar
	if p := f.get("/login").body; !strings.Contains(p, `<html lang="id">`) || strings.Contains(p, "<script>") {
		t.Error("a forged language cookie reached the page")
	}
	// Cross-site posts to /lang are refused like every other post.
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/lang", strings.NewReader("lang=en"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := f.do(req); r.code != http.StatusForbidden {
		t.Errorf("cross-site POST /lang: %d", r.code)
	}
}
