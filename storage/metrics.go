package storage

import (
	"context"
	"log/slog"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/prometheus/client_golang/prometheus"
)

// StatsSource is what the collector reads at scrape time.
type StatsSource interface {
	FrontierStats(ctx context.Context) (FrontierStats, error)
	CountItems(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error)
}

// OldestPender is implemented by stores that can tell when the oldest
// pending review item was queued (zero time when none is pending).
type OldestPender interface {
	OldestPending(ctx context.Context) (time.Time, error)
}

// Collector exports the store's backlog as gauges computed when Prometheus
// scrapes, so there is no update loop that can stall and lie.
type Collector struct {
	src     StatsSource
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time

	frontier      *prometheus.Desc
	frontierAge   *prometheus.Desc
	reviewItems   *prometheus.Desc
	reviewOldest  *prometheus.Desc
	scrapeFailure *prometheus.Desc
}

// NewCollector returns a collector over src; register it on a registry
// that the process exposes on /metrics.
func NewCollector(src StatsSource, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		src: src, log: log, timeout: 5 * time.Second, now: time.Now,
		frontier: prometheus.NewDesc("lokerwatch_frontier_requests",
			"Crawl requests in the shared frontier, by state.", []string{"state"}, nil),
		frontierAge: prometheus.NewDesc("lokerwatch_frontier_oldest_queued_age_seconds",
			"How long the oldest queued URL has waited (0 when none is queued).", nil, nil),
		reviewItems: prometheus.NewDesc("lokerwatch_review_items",
			"Review queue items, by status.", []string{"status"}, nil),
		reviewOldest: prometheus.NewDesc("lokerwatch_review_oldest_pending_age_seconds",
			"How long the oldest pending review item has waited for a human (0 when none is pending).", nil, nil),
		scrapeFailure: prometheus.NewDesc("lokerwatch_store_scrape_errors",
			"1 when the last scrape could not read the store.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.frontier
	ch <- c.frontierAge
	ch <- c.reviewItems
	ch <- c.reviewOldest
	ch <- c.scrapeFailure
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	failed := 0.0
	if fs, err := c.src.FrontierStats(ctx); err != nil {
		c.log.Warn("metrics: read frontier stats", "err", err)
		failed = 1
	} else {
		for state, n := range map[string]int64{"queued": fs.Queued, "in_flight": fs.InFlight, "done": fs.Done, "failed": fs.Failed, "dead": fs.Dead} {
			ch <- prometheus.MustNewConstMetric(c.frontier, prometheus.GaugeValue, float64(n), state)
		}
		ch <- prometheus.MustNewConstMetric(c.frontierAge, prometheus.GaugeValue, c.age(fs.OldestQueued))
	}
	if counts, err := c.src.CountItems(ctx); err != nil {
		c.log.Warn("metrics: count review items", "err", err)
		failed = 1
	} else {
		for _, st := range []lokerwatch.ReviewStatus{lokerwatch.StatusPending, lokerwatch.StatusClaimed, lokerwatch.StatusDecided} {
			ch <- prometheus.MustNewConstMetric(c.reviewItems, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}
	if op, ok := c.src.(OldestPender); ok {
		if t, err := op.OldestPending(ctx); err != nil {
			c.log.Warn("metrics: oldest pending review item", "err", err)
			failed = 1
		} else {
			ch <- prometheus.MustNewConstMetric(c.reviewOldest, prometheus.GaugeValue, c.age(t))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeFailure, prometheus.GaugeValue, failed)
}

func (c *Collector) age(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	if d := c.now().Sub(t).Seconds(); d > 0 {
		return d
	}
	return 0
}
