package deploy

import (
	"slices"
	"strings"
	"testing"
)

// TestQueries: Queries (which cmd/lokerwatch's contract test reads) finds
// every rule and every panel target the tests here check, and MetricNames
// finds every metric in them.
func TestQueries(t *testing.T) {
	qs, err := Queries(".")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	readYAML(t, "prometheus/alerts.yml", &rf)
	want := 0
	for _, g := range rf.Groups {
		want += len(g.Rules)
	}
	for _, d := range loadDashboards(t) {
		for _, p := range d.Panels {
			for _, q := range append([]dashPanel{p}, p.Panels...) {
				want += len(q.Targets)
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				want++
			}
		}
	}
	if len(qs) != want {
		t.Errorf("Queries found %d expressions, the rule file and dashboards hold %d", len(qs), want)
	}
	contract := loadContract(t)
	for _, q := range qs {
		names, err := MetricNames(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		used, _ := checkPromQL(contract, q.Expr)
		for _, u := range used {
			if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, u) }) {
				t.Errorf("%s: MetricNames %v misses %s", q.Where, names, u)
			}
		}
	}
}

func TestMetricNames(t *testing.T) {
	for _, tt := range []struct{ expr, want string }{
		{`sum(rate(a_total{x="y"}[5m])) / sum(rate(a_total[5m]))`, "a_total"},
		{`histogram_quantile(0.9, sum by (le) (rate(h_seconds_bucket[5m]))) > on() group_left max(g)`, "h_seconds_bucket,g"},
		{`{__name__="b"} + up`, "b,up"},
		{`vector(1)`, ""},
	} {
		got, err := MetricNames(tt.expr)
		if err != nil || strings.Join(got, ",") != tt.want {
			t.Errorf("MetricNames(%s) = %v, %v; want %s", tt.expr, got, err, tt.want)
		}
	}
	for _, bad := range []string{`sum(rate(a[5m])`, `{__name__=~"a.*"}`} {
		if _, err := MetricNames(bad); err == nil {
			t.Errorf("MetricNames(%s): no error", bad)
		}
	}
}
