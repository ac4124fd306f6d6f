package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// BenchmarkFrontier measures add+claim+ack cycles per second with N
// goroutines sharing one store file. The baseline does the same number of
// write transactions (three trivial ones per cycle) on the same file and
// settings: the floor set by SQLite itself, against which the frontier's own
// cost shows.
//
//	go test -run '^$' -bench Frontier -benchtime 2000x ./storage/sqlite/
func BenchmarkFrontier(b *testing.B) {
	for _, workers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("frontier/workers=%d", workers), func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			var next atomic.Int64
			run(b, workers, func(w int) error {
				i := next.Add(1)
				r := storage.Request{URL: fmt.Sprintf("http://h%d.example/p/%d", i%64, i), Source: "bench"}
				if _, err := s.Add(ctx, r); err != nil {
					return err
				}
				for {
					l, err := s.ClaimRequest(ctx, fmt.Sprint("w", w), time.Minute)
					if errors.Is(err, lokerwatch.ErrEmpty) {
						// Every ready host is busy with another worker.
						time.Sleep(50 * time.Microsecond)
						continue
					}
					if err != nil {
						return err
					}
					return s.Ack(ctx, l, storage.AckOptions{})
				}
			})
		})
		b.Run(fmt.Sprintf("baseline-3tx/workers=%d", workers), func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			if _, err := s.w.ExecContext(ctx, `CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT, n INTEGER)`); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			run(b, workers, func(int) error {
				i := next.Add(1)
				for _, q := range []string{
					`INSERT INTO bench (id, v, n) VALUES (?1, 'x', 0)`,
					`UPDATE bench SET n = 1 WHERE id = ?1`,
					`UPDATE bench SET n = 2 WHERE id = ?1`,
				} {
					if err := s.write(ctx, "bench", func(tx *txn) error {
						_, err := tx.ExecContext(ctx, q, i)
						return err
					}); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}

func benchStore(b *testing.B) *Store {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// run calls op b.N times spread over workers goroutines and reports ops/s.
func run(b *testing.B, workers int, op func(worker int) error) {
	b.ResetTimer()
	start := time.Now()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := op(w); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkFinishPages measures the store step of a turn of 32 pages of
// one host without ads (the frontier's part of FinishPages: lease checks,
// acks, the host's rest), per page; the claim and the adds are not timed.
func BenchmarkFinishPages(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const turn = 32
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reqs := make([]storage.Request, turn)
		for k := range reqs {
			reqs[k] = storage.Request{URL: fmt.Sprintf("http://h%d.example/job/%d", i%8, i*turn+k), Kind: "page"}
		}
		if _, err := s.Add(ctx, reqs...); err != nil {
			b.Fatal(err)
		}
		ls, err := s.ClaimRequests(ctx, "w", time.Minute, turn)
		if err != nil || len(ls) != turn {
			b.Fatalf("claim: %d, %v", len(ls), err)
		}
		pages := make([]storage.FinishedPage, len(ls))
		for k, l := range ls {
			pages[k] = storage.FinishedPage{Lease: l}
		}
		b.StartTimer()
		if _, err := s.FinishPages(ctx, pages); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*turn), "ns/page")
}
