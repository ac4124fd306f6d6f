package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch/internal/promreg"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Channels is the closed set of the channel label (deploy/METRICS.md).
var Channels = []string{"webhook", "telegram"}

// metrics of the notifier (deploy/METRICS.md, "Notify").
type metrics struct {
	sent, failed, retried *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queue func() int, outbox storage.Outbox, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_notify_sent_total",
			Help: "Alerts delivered, by channel (webhook, telegram).",
		}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_notify_failed_total",
			Help: "Alerts given up after max_attempts tries or refused for good by the receiver, by channel.",
		}, []string{"channel"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_notify_retried_total",
			Help: "Failed deliveries that will be tried again after a back-off, by channel.",
		}, []string{"channel"}),
	}
	for _, c := range Channels {
		m.sent.WithLabelValues(c)
		m.failed.WithLabelValues(c)
		m.retried.WithLabelValues(c)
	}
	if reg == nil {
		return m, nil
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lokerwatch_notify_queue_depth",
		Help: "Alerts in this process's in-memory queue, waiting for a sender (bounded by notify.queue).",
	}, func() float64 { return float64(queue()) })
	ob := &outboxCollector{store: outbox, log: log, desc: prometheus.NewDesc("lokerwatch_notify_outbox_alerts",
		"Alerts in the store's durable outbox, by state (pending: waiting or retrying; sent; dead: given up).",
		[]string{"state"}, nil)}
	var err error
	promreg.Register(reg, &m.sent, "notify sent", &err)
	promreg.Register(reg, &m.failed, "notify failed", &err)
	promreg.Register(reg, &m.retried, "notify retried", &err)
	promreg.Register(reg, &depth, "notify queue depth", &err)
	promreg.Register(reg, &ob, "notify outbox", &err)
	return m, err
}

// outboxCollector reads the outbox's counts when Prometheus scrapes, as
// the storage gauges do (no update loop that can get stuck).
type outboxCollector struct {
	store storage.Outbox
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.store.AlertStats(ctx)
	if err != nil {
		c.log.Warn("notify outbox metrics", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(st.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(st.Sent), "sent")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(st.Dead), "dead")
}
