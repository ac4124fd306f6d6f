package review

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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

	// counts is read on every page without a lock (20 analysts on two
	// cores queued on a mutex here); mu only orders the writers.
	mu     sync.Mutex
	counts atomic.Pointer[countsSnap]
}

// countsSnap is a count result, never changed once stored; nil counts
// with a time record an invalidation.
type countsSnap struct {
	c  map[lokerwatch.ReviewStatus]int64
	at time.Time
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
	// Every field of f: "my claims" of one analyst must never answer another's.
	key := fmt.Sprintf("list %q %q %q %q %d %d %d %d %q %q %q %t %t", f.Status, f.Category, f.Source, f.Lang,
		f.Since.UnixNano(), f.Until.UnixNano(), f.Limit, f.Offset, f.Claimant, f.Cluster, f.Sort, f.Reverse, f.Group)
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

// count returns CountItems, at most countTTL old. The map is shared and
// must not be changed.
func (q *queueReads) count(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error) {
	if c := q.counts.Load(); c != nil && c.c != nil && time.Since(c.at) < q.countTTL {
		return c.c, nil
	}
	ch := q.g.DoChan("count", func() (any, error) {
		sctx, cancel := sharedCtx(ctx)
		defer cancel()
		started := time.Now()
		c, err := q.st.CountItems(sctx)
		if err == nil {
			q.mu.Lock()
			if old := q.counts.Load(); old == nil || started.After(old.at) { // not older than an invalidation
				q.counts.Store(&countsSnap{c: c, at: started})
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
		return res.Val.(map[lokerwatch.ReviewStatus]int64), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// changed forgets the cached counts after this server changed the queue.
func (q *queueReads) changed() {
	q.mu.Lock()
	q.counts.Store(&countsSnap{at: time.Now()})
	q.mu.Unlock()
}
