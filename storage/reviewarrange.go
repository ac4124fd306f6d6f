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

// Arranged reports whether f asks for an order other than the priority
// (or "my claims"): then a store reads f.Selection() whole and hands it to
// ArrangeItems. Grouping in priority order does not need the whole
// selection (see GroupInPriority).
func (f ReviewFilter) Arranged() bool {
	return f.Reverse || f.Claimant != "" || (f.Sort != "" && f.Sort != SortScore)
}

// Selection is f without its arrangement and paging (Cluster is kept: the
// stores read one cluster from an index of its own).
func (f ReviewFilter) Selection() ReviewFilter {
	return ReviewFilter{Status: f.Status, Category: f.Category, Source: f.Source, Lang: f.Lang, Since: f.Since, Until: f.Until,
		Cluster: f.Cluster}
}

// groupChunk is how many items GroupInPriority reads at a time.
const groupChunk = 200

// CountClusters counts, for each cluster key, the items of the cluster
// that match f's selection (f.Cluster is ignored). GroupInPriority takes
// a store's own, which counts a page's clusters in a round trip or two.
type CountClusters func(ctx context.Context, f ReviewFilter, keys []string) (map[string]int, error)

// GroupInPriority answers a grouped listing in priority order (f.Group,
// not Arranged) from list, a store's own ListItems for plain selections:
// it reads the selection a chunk at a time until it has the page's
// clusters, then counts their members with count. The queue page, the one
// everybody loads, so reads a few hundred items and the page's clusters,
// not the whole queue. The result is ArrangeItems'.
func GroupInPriority(ctx context.Context, list func(context.Context, ReviewFilter) ([]lokerwatch.ReviewItem, error),
	count CountClusters, f ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	sel := f.Selection()
	want := -1
	if f.Limit > 0 {
		want = max(f.Offset, 0) + f.Limit
	}
	var heads []lokerwatch.ReviewItem
	seen := map[string]bool{}
	for off := 0; ; off += groupChunk {
		sel.Offset, sel.Limit = off, groupChunk
		items, err := list(ctx, sel)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if k := it.ClusterKey(); !seen[k] {
				seen[k] = true
				heads = append(heads, it)
			}
		}
		if len(items) < groupChunk || (want >= 0 && len(heads) >= want) {
			break
		}
	}
	heads = heads[min(max(f.Offset, 0), len(heads)):]
	if f.Limit > 0 && len(heads) > f.Limit {
		heads = heads[:f.Limit]
	}
	var keys []string
	for i := range heads {
		heads[i].ClusterSize = 1
		if heads[i].Cluster != "" {
			keys = append(keys, heads[i].Cluster)
		}
	}
	if len(keys) == 0 {
		return heads, nil
	}
	n, err := count(ctx, f.Selection(), keys)
	if err != nil {
		return nil, fmt.Errorf("count repost clusters: %w", err)
	}
	for i := range heads {
		if c := n[heads[i].Cluster]; heads[i].Cluster != "" && c > 1 {
			heads[i].ClusterSize = c
		}
	}
	return heads, nil
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

// boundedKeys is offered by both stores: at most n IDs under each key, in
// ID order (Redis: from a large set, n of its choice).
type boundedKeys interface {
	AdsByKeysN(ctx context.Context, keys []lokerwatch.IndexKey, n int) ([][]string, error)
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
	var bands []lokerwatch.IndexKey
	for _, k := range lokerwatch.IndexKeys(ad) {
		if k.Kind == lokerwatch.EntityFingerprint {
			bands = append(bands, k)
		}
	}
	// A store that can read only the first IDs under a key is asked for as
	// many as can be read from each band (the ad itself may be among them),
	// not for the whole band: a template used by thousands of ads would
	// otherwise be read whole for each ad queued.
	var under [][]string
	if bst, ok := st.(boundedKeys); ok {
		var err error
		if under, err = bst.AdsByKeysN(ctx, bands, clusterCandidates+1); err != nil {
			return "", fmt.Errorf("repost cluster of ad %s: %w", ad.ID, err)
		}
	} else {
		for _, k := range bands {
			ids, err := st.AdsByKey(ctx, k)
			if err != nil {
				return "", fmt.Errorf("repost cluster of ad %s: %w", ad.ID, err)
			}
			under = append(under, ids)
		}
	}
	for _, ids := range under {
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
