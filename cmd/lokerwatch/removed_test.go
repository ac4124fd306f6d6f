package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// TestAdsAndStatusShowCrawlCorrectness: `ads` shows a removed ad's date
// and its sources; `status` shows the links crawls dropped, per source and
// reason, in both formats.
func TestAdsAndStatusShowCrawlCorrectness(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "lw.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	u := "https://board.example/job/1"
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i, src := range []string{"board", "board-rss"} {
		ad := &lokerwatch.Ad{ID: lokerwatch.PageAdID(u), Source: src, URL: u, PageURL: u, Title: "Operator gudang", FetchedAt: at.Add(time.Duration(i) * time.Hour)}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := st.MarkRemoved(ctx, u, at.Add(48*time.Hour)); err != nil || !ok {
		t.Fatalf("mark removed: %v %v", ok, err)
	}
	if err := st.AddDroppedLinks(ctx, []storage.DroppedLinks{{Source: "board", Reason: "max_depth", N: 7}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	store := "sqlite:" + db

	code, out, errOut := runCLI(t, "", "ads", "--store", store)
	if code != 0 || !strings.Contains(out, "REMOVED") || !strings.Contains(out, "2026-11-04") {
		t.Errorf("ads: %d %q %q; want the removal date", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "ads", "--store", store, "--format", "jsonl")
	var line struct {
		RemovedAt time.Time             `json:"removed_at"`
		Sources   []lokerwatch.Sighting `json:"sources"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &line) != nil || !line.RemovedAt.Equal(at.Add(48*time.Hour)) || len(line.Sources) != 2 {
		t.Errorf("ads jsonl: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "", "status", "--store", store)
	if code != 0 || !strings.Contains(out, "dropped   7 links of board: max_depth") {
		t.Errorf("status: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "", "status", "--store", store, "--format", "jsonl")
	var status struct {
		Dropped []storage.DroppedLinks `json:"dropped"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &status) != nil || len(status.Dropped) != 1 || status.Dropped[0].N != 7 {
		t.Errorf("status jsonl: %d %q", code, out)
	}
}
