package heappeak

import (
	"testing"
	"time"
)

var sink []byte

func TestDuring(t *testing.T) {
	const size = 64 << 20
	peak := During(time.Millisecond, func() {
		sink = make([]byte, size)
		for i := range sink {
			sink[i] = 1
		}
		time.Sleep(5 * time.Millisecond) // at least one sample while it is live
	})
	if peak < size {
		t.Errorf("peak %d MiB, want at least the %d MiB held during fn", peak>>20, size>>20)
	}
	sink = nil
}
