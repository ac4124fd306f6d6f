package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	prommodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Query is one PromQL expression of the deployment files.
type Query struct {
	Where string // "prometheus/alerts.yml: alert CrawlStalled", "grafana/dashboards/x.json: panel T/A"
	Expr  string // plain PromQL (Grafana variables expanded)
}

// Queries returns every PromQL expression that the alert rules
// (prometheus/alerts.yml) and the Grafana dashboards (grafana/dashboards/*.json)
// under dir hold: rule expressions, panel targets (collapsed rows' panels
// too) and the metric of label_values() template variables. Grafana's
// variables are expanded so that the Prometheus parser reads them.
func Queries(dir string) ([]Query, error) {
	var out []Query
	rulesPath := filepath.Join(dir, "prometheus", "alerts.yml")
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", rulesPath, err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out = append(out, Query{Where: "prometheus/alerts.yml: rule " + r.Alert + r.Record, Expr: r.Expr})
		}
	}

	files, err := filepath.Glob(filepath.Join(dir, "grafana", "dashboards", "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no dashboards in %s", filepath.Join(dir, "grafana", "dashboards"))
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d struct {
			Templating struct {
				List []struct {
					Name  string          `json:"name"`
					Type  string          `json:"type"`
					Query json.RawMessage `json:"query"`
				} `json:"list"`
			} `json:"templating"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		rel, _ := filepath.Rel(dir, f)
		rel = filepath.ToSlash(rel)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				if err := json.Unmarshal(v.Query, &q.Query); err != nil {
					return nil, fmt.Errorf("%s: variable %s: query: %w", rel, v.Name, err)
				}
			}
			m := labelValues.FindStringSubmatch(q.Query)
			if m == nil {
				return nil, fmt.Errorf("%s: variable %s: query %q is not label_values(metric, label)", rel, v.Name, q.Query)
			}
			out = append(out, Query{Where: rel + ": variable " + v.Name, Expr: expandGrafanaVars(m[1])})
		}
		var walk func(raw []json.RawMessage) error
		walk = func(raw []json.RawMessage) error {
			for _, r := range raw {
				var p panel
				if err := json.Unmarshal(r, &p); err != nil {
					return fmt.Errorf("%s: panel: %w", rel, err)
				}
				for _, t := range p.Targets {
					if t.Expr != "" {
						out = append(out, Query{Where: rel + ": panel " + p.Title + "/" + t.RefID, Expr: expandGrafanaVars(t.Expr)})
					}
				}
				if err := walk(p.Panels); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(d.Panels); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var labelValues = regexp.MustCompile(`^label_values\(\s*(\w+(?:\{[^}]*\})?)\s*,\s*\w+\s*\)$`)

// MetricNames parses expr with the Prometheus parser and returns the metric
// names its selectors read (a histogram's series with their _bucket, _sum or
// _count suffix), each once.
func MetricNames(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	var errs []error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == prommodel.MetricNameLabel && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		if name == "" {
			errs = append(errs, fmt.Errorf("selector %s names no metric", vs))
			return nil
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return nil
	})
	return names, errors.Join(errs...)
}

// rateSentinel stands in for Grafana's $__rate_interval, so that the checker can tell a rate()
// over $__rate_interval from one over a hard-coded window.
const rateSentinel = 299 * time.Second

var templateVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// expandGrafanaVars turns a panel query into plain PromQL: Grafana's range variables become
// durations ($__rate_interval the sentinel, so rate() windows can be checked), and dashboard
// variables a regexp that matches anything (they are used with =~).
func expandGrafanaVars(expr string) string {
	return templateVar.ReplaceAllStringFunc(expr, func(v string) string {
		switch templateVar.FindStringSubmatch(v)[1] {
		case "__rate_interval":
			return rateSentinel.String()
		case "__interval", "__range":
			return "1h"
		case "__range_s", "__interval_ms":
			return "3600"
		}
		return ".*"
	})
}
