package crawler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

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
}

// Selectors run on every page, compiled once.
var (
	selBase   = cascadia.MustCompile("base[href]")
	selLinks  = cascadia.MustCompile("a[href]")
	selScript = cascadia.MustCompile("script[type]")
)

// Doc parses the body as HTML once.
func (p *page) Doc() (*goquery.Document, error) {
	if p.doc == nil && p.docErr == nil {
		var root *html.Node
		root, p.flattened, p.docErr = parseHTML(p.Body)
		if p.docErr == nil {
			p.doc = goquery.NewDocumentFromNode(root)
			// A <base href> changes what relative links mean.
			if href, ok := p.doc.FindMatcher(selBase).First().Attr("href"); ok {
				if b, err := p.URL.Parse(strings.TrimSpace(href)); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
					p.doc.Url = b
				}
			}
			if p.doc.Url == nil {
				p.doc.Url = p.URL
			}
		}
	}
	return p.doc, p.docErr
}

// resolve makes an href absolute against the document; "" when it is not a
// usable http(s) link.
func (p *page) resolve(href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	base := p.URL
	if p.doc != nil && p.doc.Url != nil {
		base = p.doc.Url
	}
	u, err := base.Parse(href)
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
}

// link is a URL to follow.
type link struct {
	URL  string // absolute
	Kind string // "listing" (pagination) or "page"
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

func (e *extraction) addLink(u, kind string) {
	if u != "" && len(e.Links) < maxLinksPage {
		e.Links = append(e.Links, link{URL: u, Kind: kind})
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
	doc, err := p.Doc()
	if err != nil {
		return
	}
	doc.FindMatcher(selLinks).EachWithBreak(func(_ int, a *goquery.Selection) bool {
		href, _ := a.Attr("href")
		abs := p.resolve(href)
		if abs == "" {
			return true
		}
		c, err := Canonical(abs)
		if err != nil || !s.follows(c) {
			return true
		}
		kind := "page"
		if u, err := url.Parse(c); err == nil && s.seedPaths[u.Host+u.Path] {
			kind = "listing"
		}
		ex.addLink(c, kind)
		return len(ex.Links) < maxLinksPage
	})
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
