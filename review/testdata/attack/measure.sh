#!/usr/bin/env bash
# Re-measures issue 20's attack numbers against a real `lokerwatch serve`
# on SQLite, on a loopback port: store growth under 2,000 hostile logins,
# the cost of GET /api/audit afterwards, and server memory (peak RSS,
# VmHWM) under 150 logins at once.
#
#   review/testdata/attack/measure.sh LOKERWATCH_BINARY [PORT]
set -euo pipefail
bin=$(realpath "$1")
port=${2:-18089}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/attack" "$here"
base=http://127.0.0.1:$port
pid=

start() { # fresh store, one investigator with a token, server started
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$work/db" && mkdir "$work/db"
	printf 'store: sqlite:%s/db/lw.db\nreview:\n  listen: 127.0.0.1:%s\n' "$work" "$port" >"$work/lw.yaml"
	echo "correct horse battery" | "$bin" user add ivan --role investigator --password-stdin --config "$work/lw.yaml" >/dev/null
	echo "correct horse battery" | "$bin" user add admin --role admin --password-stdin --config "$work/lw.yaml" >/dev/null
	token=$("$bin" user token ivan --config "$work/lw.yaml" 2>/dev/null)
	"$bin" serve --config "$work/lw.yaml" 2>"$work/serve.log" &
	pid=$!
	for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
}
store_kb() { du -sk "$work/db" | cut -f1; }
hwm() { awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status"; }
rss() { awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status"; }

start
echo "== flood: 2000 logins, 60 KB names, wrong passwords, 4 threads"
echo "store before: $(store_kb) KB; server peak RSS $(hwm)"
"$work/attack" -base "$base" -mode flood -n 2000 -threads 4
echo "store after: $(store_kb) KB; server peak RSS $(hwm)"
echo "== GET /api/audit?days=3650 after the flood"
"$work/attack" -base "$base" -mode audit -token "$token"
echo "server peak RSS $(hwm), now $(rss)"
echo "== after the one-minute summary window closes"
sleep 65
"$work/attack" -base "$base" -mode audit -token "$token" -show
echo "store: $(store_kb) KB"

for same in true false; do
	start
	echo "== burst: 150 wrong logins at once, one name for all: $same (fresh server)"
	echo "server peak RSS before $(hwm)"
	"$work/attack" -base "$base" -mode burst -n 150 -same=$same
	echo "server peak RSS $(hwm)"
done
