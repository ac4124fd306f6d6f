package deploy

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// metricSpec is one row of METRICS.md.
type metricSpec struct {
	Name string
	Type string // counter, gauge, histogram
	// Labels maps a label to its closed set of values, or to nil when the values are bounded
	// elsewhere (config source names, rule IDs, route patterns).
	Labels map[string][]string
	By     string // the package that exports it
}

// targetLabels are attached by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

var backticked = regexp.MustCompile("`([^`]+)`")

// loadContract parses the metric tables of METRICS.md. See "How the label column reads" there.
func loadContract(t *testing.T) map[string]*metricSpec {
	t.Helper()
	data, err := os.ReadFile("METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	contract := map[string]*metricSpec{}
	for i, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) < 5 {
			continue // the endpoints table has backticks too but fewer columns
		}
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		name := strings.Trim(cells[0], "`")
		spec := &metricSpec{Name: name, Type: cells[1], By: cells[3], Labels: map[string][]string{}}
		if cells[2] != "—" {
			for _, entry := range strings.Split(cells[2], ";") {
				label, values, err := parseLabelEntry(entry)
				if err != nil {
					t.Fatalf("METRICS.md:%d: %s: %v", i+1, name, err)
				}
				spec.Labels[label] = values
			}
		}
		if _, dup := contract[name]; dup {
			t.Fatalf("METRICS.md:%d: %s listed twice", i+1, name)
		}
		contract[name] = spec
	}
	if len(contract) == 0 {
		t.Fatal("METRICS.md: no metric rows found")
	}
	return contract
}

// parseLabelEntry reads "`outcome` = `ok`, `timeout`" (closed set) or "`source`: words" (open).
func parseLabelEntry(entry string) (label string, values []string, err error) {
	entry = strings.TrimSpace(entry)
	m := backticked.FindStringSubmatchIndex(entry)
	if m == nil || m[0] != 0 {
		return "", nil, fmt.Errorf("label entry %q does not start with a `label`", entry)
	}
	label = entry[m[2]:m[3]]
	rest := strings.TrimSpace(entry[m[1]:])
	switch {
	case strings.HasPrefix(rest, "="):
		for _, v := range backticked.FindAllStringSubmatch(rest, -1) {
			values = append(values, v[1])
		}
		if len(values) == 0 {
			return "", nil, fmt.Errorf("label %s: `=` but no values in backticks", label)
		}
		return label, values, nil
	case strings.HasPrefix(rest, ":"):
		return label, nil, nil
	}
	return "", nil, fmt.Errorf("label %s: want `=` and values, or `:` and a description", label)
}

// TestContractMatchesIssue pins the contract to the names the code owners were asked to export
// (issue 7), so an edit of METRICS.md cannot silently drop or retype one.
func TestContractMatchesIssue(t *testing.T) {
	want := map[string]struct {
		typ    string
		labels string
	}{
		"lokerwatch_crawl_requests_total":                 {"counter", "outcome,source"},
		"lokerwatch_crawl_request_duration_seconds":       {"histogram", ""},
		"lokerwatch_crawl_in_flight_requests":             {"gauge", ""},
		"lokerwatch_crawl_workers":                        {"gauge", ""},
		"lokerwatch_crawl_last_success_timestamp_seconds": {"gauge", "source"},
		"lokerwatch_pages_parsed_total":                   {"counter", "result,source"},
		"lokerwatch_ads_extracted_total":                  {"counter", "source"},
		"lokerwatch_ads_flagged_total":                    {"counter", "source"}, // issue 19
		"lokerwatch_source_every_seconds":                 {"gauge", "source"},   // issue 19
		"lokerwatch_links_dropped_total":                  {"counter", "reason,source"},
		"lokerwatch_ads_classified_total":                 {"counter", "verdict"},
		"lokerwatch_rule_hits_total":                      {"counter", "rule"},
		"lokerwatch_classify_duration_seconds":            {"histogram", ""},
		"lokerwatch_frontier_requests":                    {"gauge", "state"},
		"lokerwatch_frontier_oldest_queued_age_seconds":   {"gauge", ""},
		"lokerwatch_review_items":                         {"gauge", "status"},
		"lokerwatch_review_oldest_pending_age_seconds":    {"gauge", ""},
		"lokerwatch_redis_errors_total":                   {"counter", "op"},
		"lokerwatch_store_scrape_errors":                  {"gauge", ""},
		"lokerwatch_review_logins_total":                  {"counter", "result"},
		"lokerwatch_review_refused_requests_total":        {"counter", "reason"},
		"lokerwatch_review_decisions_total":               {"counter", "verdict"},
		"lokerwatch_http_requests_total":                  {"counter", "code,handler"},
		"lokerwatch_http_request_duration_seconds":        {"histogram", "handler"},
		"lokerwatch_build_info":                           {"gauge", "goversion,revision,version"},
		"lokerwatch_notify_sent_total":                    {"counter", "channel"}, // issue 22
		"lokerwatch_notify_failed_total":                  {"counter", "channel"}, // issue 22
		"lokerwatch_notify_retried_total":                 {"counter", "channel"}, // issue 22
		"lokerwatch_notify_queue_depth":                   {"gauge", ""},          // issue 22
		"lokerwatch_notify_outbox_alerts":                 {"gauge", "state"},     // issue 22
		"up":                                              {"gauge", "instance,job"},
	}
	contract := loadContract(t)
	for name, w := range want {
		spec, ok := contract[name]
		if !ok {
			t.Errorf("METRICS.md lacks %s", name)
			continue
		}
		labels := slices.Sorted(maps.Keys(spec.Labels))
		if spec.Type != w.typ || strings.Join(labels, ",") != w.labels {
			t.Errorf("%s: contract says %s {%s}, issue 7 asks for %s {%s}", name, spec.Type, strings.Join(labels, ","), w.typ, w.labels)
		}
	}
	for name := range contract {
		if _, ok := want[name]; !ok {
			t.Errorf("METRICS.md lists %s, which issue 7 does not name: add it to this test when it is agreed", name)
		}
	}
	closed := map[string]map[string]string{
		"lokerwatch_crawl_requests_total":          {"outcome": "ok,http_4xx,http_429,http_5xx,timeout,network,robots_denied,guard_denied,too_large"},
		"lokerwatch_pages_parsed_total":            {"result": "ok,parse_error"},
		"lokerwatch_ads_classified_total":          {"verdict": "clean,flagged,not_offer"},
		"lokerwatch_frontier_requests":             {"state": "queued,in_flight,done,failed,dead"},
		"lokerwatch_review_items":                  {"status": "pending,claimed,decided"},
		"lokerwatch_review_decisions_total":        {"verdict": "scam,nonprocedural,trafficking,benign,escalate"},
		"lokerwatch_review_logins_total":           {"result": "ok,failed,throttled"},
		"lokerwatch_review_refused_requests_total": {"reason": "role,csrf,cross_origin"},
		"lokerwatch_notify_sent_total":             {"channel": "webhook,telegram"},
		"lokerwatch_notify_outbox_alerts":          {"state": "pending,sent,dead"},
	}
	for name, labels := range closed {
		for label, values := range labels {
			if got := strings.Join(contract[name].Labels[label], ","); got != values {
				t.Errorf("%s{%s}: contract values %q, want %q", name, label, got, values)
			}
		}
	}
}

// TestContractFollowsNamingRules applies the Prometheus naming rules (ops_style.md §1.1).
func TestContractFollowsNamingRules(t *testing.T) {
	forbidden := []string{"url", "path", "host", "domain", "ad", "ad_id", "user", "email", "employer", "error"}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for name, spec := range loadContract(t) {
		if name == "up" {
			continue
		}
		if !strings.HasPrefix(name, "lokerwatch_") || !snake.MatchString(name) {
			t.Errorf("%s: want snake_case with the lokerwatch_ prefix", name)
		}
		switch spec.Type {
		case "counter":
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("%s: counter without _total", name)
			}
		case "gauge", "histogram":
			if strings.HasSuffix(name, "_total") {
				t.Errorf("%s: %s must not end in _total", name, spec.Type)
			}
		default:
			t.Errorf("%s: unknown type %q", name, spec.Type)
		}
		for _, unit := range []string{"_ms", "_milliseconds", "_bytes_total_bytes", "_minutes", "_hours"} {
			if strings.Contains(name, unit) {
				t.Errorf("%s: use base units (seconds, bytes)", name)
			}
		}
		for label := range spec.Labels {
			if slices.Contains(forbidden, label) || !snake.MatchString(label) {
				t.Errorf("%s: label %q is unbounded or badly named", name, label)
			}
		}
		if spec.By == "" {
			t.Errorf("%s: no exporting package", name)
		}
	}
}

// checkPromQL parses expr and checks it against the contract: metric names, label names,
// closed label values, rate() only on counters and histograms, delta()/deriv() only on gauges,
// counters only inside rate/irate/increase, and "by" labels that the metric has.
func checkPromQL(contract map[string]*metricSpec, expr string) (used []string, errs []error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, []error{fmt.Errorf("does not parse: %w", err)}
	}
	addErr := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	parser.Inspect(node, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name := n.Name
			spec, base, suffix := lookup(contract, name)
			if spec == nil {
				addErr("metric %q is not in METRICS.md", name)
				return nil
			}
			used = append(used, base)
			for _, m := range n.LabelMatchers {
				if m.Name == "__name__" || slices.Contains(targetLabels, m.Name) || (m.Name == "le" && suffix == "_bucket") {
					continue
				}
				values, ok := spec.Labels[m.Name]
				if !ok {
					addErr("%s has no label %q (METRICS.md)", base, m.Name)
					continue
				}
				if values == nil {
					continue
				}
				for _, v := range matcherValues(m) {
					if !slices.Contains(values, v) {
						addErr("%s{%s}: value %q is not one of %v", base, m.Name, v, values)
					}
				}
			}
			if spec.Type == "counter" && !insideCall(path, "rate", "irate", "increase") {
				addErr("counter %s used outside rate/irate/increase", base)
			}
		case *parser.Call:
			switch n.Func.Name {
			case "rate", "irate", "increase", "delta", "deriv", "predict_linear":
				ms, ok := n.Args[0].(*parser.MatrixSelector)
				if !ok {
					return nil // a subquery: its inner expression is checked on its own
				}
				vs := ms.VectorSelector.(*parser.VectorSelector)
				spec, base, suffix := lookup(contract, vs.Name)
				if spec == nil {
					return nil
				}
				isCounter := spec.Type == "counter" || (spec.Type == "histogram" && suffix != "")
				switch n.Func.Name {
				case "rate", "irate", "increase":
					if !isCounter {
						addErr("%s(%s): %s is a %s; rate a counter, never a gauge", n.Func.Name, base, base, spec.Type)
					}
				default:
					if isCounter {
						addErr("%s(%s): %s is a counter; use rate/increase", n.Func.Name, base, base)
					}
				}
			}
		case *parser.AggregateExpr:
			allowed := map[string]bool{"job": true, "instance": true}
			known := true
			parser.Inspect(n.Expr, func(c parser.Node, _ []parser.Node) error {
				if vs, ok := c.(*parser.VectorSelector); ok {
					spec, _, suffix := lookup(contract, vs.Name)
					if spec == nil {
						known = false
						return nil
					}
					for l := range spec.Labels {
						allowed[l] = true
					}
					if suffix == "_bucket" {
						allowed["le"] = true
					}
				}
				return nil
			})
			if !known {
				return nil
			}
			for _, g := range n.Grouping {
				if !allowed[g] {
					addErr("%s by (%s): no metric inside has label %q", n.Op, strings.Join(n.Grouping, ", "), g)
				}
			}
		}
		return nil
	})
	return used, errs
}

// lookup finds a metric in the contract, allowing a histogram's _bucket/_sum/_count series.
func lookup(contract map[string]*metricSpec, name string) (spec *metricSpec, base, suffix string) {
	if s, ok := contract[name]; ok {
		return s, name, ""
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, suf); ok {
			if s, ok := contract[b]; ok && s.Type == "histogram" {
				return s, b, suf
			}
		}
	}
	return nil, name, ""
}

// matcherValues lists the literal values a matcher can match: the value of = and !=, or the
// alternatives of a regexp made only of literal alternatives ("a|b"). Any other regexp comes back
// as one "(pattern …)" value, which no closed set contains, so a typo cannot hide in a pattern.
func matcherValues(m *labels.Matcher) []string {
	switch m.Type {
	case labels.MatchRegexp, labels.MatchNotRegexp:
		if !literalAlternatives.MatchString(m.Value) {
			return []string{"(pattern " + m.Value + ")"}
		}
		return strings.Split(m.Value, "|")
	}
	return []string{m.Value}
}

var literalAlternatives = regexp.MustCompile(`^[a-z0-9_]+(\|[a-z0-9_]+)*$`)

func insideCall(path []parser.Node, names ...string) bool {
	for _, p := range path {
		if c, ok := p.(*parser.Call); ok && slices.Contains(names, c.Func.Name) {
			return true
		}
	}
	return false
}

// TestCheckerCatchesMistakes makes sure the checker used on alerts and dashboards can fail.
func TestCheckerCatchesMistakes(t *testing.T) {
	contract := loadContract(t)
	tests := []struct {
		expr, wantErr string
	}{
		{`sum(rate(lokerwatch_crawl_requests_total{outcome="ok"}[5m]))`, ""},
		{`histogram_quantile(0.95, sum by (le) (rate(lokerwatch_crawl_request_duration_seconds_bucket[5m])))`, ""},
		{`max(delta(lokerwatch_frontier_requests{state="dead"}[1h]))`, ""},
		{`sum(rate(lokerwatch_crawl_requests_total{outcome=~"http_5xx|timeout"}[5m]))`, ""},
		{`sum(rate(lokerwatch_crawl_request_total[5m]))`, `"lokerwatch_crawl_request_total" is not in METRICS.md`},
		{`sum(rate(lokerwatch_crawl_requests_total{outcome="http_500"}[5m]))`, `value "http_500" is not one of`},
		{`sum(rate(lokerwatch_crawl_requests_total{outcome=~"http_5.."}[5m]))`, `value "(pattern http_5..)"`},
		{`sum(rate(lokerwatch_crawl_requests_total{url="x"}[5m]))`, `has no label "url"`},
		{`sum by (outcomes) (rate(lokerwatch_crawl_requests_total[5m]))`, `no metric inside has label "outcomes"`},
		{`rate(lokerwatch_frontier_requests[5m])`, `rate a counter, never a gauge`},
		{`lokerwatch_redis_errors_total > 0`, `used outside rate/irate/increase`},
		{`deriv(lokerwatch_redis_errors_total[5m])`, `is a counter`},
		{`sum(rate(lokerwatch_crawl_requests_total[5m])`, `does not parse`},
	}
	for _, tt := range tests {
		_, errs := checkPromQL(contract, tt.expr)
		joined := fmt.Sprint(errs)
		if tt.wantErr == "" && len(errs) > 0 {
			t.Errorf("%s: unexpected errors %v", tt.expr, errs)
		}
		if tt.wantErr != "" && !strings.Contains(joined, tt.wantErr) {
			t.Errorf("%s: errors %v, want one containing %q", tt.expr, errs, tt.wantErr)
		}
	}
}
