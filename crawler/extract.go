package crawler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

// page is a fetched response handed to an extractor.
type page struct {
	URL         *url.URL // after redirects; links resolve against it
	ContentType string
	Body        []byte // decoded, UTF-8 where the server said so

	doc       *goquery.Document
	docErr    error
	flattened bool // nested too deep for the parser; parsed flattened
	tokens    *tokens
	baseURL   *url.URL // see base
}

// Doc parses the body as HTML once, into a tree, for the extractors that
// select elements (Telegram, profiles). JSON-LD and links need no tree:
// see Tokens.
func (p *page) Doc() (*goquery.Document, error) {
	if p.doc == nil && p.docErr == nil {
		var root *html.Node
		root, p.flattened, p.docErr = parseHTML(p.Body)
		if p.docErr == nil {
			p.doc = goquery.NewDocumentFromNode(root)
			p.doc.Url = p.base()
		}
	}
	return p.doc, p.docErr
}

// tokens is what one pass of the HTML tokenizer finds on a page: what the
// job board extractor and link following read. Building the tree is most
// of the cost of parsing a page (and the tree has a depth limit a hostile
// page can hide behind, see parse.go); the token stream is what the tree
// would be built from, so these are the elements a tree would hold, in
// document order. Like the tree, the tokenizer reads <script>, <style>,
// <noscript>, <textarea>, <title> and friends as raw text: a link inside
// one is no link.
type tokens struct {
	base    string   // href of the first <base href>
	scripts []script // <script> elements with a type attribute
	hrefs   []string // href of each <a href>
}

type script struct{ typ, text string }

// Tokens reads the page's tokens once.
func (p *page) Tokens() *tokens {
	if p.tokens != nil {
		return p.tokens
	}
	t := &tokens{}
	p.tokens = t
	z := html.NewTokenizer(bytes.NewReader(p.Body))
	inScript := -1 // index in t.scripts of the script whose text is next
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t // io.EOF: the reader is in memory
		case html.TextToken:
			if inScript >= 0 {
				t.scripts[inScript].text = string(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			// <script/> is no empty element in HTML: its text follows.
			switch atom.Lookup(name) {
			case atom.A:
				if v, ok := attr(z, hasAttr, "href"); ok {
					t.hrefs = append(t.hrefs, v)
				}
			case atom.Base:
				if v, ok := attr(z, hasAttr, "href"); ok && t.base == "" {
					t.base = v
				}
			case atom.Script:
				if v, ok := attr(z, hasAttr, "type"); ok {
					t.scripts = append(t.scripts, script{typ: v})
					inScript = len(t.scripts) - 1
					continue
				}
			}
		}
		inScript = -1
	}
}

// attr is the value of the tag's first attribute named key (the first is
// the one a browser keeps).
func attr(z *html.Tokenizer, more bool, key string) (string, bool) {
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == key {
			return string(v), true
		}
	}
	return "", false
}

// base is what relative links on the page resolve against: its first
// <base href> when that is a usable http(s) URL, else its own URL.
func (p *page) base() *url.URL {
	if p.baseURL == nil {
		p.baseURL = p.URL
		if href := p.Tokens().base; href != "" {
			if b, err := p.URL.Parse(strings.TrimSpace(href)); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
				p.baseURL = b
			}
		}
	}
	return p.baseURL
}

// resolve makes an href absolute against the document; "" when it is not a
// usable http(s) link.
func (p *page) resolve(href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	u, err := p.base().Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// found is an ad as an extractor sees it; the crawler completes it.
type found struct {
	Permalink string // absolute; the ad ID derives from its canonical form
	// Anchor tells apart ads that share a permalink (several on one page
	// without links of their own); it is kept as the URL's fragment, which
	// canonicalisation would otherwise drop.
	Anchor   string
	Title    string
	Text     string
	Company  string
	Location string
	Salary   string
	PostedAt time.Time
	// FromPage: no structured posting; read from the page's own text.
	FromPage bool
}

// link is a URL to follow.
type link struct {
	URL  string // absolute
	Kind string // "listing" (pagination) or "page"
	// canonical says URL is Canonical's output already (followLinks), so
	// that queuing a listing's thousands of links does not redo it.
	canonical bool
}

// extraction is what an extractor got out of a page. Problems is what did
// not parse (a bad JSON-LD block, a message without a permalink): each is
// logged and counted, and the rest of the page is kept.
type extraction struct {
	Ads      []found
	Links    []link
	Problems []error
}

func (e *extraction) problem(format string, args ...any) {
	e.Problems = append(e.Problems, fmt.Errorf(format, args...))
}

func (e *extraction) addAd(f found) {
	if len(e.Ads) >= maxAdsPerPage {
		if len(e.Ads) == maxAdsPerPage {
			e.problem("more than %d ads on one page; the rest are dropped", maxAdsPerPage)
		}
		return
	}
	e.Ads = append(e.Ads, f)
}

func (e *extraction) addLink(l link) {
	if l.URL != "" && len(e.Links) < maxLinksPage {
		e.Links = append(e.Links, l)
	}
}

// extractor gets ads and links out of one page of a source. An error means
// the page as a whole did not parse (a feed that is not XML).
type extractor interface {
	extract(p *page) (extraction, error)
}

// source is a config source made ready to crawl.
type source struct {
	cfg    config.Source
	follow []*regexp.Regexp
	// seedPaths are the seeds' host+path: a followed link with the same path
	// but another query is a listing page (?page=2), revisited on recrawl.
	seedPaths map[string]bool
	ext       extractor
}

// revisitEvery is how long after a visit a request of kind comes back
// (0: never): seeds and listings after every, ad pages after ad_every.
// An ad page is in the seen set and never queued again by a listing; only
// this revisit (conditional: a 304 when unchanged) sees it edited in place.
func (s *source) revisitEvery(kind string) time.Duration {
	switch kind {
	case "seed", "listing":
		return s.cfg.Every.D()
	case "page":
		return s.cfg.AdEvery.D()
	}
	return 0
}

func newSource(s config.Source) (*source, error) {
	src := &source{cfg: s, seedPaths: map[string]bool{}}
	for i, f := range s.Follow {
		re, err := regexp.Compile(f)
		if err != nil {
			return nil, fmt.Errorf("source %q: follow[%d] %q: %w", s.Name, i, f, err)
		}
		src.follow = append(src.follow, re)
	}
	for _, seed := range s.Seeds {
		c, err := Canonical(seed)
		if err != nil {
			return nil, fmt.Errorf("source %q: seed: %w", s.Name, err)
		}
		if u, err := url.Parse(c); err == nil {
			src.seedPaths[u.Host+u.Path] = true
		}
	}
	switch s.Type {
	case lokerwatch.SourceJobBoard:
		src.ext = jobBoard{}
	case lokerwatch.SourceTelegram:
		src.ext = telegram{}
	case lokerwatch.SourceRSS:
		src.ext = feed{}
	case lokerwatch.SourceHTML:
		p, err := newProfile(s.Profile)
		if err != nil {
			return nil, fmt.Errorf("source %q: profile: %w", s.Name, err)
		}
		src.ext = p
	default:
		return nil, fmt.Errorf("source %q: unknown type %q (want jobboard, telegram, rss or html)", s.Name, s.Type)
	}
	return src, nil
}

func (s *source) follows(u string) bool {
	for _, re := range s.follow {
		if re.MatchString(u) {
			return true
		}
	}
	return false
}

// followLinks adds the page's a[href] links that match the source's follow
// patterns. Links are matched in canonical form so that patterns see what
// the frontier will see.
func (s *source) followLinks(p *page, ex *extraction) {
	if len(s.follow) == 0 {
		return
	}
	for _, href := range p.Tokens().hrefs {
		abs := p.resolve(href)
		if abs == "" {
			continue
		}
		c, err := Canonical(abs)
		if err != nil || !s.follows(c) {
			continue
		}
		kind := "page"
		if u, err := url.Parse(c); err == nil && s.seedPaths[u.Host+u.Path] {
			kind = "listing"
		}
		ex.addLink(link{URL: c, Kind: kind, canonical: true})
		if len(ex.Links) >= maxLinksPage {
			return
		}
	}
}

// textAnchor names an ad that has no link of its own (several posts on one
// page) by a digest of its text, so the same post keeps its ID on every
// crawl even when its position on the page moves.
func textAnchor(f found) string {
	h := sha256.Sum256([]byte(f.Title + "\x00" + f.Text))
	return "post-" + hex.EncodeToString(h[:6])
}

// parseTime reads the date formats seen in structured data and feeds.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{
		time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02",
		time.RFC1123Z, time.RFC1123, time.RFC850, time.ANSIC, "02 Jan 2006", "2 January 2006",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1990 || t.Year() > 2200 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	return time.Time{}
}
