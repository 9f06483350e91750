#!/usr/bin/env bash
# run.sh BUILD - every benchmark, each against a baseline of the same run
# (bench/helpers/ holds what they start, not benchmarks).
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
for b in "$build"/bench/*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" "$build"
done
for b in bench/*.py; do
	echo "== $(basename "$b" .py)"
	/usr/bin/python3 "$b" "$build"
done
