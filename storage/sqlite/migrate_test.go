package sqlite_test

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// v1Store copies testdata/v1-release.db.gz to a temporary file. It was
// made by the release before schema version 2 (commit a94bdb4):
// `lokerwatch demo --once`, then `lokerwatch crawl` of a board whose three
// job pages are also items of its RSS feed (so each page is two ads, and
// the scam ones two review items), then `review decide` of one review
// item of job1 (the feed's) and one of job3 (the board's).
func v1Store(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "v1-release.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// dumpTables reads every row of the version-1 tables, in version 1's
// columns, as text.
func dumpTables(t *testing.T, path string, cols map[string][]string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if cols == nil {
		return nil
	}
	out := map[string][]string{}
	for table, cs := range cols {
		q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cs, ", "), table)
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			vals := make([]any, len(cs))
			ptrs := make([]any, len(cs))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprintf("%q", vals))
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}

func v1Columns(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("fixture schema version %d (%v), want 1", v, err)
	}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	cols := map[string][]string{}
	for _, tb := range tables {
		r, err := db.Query(fmt.Sprintf("SELECT name FROM pragma_table_info('%s')", tb))
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var n string
			r.Scan(&n)
			cols[tb] = append(cols[tb], n)
		}
		r.Close()
	}
	return cols
}

// TestMigrateV1 opens a store made by the release before schema version
// 2: it migrates, every row of every table is still there as it was, and
// the next sighting of a page stored twice by version 1 goes to one of its
// ads instead of making a third, and to its review item.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := v1Store(t)
	cols := v1Columns(t, path)
	before := dumpTables(t, path, cols)
	if len(before["ads"]) == 0 || len(before["review_items"]) == 0 || len(before["decisions"]) == 0 || len(before["evidence"]) == 0 {
		t.Fatalf("fixture is missing data: %d ads, %d items, %d decisions, %d captures",
			len(before["ads"]), len(before["review_items"]), len(before["decisions"]), len(before["evidence"]))
	}

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open version-1 store: %v", err)
	}
	total, _, err := st.CountAds(ctx)
	if err != nil || int(total) != len(before["ads"]) {
		t.Errorf("CountAds = %d (%v), want %d", total, err, len(before["ads"]))
	}
	var job1, job3 string
	byURL := map[string][]*lokerwatch.Ad{}
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		byURL[ad.URL] = append(byURL[ad.URL], ad)
		if strings.HasSuffix(ad.URL, "/job1.html") {
			job1 = ad.URL
		}
		if strings.HasSuffix(ad.URL, "/job3.html") {
			job3 = ad.URL
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(byURL[job1]) != 2 || len(byURL[job3]) != 2 {
		t.Fatalf("fixture: job1 is %d ads, job3 %d; want 2 each", len(byURL[job1]), len(byURL[job3]))
	}
	st.Close()

	after := dumpTables(t, path, cols)
	for table, rows := range before {
		if !slices.Equal(rows, after[table]) {
			t.Errorf("table %s changed by the migration:\nbefore %d rows\nafter  %d rows", table, len(rows), len(after[table]))
		}
	}

	// Reopened (version 2 now: nothing to do), the crawler's next
	// sightings of job1 and job3 as one ad per page.
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		url     string
		decided string // the ad of the decided review item, which the URL goes to
		sources string
	}{
		{job1, "36b4df34d5a04629e0c2", "board-rss,board"}, // decided: the feed's copy
		{job3, "55fe5026bee01fad9734", "board"},
	} {
		old, err := st.GetAd(ctx, tc.decided)
		if err != nil {
			t.Fatal(err)
		}
		ad := *old
		ad.ID, ad.Source, ad.PageURL, ad.Sources = lokerwatch.PageAdID(tc.url), "board", tc.url, nil
		ad.FetchedAt = old.LastSeen.Add(1e9)
		res, err := st.PutAd(ctx, &ad)
		if err != nil {
			t.Fatal(err)
		}
		if res.New || ad.ID != tc.decided {
			t.Errorf("%s: put as %s (new %v), want the version-1 ad %s", tc.url, ad.ID, res.New, tc.decided)
		}
		var names []string
		for _, sg := range ad.Sources {
			names = append(names, sg.Source)
		}
		if strings.Join(names, ",") != tc.sources {
			t.Errorf("%s: sources %v, want %s", tc.url, names, tc.sources)
		}
		it, created, err := st.Enqueue(ctx, &ad)
		if err != nil || created || it.AdID != tc.decided || it.Status != lokerwatch.StatusDecided {
			t.Errorf("%s: enqueue gave %+v (created %v, %v); want the decided item", tc.url, it, created, err)
		}
	}
	total, _, err = st.CountAds(ctx)
	if err != nil || int(total) != len(before["ads"]) {
		t.Errorf("after new sightings: %d ads (%v), want still %d", total, err, len(before["ads"]))
	}
}
