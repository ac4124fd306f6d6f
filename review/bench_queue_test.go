package review

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// BenchmarkQueueViews times one store read of each queue view over 10,000
// pending items, a tenth of them reposts in clusters of 2 to 6:
//
//	go test -run '^$' -bench QueueViews ./review
//	LOKERWATCH_BENCH_STORE=redis go test -run '^$' -bench QueueViews ./review
//
// "grouped" is the default queue page (one row per cluster, priority
// order: a few chunks of the queue and the page's clusters); the sorted
// views and "my claims" read the whole selection (storage.ArrangeItems).
func BenchmarkQueueViews(b *testing.B) {
	var st storage.Store = testStore(b)
	if os.Getenv("LOKERWATCH_BENCH_STORE") == "redis" {
		st = redisStore(b)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	var fp uint64
	for i := range benchItems {
		if i%10 != 0 || fp == 0 || rng.IntN(3) == 0 { // a new text, or a repost of the last one
			fp = rng.Uint64()
		}
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("bench-%05d", i), Source: fmt.Sprint("source-", i%7), Lang: "id",
			URL: fmt.Sprintf("https://jobs.example/%d", i), Title: fmt.Sprintf("Lowongan nomor %d", i), Text: "gaji besar",
			Fingerprint: fp ^ uint64(rng.IntN(4)), // a bit or two off
			Assessment:  &lokerwatch.Assessment{Score: 30 + rng.IntN(71), Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.Enqueue(ctx, ad); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.ClaimNext(ctx, "alice", 3600e9, storage.ReviewFilter{}); err != nil {
		b.Fatal(err)
	}
	page := storage.ReviewFilter{Status: lokerwatch.StatusPending, Limit: queuePageSize}
	views := []struct {
		name string
		mod  func(*storage.ReviewFilter)
	}{
		{"plain", func(*storage.ReviewFilter) {}},
		{"grouped", func(f *storage.ReviewFilter) { f.Group = true }},
		{"grouped-page-5", func(f *storage.ReviewFilter) { f.Group, f.Offset = true, 4*queuePageSize }},
		{"by-size", func(f *storage.ReviewFilter) { f.Group, f.Sort = true, storage.SortSize }},
		{"by-age", func(f *storage.ReviewFilter) { f.Group, f.Sort = true, storage.SortAge }},
		{"my-claims", func(f *storage.ReviewFilter) { f.Status, f.Claimant = lokerwatch.StatusClaimed, "alice" }},
	}
	for _, v := range views {
		f := page
		v.mod(&f)
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := st.ListItems(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
