package notify_test

import (
	"fmt"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

// BenchmarkFlagged is what an alert costs the crawl: matching the rules
// and one outbox write for a new item (two channels), nothing sent (the
// senders are not running).
func BenchmarkFlagged(b *testing.B) {
	for _, bk := range backends() {
		b.Run(bk.name, func(b *testing.B) {
			st, _ := bk.open(b)
			cfg := notifyConfig("http://127.0.0.1:1/hook", "http://127.0.0.1:1")
			cfg.Queue = 1 // the rest waits in the outbox, as under a flood
			h := newNotifier(b, st, cfg)
			ads := make([]*lokerwatch.Ad, b.N)
			items := make([]*lokerwatch.ReviewItem, b.N)
			for i := range b.N {
				ads[i], items[i] = flagged(b, st, fmt.Sprintf("bench%07d", i), 90, lokerwatch.CategoryScam, "board")
			}
			ctx := ctxT(b)
			b.ResetTimer()
			for i := range b.N {
				if err := h.n.Flagged(ctx, ads[i], items[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
