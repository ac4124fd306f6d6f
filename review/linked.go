package review

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// Bounds on linking, so that one very common phone or agency does not turn
// an ad page into a crawl of the whole store.
const (
	maxIDsPerKey  = 200
	maxLinkedAds  = 100
	nearDupMaxBit = 3 // SimHash distance still called a near-duplicate
)

// adSummary is an ad in a list: linked ads and search results.
type adSummary struct {
	ID        string              `json:"id"`
	Title     string              `json:"title"`
	Source    string              `json:"source"`
	URL       string              `json:"url"`
	FirstSeen time.Time           `json:"first_seen,omitzero"`
	LastSeen  time.Time           `json:"last_seen,omitzero"`
	Score     int                 `json:"score"`
	Flagged   bool                `json:"flagged"`
	Category  lokerwatch.Category `json:"category,omitempty"`
	Status    string              `json:"status,omitempty"` // review status, "" when not in the queue
	Verdict   lokerwatch.Verdict  `json:"verdict,omitempty"`
	// Reasons say why a linked ad is linked: "phone +6281234567890",
	// "near-duplicate text (2 bits)".
	Reasons []string `json:"reasons,omitempty"`
}

func (s *Server) summarize(ctx context.Context, ad *lokerwatch.Ad) adSummary {
	sum := adSummary{ID: ad.ID, Title: ad.Title, Source: ad.Source, URL: ad.URL, FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen}
	if a := ad.Assessment; a != nil {
		sum.Score, sum.Flagged, sum.Category = a.Score, a.Flagged, a.Category
	}
	if it, err := s.st.ItemForAd(ctx, ad.ID); err == nil {
		sum.Status, sum.Verdict = string(it.Status), it.Verdict
	} else if !errors.Is(err, lokerwatch.ErrNotFound) {
		s.log.Warn("item for ad", "ad", ad.ID, "err", err)
	}
	return sum
}

// linkedAds finds the ads that share a contact point or agency with ad, or
// whose text is a near-duplicate of it, most links first. The reasons are
// in the context's language (the API's is English).
func (s *Server) linkedAds(ctx context.Context, ad *lokerwatch.Ad) ([]adSummary, error) {
	lang := LangOf(ctx)
	reasons := map[string][]string{}
	var order []string
	nearDup := false
	for _, k := range lokerwatch.IndexKeys(ad) {
		ids, err := s.st.AdsByKey(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("linked ads of %s: %s: %w", ad.ID, k.Kind, err)
		}
		if len(ids) > maxIDsPerKey {
			ids = ids[:maxIDsPerKey]
		}
		for _, id := range ids {
			if id == ad.ID {
				continue
			}
			if _, ok := reasons[id]; !ok {
				order = append(order, id)
				reasons[id] = nil
			}
			if k.Kind == lokerwatch.EntityFingerprint {
				nearDup = true
				continue // verified against the full hash below
			}
			reasons[id] = appendUnique(reasons[id], keyLabelIn(lang, k))
		}
	}
	var out []adSummary
	for _, id := range order {
		if len(out) >= maxLinkedAds {
			break
		}
		other, err := s.st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue // deleted since it was indexed
		}
		if err != nil {
			return nil, fmt.Errorf("linked ads of %s: get %s: %w", ad.ID, id, err)
		}
		rs := reasons[id]
		if nearDup && ad.Fingerprint != 0 && other.Fingerprint != 0 {
			if d := bits.OnesCount64(ad.Fingerprint ^ other.Fingerprint); d <= nearDupMaxBit {
				if d == 0 {
					rs = append(rs, T(lang, "ad.same_text"))
				} else {
					rs = append(rs, T(lang, "ad.near_dup", "Count", d))
				}
			}
		}
		if len(rs) == 0 {
			continue // shared a SimHash band only: not close enough
		}
		sum := s.summarize(ctx, other)
		sum.Reasons = rs
		out = append(out, sum)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if len(out[i].Reasons) != len(out[j].Reasons) {
			return len(out[i].Reasons) > len(out[j].Reasons)
		}
		return out[i].LastSeen.After(out[j].LastSeen)
	})
	return out, nil
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
