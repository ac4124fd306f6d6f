package review

import (
	"context"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// gatedStore admits queue changes (claims, renewals, releases, decisions)
// one at a time, in arrival order. The embedded store has a single writer
// anyway, and database/sql hands a busy connection to a random waiter, so
// under 20 analysts some waited ten times longer than the median; a FIFO
// gate (blocked channel senders are served in order) keeps the tail close
// to the median. Reads are not gated.
type gatedStore struct {
	Store
	gate chan struct{}
}

// serialWriter is a store that makes its changes one at a time (the
// embedded store's single writer connection).
type serialWriter interface{ SerialWrites() bool }

// newGatedStore gates st's queue changes when st makes them one at a time
// anyway. Other stores (Redis runs each change as one atomic script, many
// in flight at once) are not gated: a gate there turned every claim into a
// wait for all the others' round trips, the slowest part of "claim next".
func newGatedStore(st Store) Store {
	if sw, ok := st.(serialWriter); !ok || !sw.SerialWrites() {
		return st
	}
	return &gatedStore{Store: st, gate: make(chan struct{}, 1)}
}

func (g *gatedStore) enter(ctx context.Context) error {
	select {
	case g.gate <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedStore) leave() { <-g.gate }

func (g *gatedStore) ClaimNext(ctx context.Context, reviewer string, ttl time.Duration, f storage.ReviewFilter) (*lokerwatch.ReviewItem, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	defer g.leave()
	return g.Store.ClaimNext(ctx, reviewer, ttl, f)
}

func (g *gatedStore) ClaimItem(ctx context.Context, id, reviewer string, ttl time.Duration) (*lokerwatch.ReviewItem, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	defer g.leave()
	return g.Store.ClaimItem(ctx, id, reviewer, ttl)
}

func (g *gatedStore) RenewItem(ctx context.Context, id, reviewer string, ttl time.Duration) error {
	if err := g.enter(ctx); err != nil {
		return err
	}
	defer g.leave()
	return g.Store.RenewItem(ctx, id, reviewer, ttl)
}

func (g *gatedStore) ReleaseItem(ctx context.Context, id, reviewer string) error {
	if err := g.enter(ctx); err != nil {
		return err
	}
	defer g.leave()
	return g.Store.ReleaseItem(ctx, id, reviewer)
}

func (g *gatedStore) Decide(ctx context.Context, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	defer g.leave()
	return g.Store.Decide(ctx, d)
}
