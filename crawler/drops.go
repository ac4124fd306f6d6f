package crawler

import (
	"context"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch/storage"
)

// dropFlushEvery is how often a running crawl adds its dropped-link counts
// to the store (for `status`); the rest are added when Run ends.
const dropFlushEvery = 10 * time.Second

// drops holds the dropped-link counts not yet added to the store.
type drops struct {
	mu      sync.Mutex
	pending map[storage.DroppedLinks]int64 // N unused in the key
	last    time.Time
}

// drop counts n links (or URLs) of source left out of the crawl for
// reason: in the summary, lokerwatch_links_dropped_total and, now and
// then, the store. The first drop of a source and reason in this process
// is logged at WARN with an example; the rest only counted.
func (c *Crawler) drop(source, reason string, n int, example string) {
	if n <= 0 {
		return
	}
	if c.lim.skip(source, reason, n) {
		c.log.Warn("links dropped by a crawl limit; counted in the summary, status and lokerwatch_links_dropped_total from now on",
			"source", source, "reason", reason, "example", example)
	}
	c.metrics.dropped.WithLabelValues(c.metrics.source(source), reason).Add(float64(n))
	c.drops.mu.Lock()
	if c.drops.pending == nil {
		c.drops.pending = map[storage.DroppedLinks]int64{}
	}
	c.drops.pending[storage.DroppedLinks{Source: source, Reason: reason}] += int64(n)
	due := time.Since(c.drops.last) > dropFlushEvery
	c.drops.mu.Unlock()
	if due {
		c.flushDrops(context.Background())
	}
}

// flushDrops adds the pending counts to the store; on failure they stay
// pending for the next try.
func (c *Crawler) flushDrops(ctx context.Context) {
	c.drops.mu.Lock()
	c.drops.last = time.Now()
	if len(c.drops.pending) == 0 {
		c.drops.mu.Unlock()
		return
	}
	batch := make([]storage.DroppedLinks, 0, len(c.drops.pending))
	for k, n := range c.drops.pending {
		k.N = n
		batch = append(batch, k)
	}
	clear(c.drops.pending)
	c.drops.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	if err := c.store.AddDroppedLinks(ctx, batch); err != nil {
		c.log.Warn("record dropped links", "err", err)
		c.drops.mu.Lock()
		for _, d := range batch {
			c.drops.pending[storage.DroppedLinks{Source: d.Source, Reason: d.Reason}] += d.N
		}
		c.drops.mu.Unlock()
	}
}
