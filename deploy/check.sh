#!/usr/bin/env bash
# Checks everything in deploy/ that can be checked without Docker or a cluster:
#   1. promtool check rules / test rules on the alert rules, check config on prometheus.yml
#   2. go test ./deploy: PromQL of alerts and dashboard against METRICS.md, dashboard shape,
#      compose, Kubernetes manifests and kustomizations, PrometheusRule == alerts.yml
#   3. kubectl kustomize on each overlay, when kubectl is installed (optional)
# Exits non-zero if any check fails. promtool comes from Debian's prometheus package:
#   apt-get install -y --no-install-recommends prometheus
# With INSTALL=1, or CI=true as .ci/run has, this script installs it when missing (needs root).
set -uo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"

failed=()
step() { printf '\n== %s\n' "$*"; }
run() {
	# run NAME CMD...: run a check, remember its failure, keep going so every problem is shown.
	local name=$1
	shift
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		failed+=("$name")
	fi
}

if ! command -v promtool >/dev/null 2>&1 && { [ "${INSTALL:-0}" = 1 ] || [ "${CI:-}" = true ]; }; then
	step "installing promtool (Debian package prometheus)"
	apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	# The package's postinst may not start a daemon (policy-rc.d); we only need promtool.
fi

step "promtool"
if command -v promtool >/dev/null 2>&1; then
	promtool --version 2>&1 | head -1
	run "promtool check rules" promtool check rules prometheus/alerts.yml
	run "promtool test rules" promtool test rules prometheus/alerts_test.yml
	run "promtool check config" promtool check config prometheus/prometheus.yml
else
	echo "promtool not found: apt-get install -y prometheus (or run with INSTALL=1)"
	failed+=("promtool missing")
fi

step "go test ./deploy"
run "go test ./deploy" bash -c 'cd .. && go test -count=1 ./deploy'

step "kubectl kustomize"
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
	for overlay in kubernetes/overlays/*/; do
		run "kustomize ${overlay%/}" bash -c "kubectl kustomize '$overlay' >/dev/null"
	done
else
	echo "skipped: kubectl not installed (go test ./deploy checked the kustomizations' references)"
fi

echo
if ((${#failed[@]})); then
	echo "deploy/check.sh: FAILED: ${failed[*]}"
	exit 1
fi
echo "deploy/check.sh: all deploy checks passed"
