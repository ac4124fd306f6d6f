package review

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
	"github.com/lokerwatch/lokerwatch/storage"
)

//go:embed templates templates/partials
var templateFS embed.FS

// pageSet holds one template set per page, each with the shared layout,
// parsed once per console language (the "t" function is bound to it).
type pageSet struct {
	// byName is the English set (the queue row cache renders with it).
	byName map[string]*template.Template
	byLang map[i18n.Lang]map[string]*template.Template
}

// get returns page name in lang, English when lang has no set.
func (ps *pageSet) get(lang i18n.Lang, name string) *template.Template {
	if set, ok := ps.byLang[lang]; ok {
		return set[name]
	}
	return ps.byName[name]
}

// langFuncs are the template functions that speak a language.
func langFuncs(lang i18n.Lang) template.FuncMap {
	return template.FuncMap{
		// t is a catalog message: {{t "nav.queue"}}, {{t "entity.ads" "Count" .N}}.
		"t": func(key string, args ...any) string { return T(lang, key, args...) },
		// enum names a stored value (a verdict, status, role, timeline
		// kind) in lang: {{enum "verdict" .Verdict}} looks up
		// "verdict.scam"; a value the catalog does not know is shown as it is.
		"enum":      func(prefix string, v any) string { return enumLabel(lang, prefix, fmt.Sprint(v)) },
		"catLabel":  func(c lokerwatch.Category) string { return categoryLabelIn(lang, c) },
		"kindLabel": func(k lokerwatch.EntityKind) string { return enumLabel(lang, "kind", string(k)) },
		"countName": func(name string) string { return countNameIn(lang, name) },
	}
}

// countNames are the English names the entity and persona summaries count
// by (shared with the JSON API, which stays English).
var countNames = map[string]string{
	"scam compound":  "category.scam",
	"non-procedural": "category.nonprocedural",
	"trafficking":    "category.trafficking",
	"not flagged":    "count.not_flagged",
	"undecided":      "count.undecided",
}

// countNameIn is a summary's count name in lang.
func countNameIn(lang i18n.Lang, name string) string {
	if key, ok := countNames[name]; ok {
		return T(lang, key)
	}
	return enumLabel(lang, "verdict", name)
}

// enumLabel is the catalog's name for value under prefix, or value itself.
func enumLabel(lang i18n.Lang, prefix, value string) string {
	if value == "" {
		return ""
	}
	c, err := i18n.Load()
	if err != nil || !c.Has(i18n.Default, prefix+"."+value) {
		return value
	}
	return c.T(lang, prefix+"."+value)
}

var templateFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"catLabel":   categoryLabel,
	"catClass":   categoryClass,
	"verdictKey": verdictKey,
	"scoreClass": scoreClass,
	// httpURL returns the URL when it is http(s), else "": hostile ads put
	// javascript: and data: URLs in their links.
	"httpURL": func(u string) string {
		l := strings.ToLower(strings.TrimSpace(u))
		if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
			return u
		}
		return ""
	},
	"add":  func(a, b int) int { return a + b },
	"pct":  func(n int) int { return min(max(n, 0), 100) },
	"join": strings.Join,
	"list": func(xs ...string) []string { return xs },
	// Links are built whole here: a query written after a literal "?" in
	// a template would be escaped as one query value.
	"adHref": adURL,
	"qurl":   qurl,
	"itemHref": func(id, action, q string) string {
		u := "/item/" + url.PathEscape(id) + "/" + action
		if q != "" {
			u += "?" + q
		}
		return u
	},
}

func parsePages() (*pageSet, error) {
	if _, err := i18n.Load(); err != nil {
		return nil, err
	}
	ps := &pageSet{byLang: map[i18n.Lang]map[string]*template.Template{}}
	for _, l := range i18n.Langs {
		set, err := parseLang(l)
		if err != nil {
			return nil, err
		}
		ps.byLang[l] = set
	}
	ps.byName = ps.byLang[i18n.English]
	return ps, nil
}

// parseLang parses every page with the functions of lang.
func parseLang(lang i18n.Lang) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).Funcs(langFuncs(lang)).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse console templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse console templates: %w", err)
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("parse console templates: %w", err)
		}
		if _, err := t.ParseFS(templateFS, n); err != nil {
			return nil, fmt.Errorf("parse console template %s: %w", n, err)
		}
		ps.byName[base] = t
	}
	return ps.byName, nil
}

// pageData is what every page template gets.
type pageData struct {
	Title string
	Nav   string // which menu entry is current
	User  *storage.User
	CSRF  string
	Flash string
	// Page names the page for the console script (data-page on <body>).
	Page string
	Body any
	// Lang is the page's language; Here the page's own path and query,
	// where the language switcher comes back to (render fills both).
	Lang i18n.Lang
	Here string
}

// herePath is where the language switcher returns to: this page without
// its one-off flash message (msg=), which is not to be shown twice.
func herePath(u *url.URL) string {
	q := u.Query()
	if !q.Has("msg") {
		return u.RequestURI()
	}
	q.Del("msg")
	return qurl(u.EscapedPath(), q.Encode())
}

func qurl(path, q string) string {
	if q == "" {
		return path
	}
	return path + "?" + q
}

// Langs are the languages the switcher offers.
func (d *pageData) Langs() []i18n.Lang { return i18n.Langs }

func (d *pageData) CanSearch() bool {
	return d.User != nil && allows(d.User.Role, storage.RoleInvestigator)
}
func (d *pageData) CanAdmin() bool { return d.User != nil && allows(d.User.Role, storage.RoleAdmin) }

// newPage fills the common fields for a signed-in user.
func newPage(p *principal, title, nav string, body any) *pageData {
	d := &pageData{Title: title, Nav: nav, Body: body, Page: nav}
	if p != nil {
		d.User = p.user
		if p.sess != nil {
			d.CSRF = p.sess.CSRF
		}
	}
	return d
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, d *pageData) {
	if d.Lang == "" {
		d.Lang = langOf(r)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		d.Here = herePath(r.URL)
	}
	t := s.pages.get(d.Lang, name)
	if t == nil {
		s.log.Error("no such console template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if d.Page == "" {
		d.Page = name
	}
	buf := renderBufs.Get().(*bytes.Buffer)
	defer putRenderBuf(buf)
	if err := t.ExecuteTemplate(buf, "layout.html", d); err != nil {
		s.log.Error("render console page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// renderBufs reuses page buffers: a queue page is tens of kilobytes, and
// growing a fresh buffer to that size for every page was most of the
// console's garbage.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putRenderBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 { // let an odd huge page go
		return
	}
	b.Reset()
	renderBufs.Put(b)
}

type errorData struct {
	Code    int
	Status  string
	Message string
}

// errorPage shows a plain error; it never includes error values, which may
// hold paths, SQL or secrets.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	var p *principal
	if pp, err := s.identify(r); err == nil {
		p = pp
	}
	w.Header().Set("Cache-Control", "no-store")
	l := langOf(r)
	status := statusText(l, code)
	s.render(w, r, code, "error", newPage(p, status, "", errorData{Code: code, Status: status, Message: errorMessageIn(l, msg)}))
}

// statusText is an HTTP status in lang.
func statusText(lang i18n.Lang, code int) string {
	key := "status." + strconv.Itoa(code)
	if c, err := i18n.Load(); err == nil && c.Has(i18n.Default, key) {
		return c.T(lang, key)
	}
	return http.StatusText(code)
}

// errorMessageIn translates the console's fixed error messages (the
// catalog's "error.msg.*" entries hold their English text); a message
// built with values is shown as it was made.
func errorMessageIn(lang i18n.Lang, msg string) string {
	c, err := i18n.Load()
	if err != nil {
		return msg
	}
	if key, ok := c.KeyOf("error.msg.", msg); ok {
		return c.T(lang, key)
	}
	return msg
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": msg, "status": code})
}

// categoryLabelIn is a category's name in lang.
func categoryLabelIn(lang i18n.Lang, c lokerwatch.Category) string {
	if c == "" {
		return "–"
	}
	return enumLabel(lang, "category", string(c))
}

func categoryLabel(c lokerwatch.Category) string {
	switch c {
	case lokerwatch.CategoryScam:
		return "scam compound"
	case lokerwatch.CategoryNonprocedural:
		return "non-procedural"
	case lokerwatch.CategoryTrafficking:
		return "trafficking"
	case "":
		return "–"
	}
	return string(c)
}

// verdictKey is the keyboard key of a verdict.
func verdictKey(v lokerwatch.Verdict) string {
	switch v {
	case lokerwatch.VerdictScam:
		return "1"
	case lokerwatch.VerdictNonprocedural:
		return "2"
	case lokerwatch.VerdictTrafficking:
		return "3"
	case lokerwatch.VerdictBenign:
		return "0"
	case lokerwatch.VerdictEscalate:
		return "e"
	}
	return ""
}

func scoreClass(n int) string {
	switch {
	case n >= 80:
		return "score-high"
	case n >= 50:
		return "score-mid"
	}
	return "score-low"
}
