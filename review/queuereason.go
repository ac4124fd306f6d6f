package review

import (
	"context"
	"errors"
	"math/bits"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// What a queue row says about its ad beyond the item: the top reason, a
// snippet of the text and how many ads are linked to it (issue 22).

const (
	reasonMaxRunes  = 70
	snippetMaxRunes = 140
)

// The row's reason is the ad page's (Server.topReason in why.go: the first
// clause of the description of the rule that added the most), cut shorter
// to fit a row.

// oneLine folds runs of white space (new lines included) into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cutRunes shortens s to at most n characters, never inside one, marking
// the cut with an ellipsis.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return strings.TrimRight(s[:i], " ,.;:") + "…"
}

// rowInfo is what a queue row shows about its ad, in one language.
type rowInfo struct {
	Reason, Phrase, Snippet string
	Linked                  int
}

// adRowInfo is what the cache keeps of an ad: the reason in every
// language (the same rows are shown to readers of both), the rest once.
type adRowInfo struct {
	reasons map[i18n.Lang]reason
	snippet string
	linked  int
}

// in is the row info in lang.
func (a adRowInfo) in(lang i18n.Lang) rowInfo {
	r := a.reasons[lang]
	return rowInfo{Reason: cutRunes(oneLine(r.Text), reasonMaxRunes), Phrase: cutRunes(oneLine(r.Phrase), 40), Snippet: a.snippet, Linked: a.linked}
}

// rowInfoCache keeps rowInfo per ad for a while: every analyst's queue page
// shows much the same rows, and counting linked ads reads the ad index. An
// entry is used while the item's score is the one it was made for (a
// rescore queues the ad again) and it is younger than rowInfoTTL, so new
// links show within a minute.
type rowInfoCache struct {
	mu sync.Mutex
	m  map[string]rowInfoEntry
}

type rowInfoEntry struct {
	score int
	at    time.Time
	info  adRowInfo
}

const (
	rowInfoTTL = time.Minute
	rowInfoMax = 4096
)

// queueRowInfo is the row info of it's ad, in lang.
func (s *Server) queueRowInfo(ctx context.Context, lang i18n.Lang, it *lokerwatch.ReviewItem) rowInfo {
	c := &s.rowInfos
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[it.AdID]
	c.mu.Unlock()
	if ok && e.score == it.Score && now.Sub(e.at) < rowInfoTTL {
		return e.info.in(lang)
	}
	var info adRowInfo
	ad, err := s.st.GetAd(ctx, it.AdID)
	switch {
	case errors.Is(err, lokerwatch.ErrNotFound):
		// Deleted since it was queued: the row shows what the item knows.
	case err != nil:
		// The page must not fail for one ad; the next load tries again.
		s.log.Warn("queue row: read ad", "ad", it.AdID, "err", err)
		return info.in(lang)
	default:
		info.reasons = make(map[i18n.Lang]reason, len(i18n.Langs))
		for _, l := range i18n.Langs {
			info.reasons[l] = s.topReason(l, ad.Assessment)
		}
		info.snippet = cutRunes(oneLine(ad.Text), snippetMaxRunes)
		if info.linked, err = s.linkedCount(ctx, ad); err != nil {
			s.log.Warn("queue row: count linked ads", "ad", it.AdID, "err", err)
			return info.in(lang)
		}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= rowInfoMax {
		c.m = map[string]rowInfoEntry{}
	}
	c.m[it.AdID] = rowInfoEntry{score: it.Score, at: now, info: info}
	c.mu.Unlock()
	return info.in(lang)
}

// linkedCount counts the ads linkedAds would list for ad (a shared contact
// point, account or agency, or near-duplicate text), up to maxLinkedAds,
// without reading their review items.
func (s *Server) linkedCount(ctx context.Context, ad *lokerwatch.Ad) (int, error) {
	linked := map[string]bool{}
	var maybe []string // share a SimHash band only: the full hash decides
	for _, k := range lokerwatch.IndexKeys(ad) {
		ids, err := s.st.AdsByKey(ctx, k)
		if err != nil {
			return 0, err
		}
		if len(ids) > maxIDsPerKey {
			ids = ids[:maxIDsPerKey]
		}
		for _, id := range ids {
			if id == ad.ID || linked[id] {
				continue
			}
			if k.Kind == lokerwatch.EntityFingerprint {
				maybe = append(maybe, id)
				continue
			}
			linked[id] = true
		}
	}
	for _, id := range maybe {
		if linked[id] || len(linked) >= maxLinkedAds || ad.Fingerprint == 0 {
			continue
		}
		other, err := s.st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if other.Fingerprint != 0 && bits.OnesCount64(ad.Fingerprint^other.Fingerprint) <= nearDupMaxBit {
			linked[id] = true
		}
	}
	return min(len(linked), maxLinkedAds), nil
}
