package review

import "testing"

// TestGateOnlySerialStores: the embedded store (one writer) gets the FIFO
// gate; Redis, which runs many atomic scripts at once, does not.
func TestGateOnlySerialStores(t *testing.T) {
	if _, ok := newGatedStore(testStore(t)).(*gatedStore); !ok {
		t.Error("SQLite store not gated")
	}
	if _, ok := newGatedStore(redisStore(t)).(*gatedStore); ok {
		t.Error("Redis store gated")
	}
}
