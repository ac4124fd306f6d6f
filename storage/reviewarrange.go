package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/lokerwatch/lokerwatch"
)

// ReviewSort is an order of the review queue.
type ReviewSort string

const (
	SortScore  ReviewSort = "score"  // highest score first, then oldest (the priority)
	SortAge    ReviewSort = "age"    // oldest first
	SortSource ReviewSort = "source" // source A–Z, then priority
	SortSize   ReviewSort = "size"   // biggest repost cluster first, then priority
)

// ParseReviewSort reads a sort name; "" is SortScore.
func ParseReviewSort(s string) (ReviewSort, error) {
	switch ReviewSort(s) {
	case "", SortScore:
		return SortScore, nil
	case SortAge, SortSource, SortSize:
		return ReviewSort(s), nil
	}
	return "", fmt.Errorf("sort %q: want score, age, source or size", s)
}

// Arranged reports whether f asks for more than a page in priority order:
// then a store reads f.Selection() whole and hands it to ArrangeItems.
func (f ReviewFilter) Arranged() bool {
	return f.Group || f.Reverse || f.Claimant != "" || f.Cluster != "" || (f.Sort != "" && f.Sort != SortScore)
}

// Selection is f without its arrangement and paging.
func (f ReviewFilter) Selection() ReviewFilter {
	return ReviewFilter{Status: f.Status, Category: f.Category, Source: f.Source, Lang: f.Lang, Since: f.Since, Until: f.Until}
}

// ArrangeItems applies f's Claimant, Cluster, Sort, Reverse, Group, Offset
// and Limit to items, the whole of f.Selection(). Both stores call it, so
// their orders are the same to the last tie: every order ends in the
// priority (score desc, oldest first, then ID). Cluster sizes count the
// members in the selection; a grouped row is its cluster's first member by
// priority, placed in the order asked for. Reverse turns the whole order
// around.
func ArrangeItems(items []lokerwatch.ReviewItem, f ReviewFilter) []lokerwatch.ReviewItem {
	out := make([]lokerwatch.ReviewItem, 0, len(items))
	for _, it := range items {
		if f.Claimant != "" && (it.Status != lokerwatch.StatusClaimed || it.Claimant != f.Claimant) {
			continue
		}
		if f.Cluster != "" && it.ClusterKey() != f.Cluster {
			continue
		}
		out = append(out, it)
	}
	prio := func(a, b *lokerwatch.ReviewItem) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	}
	size := map[string]int{}
	// Each cluster's first member by priority, copied: the sort moves out's elements.
	head := map[string]*lokerwatch.ReviewItem{}
	for i := range out {
		k := out[i].ClusterKey()
		size[k]++
		if h := head[k]; h == nil || prio(&out[i], h) < 0 {
			it := out[i]
			head[k] = &it
		}
	}
	order := func(a, b *lokerwatch.ReviewItem) int {
		switch f.Sort {
		case SortAge:
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
		case SortSource:
			if c := cmp.Compare(a.Source, b.Source); c != 0 {
				return c
			}
		case SortSize:
			ka, kb := a.ClusterKey(), b.ClusterKey()
			if c := cmp.Compare(size[kb], size[ka]); c != 0 {
				return c
			}
			if ka != kb { // clusters of a size by their best member; members together
				if c := prio(head[ka], head[kb]); c != 0 {
					return c
				}
				return cmp.Compare(ka, kb)
			}
		}
		return prio(a, b)
	}
	if f.Group {
		// One row per cluster: its best member by priority, whatever the
		// order of the rows.
		grouped := make([]lokerwatch.ReviewItem, 0, len(head))
		for _, it := range out {
			k := it.ClusterKey()
			if head[k].ID != it.ID {
				continue
			}
			it.ClusterSize = size[k]
			grouped = append(grouped, it)
		}
		out = grouped
	}
	slices.SortStableFunc(out, func(a, b lokerwatch.ReviewItem) int {
		if f.Reverse {
			return order(&b, &a)
		}
		return order(&a, &b)
	})
	out = out[min(max(f.Offset, 0), len(out)):]
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// ClusterMaxBits is the SimHash distance within which two ads are reposts
// of one another (the linked-ads page's "near-duplicate").
const ClusterMaxBits = 3

// clusterCandidates bounds the ads read to place one ad in a cluster, so a
// band shared by many unrelated ads does not slow queueing down.
const clusterCandidates = 64

// ClusterReader is what ReviewCluster reads: the ad index and the queue.
type ClusterReader interface {
	AdsByKey(ctx context.Context, key lokerwatch.IndexKey) ([]string, error)
	GetAd(ctx context.Context, id string) (*lokerwatch.Ad, error)
	ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error)
}

// ReviewCluster names the repost cluster of an ad about to be queued: the
// cluster of a queued ad whose fingerprint is within ClusterMaxBits of
// ad's (found through the SimHash band keys of the ad index; the smallest
// key when there are several), else the ad's own fingerprint in hex, so
// that exact reposts queued at the same moment still meet. "" when the ad
// has no fingerprint. A cluster, once given, is not changed.
func ReviewCluster(ctx context.Context, st ClusterReader, ad *lokerwatch.Ad) (string, error) {
	if ad.Fingerprint == 0 {
		return "", nil
	}
	join := ""
	seen := map[string]bool{ad.ID: true}
	read := 0
	for _, k := range lokerwatch.IndexKeys(ad) {
		if k.Kind != lokerwatch.EntityFingerprint {
			continue
		}
		ids, err := st.AdsByKey(ctx, k)
		if err != nil {
			return "", fmt.Errorf("repost cluster of ad %s: %w", ad.ID, err)
		}
		for _, id := range ids {
			if seen[id] || read >= clusterCandidates {
				continue
			}
			seen[id] = true
			read++
			other, err := st.GetAd(ctx, id)
			if errors.Is(err, lokerwatch.ErrNotFound) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("repost cluster of ad %s: %w", ad.ID, err)
			}
			if other.Fingerprint == 0 || bits.OnesCount64(other.Fingerprint^ad.Fingerprint) > ClusterMaxBits {
				continue
			}
			it, err := st.ItemForAd(ctx, id)
			if errors.Is(err, lokerwatch.ErrNotFound) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("repost cluster of ad %s: %w", ad.ID, err)
			}
			if it.Cluster != "" && (join == "" || it.Cluster < join) {
				join = it.Cluster
			}
		}
	}
	if join != "" {
		return join, nil
	}
	return fmt.Sprintf("%016x", ad.Fingerprint), nil
}
