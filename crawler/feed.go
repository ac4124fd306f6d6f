package crawler

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
)

// feed extracts one ad per item of an RSS (0.9x, 1.0, 2.0) or Atom feed.
// gofeed is lenient about the mistakes real feeds make (undeclared
// entities, odd dates, HTML in titles).
type feed struct{}

func (feed) extract(p *page) (extraction, error) {
	var ex extraction
	fd, err := gofeed.NewParser().Parse(bytes.NewReader(p.Body))
	if err != nil {
		// One stray byte (invalid UTF-8, a NUL) makes a feed bad XML as a
		// whole; with them replaced the items are usually all there.
		safe := xmlSafe(p.Body)
		if bytes.Equal(safe, p.Body) {
			return ex, fmt.Errorf("parse feed: %w", err)
		}
		fd, err = gofeed.NewParser().Parse(bytes.NewReader(safe))
		if err != nil {
			return ex, fmt.Errorf("parse feed: %w", err)
		}
		ex.problem("feed has bytes XML does not allow (invalid UTF-8 or control characters); parsed with them replaced")
	}
	for i, it := range fd.Items {
		if it == nil {
			continue
		}
		text := it.Content
		if strings.TrimSpace(htmlText(text)) == "" {
			text = it.Description
		}
		f := found{
			Title: oneLine(htmlText(it.Title), maxTitleBytes),
			Text:  descriptionText(text),
		}
		switch {
		case it.PublishedParsed != nil:
			f.PostedAt = it.PublishedParsed.UTC()
		case it.UpdatedParsed != nil:
			f.PostedAt = it.UpdatedParsed.UTC()
		}
		if f.PostedAt.Year() < 1990 || f.PostedAt.After(time.Now().AddDate(5, 0, 0)) {
			f.PostedAt = time.Time{}
		}
		if f.Title == "" && f.Text == "" {
			ex.problem("feed item %d has neither title nor text", i)
			continue
		}
		f.Permalink = p.resolve(it.Link)
		for _, l := range it.Links {
			if f.Permalink != "" {
				break
			}
			f.Permalink = p.resolve(l)
		}
		if f.Permalink == "" {
			// A GUID is a link only when it is an absolute URL.
			if g, err := url.Parse(strings.TrimSpace(it.GUID)); err == nil && g.IsAbs() {
				f.Permalink = p.resolve(g.String())
			}
		}
		if f.Permalink == "" {
			// No link at all: the item lives in the feed, named by its GUID or text.
			f.Permalink = p.URL.String()
			if g := strings.TrimSpace(it.GUID); g != "" {
				f.Anchor = "guid-" + g
			} else {
				f.Anchor = textAnchor(f)
			}
		}
		ex.addAd(f)
	}
	return ex, nil
}
