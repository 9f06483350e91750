#!/usr/bin/env bash
# fresh-machine.sh [--asan] [REPO] - the README's two commands on a brand-new
# Debian 12, as a newcomer runs them: a minbase root made by mmdebstrap from
# this machine's own apt sources, a clean clone of REPO's HEAD (default: this
# checkout) with ../shared beside it, nothing installed by hand but what a
# newcomer needs to type them (git, make).  Each command runs in its own
# copy of the root; with --asan the second root then runs "make check-asan"
# and "make fuzz" (10 s a target, from the committed corpora under fuzz/)
# too, so CI needs no packages of its own but mmdebstrap.
#
# Needs root (mount, chroot).  The pristine root is kept in FRESH_PRISTINE
# (default /var/tmp/tiedote-fresh.pristine) and rebuilt when older than a
# day; FRESH_ROOT (default /var/tmp/tiedote-fresh) is the working copy, its
# logs FRESH_ROOT.NAME.log.  Exit 0 only when every command exited 0.
set -u
asan=0
if [ "${1:-}" = --asan ]; then asan=1; shift; fi
here=$(cd "$(dirname "$0")/.." && pwd)
REPO=${1:-$here}
SHARED=$(cd "$REPO/../shared" 2>/dev/null && pwd) ||
	{ echo "fresh-machine: no ../shared beside $REPO" >&2; exit 66; }
ROOT=${FRESH_ROOT:-/var/tmp/tiedote-fresh}
PRISTINE=${FRESH_PRISTINE:-/var/tmp/tiedote-fresh.pristine}
LIMIT=${FRESH_TIMEOUT:-3600}	# seconds per command (CI as a whole has 90 minutes)

[ "$(id -u)" -eq 0 ] || { echo "fresh-machine: must run as root" >&2; exit 77; }

# never delete through a bind mount left by a run that was killed
unmount_all() {
	for m in dev/pts dev sys proc; do
		mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
	done
}
unmount_all
trap unmount_all EXIT

sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
if [ ! -x "$PRISTINE/bin/bash" ] || [ -n "$(find "$PRISTINE/.made" -mmin +1440 2>/dev/null)" ]; then
	command -v mmdebstrap >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/dev/null
	rm -rf --one-file-system "$PRISTINE"
	# the machine's own apt options too (a snapshot mirror's Valid-Until)
	aptopts=()
	for f in /etc/apt/apt.conf.d/*; do
		grep -q 'Check-Valid-Until\|Check-Date' "$f" 2>/dev/null && aptopts+=(--aptopt="$f")
	done
	if ! mmdebstrap --variant=minbase --include=git,make,ca-certificates \
	    "${aptopts[@]}" bookworm "$PRISTINE" "$sources" >"$PRISTINE.log" 2>&1; then
		echo "fresh-machine: mmdebstrap failed:"; tail -n 5 "$PRISTINE.log"
		exit 70
	fi
	touch "$PRISTINE/.made"
fi

# run NAME COMMAND: COMMAND in a fresh copy of the pristine root
run() {
	local rc
	unmount_all
	rm -rf --one-file-system "$ROOT"
	cp -a "$PRISTINE" "$ROOT"
	mkdir -p "$ROOT/src"
	git clone -q "$REPO" "$ROOT/src/main"
	cp -a "$SHARED" "$ROOT/src/shared"
	for m in proc sys dev dev/pts; do mount --bind "/$m" "$ROOT/$m"; done
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null
	# no daemon a package installs may start inside the chroot
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod +x "$ROOT/usr/sbin/policy-rc.d"
	start=$(date +%s)
	chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
		bash -c "cd /src/main && timeout $LIMIT $2 </dev/null" >"$ROOT.$1.log" 2>&1
	rc=$?
	echo "== fresh Debian 12, $1: '$2' exit $rc in $(( $(date +%s) - start )) s (log $ROOT.$1.log)"
	tail -n 6 "$ROOT.$1.log" | sed 's/^/   /'
	unmount_all
	return $rc
}

run first "make deps demo"; a=$?
second="make deps check"
[ $asan -eq 1 ] && second="sh -c 'make deps check && make check-asan && make fuzz FUZZ_SECONDS=10'"
run second "$second"; b=$?
echo "fresh Debian 12: 'make deps demo' exit $a, '$second' exit $b"
[ $a -eq 0 ] && [ $b -eq 0 ]
