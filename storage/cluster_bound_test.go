package storage_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// TestReviewClusterManyReposts: with more reposts of one text queued than
// ReviewCluster reads per SimHash band (it reads at most 65 IDs of each),
// every one still joins the first one's cluster, on both stores.
func TestReviewClusterManyReposts(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	srv := redistest.Start(t, redistest.Config{})
	rs, err := redis.OpenURL(ctx, srv.URL(), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for name, st := range map[string]storage.Store{"sqlite": sq, "redis": rs} {
		t.Run(name, func(t *testing.T) {
			const base = uint64(0x1234_5678_9abc_def0)
			first := ""
			for i := 0; i < 150; i++ {
				ad := &lokerwatch.Ad{ID: fmt.Sprintf("rp-%03d", i), Source: "s", URL: fmt.Sprintf("https://s.example/%d", i),
					Title: "t", Text: "x", FetchedAt: time.Date(2026, 5, 1, 0, i, 0, 0, time.UTC),
					Fingerprint: base ^ uint64(i%4), // within 2 bits of each other; bands 1-3 shared by all
					Assessment:  &lokerwatch.Assessment{Score: 80, Flagged: true, Category: lokerwatch.CategoryScam}}
				if _, err := st.PutAd(ctx, ad); err != nil {
					t.Fatal(err)
				}
				it, _, err := st.Enqueue(ctx, ad)
				if err != nil {
					t.Fatal(err)
				}
				if first == "" {
					first = it.Cluster
				}
				if it.Cluster == "" || it.Cluster != first {
					t.Fatalf("ad %d: cluster %q, want the first one's %q", i, it.Cluster, first)
				}
			}
		})
	}
}
