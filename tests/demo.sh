#!/usr/bin/env bash
# demo.sh BUILD - tiedote on its embedded defaults, end to end:
#   a capturing SMTP server on 127.0.0.1:2525 (the default relay) writing
#   to ./var/mail/, tiedoted with ./var/tiedote.db on tcp://127.0.0.1:5570,
#   the example events and subscribers, and the scheduler sending the
#   bulletin of Tuesday 17.3.2020 09:00, a scheduled announcement and the
#   grant call's first reminder to two funded projects.  The examples are from 2020, so
#   the demo runs the worker's clock through the test hook TIEDOTE_NOW_FILE:
#   first a week before the issue (when the events arrive), then the issue's
#   send time.  The subscriber pages listen on 127.0.0.1:8080 (message.base_url
#   points there, so the messages' links work); their addresses are printed.
#   From a terminal the worker keeps running until Ctrl-C.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p var
# the demo's story starts in 2020 every time: a database left by an earlier
# run would already hold its issues
rm -rf var/tiedote.db var/tiedote.db-wal var/tiedote.db-shm var/mail
export TIEDOTE_NOW_FILE=$PWD/var/demo-now
echo "2020-03-10T12:00:00+02:00" > "$TIEDOTE_NOW_FILE"
/usr/bin/python3 tests/it/capture.py 2525 var/mail > var/capture.out &
capture=$!
# the subscriber pages on loopback, their links in the messages pointing there
"$build/tiedoted" -o web.listen=127.0.0.1:8080 -o message.base_url=http://127.0.0.1:8080 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true; kill $capture 2>/dev/null || true' EXIT
until grep -q ready var/capture.out 2>/dev/null; do sleep 0.1; done
echo "== enqueue queue/examples/*.json (the worker's clock: 10.3.2020)"
for f in queue/examples/*.json; do
	"$build/tiedote" enqueue "$f"
done
echo "== subscriber import tests/data/demo-subscribers.csv"
"$build/tiedote" subscriber import tests/data/demo-subscribers.csv
echo "== two funded projects, and an announcement for Monday 16.3.2020 09:00"
"$build/tiedote" project add pohjois-savo --name "Pohjois-Savon tulevaisuuden sote-keskus" \
	--region KYS --contact hanke@pohjois-savo.example --contact koordinaattori@pohjois-savo.example
"$build/tiedote" project add varsinais-suomi --name "Varsinais-Suomen sote-keskus" \
	--region TYKS --lang sv --contact projekt@varsinais-suomi.example
printf 'Verkostopäivän 12.5.2020 ilmoittautuminen on auki.\n\nTervetuloa!\n' > var/demo-body.txt
"$build/tiedote" announce --at "2020-03-16 09:00" --audience regions:KYS,OYS \
	--subject "Verkostopäivän ilmoittautuminen on auki" --body var/demo-body.txt --id demo-ilmoitus
echo "== the clock reaches the issue's send time, Tuesday 17.3.2020 09:00 (also the"
echo "   grant call's 14-day reminder to the projects; the announcement went at 16.3. 09:00)"
echo "2020-03-17T09:00:05+02:00" > "$TIEDOTE_NOW_FILE"
for _ in $(seq 1 100); do
	"$build/tiedote" --json issue status 2>/dev/null | grep -q '"state": "sent"' && break
	sleep 0.2
done
"$build/tiedote" issue status
"$build/tiedote" reminder list stm-valtionavustus-2020
"$build/tiedote" announce list
echo "== captured by the SMTP server in var/mail/:"
ls var/mail/*.eml
echo "== what anu.niemi@example.fi received (text part):"
"$build/tiedote" issue preview --at 2020-03-17 --subscriber anu.niemi@example.fi --format text | head -40
unsub=$("$build/tiedote" -o message.base_url=http://127.0.0.1:8080 issue preview --at 2020-03-17 --subscriber anu.niemi@example.fi \
	--format text | grep -o 'http://127.0.0.1:8080/u/[A-Za-z0-9_-]*' | head -1)
echo "== the subscriber pages (docs/web.md), served by tiedoted on 127.0.0.1:8080:"
echo "   subscribe:        http://127.0.0.1:8080/subscribe"
echo "   the archive:      http://127.0.0.1:8080/issues/  (feed: /issues/fi.atom)"
echo "   anu's unsubscribe: $unsub"
echo "   anu's preferences: $unsub/preferences"
if [ -t 0 ]; then
	echo "== tiedoted is running (tcp://127.0.0.1:5570, ./var/tiedote.db); Ctrl-C stops it"
	wait $worker
fi
