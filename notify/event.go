package notify

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

// EventFlagged is the type of the one event sent today: a review item
// matched a notify rule.
const EventFlagged = "review.flagged"

// Event is the JSON body of a webhook delivery, and what a Telegram
// message is written from. It is frozen when the alert enters the outbox.
type Event struct {
	// ID is the delivery's ID, unique per item and channel (also in the
	// X-Lokerwatch-Delivery header): a receiver that saw it drops a repeat.
	ID    string    `json:"id"`
	Type  string    `json:"type"`
	Rules []string  `json:"rules"` // names of the notify rules that matched
	Item  EventItem `json:"item"`
	// DeskURL links the ad's page on the review desk (notify.desk_url).
	DeskURL   string    `json:"desk_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// EventItem is the review item as the alert tells it.
type EventItem struct {
	ID         string                      `json:"id"`
	AdID       string                      `json:"ad_id"`
	URL        string                      `json:"url"`
	Title      string                      `json:"title"`
	Source     string                      `json:"source"`
	Lang       string                      `json:"lang,omitempty"`
	Score      int                         `json:"score"`
	Category   lokerwatch.Category         `json:"category"`
	Categories map[lokerwatch.Category]int `json:"categories,omitempty"`
	Reasons    []Reason                    `json:"reasons,omitempty"`
	QueuedAt   time.Time                   `json:"queued_at"`
}

// Reason is one of the signals that weighed most.
type Reason struct {
	Rule        string              `json:"rule"`
	Category    lokerwatch.Category `json:"category"`
	Weight      int                 `json:"weight"`
	Description string              `json:"description,omitempty"`
	Evidence    string              `json:"evidence,omitempty"`
}

const (
	maxReasons  = 3
	maxEvidence = 200
	maxTitle    = 300
)

// match returns the names of the rules that select the item and the
// channels they name, in config order.
func match(rules []config.NotifyRule, it *lokerwatch.ReviewItem) (names, channels []string) {
	for _, r := range rules {
		if it.Score < r.MinScore {
			continue
		}
		if len(r.Categories) > 0 && !slices.Contains(r.Categories, it.Category) {
			continue
		}
		if len(r.Sources) > 0 && !slices.Contains(r.Sources, it.Source) {
			continue
		}
		names = append(names, r.Name)
		for _, to := range r.To {
			if !slices.Contains(channels, to) {
				channels = append(channels, to)
			}
		}
	}
	return names, channels
}

// newEvent describes the item (and its ad, when known, for the reasons).
func newEvent(it *lokerwatch.ReviewItem, ad *lokerwatch.Ad, rules []string, deskURL string, now time.Time) Event {
	ev := Event{
		Type: EventFlagged, Rules: rules, CreatedAt: now.UTC(),
		Item: EventItem{
			ID: it.ID, AdID: it.AdID, URL: it.URL, Title: clip(it.Title, maxTitle), Source: it.Source, Lang: it.Lang,
			Score: it.Score, Category: it.Category, QueuedAt: it.CreatedAt.UTC(),
		},
	}
	if deskURL != "" && it.AdID != "" {
		ev.DeskURL = strings.TrimRight(deskURL, "/") + "/ad/" + it.AdID
	}
	if ad != nil && ad.Assessment != nil {
		ev.Item.Categories = ad.Assessment.Categories
		sigs := slices.Clone(ad.Assessment.Signals)
		slices.SortStableFunc(sigs, func(a, b lokerwatch.Signal) int { return cmp.Compare(b.Weight, a.Weight) })
		for _, s := range sigs {
			if s.Weight <= 0 || len(ev.Item.Reasons) == maxReasons {
				break
			}
			ev.Item.Reasons = append(ev.Item.Reasons, Reason{Rule: s.Rule, Category: s.Category, Weight: s.Weight,
				Description: s.Description, Evidence: clip(s.Evidence, maxEvidence)})
		}
	}
	return ev
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
