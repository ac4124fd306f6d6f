package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
	"github.com/lokerwatch/lokerwatch/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.OpenURL(context.Background(), "sqlite::memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url     string
		wantErr string // empty: opens
	}{
		{"sqlite:" + filepath.Join(dir, "a.db"), ""},
		{"sqlite://" + filepath.Join(dir, "b.db"), ""},
		{"sqlite::memory:", ""},
		{"redis://127.0.0.1:6379/0", "not a sqlite URL"},
		{"lokerwatch.db", "not a sqlite URL"},
		{"sqlite:", "missing file path"},
		{"sqlite://", "missing file path"},
		{"sqlite:" + filepath.Join(dir, "missing", "x.db"), "does not exist"},
		{"sqlite:" + filepath.Join(notDir, "x.db"), "is not a directory"},
		{"sqlite:" + dir, "is a directory"},
		{"sqlite:" + filepath.Join(dir, "x.db?mode=ro"), "must not contain"},
		{"sqlite:" + garbage, "file is not a database"},
	} {
		s, err := sqlite.OpenURL(ctx, tc.url)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("OpenURL(%q): %v", tc.url, err)
				continue
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("ping %q: %v", tc.url, err)
			}
			s.Close()
			continue
		}
		if err == nil {
			s.Close()
			t.Errorf("OpenURL(%q) opened, want an error containing %q", tc.url, tc.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("OpenURL(%q) error %q, want it to contain %q", tc.url, err, tc.wantErr)
		}
	}
}

// TestReopen checks that everything survives closing and reopening the file.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, storage.Request{URL: "http://a.example/1"}, storage.Request{URL: "http://a.example/2"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.ClaimRequest(ctx, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ad := &lokerwatch.Ad{ID: "ad1", Source: "s", Title: "t", Assessment: &lokerwatch.Assessment{Score: 80, Flagged: true}}
	if _, err := s.PutAd(ctx, ad); err != nil {
		t.Fatal(err)
	}
	it, _, err := s.Enqueue(ctx, ad)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.FrontierStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 1 || st.InFlight != 1 {
		t.Fatalf("after reopen stats = %+v, want 1 queued 1 in flight", st)
	}
	// The lease taken before the restart still holds and can be acked.
	if err := s.Ack(ctx, l, storage.AckOptions{}); err != nil {
		t.Fatalf("ack a lease from before the reopen: %v", err)
	}
	if _, err := s.GetAd(ctx, "ad1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ItemForAd(ctx, "ad1"); err != nil || got.ID != it.ID {
		t.Fatalf("item after reopen = %v, %v", got, err)
	}
}

// TestSchemaTooNew refuses a file written by a newer lokerwatch.
func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open a newer schema: %v, want an error saying it is newer", err)
	}
}

// TestTwoHandles runs claimers through two Stores on one file, as the
// review console and a CLI command (or two crawl processes) would.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	var stores []*sqlite.Store
	for range 2 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	const urls, items = 60, 40
	var reqs []storage.Request
	for i := range urls {
		reqs = append(reqs, storage.Request{URL: fmt.Sprintf("http://h%d.example/%d", i%6, i)})
	}
	if _, err := stores[0].Add(ctx, reqs...); err != nil {
		t.Fatal(err)
	}
	for i := range items {
		ad := &lokerwatch.Ad{ID: fmt.Sprint("ad", i), Assessment: &lokerwatch.Assessment{Score: i}}
		if _, _, err := stores[i%2].Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu     sync.Mutex
		gotURL = map[string]int{}
		gotIt  = map[string]int{}
		wg     sync.WaitGroup
	)
	for w := range 6 {
		s := stores[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("w", w)
			for {
				l, err := s.ClaimRequest(ctx, name, time.Minute)
				if errors.Is(err, lokerwatch.ErrEmpty) {
					st, err := s.FrontierStats(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if st.Finished() {
						break
					}
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				gotURL[l.URL]++
				mu.Unlock()
				if err := s.Ack(ctx, l, storage.AckOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
			for {
				it, err := s.ClaimNext(ctx, name, time.Minute, storage.ReviewFilter{})
				if errors.Is(err, lokerwatch.ErrEmpty) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				gotIt[it.ID]++
				mu.Unlock()
				if _, err := s.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, Verdict: lokerwatch.VerdictBenign, Reviewer: name}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(gotURL) != urls || len(gotIt) != items {
		t.Fatalf("handed out %d of %d URLs and %d of %d items", len(gotURL), urls, len(gotIt), items)
	}
	for k, n := range gotURL {
		if n != 1 {
			t.Errorf("%s handed out %d times", k, n)
		}
	}
	for k, n := range gotIt {
		if n != 1 {
			t.Errorf("item %s handed out %d times", k, n)
		}
	}
}
