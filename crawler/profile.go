package crawler

import (
	"fmt"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"

	"github.com/lokerwatch/lokerwatch/config"
)

// profile extracts ads from any HTML page with the CSS selectors of a site
// profile: one ad per item, with title, text and permalink inside it, and a
// next-page link on the page.
type profile struct {
	item, title, text, link, next cascadia.Selector
}

// newProfile compiles the selectors so that a bad one is a config error at
// start, not a failure on every page.
func newProfile(p *config.Profile) (*profile, error) {
	if p == nil || p.Item == "" || p.Text == "" {
		return nil, fmt.Errorf("html sources need a profile with at least item and text selectors")
	}
	var pr profile
	for _, s := range []struct {
		field, sel string
		dst        *cascadia.Selector
	}{
		{"item", p.Item, &pr.item}, {"title", p.Title, &pr.title}, {"text", p.Text, &pr.text},
		{"link", p.Link, &pr.link}, {"next", p.Next, &pr.next},
	} {
		if s.sel == "" {
			continue
		}
		c, err := cascadia.Compile(s.sel)
		if err != nil {
			return nil, fmt.Errorf("%s selector %q: %w", s.field, s.sel, err)
		}
		*s.dst = c
	}
	return &pr, nil
}

func (pr *profile) extract(p *page) (extraction, error) {
	var ex extraction
	doc, err := p.Doc()
	if err != nil {
		return ex, fmt.Errorf("parse html: %w", err)
	}
	doc.FindMatcher(pr.item).EachWithBreak(func(i int, it *goquery.Selection) bool {
		f := found{Text: selectionText(it.FindMatcher(pr.text))}
		if pr.title != nil {
			f.Title = oneLine(selectionText(it.FindMatcher(pr.title).First()), maxTitleBytes)
		}
		if f.Title == "" {
			f.Title = firstLine(f.Text)
		}
		if f.Text == "" && f.Title == "" {
			ex.problem("item %d has no text", i)
			return true
		}
		if pr.link != nil {
			l := it.FindMatcher(pr.link).First()
			if l.Length() == 0 && it.Is("a") {
				l = it
			}
			href, _ := l.Attr("href")
			f.Permalink = p.resolve(href)
		}
		if f.Permalink == "" {
			f.Permalink = p.URL.String()
			f.Anchor = textAnchor(f)
		}
		ex.addAd(f)
		return len(ex.Ads) < maxAdsPerPage
	})
	if pr.next != nil {
		if href, ok := doc.FindMatcher(pr.next).First().Attr("href"); ok {
			ex.addLink(link{URL: p.resolve(href), Kind: "listing"})
		}
	}
	return ex, nil
}
