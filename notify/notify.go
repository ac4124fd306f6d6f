// Package notify tells the on-call people when a flagged ad worth their
// attention reaches the review queue: notify rules in the config (score,
// category, source) pick items, and each picked item is sent once per
// channel — a signed JSON webhook, a Telegram bot message.
//
// The path of an alert: the crawler, having queued an item for review,
// calls Flagged; the alert is written to the store's durable outbox
// (storage.Outbox, one row per item and channel, kept once sent) and its
// key offered to a bounded in-memory queue without waiting. Senders take
// keys from the queue, claim the alert in the store with a lease (so that
// senders in other processes never send it too), deliver it, and mark it
// sent, or give it back with an exponential back-off with jitter. A
// sweeper feeds the queue from the outbox: alerts that found the queue
// full, retries whose time came, and whatever a process that died or
// restarted left behind. So the crawl never waits for a receiver, a full
// queue loses nothing, and a restart sends nothing twice.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Options configure a Notifier.
type Options struct {
	Config config.Notify
	Store  storage.Outbox
	Logger *slog.Logger
	// Registerer receives the notifier's metrics (deploy/METRICS.md,
	// "Notify"); nil: none exported.
	Registerer prometheus.Registerer
	// Client sends the requests; nil: one with notify.timeout that does
	// not follow redirects.
	Client *http.Client
	// Lease is how long a sender holds an alert while delivering it
	// (default max(3 × notify.timeout, 1m)); a sender that dies leaves the
	// alert to others when it ends.
	Lease time.Duration
	// Poll is how often the sweeper looks at the outbox (default 5s, or
	// notify.backoff when shorter, at least 50ms).
	Poll time.Duration
	// Now is the clock of webhook signatures; nil: time.Now.
	Now func() time.Time
}

// Notifier matches review items against the notify rules and delivers
// alerts. Flagged may be called from any goroutine; Run does the sending.
type Notifier struct {
	cfg     config.Notify
	store   storage.Outbox
	log     *slog.Logger
	m       *metrics
	hook    *webhook
	tg      *telegram
	lease   time.Duration
	poll    time.Duration
	now     func() time.Time
	queue   chan string
	busy    atomic.Int64
	running atomic.Bool
}

// New builds a Notifier from a validated config section.
func New(opt Options) (*Notifier, error) {
	if opt.Store == nil {
		return nil, errors.New("notify: no store")
	}
	cfg := opt.Config
	// A section that did not come through config.Load (a test, a library
	// user) gets the defaults for what it leaves at zero.
	def := config.Default().Notify
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = def.Backoff
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(def.MaxBackoff, cfg.Backoff)
	}
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.Telegram.API == "" {
		cfg.Telegram.API = def.Telegram.API
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{
			Timeout: cfg.Timeout.D(),
			// A redirect is a misconfigured URL; following it would send
			// the alert (and for Telegram, the token) somewhere not chosen.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	n := &Notifier{
		cfg: cfg, store: opt.Store, log: log.With("component", "notify"), lease: opt.Lease, poll: opt.Poll, now: now,
		queue: make(chan string, max(cfg.Queue, 1)),
	}
	if n.lease <= 0 {
		n.lease = max(3*cfg.Timeout.D(), time.Minute)
	}
	if n.poll <= 0 {
		n.poll = min(5*time.Second, max(cfg.Backoff.D(), 50*time.Millisecond))
	}
	if cfg.Webhook.URL != "" {
		n.hook = &webhook{url: cfg.Webhook.URL, secret: []byte(cfg.Webhook.Secret), client: client, now: now}
	}
	if cfg.Telegram.Token != "" {
		n.tg = &telegram{api: cfg.Telegram.API, token: cfg.Telegram.Token, chat: cfg.Telegram.ChatID, client: client}
	}
	for _, r := range cfg.Rules {
		for _, to := range r.To {
			if (to == "webhook" && n.hook == nil) || (to == "telegram" && n.tg == nil) {
				return nil, fmt.Errorf("notify: rule %q sends to %s, which is not configured", r.Name, to)
			}
		}
	}
	m, err := newMetrics(opt.Registerer, func() int { return len(n.queue) }, opt.Store, n.log)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	n.m = m
	return n, nil
}

// Enabled reports whether any rule is configured.
func (n *Notifier) Enabled() bool { return n != nil && len(n.cfg.Rules) > 0 }

// Flagged is called when an ad's review item was queued (also when it was
// queued before: the outbox keeps one alert per item and channel, so a
// repeat adds nothing). It writes the alerts the rules ask for to the
// outbox and offers them to the senders without waiting: a full queue
// leaves them to the sweeper. An error means the outbox write failed.
func (n *Notifier) Flagged(ctx context.Context, ad *lokerwatch.Ad, it *lokerwatch.ReviewItem) error {
	if !n.Enabled() || it == nil || it.Status == lokerwatch.StatusDecided {
		return nil
	}
	rules, channels := match(n.cfg.Rules, it)
	if len(channels) == 0 {
		return nil
	}
	alerts := make([]storage.Alert, 0, len(channels))
	for _, ch := range channels {
		key := it.ID + "/" + ch
		ev := newEvent(it, ad, rules, n.cfg.DeskURL, n.now())
		ev.ID = key
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("alert for review item %s: %w", it.ID, err)
		}
		alerts = append(alerts, storage.Alert{Key: key, Channel: ch, ItemID: it.ID, Payload: body})
	}
	added, err := n.store.AddAlerts(ctx, alerts)
	if err != nil {
		return fmt.Errorf("alert for review item %s: %w", it.ID, err)
	}
	for _, k := range added {
		n.log.Info("alert queued", "alert", k, "score", it.Score, "category", it.Category)
		n.offer(k)
	}
	return nil
}

// offer puts key on the queue if there is room; otherwise it waits in the
// outbox for the sweeper.
func (n *Notifier) offer(key string) bool {
	select {
	case n.queue <- key:
		return true
	default:
		return false
	}
}

// Run sends alerts until ctx ends: notify.workers senders and the
// sweeper. A delivery under way when ctx ends is finished (it is bounded
// by notify.timeout) so that its result is recorded.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run called twice")
	}
	defer n.running.Store(false)
	var wg sync.WaitGroup
	for range max(n.cfg.Workers, 1) {
		wg.Go(func() { n.sender(ctx) })
	}
	n.sweep(ctx)
	t := time.NewTicker(n.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			n.sweep(ctx)
		}
	}
}

// sweep offers the due alerts of the outbox, as many as the queue has room for.
func (n *Notifier) sweep(ctx context.Context) {
	room := cap(n.queue) - len(n.queue)
	if room <= 0 {
		return
	}
	keys, err := n.store.DueAlerts(ctx, room)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("read the alert outbox", "err", err)
		}
		return
	}
	for _, k := range keys {
		if !n.offer(k) {
			return
		}
	}
}

func (n *Notifier) sender(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-n.queue:
			n.busy.Add(1)
			n.deliver(ctx, key)
			n.busy.Add(-1)
		}
	}
}

// deliver claims one alert and sends it.
func (n *Notifier) deliver(ctx context.Context, key string) {
	// The claim and what follows outlive a Run that is stopping: a
	// delivery is short (notify.timeout) and its result must be kept.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.Timeout.D()+30*time.Second)
	defer cancel()
	a, err := n.store.ClaimAlert(sctx, key, n.lease)
	if errors.Is(err, lokerwatch.ErrEmpty) || errors.Is(err, lokerwatch.ErrNotFound) {
		return // sent, given up, held by another sender, or not due yet
	}
	if err != nil {
		n.log.Warn("claim alert", "alert", key, "err", err)
		return
	}
	err = n.send(sctx, a)
	log := n.log.With("alert", a.Key, "channel", a.Channel, "attempt", a.Attempts+1)
	switch {
	case err == nil:
		if err := n.store.AlertSent(sctx, a); err != nil {
			log.Error("alert delivered but not marked sent: it may be sent again", "err", err)
			return
		}
		n.m.sent.WithLabelValues(a.Channel).Inc()
		log.Info("alert sent")
	case isPermanent(err) || a.Attempts+1 >= n.cfg.MaxAttempts:
		if err := n.store.AlertDead(sctx, a, err.Error()); err != nil {
			log.Warn("give up alert", "err", err)
		}
		n.m.failed.WithLabelValues(a.Channel).Inc()
		log.Error("alert given up", "err", err, "permanent", isPermanent(err))
	default:
		d := max(n.backoff(a.Attempts), min(waitOf(err), n.cfg.MaxBackoff.D()))
		if err := n.store.RetryAlert(sctx, a, d, err.Error()); err != nil {
			log.Warn("give back alert for retry", "err", err)
			return
		}
		n.m.retried.WithLabelValues(a.Channel).Inc()
		log.Warn("alert not delivered, will retry", "err", err, "retry_in", d.Round(time.Millisecond))
		// The sweeper would find it too; the timer makes the retry prompt.
		time.AfterFunc(d, func() { n.offer(a.Key) })
	}
}

func (n *Notifier) send(ctx context.Context, a *storage.Alert) error {
	switch a.Channel {
	case "webhook":
		if n.hook == nil {
			return errors.New("webhook: not configured in this process")
		}
		return n.hook.send(ctx, a.Key, a.Payload)
	case "telegram":
		if n.tg == nil {
			return errors.New("telegram: not configured in this process")
		}
		var ev Event
		if err := json.Unmarshal(a.Payload, &ev); err != nil {
			return permanent(fmt.Errorf("telegram: alert payload: %v", err))
		}
		return n.tg.send(ctx, ev)
	}
	return permanent(fmt.Errorf("unknown channel %q", a.Channel))
}

// backoff is the wait after the attempts-th failure (0-based):
// notify.backoff doubling up to notify.max_backoff, with "equal jitter"
// (half fixed, half random) so that alerts failed together do not retry
// together.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.cfg.Backoff.D()
	for i := 0; i < attempts && d < n.cfg.MaxBackoff.D(); i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxBackoff.D())
	return d/2 + rand.N(d/2+1)
}

// Drain waits until nothing is left to send: the queue empty, no
// delivery under way and no alert pending in the outbox (retries
// included, whichever process raised them). Run must be running. It
// returns ctx's error when ctx ends first; what is left stays in the
// outbox for the next process that runs the notifier.
func (n *Notifier) Drain(ctx context.Context) error {
	for {
		if len(n.queue) == 0 && n.busy.Load() == 0 {
			st, err := n.store.AlertStats(ctx)
			if err == nil && st.Pending == 0 && len(n.queue) == 0 && n.busy.Load() == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
