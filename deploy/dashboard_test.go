package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gridPos struct{ H, W, X, Y int }

type dashPanel struct {
	ID          int     `json:"id"`
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Datasource  *dsRef  `json:"datasource"`
	GridPos     gridPos `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource *dsRef `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // collapsed rows keep their panels here
}

type dashboard struct {
	UID        string          `json:"uid"`
	Title      string          `json:"title"`
	Editable   bool            `json:"editable"`
	Inputs     json.RawMessage `json:"__inputs"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Label      string          `json:"label"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *dsRef          `json:"datasource"`
			Refresh    int             `json:"refresh"`
			Multi      bool            `json:"multi"`
			IncludeAll bool            `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

// The rows the lead asked for, in order.
var wantRows = []string{
	"Crawl throughput & errors", "Frontier", "Classification & rule hits",
	"Review backlog & decisions", "HTTP (review console)", "Redis & processes",
	"Source health: $source", // repeated per source
}

func loadDashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in grafana/dashboards (%v)", err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if bytes.Contains(data, []byte("DS_PROMETHEUS")) || len(d.Inputs) > 0 {
			t.Errorf("%s: uses __inputs/${DS_PROMETHEUS}, which file provisioning does not resolve; use the datasource variable", f)
		}
		out[f] = d
	}
	return out
}

func TestDashboards(t *testing.T) {
	contract := loadContract(t)
	used := map[string]bool{}
	for file, d := range loadDashboards(t) {
		if d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: uid %q: want a stable uid of at most 40 characters", file, d.UID)
		}
		if d.Title == "" || d.Editable {
			t.Errorf("%s: want a title and editable: false (provisioned dashboards are changed in git)", file)
		}
		var dsVar bool
		for _, v := range d.Templating.List {
			switch {
			case v.Name == "datasource":
				dsVar = v.Type == "datasource" && string(v.Query) == `"prometheus"` && v.Label == "Data Source"
			case v.Type == "query":
				if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
					t.Errorf("%s: variable %s must query ${datasource}", file, v.Name)
				}
				if v.Refresh != 2 {
					t.Errorf("%s: variable %s: refresh %d, want 2 (on time range change)", file, v.Name, v.Refresh)
				}
				var q struct {
					Query string `json:"query"`
				}
				if err := json.Unmarshal(v.Query, &q); err != nil {
					q.Query = strings.Trim(string(v.Query), `"`)
				}
				m := regexp.MustCompile(`^label_values\((\w+)(?:\{[^}]*\})?,\s*(\w+)\)$`).FindStringSubmatch(q.Query)
				if m == nil {
					t.Errorf("%s: variable %s: query %q, want label_values(metric, label)", file, v.Name, q.Query)
					continue
				}
				spec, _, _ := lookup(contract, m[1])
				if spec == nil {
					t.Errorf("%s: variable %s: metric %s is not in METRICS.md", file, v.Name, m[1])
				} else if _, ok := spec.Labels[m[2]]; !ok {
					t.Errorf("%s: variable %s: %s has no label %s", file, v.Name, m[1], m[2])
				}
			}
		}
		if !dsVar {
			t.Errorf(`%s: want a variable {"name": "datasource", "label": "Data Source", "type": "datasource", "query": "prometheus"}`, file)
		}

		var panels []dashPanel
		var rows []string
		for _, p := range d.Panels {
			panels = append(panels, p)
			panels = append(panels, p.Panels...)
			if p.Type == "row" {
				rows = append(rows, p.Title)
			}
		}
		if file == "grafana/dashboards/lokerwatch.json" && !slices.Equal(rows, wantRows) {
			t.Errorf("%s: rows %q\nwant %q", file, rows, wantRows)
		}
		ids := map[int]bool{}
		for i, p := range panels {
			where := file + ": panel " + p.Title
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: id %d missing or repeated", where, p.ID)
			}
			ids[p.ID] = true
			for _, q := range panels[:i] {
				if overlap(p.GridPos, q.GridPos) {
					t.Errorf("%s overlaps panel %s", where, q.Title)
				}
			}
			if p.Type == "row" {
				continue
			}
			if p.Title == "" || p.Description == "" {
				t.Errorf("%s: want a title and a description (operators read them)", where)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
				t.Errorf("%s: datasource %+v, want {prometheus ${datasource}}", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no queries", where)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s/%s: target datasource %+v, want uid ${datasource}", where, tg.RefID, tg.Datasource)
				}
				expr := expandGrafanaVars(tg.Expr)
				names, errs := checkPromQL(contract, expr)
				for _, err := range errs {
					t.Errorf("%s/%s: %v\n\texpr: %s", where, tg.RefID, err, tg.Expr)
				}
				for _, n := range names {
					used[n] = true
				}
				for _, m := range regexp.MustCompile(`\b(i?rate)\([^\[]*\[([^\]]+)\]`).FindAllStringSubmatch(tg.Expr, -1) {
					if m[2] != "$__rate_interval" {
						t.Errorf("%s/%s: %s over [%s]; use [$__rate_interval]", where, tg.RefID, m[1], m[2])
					}
				}
			}
		}
	}
	// The dashboard shows every metric of the contract, so nothing exported goes unwatched.
	for name := range contract {
		if !used[name] {
			t.Errorf("no dashboard panel uses %s", name)
		}
	}
}

func overlap(a, b gridPos) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// TestDashboardLint checks the rules of Grafana's dashboard-linter
// (github.com/grafana/dashboard-linter) that this dashboard can break and
// TestDashboards does not already cover: job and instance template
// variables (after datasource, multi-valued, with All), and every
// selector of every target scoped by them (target-job-rule,
// target-instance-rule), so one dashboard serves several Prometheus jobs.
func TestDashboardLint(t *testing.T) {
	for file, d := range loadDashboards(t) {
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
			if (v.Name == "job" || v.Name == "instance") && (v.Type != "query" || !v.Multi || !v.IncludeAll) {
				t.Errorf("%s: variable %s: want a query variable with multi and includeAll", file, v.Name)
			}
		}
		if len(names) < 3 || names[0] != "datasource" || names[1] != "job" || names[2] != "instance" {
			t.Errorf("%s: variables %q: want datasource, job, instance first (template-job-rule, template-instance-rule)", file, names)
		}
		var panels []dashPanel
		for _, p := range d.Panels {
			panels = append(panels, p)
			panels = append(panels, p.Panels...)
		}
		for _, p := range panels {
			for _, tg := range p.Targets {
				for _, err := range selectorsScoped(tg.Expr) {
					t.Errorf("%s: panel %s/%s: %v\n\texpr: %s", file, p.Title, tg.RefID, err, tg.Expr)
				}
			}
		}
	}
}

// selectorsScoped reports the selectors of a Grafana target expression
// that lack job=~"$job" or instance=~"$instance".
func selectorsScoped(expr string) []error {
	const jobVar, instVar = "JOBVARIABLE", "INSTANCEVARIABLE"
	e := strings.NewReplacer(`"$job"`, `"`+jobVar+`"`, `"$instance"`, `"`+instVar+`"`).Replace(expr)
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expandGrafanaVars(e))
	if err != nil {
		return []error{err}
	}
	var errs []error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		var job, inst bool
		for _, m := range vs.LabelMatchers {
			job = job || (m.Name == "job" && m.Type == labels.MatchRegexp && m.Value == jobVar)
			inst = inst || (m.Name == "instance" && m.Type == labels.MatchRegexp && m.Value == instVar)
		}
		if !job {
			errs = append(errs, fmt.Errorf(`selector %s lacks job=~"$job" (target-job-rule)`, vs.Name))
		}
		if !inst {
			errs = append(errs, fmt.Errorf(`selector %s lacks instance=~"$instance" (target-instance-rule)`, vs.Name))
		}
		return nil
	})
	return errs
}
