#!/usr/bin/env bash
# demo.sh BUILD - run tiedoted on its embedded defaults (./var/tiedote.db,
# tcp://127.0.0.1:5570), feed it the example events and subscribers, show
# the status, and keep the worker running until Ctrl-C (when run from a
# terminal; otherwise stop it after the status).
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
"$build/tiedoted" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
echo "== enqueue queue/examples/*.json"
for f in queue/examples/*.json; do
	"$build/tiedote" enqueue "$f"
done
echo "== subscriber import tests/data/demo-subscribers.csv"
"$build/tiedote" subscriber import tests/data/demo-subscribers.csv
echo "== status"
"$build/tiedote" status
if [ -t 0 ]; then
	echo "== tiedoted is running on tcp://127.0.0.1:5570 (database ./var/tiedote.db); Ctrl-C stops it"
	wait $worker
fi
