package classifiers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/lokerwatch/lokerwatch"
)

func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, label, value) {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestMetrics classifies a clean ad, a flagged ad and a warning post and
// checks the counters, the histogram and the exposition's lint.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	// Everything is there before the first ad: three verdicts and every
	// loaded rule at zero.
	if n := testutil.CollectAndCount(e.metrics.ruleHits); n != len(e.rules) {
		t.Errorf("%d rule series before any ad, want %d (one per loaded rule)", n, len(e.rules))
	}
	for _, v := range []string{VerdictClean, VerdictFlagged, VerdictNotOffer} {
		if got, ok := counterValue(t, reg, "lokerwatch_ads_classified_total", "verdict", v); !ok || got != 0 {
			t.Errorf("verdict %s before any ad: %v (present %v), want 0", v, got, ok)
		}
	}

	ads := []*lokerwatch.Ad{
		{ID: "clean", Title: "Dicari staf administrasi", Text: "Kantor kami di Bandung mencari staf administrasi. Kirim lamaran ke alamat kantor."},
		{ID: "flag", Title: "LOKER KAMBOJA gaji 25 juta", Text: "Dicari admin chat online di Sihanoukville, gaji 25 juta, tanpa pengalaman, tiket pesawat ditanggung, paspor dipegang perusahaan. WA 0812 3456 7890"},
		{ID: "warn", Title: "Waspada penipuan lowongan kerja Kamboja", Text: "Hati-hati! Modus penipuan: lowongan admin online di Kamboja gaji besar. Jangan tergiur, banyak korban TPPO disekap dan paspor ditahan. Laporkan ke BP2MI."},
	}
	fired := map[string]int{}
	for _, ad := range ads {
		e.Classify(ad)
		seen := map[string]bool{}
		for _, s := range ad.Assessment.Signals {
			if s.Rule != ruleNotOffer && s.Rule != ruleText && !seen[s.Rule] {
				seen[s.Rule] = true
				fired[s.Rule]++
			}
		}
	}
	if !ads[1].Assessment.Flagged || ads[0].Assessment.Flagged || !ads[2].Assessment.NotAnOffer {
		t.Fatalf("fixture verdicts changed: clean flagged=%v, flag flagged=%v, warn not_an_offer=%v", ads[0].Assessment.Flagged, ads[1].Assessment.Flagged, ads[2].Assessment.NotAnOffer)
	}
	for v, want := range map[string]float64{VerdictClean: 1, VerdictFlagged: 1, VerdictNotOffer: 1} {
		if got, _ := counterValue(t, reg, "lokerwatch_ads_classified_total", "verdict", v); got != want {
			t.Errorf("verdict %s: %v, want %v", v, got, want)
		}
	}
	if len(fired) == 0 {
		t.Fatal("no rule fired")
	}
	for _, r := range e.rules {
		got, ok := counterValue(t, reg, "lokerwatch_rule_hits_total", "rule", r.id)
		if !ok || got != float64(fired[r.id]) {
			t.Errorf("rule %s: %v hits (present %v), want %d", r.id, got, ok, fired[r.id])
		}
	}
	if n := testutil.CollectAndCount(e.metrics.duration); n != 1 {
		t.Errorf("duration histogram: %d series", n)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "lokerwatch_classify_duration_seconds" {
			if c := mf.GetMetric()[0].GetHistogram().GetSampleCount(); c != 3 {
				t.Errorf("duration observations: %d, want 3", c)
			}
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	// A second engine on the same registry (a reload) shares the metrics.
	e2, err := New(Options{Registerer: reg})
	if err != nil {
		t.Fatalf("second engine on one registry: %v", err)
	}
	e2.Classify(&lokerwatch.Ad{ID: "x", Title: ads[1].Title, Text: ads[1].Text})
	if got, _ := counterValue(t, reg, "lokerwatch_ads_classified_total", "verdict", VerdictFlagged); got != 2 {
		t.Errorf("flagged after the second engine: %v, want 2", got)
	}

	// A name clash with another kind of collector is an error, not a panic.
	bad := prometheus.NewRegistry()
	bad.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "lokerwatch_classify_duration_seconds", Help: "x"}))
	if _, err := New(Options{Registerer: bad}); err == nil || !strings.Contains(err.Error(), "register classifier metrics") {
		t.Errorf("clashing registry: err = %v", err)
	}
}

// TestNoMetrics: without a Registerer the engine keeps no metrics.
func TestNoMetrics(t *testing.T) {
	if engine(t).metrics != nil {
		t.Fatal("metrics without a Registerer")
	}
}
