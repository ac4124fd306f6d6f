package crawler

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Limits on what one page may make us hold. Crawled pages are hostile.
const (
	maxTextBytes  = 64 << 10 // text kept per ad field
	maxTitleBytes = 512
	maxAdsPerPage = 2000
	maxLinksPage  = 5000
	maxNodeDepth  = 512 // deeper nodes are not walked (5,000 nested tables)
)

// skipElems hold no readable text: their content is dropped, never kept.
var skipElems = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true,
	atom.Math: true, atom.Head: true, atom.Select: true, atom.Canvas: true,
}

// blockElems end a line of text.
var blockElems = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true,
	atom.Ol: true, atom.Tr: true, atom.Table: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Blockquote: true,
	atom.Pre: true, atom.Hr: true, atom.Dd: true, atom.Dt: true, atom.Dl: true,
	atom.Address: true, atom.Figure: true, atom.Figcaption: true, atom.Main: true,
	atom.Nav: true, atom.Aside: true, atom.Form: true, atom.Fieldset: true,
}

// paraElems are set off by a blank line.
var paraElems = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Blockquote: true, atom.Pre: true, atom.Table: true,
}

// textBuilder collects text from HTML nodes, one line per block element,
// with runs of white space collapsed, and stops growing at maxTextBytes.
type textBuilder struct {
	b     strings.Builder
	space bool // a space is pending before the next word
	nl    int  // newlines pending before the next word
	// keepNL makes line breaks in text count (plain text and <pre>); in
	// HTML they are white space.
	keepNL bool
}

func (t *textBuilder) full() bool { return t.b.Len() >= maxTextBytes }

func (t *textBuilder) write(s string) {
	for _, r := range s {
		if t.full() {
			return
		}
		switch {
		case r == '\n' && t.keepNL:
			t.br()
		case unicode.IsSpace(r) || r == '\u00a0':
			t.space = true
		case r == 0 || r == utf8.RuneError || (unicode.IsControl(r) && r != '\t'):
			// NULs, stray control characters and invalid bytes carry no text.
		default:
			if t.b.Len() > 0 {
				if t.nl > 0 {
					t.b.WriteString("\n\n"[:t.nl])
				} else if t.space {
					t.b.WriteByte(' ')
				}
			}
			t.nl, t.space = 0, false
			t.b.WriteRune(r)
		}
	}
}

// newline ends the line; br counts (two make a blank line), block
// boundaries do not add up.
func (t *textBuilder) br() { t.nl = min(t.nl+1, 2) }

func (t *textBuilder) block(n int) { t.nl = max(t.nl, n) }

func (t *textBuilder) node(n *html.Node, depth int) {
	if depth > maxNodeDepth || t.full() {
		return
	}
	switch n.Type {
	case html.TextNode:
		t.write(n.Data)
		return
	case html.CommentNode, html.DoctypeNode:
		return
	case html.ElementNode:
		if skipElems[n.DataAtom] {
			return
		}
		if n.DataAtom == atom.Br {
			t.br()
			return
		}
	}
	lines := 0
	if n.Type == html.ElementNode && blockElems[n.DataAtom] {
		lines = 1
		if paraElems[n.DataAtom] {
			lines = 2
		}
	}
	t.block(lines)
	pre := n.Type == html.ElementNode && n.DataAtom == atom.Pre && !t.keepNL
	if pre {
		t.keepNL = true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.node(c, depth+1)
	}
	if pre {
		t.keepNL = false
	}
	t.block(lines)
}

func (t *textBuilder) String() string { return t.b.String() }

// selectionText is the readable text of a goquery selection: never HTML.
func selectionText(s *goquery.Selection) string {
	var t textBuilder
	for _, n := range s.Nodes {
		t.node(n, 0)
		t.block(1)
	}
	return t.String()
}

// htmlText turns an HTML fragment (a JSON-LD description, a feed item) into
// plain text. Plain text goes through unchanged apart from white space.
func htmlText(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 4*maxTextBytes {
		s = s[:4*maxTextBytes]
	}
	if !strings.ContainsAny(s, "<&") {
		t := textBuilder{keepNL: true}
		t.write(s)
		return t.String()
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := parseFragment(s, body)
	if err != nil {
		// The tokenizer accepts anything; an error is a read error, and the
		// raw string has no markup worth keeping.
		t := textBuilder{keepNL: true}
		t.write(s)
		return t.String()
	}
	var t textBuilder
	for _, n := range nodes {
		t.node(n, 0)
	}
	return t.String()
}

// oneLine collapses text to a single line of at most max bytes, cut at a
// rune boundary, for titles.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	// End at a word when one ends in the second half.
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > max/2 {
		cut = sp
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

// firstLine is the first non-empty line of text, used as a title for posts
// that have none (Telegram messages).
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return oneLine(l, 140)
		}
	}
	return ""
}
