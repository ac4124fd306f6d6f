// Package crawler fetches the configured sources and turns their pages into
// ads: a worker loop over the store's shared frontier (claim with a lease,
// extend while fetching, ack or fail), colly as the fetcher on our own
// transport (raw exchanges kept for evidence), robots.txt with Crawl-delay
// through a cache shared by all workers, URL canonicalisation, and one
// extractor per source type (jobboard JSON-LD, Telegram channel previews,
// RSS/Atom feeds, html site profiles).
package crawler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Store is what the crawler needs from storage.
type Store interface {
	storage.Frontier
	storage.PageFinisher
	storage.RobotsCache
	storage.Ads
	storage.ReviewQueue
	storage.LinkDrops
}

// Classifier assesses an ad: it fills ad.Assessment (and may fill Lang,
// Entities and Fingerprint). classifiers.Engine implements it.
type Classifier interface {
	Classify(ad *lokerwatch.Ad)
}

// Archiver keeps the raw exchange of a page that yielded flagged ads
// (evidence.Archiver writes it as WARC).
type Archiver interface {
	Archive(ctx context.Context, ex *lokerwatch.Exchange, ads []*lokerwatch.Ad) error
}

// Alerter hears of every flagged ad queued for review, new or queued
// before (notify.Notifier writes its alerts to the store's outbox and
// sends them in the background; it must not wait for a receiver).
type Alerter interface {
	Flagged(ctx context.Context, ad *lokerwatch.Ad, item *lokerwatch.ReviewItem) error
}

// Options configure a Crawler.
type Options struct {
	Config     *config.Config
	Store      Store
	Classifier Classifier
	Archiver   Archiver // optional
	Alerts     Alerter  // optional: on-call alerts for flagged ads
	Logger     *slog.Logger
	// Worker names this process in leases ("host-pid").
	Worker string
	// Follow keeps Run working after the frontier is finished, waiting for
	// new seeds and scheduled recrawls (sources with `every`).
	Follow bool
	// Dial opens connections. Nil means the network guard (NewGuard with
	// crawl.allow_private), which refuses loopback, private, link-local and
	// other non-public addresses after DNS resolution; tests may override it.
	Dial DialFunc
	// StoreOutage is how long Run keeps retrying a store that fails before
	// it gives up (default 5m; forever with Follow).
	StoreOutage time.Duration
	// Registerer receives the crawler's metrics (deploy/METRICS.md,
	// "Crawler"); nil means none are exported.
	Registerer prometheus.Registerer
}

// Summary counts what a Run did in this process.
type Summary struct {
	Pages    int // fetches made (what max_pages counts), failed ones included
	Ads      int // ads extracted and stored
	NewAds   int // of those, stored for the first time
	Flagged  int // ads the classifier flagged
	Queued   int // review items created
	Links    int // links added to the frontier
	Errors   int // pages that failed: network, HTTP status, not parseable
	Problems int // parts of pages skipped (a bad JSON-LD block, an item without text)
	Robots   int // URLs not fetched because robots.txt disallows them
	Refused  int // URLs refused by the network guard
	Removed  int // ads marked removed: their page answered 404 or 410 on a revisit
	// Skipped counts links not queued and URLs not fetched by the crawl
	// limits, by reason: max_depth, max_url_length, pages_per_host and the
	// trap kinds ("trap: calendar", "trap: repeating path segments",
	// "trap: listing pages add no new links", …).
	Skipped map[string]int
	// Dropped is Skipped by source and reason.
	Dropped map[Drop]int
	// Finished is true when the frontier was empty everywhere at the end
	// (false when stopped by ctx, max_pages or Follow).
	Finished bool
	Duration time.Duration
}

// DroppedList is Dropped sorted by source and reason.
func (s Summary) DroppedList() []storage.DroppedLinks {
	out := make([]storage.DroppedLinks, 0, len(s.Dropped))
	for k, n := range s.Dropped {
		out = append(out, storage.DroppedLinks{Source: k.Source, Reason: k.Reason, N: int64(n)})
	}
	storage.SortDroppedLinks(out)
	return out
}

type counters struct {
	pages, ads, newAds, flagged, queued, links, errors, problems, robots, refused, removed atomic.Int64
}

// Crawler is a worker over the shared frontier.
type Crawler struct {
	cfg        config.Crawl
	store      Store
	classifier Classifier
	archiver   Archiver
	alerts     Alerter
	log        *slog.Logger
	worker     string
	follow     bool
	outage     time.Duration
	sources    map[string]*source
	order      []*source
	fetch      *fetcher
	robots     *robots // nil when crawl.robots is off
	lim        *limits
	metrics    *metrics
	drops      drops

	n        counters
	started  atomic.Int64 // unix nanos of the current Run's start
	reserved atomic.Int64 // pages being fetched or fetched (max_pages)
	finished atomic.Bool
	lastReap atomic.Int64 // unix nanos
	wake     wake         // idle workers wait on it for local acks, fails and links

	fatalMu sync.Mutex
	fatal   error

	live *live // heartbeat and what waits for the store (liveness.go)
}

// New checks the sources (follow patterns, profile selectors, seeds) and
// builds the fetcher.
func New(opt Options) (*Crawler, error) {
	if opt.Config == nil {
		return nil, errors.New("crawler: no config")
	}
	if opt.Store == nil {
		return nil, errors.New("crawler: no store")
	}
	if opt.Classifier == nil {
		return nil, errors.New("crawler: no classifier")
	}
	cr := opt.Config.Crawl
	if cr.Parallelism < 1 {
		cr.Parallelism = 1
	}
	if cr.MaxBody <= 0 {
		return nil, fmt.Errorf("crawler: crawl.max_body must be positive")
	}
	if cr.Timeout <= 0 {
		return nil, fmt.Errorf("crawler: crawl.timeout must be positive")
	}
	if cr.Lease < config.Duration(time.Second) {
		cr.Lease = config.Duration(2 * time.Minute)
	}
	if cr.MaxAttempts < 1 {
		cr.MaxAttempts = 1
	}
	if cr.MaxURLLength <= 0 {
		cr.MaxURLLength = 2048
	}
	if cr.UserAgent == "" {
		return nil, fmt.Errorf("crawler: crawl.user_agent must not be empty")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Crawler{
		cfg: cr, store: opt.Store, classifier: opt.Classifier, archiver: opt.Archiver, alerts: opt.Alerts,
		log: log.With("worker", opt.Worker), worker: opt.Worker, follow: opt.Follow,
		outage: opt.StoreOutage, sources: map[string]*source{}, lim: newLimits(cr.PagesPerHost),
	}
	if c.worker == "" {
		c.worker = "crawler"
	}
	// A restarted process may get the name of the one that died (pid 1 in
	// a container): the suffix keeps its heartbeat from being the dead
	// one's.
	c.worker += "." + newToken()[:6]
	c.live = newLive()
	if c.cfg.Heartbeat < config.Duration(time.Second) {
		c.cfg.Heartbeat = config.Duration(min(5*time.Second, c.cfg.Lease.D()))
	}
	if c.outage <= 0 {
		c.outage = 5 * time.Minute
	}
	var errs []error
	for _, s := range opt.Config.Sources {
		src, err := newSource(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := c.sources[s.Name]; dup {
			errs = append(errs, fmt.Errorf("source %q: name used twice", s.Name))
			continue
		}
		c.sources[s.Name] = src
		c.order = append(c.order, src)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("crawler: %w", errors.Join(errs...))
	}
	names := make([]string, len(c.order))
	for i, s := range c.order {
		names[i] = s.cfg.Name
	}
	m, err := newMetrics(opt.Registerer, names, cr.Parallelism)
	if err != nil {
		return nil, fmt.Errorf("crawler: %w", err)
	}
	c.metrics = m
	for _, s := range c.order {
		m.every.WithLabelValues(s.cfg.Name).Set(s.cfg.Every.D().Seconds())
	}
	dial := opt.Dial
	if dial == nil {
		g, err := NewGuard(cr.AllowPrivate)
		if err != nil {
			return nil, fmt.Errorf("crawler: %w", err)
		}
		g.dialer.Timeout = min(cr.Timeout.D(), 15*time.Second)
		dial = g.DialContext
	}
	c.fetch = newFetcher(fetcherOptions{
		UserAgent:     cr.UserAgent,
		Timeout:       cr.Timeout.D(),
		MaxBody:       int64(cr.MaxBody),
		MaxRedirects:  cr.MaxRedirects,
		Dial:          dial,
		CheckRedirect: c.checkRedirect,
	})
	if cr.Robots {
		ttl := cr.RobotsTTL.D()
		if ttl <= 0 {
			ttl = 24 * time.Hour
		}
		c.robots = &robots{
			store: opt.Store, agent: agentToken(cr.UserAgent), ttl: ttl,
			maxDelay: cr.MaxCrawlDelay.D(), fetch: readRobots(c.fetch.plain, cr.UserAgent),
			local: map[string]*robotsRules{}, inflight: map[string]*sync.WaitGroup{},
		}
	}
	return c, nil
}

// Seed queues every source's seeds (Kind "seed"). Seeds are revisits: a
// second crawl starts again from them while pages already seen stay seen.
func (c *Crawler) Seed(ctx context.Context) (int, error) {
	var reqs []storage.Request
	for _, s := range c.order {
		for _, seed := range s.cfg.Seeds {
			u, err := Canonical(seed)
			if err != nil {
				return 0, fmt.Errorf("source %q: seed %q: %w", s.cfg.Name, seed, err)
			}
			reqs = append(reqs, storage.Request{URL: u, Source: s.cfg.Name, Kind: "seed", Revisit: true})
		}
	}
	n, err := c.store.Add(ctx, reqs...)
	if err != nil {
		return n, fmt.Errorf("add seeds: %w", err)
	}
	c.log.Info("seeded", "seeds", len(reqs), "queued", n)
	return n, nil
}

// Run works the frontier with crawl.parallelism workers until the crawl is
// finished everywhere (nothing queued, nothing in flight), max_pages is
// reached, or ctx is done. Run returns an error only when the store stayed
// unusable for StoreOutage; a stopped ctx is not an error.
func (c *Crawler) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	c.started.Store(start.UnixNano())
	c.finished.Store(false)
	if n, err := c.store.ReapRequests(ctx); err != nil {
		c.log.Warn("reap expired leases", "err", err)
	} else if n > 0 {
		c.log.Info("returned expired leases to the queue", "requests", n)
	}
	c.lastReap.Store(time.Now().UnixNano())
	// The heartbeat and the mender outlive ctx: a stopping worker still
	// gives back what it holds.
	lctx, lcancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := c.beat(ctx, c.cfg.Heartbeat.D()); err != nil && ctx.Err() == nil {
		c.log.Warn("heartbeat", "err", err)
	}
	var lwg sync.WaitGroup
	lwg.Add(2)
	go func() { defer lwg.Done(); c.heartbeat(lctx) }()
	go func() { defer lwg.Done(); c.mender(lctx) }()
	var wg sync.WaitGroup
	for i := 0; i < c.cfg.Parallelism; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx)
		}()
	}
	wg.Wait()
	c.flushDrops(ctx)
	c.leave(lctx, lcancel, &lwg)
	s := c.summary()
	s.Duration = time.Since(start)
	c.log.Info("crawl stopped", "pages", s.Pages, "ads", s.Ads, "flagged", s.Flagged,
		"errors", s.Errors, "finished", s.Finished, "seconds", s.Duration.Seconds())
	for _, d := range s.DroppedList() {
		c.log.Warn("links dropped by crawl limits", "source", d.Source, "reason", d.Reason, "links", d.N)
	}
	return s, c.fatalErr()
}

// leave gives back what waits for the store (for a while, if it is
// away), stops the heartbeat and ends it in the store when nothing is
// held any more; else the heartbeat lapses and others reclaim the rest.
func (c *Crawler) leave(lctx context.Context, lcancel context.CancelFunc, lwg *sync.WaitGroup) {
	deadline := time.Now().Add(leaveWait)
	for !c.mendOnce(lctx) && time.Now().Before(deadline) {
		sleep(lctx, retryGap)
	}
	lcancel()
	lwg.Wait()
	if p, r := c.live.deferred(); p+r > 0 {
		c.log.Warn("store unreachable: leaving leases to be reclaimed when this worker's heartbeat lapses",
			"pages", p, "leases", r, "heartbeat", c.cfg.Heartbeat.D())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.store.Heartbeat(ctx, storage.Beat{Worker: c.worker}); err != nil {
		c.log.Debug("end heartbeat", "err", err)
	}
}

// leaveWait bounds how long a stopping worker waits for the store to take
// what it kept during an outage.
const leaveWait = 5 * time.Second

// Progress is the Summary of the Run going on (or the last one) so far,
// with Duration the time since it started. It is cheap (atomic reads and a
// copy of the skip counts) and safe to call from any goroutine, e.g. a
// progress display.
func (c *Crawler) Progress() Summary {
	s := c.summary()
	if t := c.started.Load(); t != 0 {
		s.Duration = time.Since(time.Unix(0, t))
	}
	return s
}

func (c *Crawler) summary() Summary {
	return Summary{
		Pages: int(c.n.pages.Load()), Ads: int(c.n.ads.Load()), NewAds: int(c.n.newAds.Load()),
		Flagged: int(c.n.flagged.Load()), Queued: int(c.n.queued.Load()), Links: int(c.n.links.Load()),
		Errors: int(c.n.errors.Load()), Problems: int(c.n.problems.Load()), Robots: int(c.n.robots.Load()),
		Refused: int(c.n.refused.Load()), Removed: int(c.n.removed.Load()), Skipped: c.lim.skippedCopy(), Dropped: c.lim.droppedCopy(), Finished: c.finished.Load(),
	}
}

// backoff is a capped doubling wait.
type backoff struct{ cur, min, max time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Crawler) stopped(ctx context.Context) bool {
	return ctx.Err() != nil || c.finished.Load() || c.fatalErr() != nil
}

func (c *Crawler) fatalErr() error {
	c.fatalMu.Lock()
	defer c.fatalMu.Unlock()
	return c.fatal
}

func (c *Crawler) work(ctx context.Context) {
	idle := backoff{min: 10 * time.Millisecond, max: 500 * time.Millisecond}
	trouble := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	var failingSince time.Time
	size := c.turnSize()
	for !c.stopped(ctx) {
		n := c.reserveN(size)
		if n == 0 {
			// max_pages: wait for fetches in flight, then stop.
			if c.cfg.MaxPages > 0 && c.n.pages.Load() >= int64(c.cfg.MaxPages) {
				return
			}
			sleep(ctx, idle.next())
			continue
		}
		if c.live.lapsed().Err() != nil {
			// No claims while this worker's heartbeat does not reach the
			// store: its turns would be cut at once. Ask for a beat now.
			c.unreserveN(n)
			c.live.pokeBeat()
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if !c.follow && time.Since(failingSince) > c.outage {
				c.setFatal(fmt.Errorf("store unusable for %s: this worker's heartbeat does not get through", c.outage))
				return
			}
			sleep(ctx, trouble.next())
			continue
		}
		woken := c.wake.wait()
		ls, err := c.store.ClaimRequests(ctx, c.worker, c.cfg.Lease.D(), n)
		if err != nil {
			c.unreserveN(n)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, lokerwatch.ErrEmpty) {
				failingSince = time.Time{}
				if c.idle(ctx) {
					return
				}
				if sleepOrWake(ctx, idle.next(), woken) {
					idle.reset()
				}
				continue
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if !c.follow && time.Since(failingSince) > c.outage {
				c.setFatal(fmt.Errorf("store unusable for %s: %w", c.outage, err))
				return
			}
			c.log.Warn("claim request", "err", err)
			sleep(ctx, trouble.next())
			continue
		}
		failingSince = time.Time{}
		idle.reset()
		trouble.reset()
		c.unreserveN(n - len(ls))
		c.runTurn(ctx, ls)
	}
}

func (c *Crawler) setFatal(err error) {
	c.fatalMu.Lock()
	defer c.fatalMu.Unlock()
	if c.fatal == nil {
		c.fatal = err
	}
}

// idle runs when nothing is ready to claim: it returns true when the crawl
// is finished everywhere, and now and then returns expired leases of dead
// workers to the queue.
func (c *Crawler) idle(ctx context.Context) bool {
	if !c.follow {
		st, err := c.store.FrontierStats(ctx)
		if err == nil && st.Finished() {
			c.finished.Store(true)
			c.wake.signal()
			return true
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("frontier stats", "err", err)
		}
	}
	every := max(c.cfg.Lease.D()/4, time.Second)
	last := c.lastReap.Load()
	if time.Since(time.Unix(0, last)) > every && c.lastReap.CompareAndSwap(last, time.Now().UnixNano()) {
		if n, err := c.store.ReapRequests(ctx); err != nil {
			if ctx.Err() == nil {
				c.log.Warn("reap expired leases", "err", err)
			}
		} else if n > 0 {
			c.log.Info("returned expired leases to the queue", "requests", n)
		}
	}
	return false
}

// reserveN takes up to n max_pages slots before claiming, so that
// parallel workers never fetch more than the limit, and returns how many
// it got.
func (c *Crawler) reserveN(n int) int {
	if c.cfg.MaxPages <= 0 {
		return n
	}
	for {
		cur := c.reserved.Load()
		k := min(int64(n), int64(c.cfg.MaxPages)-cur)
		if k <= 0 {
			return 0
		}
		if c.reserved.CompareAndSwap(cur, cur+k) {
			return int(k)
		}
	}
}

// unreserveN gives back slots not used for a fetch.
func (c *Crawler) unreserveN(n int) {
	if c.cfg.MaxPages > 0 && n > 0 {
		c.reserved.Add(-int64(n))
	}
}

// job is one claimed request being worked on.
type job struct {
	c     *Crawler
	l     *storage.Lease
	t     *turn
	src   *source
	log   *slog.Logger  // with the URL and source; made on first use (logger)
	delay time.Duration // host rest after this fetch
	// fetched is the response left to extract (handle): set, the job
	// goes on in its turn's extractor.
	fetched *fetchState
	// sctx is for store writes after the fetch: they must land even when
	// the crawl is being stopped, so that finished work is not redone.
	// It is made on first use (storeCtx): most pages write only through
	// their turn's flush, which brings its own.
	sctx    context.Context
	scancel context.CancelFunc
	crawl   context.Context // sctx's parent, for its values
}

func (j *job) storeCtx() context.Context {
	if j.sctx == nil {
		j.sctx, j.scancel = context.WithTimeout(context.WithoutCancel(j.crawl), storeWriteTimeout)
	}
	return j.sctx
}

// release ends the job's store context, when one was made.
func (j *job) release() {
	if j.scancel != nil {
		j.scancel()
	}
}

func (j *job) logger() *slog.Logger {
	if j.log == nil {
		j.log = j.c.log.With("url", j.l.URL, "source", j.l.Source)
	}
	return j.log
}

const storeWriteTimeout = 30 * time.Second

// process works one URL of turn t; ctx is the crawl's.
func (c *Crawler) process(ctx context.Context, t *turn, l *storage.Lease) *job {
	wctx := t.ctx
	j := &job{c: c, l: l, t: t, delay: c.cfg.HostDelay.D(), crawl: ctx}
	defer func() {
		if j.fetched == nil {
			j.release()
		}
	}()
	fetched := false
	defer func() {
		if !fetched {
			c.unreserveN(1)
		}
	}()

	j.src = c.sources[l.Source]
	if j.src == nil {
		j.fail(false, fmt.Sprintf("source %q is not in this worker's config", l.Source), 0)
		c.n.errors.Add(1)
		return j
	}
	if len(l.URL) > c.cfg.MaxURLLength {
		c.drop(l.Source, skipURLLength, 1, l.URL)
		j.fail(false, fmt.Sprintf("URL longer than crawl.max_url_length (%d bytes)", c.cfg.MaxURLLength), 0)
		c.n.errors.Add(1)
		return j
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		j.fail(false, fmt.Sprintf("bad URL: %v", err), 0)
		c.n.errors.Add(1)
		return j
	}
	if c.robots != nil {
		ok, delay, err := c.robots.check(wctx, u)
		if err != nil {
			if j.interrupted(ctx) {
				return j
			}
			c.n.errors.Add(1)
			if errors.Is(err, errRobotsUnavailable) || errors.Is(err, ErrRefused) {
				// robots.txt could not be read from the host: the URL's fetch
				// failed as surely as if the page itself had.
				c.metrics.request(l.Source, errOutcome(err, false))
			}
			if errors.Is(err, ErrRefused) {
				c.n.refused.Add(1)
				j.logger().Warn("refused", "err", err)
				j.fail(false, err.Error(), 0)
				return j
			}
			j.logger().Warn("robots.txt", "err", err)
			j.fail(true, err.Error(), robotsErrorTTL)
			return j
		}
		if !ok {
			j.logger().Info("disallowed by robots.txt")
			c.n.robots.Add(1)
			c.metrics.request(l.Source, OutcomeRobotsDenied)
			j.fail(false, "disallowed by robots.txt", 0)
			return j
		}
		j.delay = max(j.delay, delay)
		// robots.txt was just fetched from this host (we hold its lease, so
		// nobody else fetched it since): rest the host before the page too.
		if at := c.robots.fetchedAt(u); !at.IsZero() {
			if wait := j.delay - time.Since(at); wait > 0 && !sleep(wctx, wait) {
				return j // stopping or lease lost: the turn gives the URL back
			}
		}
	}

	if !c.lim.fetch(strings.ToLower(u.Host)) {
		c.drop(l.Source, skipPagesPerHost, 1, l.URL)
		j.fail(false, fmt.Sprintf("crawl.pages_per_host reached: %d pages of %s fetched", c.cfg.PagesPerHost, u.Host), 0)
		return j
	}

	hdr := http.Header{}
	hdr.Set("Accept", "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5")
	hdr.Set("Accept-Language", "id,en;q=0.8")
	if l.ETag != "" {
		hdr.Set("If-None-Match", l.ETag)
	}
	if l.LastModified != "" {
		hdr.Set("If-Modified-Since", l.LastModified)
	}
	fctx, fcancel := context.WithTimeout(wctx, c.cfg.Timeout.D())
	c.metrics.inFlight.Inc()
	fetchStart := time.Now()
	st, err := c.fetch.get(fctx, l.URL, hdr)
	took := time.Since(fetchStart)
	c.metrics.inFlight.Dec()
	timedOut := false
	if err != nil && errors.Is(fctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		timedOut = true
		err = fmt.Errorf("cut off at crawl.timeout (%s): %w", c.cfg.Timeout.D(), err)
	}
	fcancel()
	fetched = true
	c.n.pages.Add(1)
	if err != nil {
		if j.interrupted(ctx) {
			return j
		}
		c.metrics.duration.Observe(took.Seconds())
		c.metrics.request(l.Source, errOutcome(err, timedOut))
		c.n.errors.Add(1)
		switch {
		case errors.Is(err, ErrRefused):
			c.n.refused.Add(1)
			j.logger().Warn("refused", "err", err)
			j.fail(false, err.Error(), 0)
		case errors.Is(err, errTooManyRedirects), errors.Is(err, errRedirectScheme), errors.Is(err, errRedirectLoop),
			errors.Is(err, errRedirectDisallowed), errors.Is(err, errEncoding):
			j.logger().Warn("fetch", "err", err)
			j.fail(false, err.Error(), j.delay)
		default:
			j.logger().Warn("fetch", "err", err)
			j.fail(true, err.Error(), j.delay)
		}
		return j
	}
	c.metrics.duration.Observe(took.Seconds())
	j.handle(st)
	return j
}

// interrupted tells whether the work stopped because the crawl is stopping
// or a lease of the turn was lost: then nobody acks, and the turn gives
// the URL back (Release; a lost lease is another worker's already).
func (j *job) interrupted(ctx context.Context) bool {
	return ctx.Err() != nil || j.t.lost.Load()
}

func (j *job) fail(retry bool, reason string, hostDelay time.Duration) {
	if retry {
		// The host failed or asked to slow down: its other URLs wait for
		// their back-off elsewhere.
		j.t.halt.Store(true)
	}
	j.t.end(j.l)
	err := j.c.store.Fail(j.storeCtx(), j.l, storage.FailOptions{
		Reason: reason, Retry: retry, MaxAttempts: j.c.cfg.MaxAttempts, HostDelay: hostDelay,
	})
	j.c.wake.signal() // the host is free (or resting) again
	if err != nil {
		j.logger().Warn("record failure", "reason", reason, "err", err)
		if storeDown(err) {
			// The store is away: the URL goes back when it answers, with
			// no attempt counted, and the turn stops here.
			j.t.halt.Store(true)
			j.c.deferRelease(j.l)
		}
	}
}

// ack ends the lease now (the step-by-step path of pages with flagged ads).
func (j *job) ack(etag, lastModified string) bool {
	j.t.end(j.l)
	err := j.c.store.Ack(j.storeCtx(), j.l, storage.AckOptions{HostDelay: j.delay, ETag: etag, LastModified: lastModified})
	j.c.wake.signal() // the host is free (or resting) again
	if err != nil {
		j.logger().Warn("ack", "err", err)
		if storeDown(err) {
			// Its ads are stored: the ack waits for the store.
			j.t.halt.Store(true)
			j.c.deferPage(j, storage.FinishedPage{Lease: j.l,
				Ack: storage.AckOptions{HostDelay: j.delay, ETag: etag, LastModified: lastModified}})
		}
		return false
	}
	return true
}

// A 429 or 503 rests the host for its Retry-After (capped), or
// defaultSlowDown when it gives none.
const (
	maxRetryAfter   = time.Hour
	defaultSlowDown = 30 * time.Second
)

func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return min(time.Duration(max(s, 0))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// handle deals with a response: status, extraction, ads, links, ack.
func (j *job) handle(st *fetchState) {
	c := j.c
	ex := st.exchange()
	resp := st.resp
	status := resp.StatusCode
	c.metrics.request(j.src.cfg.Name, statusOutcome(status, ex.Truncated))
	switch {
	case status == http.StatusNotModified:
		// Unchanged: nothing to extract, but a listing still comes back
		// after its source's `every` (after the flush, see finishPage).
		j.t.finish(j, storage.FinishedPage{Lease: j.l, Ack: storage.AckOptions{HostDelay: j.delay, ETag: j.l.ETag, LastModified: j.l.LastModified}})
		return
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		c.n.errors.Add(1)
		rest := retryAfter(*resp.Headers, time.Now())
		if rest == 0 {
			rest = defaultSlowDown
		}
		rest = max(rest, j.delay)
		j.logger().Warn("server asks to slow down", "status", status, "rest", rest)
		j.fail(true, fmt.Sprintf("HTTP %d", status), rest)
		return
	case status >= 500:
		c.n.errors.Add(1)
		j.logger().Warn("server error", "status", status)
		j.fail(true, fmt.Sprintf("HTTP %d", status), j.delay)
		return
	case status < 200 || status >= 300:
		c.n.errors.Add(1)
		j.logger().Warn("not fetched", "status", status)
		if (status == http.StatusNotFound || status == http.StatusGone) && j.l.Kind == "page" {
			// An ad page revisited (ad_every) and gone: the ad is kept,
			// marked removed.
			if ok, err := c.store.MarkRemoved(j.storeCtx(), j.l.URL, ex.FetchedAt); err != nil {
				j.logger().Warn("mark ad removed", "err", err)
			} else if ok {
				c.n.removed.Add(1)
				j.logger().Info("ad page gone; ad marked removed", "status", status)
			}
		}
		j.fail(false, fmt.Sprintf("HTTP %d", status), j.delay)
		return
	}
	ct := resp.Headers.Get("Content-Type")
	if ok, sniffed := textual(ct, ex.Body); !ok {
		c.n.errors.Add(1)
		j.logger().Warn("not a text page", "content_type", ct, "sniffed", sniffed)
		j.fail(false, fmt.Sprintf("not a text page: labelled %q, content sniffed as %s", ct, sniffed), j.delay)
		return
	}
	// What is left — extraction, classification, storing — is done by the
	// turn's extractor (turn.extract) while the next URL is fetched.
	j.fetched = st
}

// extract gets the ads and links out of a fetched page, classifies and
// stores them, and ends the page's lease.
func (j *job) extract() {
	c := j.c
	ex := j.fetched.exchange()
	resp := j.fetched.resp
	ct := resp.Headers.Get("Content-Type")
	if ex.Truncated {
		j.logger().Warn("body cut at crawl.max_body", "max_body", c.cfg.MaxBody)
	}
	// The body as received (colly converts by the header's charset only);
	// feed parsers read the XML declaration themselves.
	body := ex.Body
	if j.src.cfg.Type != lokerwatch.SourceRSS {
		body = htmlUTF8(ct, body)
	}
	p := &page{URL: resp.Request.URL, ContentType: ct, Body: body}
	exr, err := j.src.ext.extract(p)
	if err != nil {
		c.metrics.parse(j.src.cfg.Name, ParseError)
		c.n.errors.Add(1)
		j.logger().Warn("page does not parse", "err", err)
		j.fail(false, err.Error(), j.delay)
		return
	}
	c.metrics.parse(j.src.cfg.Name, ParseOK)
	if isHTML(ct, body) {
		j.src.followLinks(p, &exr)
	}
	if p.flattened {
		exr.problem("page nested deeper than the HTML parser allows (512); parsed with its deepest tags dropped")
	}
	for i, perr := range exr.Problems {
		if i < 5 {
			j.logger().Warn("skipped part of page", "err", perr)
		}
	}
	c.n.problems.Add(int64(len(exr.Problems)))
	if len(exr.Ads) == 0 && j.src.cfg.Type == lokerwatch.SourceJobBoard && j.l.Kind == "page" && !ex.Truncated && isHTML(ct, body) {
		// An ad page without a usable JobPosting is still an ad: the
		// page's own title and text, marked as such, rather than nothing
		// (when it had a broken one, or text enough to be an ad). A page
		// cut at max_body is not: no ad page is that big, and its text
		// would be a fragment.
		if f, ok := pageAd(p, len(exr.Problems) > 0); ok {
			exr.Ads = append(exr.Ads, f)
		}
	}

	ads := j.buildAds(p, ex, exr.Ads)
	if j.finishPage(ads, exr.Links, resp.Headers.Get("ETag"), resp.Headers.Get("Last-Modified")) {
		return
	}
	if err := j.storeAds(ex, ads); err != nil {
		c.n.errors.Add(1)
		j.logger().Error("store ads", "err", err)
		j.fail(true, err.Error(), j.delay)
		return
	}
	if err := j.addLinks(exr.Links, ads); err != nil {
		c.n.errors.Add(1)
		j.logger().Error("queue links", "err", err)
		j.fail(true, err.Error(), j.delay)
		return
	}
	if !j.ack(resp.Headers.Get("ETag"), resp.Headers.Get("Last-Modified")) {
		return
	}
	j.scheduleRecrawl()
}

// textual tells pages worth extracting from binary data, by the declared
// type and by sniffing (a server's text/html label is not trusted).
func textual(contentType string, body []byte) (ok bool, sniffed string) {
	sniff := http.DetectContentType(body)
	if !strings.HasPrefix(sniff, "text/") && !strings.Contains(sniff, "xml") && !strings.Contains(sniff, "json") {
		return false, sniff
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		return true, sniff
	}
	return strings.HasPrefix(mt, "text/") || strings.Contains(mt, "xml") || strings.Contains(mt, "json") || mt == "application/octet-stream", sniff
}

func isHTML(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// buildAds completes and classifies the page's ads.
func (j *job) buildAds(p *page, ex *lokerwatch.Exchange, fs []found) []*lokerwatch.Ad {
	c := j.c
	if len(fs) == 0 {
		return nil
	}
	digest := sha256.Sum256(ex.RawBody)
	rawPage := p.URL.String()
	pageURL, pageErr := Canonical(rawPage)
	if pageErr != nil {
		pageURL = j.l.URL
	}
	seen := make(map[string]bool, len(fs))
	ads := make([]*lokerwatch.Ad, 0, len(fs))
	for _, f := range fs {
		// Most ads are their page (one JobPosting, a feed item's page):
		// its canonical form is already known.
		perm, err := pageURL, pageErr
		if f.Permalink != rawPage {
			perm, err = Canonical(f.Permalink)
		}
		if err != nil {
			c.n.problems.Add(1)
			j.logger().Warn("ad without a usable permalink", "permalink", f.Permalink, "err", err)
			continue
		}
		if f.Anchor != "" {
			perm += "#" + (&url.URL{Fragment: f.Anchor}).EscapedFragment()
		}
		// One ad per page, whichever source found it; posts without a
		// permalink of their own stay their source's.
		id := lokerwatch.PageAdID(perm)
		if f.Anchor != "" {
			id = lokerwatch.AdID(j.src.cfg.Name, perm)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		ad := &lokerwatch.Ad{
			ID: id, Source: j.src.cfg.Name, SourceType: j.src.cfg.Type, URL: perm, PageURL: pageURL,
			FetchedAt: ex.FetchedAt, ResponseDigest: "sha256:" + hex.EncodeToString(digest[:]),
			// Whatever an extractor let through, stored text is valid UTF-8
			// without control characters.
			Title: cleanText(f.Title), Text: cleanText(f.Text), Company: cleanText(f.Company),
			Location: cleanText(f.Location), Salary: cleanText(f.Salary),
			PostedAt: f.PostedAt, FromPage: f.FromPage,
		}
		c.classifier.Classify(ad)
		ads = append(ads, ad)
	}
	return ads
}

// stored counts an ad the store took.
func (j *job) stored(ad *lokerwatch.Ad, res storage.PutResult) {
	c := j.c
	c.n.ads.Add(1)
	c.metrics.extracted(j.src.cfg.Name)
	if res.New {
		c.n.newAds.Add(1)
	}
	if isFlagged(ad) {
		c.n.flagged.Add(1)
		c.metrics.flaggedAd(j.src.cfg.Name)
	}
}

func isFlagged(ad *lokerwatch.Ad) bool { return ad.Assessment != nil && ad.Assessment.Flagged }

// storeAds stores the page's ads, queues the flagged ones for review and
// archives the page if any was flagged.
func (j *job) storeAds(ex *lokerwatch.Exchange, ads []*lokerwatch.Ad) error {
	c := j.c
	var flagged []*lokerwatch.Ad
	for _, ad := range ads {
		res, err := c.store.PutAd(j.storeCtx(), ad)
		if err != nil {
			return fmt.Errorf("put ad %s: %w", ad.ID, err)
		}
		j.stored(ad, res)
		if !isFlagged(ad) {
			continue
		}
		flagged = append(flagged, ad)
		item, created, err := c.store.Enqueue(j.storeCtx(), ad)
		if err != nil {
			return fmt.Errorf("queue ad %s for review: %w", ad.ID, err)
		}
		if created {
			c.n.queued.Add(1)
			j.logger().Info("flagged ad queued for review", "ad", ad.ID, "score", ad.Assessment.Score, "category", ad.Assessment.Category)
		}
		// Also when not created: a worker that died between the two
		// steps left the item without its alerts; the outbox keeps one.
		if c.alerts != nil {
			if err := c.alerts.Flagged(j.storeCtx(), ad, item); err != nil {
				return fmt.Errorf("alert for ad %s: %w", ad.ID, err)
			}
		}
	}
	if len(flagged) > 0 && c.archiver != nil {
		if err := c.archiver.Archive(j.storeCtx(), ex, flagged); err != nil {
			return fmt.Errorf("archive %s: %w", ex.URL, err)
		}
	}
	return nil
}

// addLinks queues the links found within the limits. Depth counts hops
// away from the listing: a listing's own pages (pagination, a profile's
// next, a channel's older posts) are at depth 0 however deep they run,
// and a page found on depth d is at d+1. A listing whose pages stop
// adding new page links (or new ads of its own) for barrenListings pages in a row is not paged
// further (a trap, or the end of the board).
func (j *job) addLinks(links []link, ads []*lokerwatch.Ad) error {
	c := j.c
	if len(links) == 0 {
		return nil
	}
	src := j.src.cfg.Name
	if c.cfg.MaxDepth <= 0 {
		c.drop(src, skipDepth, len(links), links[0].URL)
		return nil
	}
	seen := map[string]bool{j.l.URL: true}
	var pages, listings []storage.Request
	tooDeep, deepExample := 0, ""
	for _, ln := range links {
		u, err := ln.URL, error(nil)
		if !ln.canonical {
			u, err = Canonical(ln.URL)
		}
		if err != nil || seen[u] {
			continue
		}
		seen[u] = true
		depth := j.l.Depth + 1
		if ln.Kind == "listing" {
			depth = 0
		}
		if depth > c.cfg.MaxDepth {
			if tooDeep++; tooDeep == 1 {
				deepExample = u
			}
			continue
		}
		if len(u) > c.cfg.MaxURLLength {
			c.drop(src, skipURLLength, 1, u)
			continue
		}
		pu, err := url.Parse(u)
		if err != nil {
			continue
		}
		if why := c.lim.admit(pu); why != "" {
			c.drop(src, why, 1, u)
			continue
		}
		r := storage.Request{URL: u, Source: src, Depth: depth, Kind: ln.Kind, Recur: j.src.revisitEvery(ln.Kind) > 0}
		if ln.Kind == "listing" {
			listings = append(listings, r)
		} else {
			pages = append(pages, r)
		}
	}
	if tooDeep > 0 {
		c.drop(src, skipDepth, tooDeep, deepExample)
	}
	added, err := j.queue(pages)
	if err != nil {
		return err
	}
	if len(listings) == 0 {
		return nil
	}
	if j.l.Kind == "seed" || j.l.Kind == "listing" {
		host := ""
		if pu, err := url.Parse(j.l.URL); err == nil {
			host = strings.ToLower(pu.Host)
		}
		// A listing yields new page links, or new ads on the page itself
		// (channels, html profiles without links).
		if c.lim.listingYield(src+"\x00"+host, added > 0 || c.lim.newAds(ads)) >= barrenListings {
			// Only links that would have been crawled are dropped: the next
			// pages of a listing revisited by `every` are seen already.
			n, example := 0, ""
			for _, r := range listings {
				if ok, err := c.store.Seen(j.storeCtx(), r.URL); err != nil {
					return err
				} else if !ok {
					if n++; n == 1 {
						example = r.URL
					}
				}
			}
			if n > 0 {
				c.drop(src, skipBarren, n, example)
			}
			return nil
		}
	}
	_, err = j.queue(listings)
	return err
}

// queue adds requests to the frontier and returns how many were new.
// A listing's first links are queued, and idle workers woken for them,
// before the rest: thousands of links take a store tens of milliseconds,
// which other workers can spend fetching.
func (j *job) queue(reqs []storage.Request) (int, error) {
	c := j.c
	added := 0
	for first := true; len(reqs) > 0; first = false {
		k := len(reqs)
		if first {
			k = min(k, linksFirst)
		}
		n, err := c.store.Add(j.storeCtx(), reqs[:k]...)
		if err != nil {
			return added, err
		}
		reqs = reqs[k:]
		added += n
		c.n.links.Add(int64(n))
		if n > 0 {
			c.wake.signal()
		}
	}
	return added, nil
}

// linksFirst is how many links go first.
const linksFirst = 64

// scheduleRecrawl queues a seed or listing page again after its source's
// `every`, an ad page after its `ad_every`. Only long-running workers
// (Follow) recrawl: a one-shot crawl would otherwise never finish.
func (j *job) scheduleRecrawl() {
	every := j.src.revisitEvery(j.l.Kind)
	if !j.c.follow || every <= 0 {
		return
	}
	r := j.l.Request
	r.Revisit, r.NotBefore, r.Attempts = true, time.Now().Add(every), 0
	if _, err := j.c.store.Add(j.storeCtx(), r); err != nil {
		j.logger().Warn("schedule recrawl", "err", err)
	}
}

// checkRedirect vets a redirect target against robots.txt.
func (c *Crawler) checkRedirect(ctx context.Context, req *http.Request) error {
	if c.robots == nil {
		return nil
	}
	ok, _, err := c.robots.check(ctx, req.URL)
	if err != nil {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
	}
	if !ok {
		c.n.robots.Add(1)
		return fmt.Errorf("%w: %s", errRedirectDisallowed, req.URL.Redacted())
	}
	return nil
}
