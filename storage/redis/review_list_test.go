package redis_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestListPagesInsideRedis: filtered pages are scanned inside Redis in
// several script calls when the matches are far apart (past one call's
// scan budget), and every page agrees with the whole list filtered here;
// claimed items come in priority order.
func TestListPagesInsideRedis(t *testing.T) {
	ctx := ctxT(t)
	s := openStore(t, redistest.Start(t, redistest.Config{}), redis.Options{})
	const n = 2600
	for i := range n {
		cat := lokerwatch.CategoryScam
		if i%500 == 499 {
			cat = lokerwatch.CategoryTrafficking
		}
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("ad-%04d", i), Source: "s", Lang: []string{"id", "en"}[i%2],
			Assessment: &lokerwatch.Assessment{Score: 100 - i/26, Flagged: true, Category: cat}}
		if _, _, err := s.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"ad-0300", "ad-0001", "ad-2000"} {
		if _, err := s.ClaimItem(ctx, id, "alice", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListItems(ctx, storage.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("ListItems() = %d items, want %d", len(all), n)
	}
	for _, f := range []storage.ReviewFilter{
		{Status: lokerwatch.StatusPending, Category: lokerwatch.CategoryTrafficking},
		{Status: lokerwatch.StatusPending, Category: lokerwatch.CategoryTrafficking, Offset: 1, Limit: 3},
		{Status: lokerwatch.StatusPending, Category: lokerwatch.CategoryTrafficking, Offset: 4, Limit: 3},
		{Category: lokerwatch.CategoryTrafficking, Lang: "id"},
		{Status: lokerwatch.StatusPending, Lang: "en", Offset: 1290, Limit: 50},
		{Status: lokerwatch.StatusPending, Offset: 2590, Limit: 50},
		{Status: lokerwatch.StatusPending, Offset: 100, Limit: 1},
		{Status: lokerwatch.StatusClaimed},
		{Status: lokerwatch.StatusClaimed, Offset: 1, Limit: 1},
		{Status: lokerwatch.StatusDecided},
	} {
		var want []string
		for _, it := range all {
			if (f.Status == "" || it.Status == f.Status) && (f.Category == "" || it.Category == f.Category) &&
				(f.Lang == "" || it.Lang == f.Lang) {
				want = append(want, it.ID)
			}
		}
		want = want[min(f.Offset, len(want)):]
		if f.Limit > 0 && len(want) > f.Limit {
			want = want[:f.Limit]
		}
		got, err := s.ListItems(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range got {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("ListItems %+v = %v, want %v", f, ids, want)
		}
	}
	claimed, err := s.ListItems(ctx, storage.ReviewFilter{Status: lokerwatch.StatusClaimed})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range claimed {
		ids = append(ids, it.ID)
	}
	if want := []string{"ad-0001", "ad-0300", "ad-2000"}; !slices.Equal(ids, want) {
		t.Errorf("claimed items = %v, want %v (priority order)", ids, want)
	}
	counts, err := s.CountItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[lokerwatch.StatusPending] != n-3 || counts[lokerwatch.StatusClaimed] != 3 {
		t.Errorf("CountItems = %v, want %d pending, 3 claimed", counts, n-3)
	}
}
