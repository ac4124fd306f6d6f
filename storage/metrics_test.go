package storage_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func TestCollector(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Add(ctx,
		storage.Request{URL: "http://a.example/1", Source: "s"},
		storage.Request{URL: "http://a.example/2", Source: "s"},
		storage.Request{URL: "http://b.example/1", Source: "s"}); err != nil {
		t.Fatal(err)
	}
	l, err := st.ClaimRequest(ctx, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, score := range []int{90, 70} {
		ad := &lokerwatch.Ad{ID: string(rune('a' + i)), Source: "s", URL: "http://a.example/ad", Title: "t", Text: "x",
			Assessment: &lokerwatch.Assessment{Score: score, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(storage.NewCollector(st, nil))
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	want := `
# HELP lokerwatch_frontier_requests Crawl requests in the shared frontier, by state.
# TYPE lokerwatch_frontier_requests gauge
lokerwatch_frontier_requests{state="dead"} 0
lokerwatch_frontier_requests{state="done"} 0
lokerwatch_frontier_requests{state="failed"} 0
lokerwatch_frontier_requests{state="in_flight"} 1
lokerwatch_frontier_requests{state="queued"} 2
# HELP lokerwatch_review_items Review queue items, by status.
# TYPE lokerwatch_review_items gauge
lokerwatch_review_items{status="claimed"} 0
lokerwatch_review_items{status="decided"} 0
lokerwatch_review_items{status="pending"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lokerwatch_frontier_requests", "lokerwatch_review_items"); err != nil {
		t.Error(err)
	}
	if err := st.Ack(ctx, l, storage.AckOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "lokerwatch_frontier_oldest_queued_age_seconds"); err != nil || n != 1 {
		t.Errorf("oldest queued age: %d series, %v", n, err)
	}
}
