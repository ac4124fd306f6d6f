package crawler

import (
	"fmt"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// telegram extracts the messages of a public channel preview
// (https://t.me/s/NAME): one ad per .tgme_widget_message, paging back
// through "load older" (a.tme_messages_more).
type telegram struct{}

func (telegram) extract(p *page) (extraction, error) {
	var ex extraction
	doc, err := p.Doc()
	if err != nil {
		return ex, fmt.Errorf("parse html: %w", err)
	}
	doc.Find(".tgme_widget_message").EachWithBreak(func(i int, m *goquery.Selection) bool {
		if m.HasClass("service_message") {
			return true
		}
		text := selectionText(m.Find(".tgme_widget_message_text").First())
		if text == "" {
			// Photos, stickers and polls without a caption carry no offer.
			return true
		}
		f := found{Text: text, Title: firstLine(text)}
		date := m.Find("a.tgme_widget_message_date").First()
		if date.Length() == 0 {
			date = m.Find(".tgme_widget_message_date").First()
		}
		if href, ok := date.Attr("href"); ok {
			f.Permalink = p.resolve(href)
		}
		if f.Permalink == "" {
			// data-post="channel/123" names the message when the date link is missing.
			if post, ok := m.Attr("data-post"); ok && strings.Contains(post, "/") {
				f.Permalink = p.resolve("https://t.me/" + strings.TrimPrefix(strings.TrimSpace(post), "/"))
			}
		}
		if f.Permalink == "" {
			ex.problem("message %d has no permalink (no .tgme_widget_message_date href or data-post)", i)
			return true
		}
		dt, ok := date.Find("time[datetime]").Attr("datetime")
		if !ok {
			dt, _ = m.Find("time[datetime]").First().Attr("datetime")
		}
		f.PostedAt = parseTime(dt)
		ex.addAd(f)
		return len(ex.Ads) < maxAdsPerPage
	})
	// Older pages only: a "load newer" link (?after=) leads back to pages
	// this crawl has already seen under another URL.
	doc.Find("a.tme_messages_more").EachWithBreak(func(_ int, a *goquery.Selection) bool {
		href, _ := a.Attr("href")
		_, before := a.Attr("data-before")
		if before || strings.Contains(href, "before=") || !strings.Contains(href, "after=") {
			ex.addLink(link{URL: p.resolve(href), Kind: "listing"})
			return false
		}
		return true
	})
	return ex, nil
}
