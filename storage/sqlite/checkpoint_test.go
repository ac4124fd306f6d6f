package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// TestCheckpointer: writes that fill the WAL past checkpointPages (but
// short of the writer's backstop) are copied into the database file by the
// checkpointer, not by a commit, and all of them once writes pause; the
// data survives closing and reopening.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lw.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt == nil {
		t.Fatal("a file store has no checkpointer")
	}
	text := strings.Repeat("Lowongan kerja luar negeri, gaji besar, berangkat cepat. ", 150) // ~8 KiB: a few pages an ad
	const n = 1500
	for i := range n {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("ckpt-%05d", i), Source: "s", URL: fmt.Sprintf("https://jobs.example/%d", i),
			FetchedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute), Title: "t", Text: text}
		if _, err := s.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	// Writes have paused: within checkpointIdle (and a loaded machine's
	// pauses) the checkpointer copies the whole WAL.
	deadline := time.Now().Add(60 * time.Second)
	for {
		pending, ok := s.ckpt.pending()
		s.ckpt.mu.Lock()
		runs := s.ckpt.runs
		s.ckpt.mu.Unlock()
		if ok && pending == 0 && runs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL not checkpointed: %d pages pending (known: %v), %d checkpoints run", pending, ok, runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var mode string
	if err := s.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v; want wal", mode, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	total, _, err := s2.CountAds(ctx)
	if err != nil || total != n {
		t.Fatalf("after reopening: %d ads, %v; want %d", total, err, n)
	}
}

// TestCheckpointerMemory: an in-memory store has no WAL and no checkpointer.
func TestCheckpointerMemory(t *testing.T) {
	s, err := Open(context.Background(), MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt != nil {
		t.Fatal("an in-memory store has a checkpointer")
	}
}
