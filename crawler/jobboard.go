package crawler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/tailscale/hujson"
)

const (
	maxJSONLD      = 1 << 20 // bytes per JSON-LD block
	maxJSONLDDepth = 32      // nesting walked looking for JobPosting
)

// jobBoard extracts schema.org JobPosting objects from JSON-LD, which job
// boards publish for search engines, and follows the source's links.
type jobBoard struct{}

func (jobBoard) extract(p *page) (extraction, error) {
	var ex extraction
	var postings []map[string]any
	for i, s := range p.Tokens().scripts {
		if mt, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s.typ)), ";"); strings.TrimSpace(mt) != "application/ld+json" {
			continue
		}
		raw := s.text
		if len(raw) > maxJSONLD {
			ex.problem("JSON-LD block %d: %d bytes is over the %d byte limit", i, len(raw), maxJSONLD)
			continue
		}
		v, err := decodeJSONLD(raw)
		if err != nil {
			ex.problem("JSON-LD block %d: %w", i, err)
			continue
		}
		collectPostings(v, 0, &postings)
	}
	for i, jp := range postings {
		f := postingAd(jp)
		f.Permalink = p.URL.String()
		if len(postings) > 1 {
			// Several postings on one page: each needs its own identity.
			if u := p.resolve(str(jp["url"])); u != "" && u != p.URL.String() {
				f.Permalink = u
			} else if id := identifier(jp["identifier"]); id != "" {
				f.Anchor = "job-" + id
			} else {
				f.Anchor = textAnchor(f)
			}
		}
		if f.Title == "" && f.Text == "" {
			ex.problem("JobPosting %d has neither title nor description", i)
			continue
		}
		ex.addAd(f)
	}
	return ex, nil
}

// decodeJSONLD parses a JSON-LD block as sites publish it: wrapped in what
// CMSs add (HTML comments, CDATA markers, a trailing semicolon), with
// comments and trailing commas (read by hujson, the JWCC parser: JSON with
// comments and trailing commas) and with raw line breaks and control
// characters inside strings (escaped first, as no JSON parser takes them).
func decodeJSONLD(raw string) (any, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "<!--")
	s = strings.TrimSuffix(s, "-->")
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "//<![CDATA[")
	s = strings.TrimPrefix(s, "<![CDATA[")
	s = strings.TrimSuffix(s, "//]]>")
	s = strings.TrimSuffix(s, "]]>")
	s = strings.TrimSuffix(strings.TrimSpace(s), ";")
	if s == "" {
		return nil, fmt.Errorf("empty")
	}
	b := escapeControls([]byte(s))
	if json.Valid(b) {
		// Most JSON-LD is standard JSON: hujson (a superset whose
		// literals are checked by json.Valid too) would give the same
		// value with a parse and a copy more.
		return decodeJSON(b)
	}
	std, err := hujson.Standardize(b)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return decodeJSON(std)
}

// escapeControls writes the control characters inside JSON strings as
// escapes (a raw line break as \n); outside strings they are white space
// or an error the parser reports.
func escapeControls(b []byte) []byte {
	var out []byte // nil until a control character is found in a string
	inString, escaped := false, false
	for i, c := range b {
		switch {
		case !inString:
			inString = c == '"'
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inString = false
		case c < 0x20:
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			switch c {
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			default:
				out = append(out, fmt.Sprintf("\\u%04x", c)...)
			}
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return b
	}
	return out
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid JSON: data after the first value")
	}
	return v, nil
}

// collectPostings finds JobPosting objects at the top level, in arrays and
// in @graph, without descending into other objects' properties (a
// JobPosting nested in an ItemList's itemListElement is still found).
func collectPostings(v any, depth int, out *[]map[string]any) {
	if depth > maxJSONLDDepth || len(*out) >= maxAdsPerPage {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectPostings(e, depth+1, out)
		}
	case map[string]any:
		if isType(x["@type"], "JobPosting") {
			*out = append(*out, x)
			return
		}
		for _, k := range []string{"@graph", "itemListElement", "item", "mainEntity"} {
			if c, ok := x[k]; ok {
				collectPostings(c, depth+1, out)
			}
		}
	}
}

// isType matches "@type": "JobPosting", a full IRI, or an array of types.
func isType(t any, want string) bool {
	switch x := t.(type) {
	case string:
		x = strings.TrimSpace(x)
		return strings.EqualFold(x, want) || strings.HasSuffix(strings.ToLower(x), "/"+strings.ToLower(want))
	case []any:
		for _, e := range x {
			if isType(e, want) {
				return true
			}
		}
	}
	return false
}

func postingAd(jp map[string]any) found {
	f := found{
		Title:    oneLine(htmlText(str(jp["title"])), maxTitleBytes),
		Text:     descriptionText(str(jp["description"])),
		Company:  oneLine(htmlText(name(jp["hiringOrganization"])), maxTitleBytes),
		Location: oneLine(location(jp), maxTitleBytes),
		Salary:   oneLine(salary(jp["baseSalary"]), maxTitleBytes),
		PostedAt: parseTime(str(jp["datePosted"])),
	}
	if f.Title == "" {
		f.Title = oneLine(htmlText(str(jp["name"])), maxTitleBytes)
	}
	return f
}

// str returns a JSON-LD value as a string: strings, numbers, the first of an
// array, or an object's @value.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		for _, e := range x {
			if s := str(e); s != "" {
				return s
			}
		}
	case map[string]any:
		return str(x["@value"])
	}
	return ""
}

// name reads an Organization (or a plain string) as its name.
func name(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if n := str(x["name"]); n != "" {
			return n
		}
		return str(x["legalName"])
	case []any:
		for _, e := range x {
			if n := name(e); n != "" {
				return n
			}
		}
	}
	return str(v)
}

func identifier(v any) string {
	if m, ok := v.(map[string]any); ok {
		return strings.TrimSpace(str(m["value"]))
	}
	return strings.TrimSpace(str(v))
}

// location joins the posting's places: jobLocation (Place or array of
// Places, their PostalAddress or plain address), or "Remote" for
// TELECOMMUTE jobs with the applicant location requirement.
func location(jp map[string]any) string {
	var parts []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		for _, p := range parts {
			if p == s {
				return
			}
		}
		if s != "" && len(parts) < 20 {
			parts = append(parts, s)
		}
	}
	var place func(v any, depth int)
	place = func(v any, depth int) {
		if depth > 4 {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				place(e, depth+1)
			}
		case map[string]any:
			if a, ok := x["address"]; ok {
				add(address(a))
			} else if isType(x["@type"], "PostalAddress") {
				add(address(x))
			} else {
				add(str(x["name"]))
			}
		case string:
			add(x)
		}
	}
	place(jp["jobLocation"], 0)
	if strings.EqualFold(str(jp["jobLocationType"]), "TELECOMMUTE") {
		add("Remote")
		place(jp["applicantLocationRequirements"], 0)
	}
	return htmlText(strings.Join(parts, "; "))
}

func address(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return str(v)
	}
	var parts []string
	for _, k := range []string{"streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry"} {
		s := strings.TrimSpace(name(m[k]))
		if s != "" && !contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func contains(ss []string, s string) bool {
	for _, e := range ss {
		if e == s {
			return true
		}
	}
	return false
}

// salary writes a MonetaryAmount as "CUR min-max per UNIT" ("USD 1500-2000
// per MONTH"), or a plain string as given.
func salary(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		if a, ok := v.([]any); ok && len(a) > 0 {
			return salary(a[0])
		}
		return htmlText(str(v))
	}
	cur := strings.TrimSpace(str(m["currency"]))
	val := m["value"]
	amount, unit := "", strings.TrimSpace(str(m["unitText"]))
	if q, ok := val.(map[string]any); ok {
		if u := strings.TrimSpace(str(q["unitText"])); u != "" {
			unit = u
		}
		lo, hi, v := str(q["minValue"]), str(q["maxValue"]), str(q["value"])
		switch {
		case lo != "" && hi != "" && lo != hi:
			amount = lo + "-" + hi
		case v != "":
			amount = v
		case lo != "":
			amount = lo
		case hi != "":
			amount = hi
		}
	} else {
		amount = str(val)
	}
	var b bytes.Buffer
	for _, s := range []string{cur, amount} {
		if s != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
	}
	if unit != "" && amount != "" {
		b.WriteString(" per ")
		b.WriteString(unit)
	}
	return htmlText(b.String())
}

var (
	realTag = regexp.MustCompile(`<(?:/?[a-zA-Z][a-zA-Z0-9]*[\s/>]|!--)`)
	// Formatting tags only: an escaped <img onerror=…> is a payload the
	// site shows as text, and stays text.
	escapedTag = regexp.MustCompile(`(?i)&(?:amp;)*lt;/?(?:p|br|div|span|ul|ol|li|b|strong|i|em|u|h[1-6]|table|tr|td|th)(?:\s|/|&(?:amp;)*gt;)`)
)

// descriptionText turns a description into text. Sites escape their HTML
// once too often (&lt;p&gt;Gaji…): a description with escaped formatting
// tags and no real ones is unescaped until it has real markup, then read
// as HTML. One that has real tags is taken as it is, its escaped ones
// being text the site meant to show.
func descriptionText(s string) string {
	for i := 0; i < 4 && !realTag.MatchString(s) && escapedTag.MatchString(s); i++ {
		s = html.UnescapeString(s)
	}
	return htmlText(s)
}

// minPageText is how much text outside links a page without any
// JobPosting needs to be read as an ad: a page of links (a calendar, an
// index) is not one.
const minPageText = 80

// pageAd reads an ad page without a usable JobPosting as the page itself:
// its og:title (else its first h1, else its title) and its main text
// (main, article or the body, without navigation, headers, footers and
// forms). ok is false when the page has neither, and when it had no
// JobPosting at all (broken is false) and less than minPageText of text
// outside links.
func pageAd(p *page, broken bool) (f found, ok bool) {
	doc, err := p.Doc()
	if err != nil {
		return f, false
	}
	meta := func(prop string) string {
		v, _ := doc.Find(`meta[property="` + prop + `"], meta[name="` + prop + `"]`).First().Attr("content")
		return strings.TrimSpace(v)
	}
	title := htmlText(meta("og:title"))
	if title == "" {
		title = selectionText(doc.Find("h1").First())
	}
	if title == "" {
		title = selectionText(doc.Find("title").First())
	}
	var main *goquery.Selection
	for _, sel := range []string{"main", "article", `[role="main"]`, "body"} {
		if m := doc.Find(sel).First(); m.Length() > 0 {
			main = m.Clone()
			break
		}
	}
	text := ""
	if main != nil {
		main.Find("script, style, noscript, template, nav, header, footer, aside, form, svg, iframe").Remove()
		text = selectionText(main)
		if !broken {
			bare := main.Clone()
			bare.Find("a").Remove()
			if len(strings.TrimSpace(selectionText(bare))) < minPageText {
				return f, false
			}
		}
	}
	if strings.TrimSpace(text) == "" {
		text = htmlText(meta("og:description"))
	}
	f = found{Title: oneLine(title, maxTitleBytes), Text: text, Permalink: p.URL.String(), FromPage: true}
	if f.Title == "" {
		f.Title = firstLine(f.Text)
	}
	return f, f.Title != "" || strings.TrimSpace(f.Text) != ""
}
