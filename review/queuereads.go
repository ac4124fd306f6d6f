package review

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// queueReads serves the queue page's reads. Many analysts load the same
// page at the same moment (after each decision), so identical reads that
// overlap in time share one store query; the counts per status, a full
// scan, are also kept for a moment, and forgotten at once when this server
// changes the queue.
type queueReads struct {
	st       Store
	g        singleflight.Group
	countTTL time.Duration

	mu       sync.Mutex
	counts   map[lokerwatch.ReviewStatus]int64
	countsAt time.Time
}

func newQueueReads(st Store) *queueReads {
	return &queueReads{st: st, countTTL: time.Second}
}

// sharedCtx detaches a shared read from the caller that happened to start
// it, so one cancelled request does not fail the others.
func sharedCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// list returns ListItems(f); the slice is shared and must not be changed.
func (q *queueReads) list(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	key := fmt.Sprintf("list %q %q %q %q %d %d %d %d", f.Status, f.Category, f.Source, f.Lang,
		f.Since.UnixNano(), f.Until.UnixNano(), f.Limit, f.Offset)
	ch := q.g.DoChan(key, func() (any, error) {
		sctx, cancel := sharedCtx(ctx)
		defer cancel()
		return q.st.ListItems(sctx, f)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]lokerwatch.ReviewItem), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// count returns CountItems, at most countTTL old.
func (q *queueReads) count(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error) {
	q.mu.Lock()
	if q.counts != nil && time.Since(q.countsAt) < q.countTTL {
		c := maps.Clone(q.counts)
		q.mu.Unlock()
		return c, nil
	}
	q.mu.Unlock()
	ch := q.g.DoChan("count", func() (any, error) {
		sctx, cancel := sharedCtx(ctx)
		defer cancel()
		started := time.Now()
		c, err := q.st.CountItems(sctx)
		if err == nil {
			q.mu.Lock()
			if started.After(q.countsAt) { // not older than an invalidation
				q.counts, q.countsAt = c, started
			}
			q.mu.Unlock()
		}
		return c, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return maps.Clone(res.Val.(map[lokerwatch.ReviewStatus]int64)), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// changed forgets the cached counts after this server changed the queue.
func (q *queueReads) changed() {
	q.mu.Lock()
	q.counts, q.countsAt = nil, time.Now()
	q.mu.Unlock()
}
