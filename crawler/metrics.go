package crawler

import (
	"context"
	"errors"
	"github.com/lokerwatch/lokerwatch/internal/promreg"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Fetch outcomes, the closed set of lokerwatch_crawl_requests_total's
// outcome label (deploy/METRICS.md).
const (
	OutcomeOK           = "ok"
	OutcomeHTTP4xx      = "http_4xx"
	OutcomeHTTP429      = "http_429"
	OutcomeHTTP5xx      = "http_5xx"
	OutcomeTimeout      = "timeout"
	OutcomeNetwork      = "network"
	OutcomeRobotsDenied = "robots_denied"
	OutcomeGuardDenied  = "guard_denied"
	OutcomeTooLarge     = "too_large"
)

// Outcomes lists every outcome label value.
var Outcomes = []string{OutcomeOK, OutcomeHTTP4xx, OutcomeHTTP429, OutcomeHTTP5xx, OutcomeTimeout,
	OutcomeNetwork, OutcomeRobotsDenied, OutcomeGuardDenied, OutcomeTooLarge}

// Parse results of lokerwatch_pages_parsed_total.
const (
	ParseOK    = "ok"
	ParseError = "parse_error"
)

// otherSource labels requests whose source is not in this worker's config
// (a frontier shared with workers of another config), so the label stays
// bounded by the config.
const otherSource = "other"

// metrics of the crawler (deploy/METRICS.md, "Crawler"). Labels are source
// names from the config and fixed words: never a URL or host.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    prometheus.Histogram
	inFlight    prometheus.Gauge
	workers     prometheus.Gauge
	lastSuccess *prometheus.GaugeVec
	parsed      *prometheus.CounterVec
	ads         *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	sources     map[string]bool
	// Source health (flagged ads, the revisit period the alerts compare
	// the last success with).
	flagged *prometheus.CounterVec
	every   *prometheus.GaugeVec
}

// newMetrics makes the crawler's metrics and registers them on reg (none
// when reg is nil: the counters still count, nobody reads them). Every
// source × outcome series starts at 0, so rate() and the alerts see a series
// before the first event.
func newMetrics(reg prometheus.Registerer, sources []string, parallelism int) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_crawl_requests_total",
			Help: "Fetches of crawl URLs, by configured source and outcome (ok, http_4xx, http_429, http_5xx, timeout, network, robots_denied, guard_denied, too_large).",
		}, []string{"source", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lokerwatch_crawl_request_duration_seconds",
			Help:    "Time of one fetch, redirects and body included.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lokerwatch_crawl_in_flight_requests",
			Help: "Fetches running now.",
		}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lokerwatch_crawl_workers",
			Help: "Fetches that may run at once (crawl.parallelism).",
		}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lokerwatch_crawl_last_success_timestamp_seconds",
			Help: "Unix time of the last page a source gave us in this process (0 until the first).",
		}, []string{"source"}),
		parsed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_pages_parsed_total",
			Help: "Pages handed to the source's extractor, by result (ok, parse_error).",
		}, []string{"source", "result"}),
		ads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_ads_extracted_total",
			Help: "Ads extracted from pages and stored, by source.",
		}, []string{"source"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_links_dropped_total",
			Help: "Links not queued and URLs not fetched because of a crawl limit, by source and reason (max_depth, max_url_length, pages_per_host, trap: ...).",
		}, []string{"source", "reason"}),
		sources: map[string]bool{},
		flagged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_ads_flagged_total",
			Help: "Ads stored that the classifier flagged for review, by source.",
		}, []string{"source"}),
		every: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lokerwatch_source_every_seconds",
			Help: "A source's configured revisit period (every), 0 when it is not watched.",
		}, []string{"source"}),
	}
	if reg != nil {
		var err error
		promreg.Register(reg, &m.requests, "crawler metrics", &err)
		promreg.Register(reg, &m.duration, "crawler metrics", &err)
		promreg.Register(reg, &m.inFlight, "crawler metrics", &err)
		promreg.Register(reg, &m.workers, "crawler metrics", &err)
		promreg.Register(reg, &m.lastSuccess, "crawler metrics", &err)
		promreg.Register(reg, &m.parsed, "crawler metrics", &err)
		promreg.Register(reg, &m.ads, "crawler metrics", &err)
		promreg.Register(reg, &m.flagged, "crawler metrics", &err)
		promreg.Register(reg, &m.every, "crawler metrics", &err)
		promreg.Register(reg, &m.dropped, "crawler metrics", &err)
		if err != nil {
			return nil, err
		}
	}
	for _, s := range append(sources, otherSource) {
		m.sources[s] = true
		for _, o := range Outcomes {
			m.requests.WithLabelValues(s, o)
		}
		m.lastSuccess.WithLabelValues(s)
		m.parsed.WithLabelValues(s, ParseOK)
		m.parsed.WithLabelValues(s, ParseError)
		m.ads.WithLabelValues(s)
		m.flagged.WithLabelValues(s)
		for _, r := range dropReasons {
			m.dropped.WithLabelValues(s, r)
		}
	}
	m.workers.Set(float64(parallelism))
	return m, nil
}

func (m *metrics) source(name string) string {
	if m.sources[name] {
		return name
	}
	return otherSource
}

func (m *metrics) request(source, outcome string) {
	s := m.source(source)
	m.requests.WithLabelValues(s, outcome).Inc()
	if outcome == OutcomeOK || outcome == OutcomeTooLarge {
		m.lastSuccess.WithLabelValues(s).Set(float64(time.Now().UnixNano()) / 1e9)
	}
}

func (m *metrics) parse(source, result string) {
	m.parsed.WithLabelValues(m.source(source), result).Inc()
}

func (m *metrics) extracted(source string) { m.ads.WithLabelValues(m.source(source)).Inc() }

func (m *metrics) flaggedAd(source string) { m.flagged.WithLabelValues(m.source(source)).Inc() }

// statusOutcome maps a response status to an outcome. 304 is a success (the
// page is unchanged); 503 is a server error like any 5xx; anything else the
// crawler cannot use (1xx, a 3xx that was not followed) counts with 4xx.
func statusOutcome(status int, truncated bool) string {
	switch {
	case status == 429:
		return OutcomeHTTP429
	case status >= 500:
		return OutcomeHTTP5xx
	case status == 304:
		return OutcomeOK
	case status >= 200 && status < 300:
		if truncated {
			return OutcomeTooLarge
		}
		return OutcomeOK
	}
	return OutcomeHTTP4xx
}

// errOutcome maps a failed fetch (or robots.txt read) to an outcome.
// timedOut is true when the fetch's own deadline (crawl.timeout) passed.
func errOutcome(err error, timedOut bool) string {
	var se *robotsStatusError
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefused):
		return OutcomeGuardDenied
	case errors.Is(err, errRedirectDisallowed):
		return OutcomeRobotsDenied
	case errors.As(err, &se):
		return statusOutcome(se.status, false)
	case timedOut, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	}
	// Connection, DNS, TLS, redirect chains that go nowhere, encodings we
	// cannot read: the site did not give us a usable answer.
	return OutcomeNetwork
}
