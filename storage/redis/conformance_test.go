package redis_test

import (
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/storagetest"
)

// TestConformance runs the shared storage suite against the Redis store
// with the exact seen set; every subtest gets its own key prefix.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	storagetest.Run(t, func(t *testing.T) storage.Store { return openStore(t, srv, redis.Options{}) })
}

// TestConformanceBloom runs it again with the Bloom seen set.
func TestConformanceBloom(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openStore(t, srv, redis.Options{Seen: redis.SeenOptions{Kind: redis.SeenBloom, Capacity: 100_000, ErrorRate: 1e-6}})
	})
}
