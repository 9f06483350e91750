#!/usr/bin/env bash
# sweep.sh [--stress] N [BUILD] - the whole suite N times in a row (the
# flakiness sweep: a test that fails once in twenty runs is a failing
# test).  With --stress, `stress-ng --cpu 2` (Debian's, installed if
# missing) keeps both cores busy beside each run.  Prints one line per run
# and the failures; exit 0 only when every run ended "N passed, 0 failed".
set -u
stress=0
if [ "${1:-}" = --stress ]; then stress=1; shift; fi
n=${1:?usage: sweep.sh [--stress] N [BUILD]}
build=${2:-build}
cd "$(dirname "$0")/.."
make -s -j2 BUILD="$build" tests >/dev/null || exit 1
if [ $stress -eq 1 ] && ! command -v stress-ng >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng >/dev/null || exit 1
fi
bad=0
for i in $(seq 1 "$n"); do
	log=$(mktemp /tmp/tiedote-sweep.XXXXXX)
	sp=
	if [ $stress -eq 1 ]; then stress-ng --cpu 2 --timeout 0 >/dev/null 2>&1 & sp=$!; fi
	start=$(date +%s)
	./tests/run.sh "$build" >"$log" 2>&1
	[ -n "$sp" ] && { kill "$sp"; wait "$sp" 2>/dev/null; }
	last=$(tail -n 1 "$log")
	echo "run $i/$n${sp:+ (stress-ng --cpu 2)}: $last in $(( $(date +%s) - start )) s"
	case $last in *" 0 failed") rm -f "$log" ;;
	*) bad=$((bad + 1)); grep -B3 '^not ok\|no summary' "$log" | head -40; echo "   log: $log" ;;
	esac
done
echo "sweep: $n runs, $bad with failures"
[ $bad -eq 0 ]
