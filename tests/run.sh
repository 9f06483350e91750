#!/usr/bin/env bash
# run.sh BUILD - run every unit test binary and integration test, then print
# the one closing line CI reads: "N passed, N failed".  Each program prints
# its own "N passed, N failed" line last; we add them up.  A program that
# crashes or prints no such line counts as one failure.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
export TIEDOTE_BUILD=$PWD/$build
export TIEDOTE_ROOT=$PWD
passed=0 failed=0
logdir=$(mktemp -d /tmp/tiedote-tests.XXXXXX)

run_one() {
	local name=$1; shift
	local log=$logdir/$name.log
	printf '== %s\n' "$name"
	"$@" >"$log" 2>&1
	local rc=$?
	local last
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$last" ]; then
		cat "$log"
		echo "   $name: no summary line (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	local p f
	p=${last%% passed*}
	f=${last#*passed, }; f=${f%% failed*}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$f" -ne 0 ] || [ -n "${VERBOSE:-}" ]; then cat "$log"; fi
	printf '   %s\n' "$last"
	passed=$((passed + p)); failed=$((failed + f))
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/it/test_*.py tests/it/test_*.sh; do
	[ -f "$t" ] || continue
	case $t in *.py) run_one "$(basename "$t")" /usr/bin/python3 "$t" ;;
	           *.sh) run_one "$(basename "$t")" bash "$t" ;; esac
done
rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
