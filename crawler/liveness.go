package crawler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Liveness: a worker beats (storage.Frontier.Heartbeat) every third of
// crawl.heartbeat, naming the leases it is working on, so that when it
// dies its leases come back within seconds instead of after crawl.lease.
// A fetch that starts makes the next beat come within beatGap, so that a
// page that kills its worker (after that long) is named in the last beat
// before the death; one that kills it sooner is not counted against.
//
// Store outages: a store step on a lease that fails for any reason but a
// lost lease does not leave the lease to expire. Finished pages wait in a
// bounded buffer (maxDeferred) and are stored and acked when the store
// answers again; every other lease (the rest of a turn, a failure that
// could not be recorded) is released then, with no attempt counted. The
// mender retries every retryGap while the store is away.
const (
	beatGap     = 200 * time.Millisecond
	retryGap    = 500 * time.Millisecond
	maxDeferred = 1024
)

// live is the crawler's liveness state.
type live struct {
	mu       sync.Mutex
	inflight map[string]struct{} // tokens being fetched or extracted
	poke     chan struct{}       // a fetch started: beat soon

	// lapse ends when this worker's heartbeat has not reached the store
	// for two thirds of crawl.heartbeat: the store may soon take its
	// leases for a dead worker's, so its turns stop fetching (a fetch of
	// a host another worker now holds would break politeness). A beat
	// that gets through again makes a new one.
	lmu         sync.Mutex
	lapse       context.Context
	lapseCancel context.CancelFunc

	dmu      sync.Mutex
	pages    []deferredPage   // finished pages the store could not take
	releases []*storage.Lease // leases to give back
	mend     chan struct{}    // something was deferred
}

type deferredPage struct {
	j    *job
	page storage.FinishedPage
}

func newLive() *live {
	v := &live{inflight: map[string]struct{}{}, poke: make(chan struct{}, 1), mend: make(chan struct{}, 1)}
	v.lapse, v.lapseCancel = context.WithCancel(context.Background())
	return v
}

// lapsed is a context that ends when the heartbeat lapses (see live.lapse).
func (v *live) lapsed() context.Context {
	v.lmu.Lock()
	defer v.lmu.Unlock()
	return v.lapse
}

// beaten records whether a beat got through, and how long ago the last
// one did.
func (v *live) beaten(ok bool, sinceOK, ttl time.Duration) (lapsedNow bool) {
	v.lmu.Lock()
	defer v.lmu.Unlock()
	switch {
	case ok && v.lapse.Err() != nil:
		v.lapse, v.lapseCancel = context.WithCancel(context.Background())
	case !ok && v.lapse.Err() == nil && sinceOK > ttl*2/3:
		v.lapseCancel()
		return true
	}
	return false
}

// start notes a lease being worked on.
func (v *live) start(tok string) {
	v.mu.Lock()
	v.inflight[tok] = struct{}{}
	v.mu.Unlock()
	v.pokeBeat()
}

// pokeBeat asks the heartbeat for a beat soon.
func (v *live) pokeBeat() {
	select {
	case v.poke <- struct{}{}:
	default:
	}
}

// stop notes a lease no longer worked on.
func (v *live) stop(tok string) {
	v.mu.Lock()
	delete(v.inflight, tok)
	v.mu.Unlock()
}

func (v *live) tokens() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.inflight))
	for t := range v.inflight {
		out = append(out, t)
	}
	return out
}

func (c *Crawler) beat(ctx context.Context, ttl time.Duration) error {
	return c.store.Heartbeat(ctx, storage.Beat{Worker: c.worker, TTL: ttl, InFlight: c.live.tokens(),
		MaxDeaths: c.cfg.MaxWorkerDeaths})
}

// heartbeat beats until ctx ends.
func (c *Crawler) heartbeat(ctx context.Context) {
	ttl := c.cfg.Heartbeat.D()
	every := ttl / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	last, lastOK := time.Now(), time.Now()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.live.poke:
			if wait := beatGap - time.Since(last); wait > 0 && !sleep(ctx, wait) {
				return
			}
		}
		last = time.Now()
		bctx, cancel := context.WithTimeout(ctx, every)
		err := c.beat(bctx, ttl)
		cancel()
		if err == nil {
			lastOK = time.Now()
		}
		if c.live.beaten(err == nil, time.Since(lastOK), ttl) {
			c.log.Warn("heartbeat lapsing: stopping this worker's turns, their leases may be another's soon",
				"since_last_beat", time.Since(lastOK).Round(time.Millisecond))
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			c.log.Warn("heartbeat", "err", err)
		case err == nil && failing:
			failing = false
			c.log.Info("heartbeat again")
		}
	}
}

// deferPage keeps a finished page the store could not take, or gives its
// lease back when the buffer is full.
func (c *Crawler) deferPage(j *job, page storage.FinishedPage) {
	v := c.live
	v.dmu.Lock()
	if len(v.pages) < maxDeferred {
		v.pages = append(v.pages, deferredPage{j: j, page: page})
	} else {
		v.releases = append(v.releases, page.Lease)
	}
	v.dmu.Unlock()
	v.kick()
}

// deferRelease gives leases back once the store answers.
func (c *Crawler) deferRelease(ls ...*storage.Lease) {
	if len(ls) == 0 {
		return
	}
	v := c.live
	v.dmu.Lock()
	v.releases = append(v.releases, ls...)
	v.dmu.Unlock()
	v.kick()
}

func (v *live) kick() {
	select {
	case v.mend <- struct{}{}:
	default:
	}
}

// deferred counts what waits for the store.
func (v *live) deferred() (pages, releases int) {
	v.dmu.Lock()
	defer v.dmu.Unlock()
	return len(v.pages), len(v.releases)
}

// mender applies what was deferred, retrying every retryGap, until ctx
// ends.
func (c *Crawler) mender(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.live.mend:
		}
		for !c.mendOnce(ctx) {
			if !sleep(ctx, retryGap) {
				return
			}
		}
	}
}

// mendOnce tries to apply everything deferred and reports whether nothing
// is left.
func (c *Crawler) mendOnce(ctx context.Context) bool {
	v := c.live
	v.dmu.Lock()
	ps, rs := v.pages, v.releases
	v.pages, v.releases = nil, nil
	v.dmu.Unlock()
	if len(ps) == 0 && len(rs) == 0 {
		return true
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	keep := func() {
		v.dmu.Lock()
		v.pages, v.releases = append(ps, v.pages...), append(rs, v.releases...)
		v.dmu.Unlock()
	}
	// Beat first: this worker is alive, and its leases should not be
	// reclaimed as a dead worker's while it gives them back. A beat that
	// fails says the store is still away.
	if err := c.beat(sctx, c.cfg.Heartbeat.D()); err != nil {
		keep()
		return false
	}
	if len(ps) > 0 {
		pages := make([]storage.FinishedPage, len(ps))
		for i, p := range ps {
			pages[i] = p.page
		}
		res, err := c.store.FinishPages(sctx, pages)
		if err != nil {
			// The store answers (it took the beat) but refuses this step:
			// each page failed, with an attempt counted, rather than kept
			// (or fetched again) forever.
			for _, p := range ps {
				c.n.errors.Add(1)
				p.j.logger().Error("store ads", "err", err)
				ferr := c.store.Fail(sctx, p.page.Lease, storage.FailOptions{Reason: err.Error(), Retry: true,
					MaxAttempts: c.cfg.MaxAttempts, HostDelay: p.page.Ack.HostDelay})
				if storeDown(ferr) {
					rs = append(rs, p.page.Lease)
				}
			}
		} else {
			for i, p := range ps {
				p.j.sctx = sctx
				c.finished1(p.j, p.page, res[i])
			}
			c.log.Info("store is back: finished pages kept during the outage", "pages", len(ps))
		}
		ps = nil
	}
	ok := true
	if len(rs) > 0 {
		if err := c.store.Release(sctx, rs...); err != nil {
			ok = false
			keep()
		} else {
			c.log.Info("store is back: gave back leases held during the outage", "requests", len(rs))
		}
	}
	c.wake.signal()
	return ok
}

// finished1 counts a page the store finished (res) and schedules its
// revisit.
func (c *Crawler) finished1(j *job, page storage.FinishedPage, res storage.PageResult) {
	if res.Err != nil {
		// Another worker has the URL now and stores its ads.
		j.logger().Warn("ack", "err", res.Err)
		return
	}
	for k, ad := range page.Ads {
		j.stored(ad, res.Puts[k])
	}
	j.scheduleRecrawl()
}

// storeDown tells a store failure to keep the work for (not a lost lease,
// not this crawl stopping).
func storeDown(err error) bool {
	return err != nil && !errors.Is(err, lokerwatch.ErrLeaseLost)
}

func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
