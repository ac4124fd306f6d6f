package notify

import (
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/config"
)

// The wait after the n-th failure doubles from notify.backoff up to
// notify.max_backoff, and is jittered between half of it and all of it.
func TestBackoffDoublesWithJitter(t *testing.T) {
	n := &Notifier{cfg: config.Notify{Backoff: config.Duration(2 * time.Second), MaxBackoff: config.Duration(10 * time.Minute)}}
	cases := []struct {
		attempts int
		full     time.Duration
	}{
		{0, 2 * time.Second}, {1, 4 * time.Second}, {2, 8 * time.Second}, {8, 512 * time.Second},
		{9, 10 * time.Minute}, {11, 10 * time.Minute}, {1000, 10 * time.Minute},
	}
	for _, c := range cases {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := n.backoff(c.attempts)
			if d < c.full/2 || d > c.full {
				t.Fatalf("after %d failures: wait %v, want between %v and %v", c.attempts, d, c.full/2, c.full)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("after %d failures: only %d different waits in 200: no jitter", c.attempts, len(seen))
		}
	}
}
