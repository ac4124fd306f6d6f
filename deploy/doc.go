// Package deploy is the home of lokerwatch's deployment files
// (Dockerfile, compose stack, Kubernetes manifests, Prometheus alert rules, Grafana dashboard
// and the metrics contract in METRICS.md), and its tests check that they agree with one
// another: every PromQL expression parses and names only metrics, labels and label values the
// contract lists; the dashboard uses a datasource variable; the manifests reference files that
// exist and keep the security settings; the PrometheusRule equals alerts.yml.
//
// Its only code, Queries and MetricNames, lists the PromQL of the rules and dashboards and the
// metrics they read, for cmd/lokerwatch's test that the program exports every one of them.
//
// Run the tests with `go test ./deploy`; deploy/check.sh also runs promtool on the rules.
package deploy
