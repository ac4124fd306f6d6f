package classifiers

import (
	"github.com/lokerwatch/lokerwatch/internal/promreg"

	"github.com/prometheus/client_golang/prometheus"
)

// Verdicts counted by lokerwatch_ads_classified_total.
const (
	VerdictClean    = "clean"
	VerdictFlagged  = "flagged"
	VerdictNotOffer = "not_offer"
)

// metrics of the engine (deploy/METRICS.md, "Classifiers"). Every counter
// an ad can touch is resolved once at load time, so counting costs a few
// atomic adds per ad and no label lookups. Rule labels are the ids of the
// loaded rules (bounded by the rules files); nothing about the ad itself is
// a label.
type metrics struct {
	classified *prometheus.CounterVec
	ruleHits   *prometheus.CounterVec
	duration   prometheus.Histogram

	clean, flagged, notOffer prometheus.Counter
	rules                    []prometheus.Counter // by rule index
}

func newMetrics(reg prometheus.Registerer, rules []rule) (*metrics, error) {
	m := &metrics{
		classified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_ads_classified_total",
			Help: "Ads scored by the classifier, by verdict (clean, flagged, not_offer).",
		}, []string{"verdict"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokerwatch_rule_hits_total",
			Help: "Times a classifier rule fired, by rule id.",
		}, []string{"rule"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lokerwatch_classify_duration_seconds",
			Help:    "Time to classify one ad.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	var err error
	promreg.Register(reg, &m.classified, "classifier metrics", &err)
	promreg.Register(reg, &m.ruleHits, "classifier metrics", &err)
	promreg.Register(reg, &m.duration, "classifier metrics", &err)
	if err != nil {
		return nil, err
	}
	m.clean = m.classified.WithLabelValues(VerdictClean)
	m.flagged = m.classified.WithLabelValues(VerdictFlagged)
	m.notOffer = m.classified.WithLabelValues(VerdictNotOffer)
	m.rules = make([]prometheus.Counter, len(rules))
	for i, r := range rules {
		m.rules[i] = m.ruleHits.WithLabelValues(r.id)
	}
	return m, nil
}

// observe counts one classified ad.
func (m *metrics) observe(st *state, notOffer, flagged bool, seconds float64) {
	switch {
	case notOffer:
		m.notOffer.Inc()
	case flagged:
		m.flagged.Inc()
	default:
		m.clean.Inc()
	}
	for _, ri := range st.fired {
		m.rules[ri].Inc()
	}
	m.duration.Observe(seconds)
}
