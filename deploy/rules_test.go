package deploy

import (
	"bytes"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ruleFile is the part of a Prometheus rule file the tests look at.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The alerts issue 7 and the lead asked for.
var wantAlerts = []string{
	"ClassificationStalled", "CrawlErrorRatioHigh", "CrawlStalled", "CrawlerTargetDown",
	"DeadLettersGrowing", "FrontierBacklogGrowing", "FrontierOldestTooOld", "RedisErrors",
	"ReviewBacklogStale", "SourceSilent", "SourceStoppedYieldingAds",
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAlertRules(t *testing.T) {
	contract := loadContract(t)
	var rf ruleFile
	readYAML(t, "prometheus/alerts.yml", &rf)
	var names []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			names = append(names, r.Alert)
			if r.Alert == "" {
				t.Errorf("group %s: %s is a recording rule; this file holds alerts only", g.Name, name)
				continue
			}
			if r.For == "" {
				t.Errorf("%s: no `for:` (one bad scrape would page)", name)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", name, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", name, a)
				}
			}
			if _, errs := checkPromQL(contract, r.Expr); len(errs) > 0 {
				for _, err := range errs {
					t.Errorf("%s: %v\n\texpr: %s", name, err, r.Expr)
				}
			}
			if strings.Contains(r.Expr, "sum(lokerwatch_frontier") || strings.Contains(r.Expr, "sum(lokerwatch_review") {
				t.Errorf("%s: storage gauges are exported by several processes; use max(), not sum()", name)
			}
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, wantAlerts) {
		t.Errorf("alerts = %v\nwant     %v", names, wantAlerts)
	}
}

// TestAlertUnitTestsCoverEveryAlert: promtool runs alerts_test.yml (check.sh); this checks that
// every alert there has at least one case where it fires and one where it must not.
func TestAlertUnitTestsCoverEveryAlert(t *testing.T) {
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, "prometheus/alerts_test.yml", &tf)
	if !slices.Equal(tf.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("rule_files = %v, want [alerts.yml]", tf.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, name := range wantAlerts {
		if !fires[name] {
			t.Errorf("alerts_test.yml: no case where %s fires", name)
		}
		if !quiet[name] {
			t.Errorf("alerts_test.yml: no case where %s stays quiet", name)
		}
	}
}

// TestAlertJobsAreScraped: the job names the alerts match on are the compose scrape jobs and
// the Kubernetes Service names (which the ServiceMonitors turn into job labels).
func TestAlertJobsAreScraped(t *testing.T) {
	var rf ruleFile
	readYAML(t, "prometheus/alerts.yml", &rf)
	jobRE := regexp.MustCompile(`job=~?"([^"]+)"`)
	var jobs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			for _, m := range jobRE.FindAllStringSubmatch(r.Expr, -1) {
				jobs = append(jobs, strings.Split(m[1], "|")...)
			}
		}
	}
	if len(jobs) == 0 {
		t.Fatal("no job matcher in alerts.yml (CrawlerTargetDown should have one)")
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	var scraped []string
	for _, sc := range prom.ScrapeConfigs {
		scraped = append(scraped, sc.JobName)
	}
	services := map[string]bool{}
	for _, obj := range readManifests(t, "kubernetes/base") {
		if obj.Kind == "Service" {
			services[obj.Metadata.Name] = true
		}
	}
	for _, job := range jobs {
		if !slices.Contains(scraped, job) {
			t.Errorf("alerts match job %q, which prometheus/prometheus.yml does not scrape (%v)", job, scraped)
		}
		if !services[job] {
			t.Errorf("alerts match job %q, but no Kubernetes Service has that name", job)
		}
	}
	if !slices.Equal(prom.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("prometheus.yml rule_files = %v, want [alerts.yml]", prom.RuleFiles)
	}
}

// TestPrometheusRuleMatchesAlerts keeps the Prometheus Operator's PrometheusRule equal to
// alerts.yml; `go test ./deploy -run TestPrometheusRuleMatchesAlerts -update` rewrites it.
func TestPrometheusRuleMatchesAlerts(t *testing.T) {
	const path = "kubernetes/components/prometheus-operator/prometheusrule.yaml"
	var alerts map[string]any
	readYAML(t, "prometheus/alerts.yml", &alerts)
	if *update {
		rule := map[string]any{
			"apiVersion": "monitoring.coreos.com/v1",
			"kind":       "PrometheusRule",
			"metadata": map[string]any{
				"name":   "lokerwatch",
				"labels": map[string]any{"app.kubernetes.io/name": "lokerwatch", "app.kubernetes.io/component": "alerts"},
			},
			"spec": map[string]any{"groups": alerts["groups"]},
		}
		var out bytes.Buffer
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		if err := enc.Encode(rule); err != nil {
			t.Fatal(err)
		}
		header := "# GENERATED from deploy/prometheus/alerts.yml by\n" +
			"#   go test ./deploy -run TestPrometheusRuleMatchesAlerts -update\n# Do not edit; edit alerts.yml.\n"
		if err := os.WriteFile(path, append([]byte(header), out.Bytes()...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var rule struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Groups any `yaml:"groups"`
		} `yaml:"spec"`
	}
	readYAML(t, path, &rule)
	if rule.Kind != "PrometheusRule" {
		t.Errorf("%s: kind %q", path, rule.Kind)
	}
	if !reflect.DeepEqual(rule.Spec.Groups, alerts["groups"]) {
		t.Errorf("%s differs from prometheus/alerts.yml; regenerate with\n\tgo test ./deploy -run TestPrometheusRuleMatchesAlerts -update", path)
	}
}
