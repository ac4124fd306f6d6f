package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// TestQueuePageQueriesUseIndexes guards the queue page: every status
// selection, with or without filters, is read from the priority index in
// order (no sort of the whole queue), so a page costs its rows, not the
// size of the queue.
func TestQueuePageQueriesUseIndexes(t *testing.T) {
	s, err := Open(context.Background(), MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, f := range []storage.ReviewFilter{
		{Status: lokerwatch.StatusPending, Limit: 50},
		{Status: lokerwatch.StatusPending, Limit: 50, Offset: 100, Category: lokerwatch.CategoryTrafficking, Lang: "en"},
		{Status: lokerwatch.StatusPending, Source: "s", Since: day, Until: day.AddDate(0, 0, 1), Limit: 50},
		{Status: lokerwatch.StatusClaimed, Limit: 50},
		{Status: lokerwatch.StatusDecided, Limit: 50, Category: lokerwatch.CategoryScam},
		{Limit: 50},
		{},
	} {
		q, args := listQuery(f, 1)
		p := queryPlan(t, s, q, args)
		if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN ") || !strings.Contains(p, "review_prio") {
			t.Errorf("list %+v: query plan %q scans or sorts", f, p)
		}
	}
	if p := queryPlan(t, s, `SELECT COUNT(*) FROM review_items WHERE status = 'claimed' AND lease_until < ?`, []any{1}); strings.Contains(p, "SCAN ") {
		t.Errorf("lapsed claims count: query plan %q scans", p)
	}
	if p := queryPlan(t, s, `SELECT status, COUNT(*) FROM review_items GROUP BY status`, nil); !strings.Contains(p, "COVERING INDEX review_prio") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("status counts: query plan %q reads the table or sorts", p)
	}
}

func queryPlan(t *testing.T, s *Store, q string, args []any) string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestListMergesLapsedClaims: a claim whose lease ran out (not yet reaped)
// is read from its own index range and merged into the pending list at its
// priority; every page of every status agrees with the whole list.
func TestListMergesLapsedClaims(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	var ids []string // priority order
	for i := range 12 {
		id := fmt.Sprintf("item-%02d", i)
		ad := &lokerwatch.Ad{ID: id, Source: "s", Lang: []string{"id", "en"}[i%2],
			Assessment: &lokerwatch.Assessment{Score: 90 - i, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, _, err := s.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range []string{"item-00", "item-05", "item-11"} { // these lapse
		if _, err := s.ClaimItem(ctx, id, "gone", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.ClaimItem(ctx, "item-07", "alice", time.Hour); err != nil { // this one holds
		t.Fatal(err)
	}
	var pending []string
	for _, id := range ids {
		if id != "item-07" {
			pending = append(pending, id)
		}
	}
	want := map[lokerwatch.ReviewStatus][]string{lokerwatch.StatusPending: pending, lokerwatch.StatusClaimed: {"item-07"}, "": ids}
	for status, all := range want {
		for limit := 1; limit <= len(all)+1; limit++ {
			for off := 0; off <= len(all)+1; off++ {
				got, err := s.ListItems(ctx, storage.ReviewFilter{Status: status, Limit: limit, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				exp := all[min(off, len(all)):min(off+limit, len(all))]
				var gotIDs []string
				for _, it := range got {
					gotIDs = append(gotIDs, it.ID)
					if it.ID != "item-07" && (it.Status != lokerwatch.StatusPending || it.Claimant != "") {
						t.Errorf("%s: status %s claimant %q, want pending and unclaimed", it.ID, it.Status, it.Claimant)
					}
				}
				if !slices.Equal(gotIDs, exp) {
					t.Fatalf("ListItems status %q limit %d offset %d = %v, want %v", status, limit, off, gotIDs, exp)
				}
			}
		}
	}
	got, err := s.ListItems(ctx, storage.ReviewFilter{Status: lokerwatch.StatusPending, Lang: "en", Offset: 1, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if gotIDs := itemIDs(got); !slices.Equal(gotIDs, []string{"item-03", "item-05", "item-09"}) {
		t.Fatalf("pending in English, offset 1 limit 3 = %v", gotIDs)
	}
	counts, err := s.CountItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[lokerwatch.StatusPending] != 11 || counts[lokerwatch.StatusClaimed] != 1 || counts[lokerwatch.StatusDecided] != 0 {
		t.Fatalf("CountItems = %v, want pending 11 (3 lapsed) claimed 1", counts)
	}
	if old, err := s.OldestPending(ctx); err != nil || !old.Equal(now.Add(-2*time.Minute)) {
		t.Fatalf("OldestPending = %v, %v", old, err)
	}
}

func itemIDs(items []lokerwatch.ReviewItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// BenchmarkQueueReads times the queue page's reads at 10,000 pending
// items, against the baseline of the single "pending OR lapsed" condition
// they replaced (which SQLite answers by reading and sorting every pending
// item).
func BenchmarkQueueReads(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "q.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cats := lokerwatch.Categories
	for i := range 10_000 {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("bench-%05d", i), Source: fmt.Sprint("source-", i%7), Lang: []string{"id", "en"}[i%2],
			Title:      fmt.Sprintf("Lowongan kerja luar negeri nomor %d", i),
			Assessment: &lokerwatch.Assessment{Score: 30 + (i*7919)%71, Flagged: true, Category: cats[i%len(cats)]}}
		if _, _, err := s.Enqueue(ctx, ad); err != nil {
			b.Fatal(err)
		}
	}
	const orPending = `(status = 'pending' OR (status = 'claimed' AND lease_until < ?))`
	rawRows := func(b *testing.B, q string, args ...any) {
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if _, err := scanItem(rows, time.Now()); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			b.Fatal("no rows")
		}
	}
	page := storage.ReviewFilter{Status: lokerwatch.StatusPending, Limit: 50}
	filtered := storage.ReviewFilter{Status: lokerwatch.StatusPending, Category: lokerwatch.CategoryTrafficking, Lang: "en", Limit: 50}
	b.Run("page/baseline-or-sort", func(b *testing.B) {
		for b.Loop() {
			rawRows(b, `SELECT `+itemCols+` FROM review_items WHERE `+orPending+priorityOrder+` LIMIT 50`, ns(time.Now()))
		}
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			if items, err := s.ListItems(ctx, page); err != nil || len(items) != 50 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("filtered/baseline-or-sort", func(b *testing.B) {
		for b.Loop() {
			rawRows(b, `SELECT `+itemCols+` FROM review_items WHERE category = ? AND lang = ? AND `+orPending+priorityOrder+` LIMIT 50`,
				string(lokerwatch.CategoryTrafficking), "en", ns(time.Now()))
		}
	})
	b.Run("filtered", func(b *testing.B) {
		for b.Loop() {
			if items, err := s.ListItems(ctx, filtered); err != nil || len(items) != 50 {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("count/baseline-case-scan", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.r.QueryContext(ctx, `SELECT CASE WHEN `+orPending+` THEN 'pending' ELSE status END AS st, COUNT(*)
				FROM review_items GROUP BY st`, ns(time.Now()))
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	})
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			if c, err := s.CountItems(ctx); err != nil || c[lokerwatch.StatusPending] != 10_000 {
				b.Fatal(c, err)
			}
		}
	})
}
