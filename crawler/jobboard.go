package crawler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// decodeJSONLD parses a JSON-LD block, tolerating what CMSs wrap it in
// (HTML comments, CDATA markers, a trailing semicolon).
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
	v, err := decodeJSON(s)
	if err != nil && strings.IndexFunc(s, isC0) >= 0 {
		// Raw line breaks and control characters inside strings are invalid
		// JSON that sites publish all the time; as spaces they are harmless.
		if v2, err2 := decodeJSON(strings.Map(func(r rune) rune {
			if isC0(r) {
				return ' '
			}
			return r
		}, s)); err2 == nil {
			return v2, nil
		}
	}
	return v, err
}

func isC0(r rune) bool { return r < 0x20 }

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
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
		Text:     htmlText(str(jp["description"])),
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
