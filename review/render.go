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
	"strings"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

//go:embed templates templates/partials
var templateFS embed.FS

// pageSet holds one template set per page, each with the shared layout.
type pageSet struct {
	byName map[string]*template.Template
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
	"qurl": func(path, q string) string {
		if q == "" {
			return path
		}
		return path + "?" + q
	},
	"itemHref": func(id, action, q string) string {
		u := "/item/" + url.PathEscape(id) + "/" + action
		if q != "" {
			u += "?" + q
		}
		return u
	},
}

func parsePages() (*pageSet, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
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
	return ps, nil
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
}

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
	t := s.pages.byName[name]
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
	s.render(w, r, code, "error", newPage(p, http.StatusText(code), "", errorData{Code: code, Status: http.StatusText(code), Message: msg}))
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
