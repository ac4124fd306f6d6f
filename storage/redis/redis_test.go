package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/storagetest"
)

var prefixSeq atomic.Int64

// openStore opens a store with a fresh key prefix on srv.
func openStore(t testing.TB, srv *redistest.Server, opts redis.Options) *redis.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("t%d:", prefixSeq.Add(1))
	}
	s, err := redis.OpenURL(context.Background(), srv.URL(), opts)
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	storagetest.Run(t, func(t *testing.T) storage.Store { return openStore(t, srv, redis.Options{}) })
}

func TestConformanceBloom(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openStore(t, srv, redis.Options{Seen: redis.SeenOptions{Kind: redis.SeenBloom, Capacity: 100_000, ErrorRate: 1e-6}})
	})
}
