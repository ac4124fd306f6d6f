package crawler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// A worker takes a host a turn at a time (storage.Frontier.ClaimRequests):
// up to turnMax of its ready URLs, fetched one after the other while the
// host is busy for everyone else, resting it between fetches here as the
// store would between claims. Pages without flagged ads are finished
// together (storage.PageFinisher) when the turn ends, when flushAt are
// waiting, or during a rest: a page costs a small part of a claim and of
// a store step instead of one of each. Within a turn, a page is extracted
// and stored by the turn's extractor while the next is fetched, and the
// store step runs beside both, so neither is the fetcher's wait.
//
// turnMax bounds turns at fast hosts, where the quarter-lease rule
// (turnSize) would allow more: a store gives no more in one claim. Each turn
// boundary leaves the host unfetched for a store step and a claim (about
// 6 ms on the 2-core benchmark, a tenth of a crawl at 64 URLs a turn);
// the price of bigger turns is that a dead worker's turn holds that many
// URLs until its lease runs out. A turn goes on past its claim
// (continueAt) while no other host waits, so that the boundary costs
// nothing when one host has all the work.
const (
	turnMax = storage.MaxTurn
	flushAt = 32
)

// turnSize is how many URLs to ask for: a turn should take at most about a
// quarter of a lease at the configured host delay, so that the URLs of a
// worker that dies come back soon, and the lease kept alive by extension
// is not what politeness rests on.
func (c *Crawler) turnSize() int {
	per := max(c.cfg.HostDelay.D(), 100*time.Millisecond)
	return min(max(int(c.cfg.Lease.D()/4/per), 1), turnMax)
}

// turn is one claimed turn at a host being worked on.
type turn struct {
	c      *Crawler
	ctx    context.Context // ends with the crawl, or when a lease is lost
	cancel context.CancelFunc
	lost   atomic.Bool
	// halt gives the rest of the turn back: a fetch of the host failed
	// (or the store did) and is to be retried after a back-off.
	halt atomic.Bool

	mu   sync.Mutex                // held while extending, so no ended lease is extended
	open map[string]*storage.Lease // by token: leases not yet ended (pending ones included)

	// fetched pages go to the turn's extractor (extract), one at a time,
	// so that a page is parsed, classified and stored while the next one
	// is fetched — the host still sees one request at a time.
	work      chan *job
	extracted chan struct{} // closed when the extractor is done
	resting   atomic.Bool   // the fetcher is resting the host

	fmu     sync.Mutex // guards pending and flushing (extractor and fetcher)
	pending []pendingPage
	// flushing is closed when the flush in flight (if any) is over: a
	// flush runs beside the turn's next fetches, one at a time, so that
	// the store step's round trip is not the fetcher's wait.
	flushing chan struct{}

	done      chan struct{}
	wg        sync.WaitGroup
	stopLapse func() bool
}

// pendingPage is a fetched page waiting for the turn's next flush.
type pendingPage struct {
	j    *job
	page storage.FinishedPage
}

func (c *Crawler) newTurn(ctx context.Context, ls []*storage.Lease) *turn {
	t := &turn{c: c, open: make(map[string]*storage.Lease, len(ls)), done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(ctx)
	for _, l := range ls {
		t.open[l.Token] = l
	}
	t.work, t.extracted = make(chan *job, 1), make(chan struct{})
	// A lapsing heartbeat ends the turn as a lost lease does.
	t.stopLapse = context.AfterFunc(c.live.lapsed(), func() {
		t.lost.Store(true)
		t.cancel()
	})
	t.wg.Add(1)
	go t.keep()
	go t.extract()
	return t
}

// extract works the turn's fetched pages until the turn closes.
func (t *turn) extract() {
	defer close(t.extracted)
	for j := range t.work {
		j.extract()
		j.release()
		t.c.live.stop(j.l.Token)
		if t.resting.Load() {
			t.flush()
		}
	}
}

// keep extends the turn's open leases until the turn is over, and cancels
// the work when one is lost (its URL is another worker's now).
func (t *turn) keep() {
	defer t.wg.Done()
	ttl := t.c.cfg.Lease.D()
	tick := time.NewTicker(max(ttl/3, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		ls := make([]*storage.Lease, 0, len(t.open))
		for _, l := range t.open {
			ls = append(ls, l)
		}
		var err error
		if len(ls) > 0 {
			err = t.c.store.Extend(t.ctx, ttl, ls...)
		}
		t.mu.Unlock()
		switch {
		case errors.Is(err, lokerwatch.ErrLeaseLost):
			t.lost.Store(true)
			t.c.log.Warn("lease lost; leaving the turn's URLs to whoever has them", "err", err)
			t.cancel()
			return
		case err != nil && t.ctx.Err() == nil:
			t.c.log.Warn("extend leases", "err", err)
		}
	}
}

// end takes a lease out of the turn before the store is told it ended.
func (t *turn) end(l *storage.Lease) {
	t.mu.Lock()
	delete(t.open, l.Token)
	t.mu.Unlock()
}

// finish queues a fetched page for the next flush.
func (t *turn) finish(j *job, page storage.FinishedPage) {
	t.fmu.Lock()
	defer t.fmu.Unlock()
	t.pending = append(t.pending, pendingPage{j: j, page: page})
	if len(t.pending) >= flushAt {
		t.flushLocked()
	}
}

// flush sends the pending pages to the store in one step, in the
// background once the previous flush of the turn is over.
func (t *turn) flush() {
	t.fmu.Lock()
	defer t.fmu.Unlock()
	t.flushLocked()
}

func (t *turn) flushLocked() {
	if len(t.pending) == 0 {
		return
	}
	ps := t.pending
	t.pending = nil
	t.waitFlush()
	done := make(chan struct{})
	t.flushing = done
	go func() {
		defer close(done)
		t.store(ps)
	}()
}

// waitFlush waits for the flush in flight.
func (t *turn) waitFlush() {
	if t.flushing != nil {
		<-t.flushing
		t.flushing = nil
	}
}

// store finishes pages in one store step.
func (t *turn) store(ps []pendingPage) {
	pages := make([]storage.FinishedPage, len(ps))
	for i, p := range ps {
		pages[i] = p.page
		t.end(p.page.Lease)
	}
	c := t.c
	// The jobs' own store contexts ended with their fetch: what follows
	// the flush (a failure, a recrawl) writes with the flush's.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), storeWriteTimeout)
	defer cancel()
	for _, p := range ps {
		p.j.sctx = sctx
	}
	res, err := c.store.FinishPages(sctx, pages)
	c.wake.signal() // the host is free (or resting) again
	if err != nil {
		// The store is away (or refused the step): the pages wait for it
		// (liveness.go) and the turn stops fetching pages it could not
		// store.
		t.halt.Store(true)
		c.log.Warn("store ads: keeping the finished pages until the store answers", "pages", len(ps), "err", err)
		for _, p := range ps {
			c.deferPage(p.j, p.page)
		}
		return
	}
	for i, p := range ps {
		c.finished1(p.j, p.page, res[i])
	}
}

// close finishes what is pending, gives back the leases not worked on (a
// stopping crawl, a turn cut short) so that they need not wait out their
// lease, and stops the keeper.
func (t *turn) close() {
	close(t.work)
	<-t.extracted
	t.fmu.Lock()
	t.flushLocked()
	t.waitFlush()
	t.fmu.Unlock()
	close(t.done)
	t.wg.Wait()
	t.stopLapse()
	t.mu.Lock()
	rest := make([]*storage.Lease, 0, len(t.open))
	for _, l := range t.open {
		rest = append(rest, l)
	}
	t.open = nil
	t.mu.Unlock()
	if len(rest) > 0 {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), storeWriteTimeout)
		if err := t.c.store.Release(sctx, rest...); err != nil {
			t.c.log.Warn("give back leases", "requests", len(rest), "err", err)
			if storeDown(err) {
				t.c.deferRelease(rest...)
			}
		}
		cancel()
		t.c.wake.signal()
	}
	t.cancel()
}

// runTurn fetches a turn's URLs one after the other, resting the host
// between them. While the last of them is fetched it asks the store to go
// on with the host (storage.Frontier.ContinueTurn), which it does only
// when no other host is waiting: a host with much to fetch then sees no
// gap between turns.
func (c *Crawler) runTurn(ctx context.Context, ls []*storage.Lease) {
	t := c.newTurn(ctx, ls)
	defer t.close()
	var last time.Time // when the previous fetch of the turn ended
	var rest time.Duration
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		if t.ctx.Err() != nil || c.fatalErr() != nil || t.halt.Load() {
			c.unreserveN(len(ls) - i) // given back by close
			return
		}
		if i > 0 && rest > 0 {
			if wait := rest - time.Since(last); wait > 0 {
				// Finished pages should not wait out a rest: those the
				// extractor finishes meanwhile are flushed by it.
				t.resting.Store(true)
				t.flush()
				ok := sleep(t.ctx, wait)
				t.resting.Store(false)
				if !ok {
					c.unreserveN(len(ls) - i)
					return
				}
			}
		}
		var more chan []*storage.Lease
		if i == len(ls)-1 && !t.halt.Load() {
			more = t.continueAt(l)
		}
		c.live.start(l.Token)
		j := c.process(ctx, t, l)
		if j.fetched == nil {
			c.live.stop(l.Token)
		}
		last = time.Now()
		rest = j.delay
		if j.fetched != nil {
			t.work <- j
		}
		if more != nil {
			ls = append(ls, <-more...)
		}
	}
}

// continueAt asks, beside the fetch of held, for more of its host's URLs;
// the answer (none when the turn is to end) is sent once on the channel,
// already among the turn's open leases.
func (t *turn) continueAt(held *storage.Lease) chan []*storage.Lease {
	c := t.c
	out := make(chan []*storage.Lease, 1)
	n := c.reserveN(c.turnSize())
	if n == 0 {
		out <- nil
		return out
	}
	go func() {
		ls, err := c.store.ContinueTurn(t.ctx, c.worker, c.cfg.Lease.D(), held, n)
		c.unreserveN(n - len(ls))
		if err != nil && !errors.Is(err, lokerwatch.ErrEmpty) && t.ctx.Err() == nil {
			c.log.Warn("continue turn", "host", held.Host, "err", err)
		}
		t.mu.Lock() // t.open is live: runTurn waits for this answer before close
		for _, l := range ls {
			t.open[l.Token] = l
		}
		t.mu.Unlock()
		out <- ls
	}()
	return out
}
