"""Chaos: SIGKILL tiedoted twice during a 20,000-recipient send.

Counted from what the SMTP server received (aiosmtpd, its own process):
after restarts every recipient has the bulletin, nobody is skipped, and
the duplicates are at most the messages in flight at each kill (the
connection count, 4, per kill).
"""
import json
import os
import time

import harness
from test_send import Clock, FIRST, db_rows, prepare, start_capture, wait_issue, worker

N = 20000
CONNECTIONS = 4


def delivered(outdir):
    try:
        with open(os.path.join(outdir, "log.jsonl")) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def body(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "smtp.connections=%d" % CONNECTIONS,
                               "-o", "log.level=warning"]).start()
    prepare(d, clock, N)
    clock.set("2020-03-17T09:00:01+02:00")
    at_kill = []
    for threshold in (N // 4, N // 2):
        deadline = time.monotonic() + 300
        while delivered(outdir) < threshold and time.monotonic() < deadline:
            time.sleep(0.05)
        d.kill()
        at_kill.append(delivered(outdir))
        d.start()
    state = wait_issue(d, ("sent",), timeout=600)
    r.check(state == "sent", "the issue finishes after two SIGKILLs", d.log_tail())
    r.check(all(0 < k < N for k in at_kill), "both kills landed mid-send (%s)" % at_kill)
    with open(os.path.join(outdir, "log.jsonl")) as f:
        rcpts = [json.loads(line)["rcpt"] for line in f]
    counts = {}
    for a in rcpts:
        counts[a] = counts.get(a, 0) + 1
    # subscribers with nothing in the issue for their regions are not sent
    # to; the outbox holds exactly those who have something
    want = {row[0] for row in db_rows(d, "SELECT recipient FROM outbox WHERE kind = 'bulletin'")}
    missing = want - set(counts)
    dups = sum(c - 1 for c in counts.values())
    r.check(len(want) == N, "the outbox has a row for each of the %d subscribers (%d)"
            % (N, len(want)))
    r.check(not missing, "nobody skipped", "%d missing" % len(missing))
    r.check(dups <= 2 * CONNECTIONS,
            "duplicates %d <= messages in flight at the kills (%d)" % (dups, 2 * CONNECTIONS))
    sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    r.check(sent == N, "the outbox ends with every row sent (%d)" % sent)
    r.check("were in flight at the last stop" in d.log_text(),
            "the restart re-queued the rows that were in flight")
    d.stop()
    cap.kill()
    cap.wait()


harness.main(body)
