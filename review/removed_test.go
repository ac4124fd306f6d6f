package review

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

func TestRemovedAdShown(t *testing.T) { forEachStore(t, testRemovedAdShown) }

// testRemovedAdShown: an ad whose page went (404/410 on a revisit) says
// so on its console page and in exports, with the sources that found it.
func testRemovedAdShown(t *testing.T, newStore func(testing.TB) storage.Store) {
	e := newEnv(t, newStore(t))
	ctx := context.Background()
	u := "https://board.example/job/77"
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var ad *lokerwatch.Ad
	for i, src := range []string{"board", "board-rss"} {
		ad = &lokerwatch.Ad{ID: lokerwatch.PageAdID(u), Source: src, URL: u, PageURL: u, Title: "Admin online Kamboja",
			Text: "Gaji 20 juta", FetchedAt: at.Add(time.Duration(i) * time.Hour),
			Assessment: &lokerwatch.Assessment{Score: 90, Flagged: true, Category: lokerwatch.CategoryScam}}
		if _, err := e.st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.st.Enqueue(ctx, ad); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.st.MarkRemoved(ctx, u, at.Add(72*time.Hour)); err != nil || !ok {
		t.Fatalf("mark removed: %v %v", ok, err)
	}
	alice := e.client(t).mustLogin("alice")
	body := alice.get("/ad/" + ad.ID).body
	for _, want := range []string{`<strong>removed</strong>`, `found by board, board-rss`} {
		if !strings.Contains(body, want) {
			t.Errorf("ad page lacks %s", want)
		}
	}
	ivan := e.client(t).mustLogin("ivan")
	r := ivan.get("/api/export?status=all&format=csv")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %v, %d rows\n%s", err, len(rows), r.body)
	}
	col := slices.Index(rows[0], "removed_at")
	if col < 0 || rows[1][col] != "2026-11-05T08:00:00Z" || rows[1][col+1] != "board board-rss" {
		t.Errorf("csv header %v, row %v: want removed_at and sources", rows[0], rows[1])
	}
}
