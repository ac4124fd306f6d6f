package review

import (
	"github.com/lokerwatch/lokerwatch/internal/promreg"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
)

// metrics of the review desk (deploy/METRICS.md, "Review desk"). Labels
// are route patterns, status codes and fixed words: never URLs, ads or users.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	logins    *prometheus.CounterVec
	decisions *prometheus.CounterVec
	refusals  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_http_requests_total",
			Help: "HTTP requests served by the review desk, by route pattern (handler) and status code.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lokerwatch_http_request_duration_seconds",
			Help:    "Time to serve a review desk request, by route pattern (handler).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"handler"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_review_logins_total",
			Help: "Login attempts, by result (ok, failed, throttled).",
		}, []string{"result"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_review_decisions_total",
			Help: "Review decisions recorded, by verdict.",
		}, []string{"verdict"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_review_refused_requests_total",
			Help: "Requests refused for security reasons, by reason (role, csrf, cross_origin).",
		}, []string{"reason"}),
	}
	if reg != nil {
		var err error
		promreg.Register(reg, &m.requests, "review metrics", &err)
		promreg.Register(reg, &m.duration, "review metrics", &err)
		promreg.Register(reg, &m.logins, "review metrics", &err)
		promreg.Register(reg, &m.decisions, "review metrics", &err)
		promreg.Register(reg, &m.refusals, "review metrics", &err)
		if err != nil {
			return nil, err
		}
	}
	// Values known at start-up are there at 0 before the first event, so
	// that rate() and the alerts see a series.
	for _, v := range []lokerwatch.Verdict{lokerwatch.VerdictScam, lokerwatch.VerdictNonprocedural,
		lokerwatch.VerdictTrafficking, lokerwatch.VerdictBenign, lokerwatch.VerdictEscalate} {
		m.decisions.WithLabelValues(string(v))
	}
	for _, r := range []string{"ok", "failed", "throttled"} {
		m.logins.WithLabelValues(r)
	}
	for _, r := range []string{"role", "csrf", "cross_origin"} {
		m.refusals.WithLabelValues(r)
	}
	return m, nil
}

func (m *metrics) request(route string, code int, d time.Duration) {
	if route == "" {
		route = "none"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) login(result string)           { m.logins.WithLabelValues(result).Inc() }
func (m *metrics) decision(v lokerwatch.Verdict) { m.decisions.WithLabelValues(string(v)).Inc() }
func (m *metrics) refused(reason string)         { m.refusals.WithLabelValues(reason).Inc() }
