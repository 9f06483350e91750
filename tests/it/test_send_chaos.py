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


def attempted_queued(d):
    """queued rows with an attempt: only those re-queued after a SIGKILL"""
    return db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'queued'"
                      " AND attempts > 0")[0][0]


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
    # a clean stop mid-send leaves nothing "sending": the messages in flight
    # finish and the rows claimed ahead go back to the queue untouched
    deadline = time.monotonic() + 300
    while delivered(outdir) < 3 * N // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    r.check(d.stop() == 0, "SIGTERM mid-send: exit 0")
    sending = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sending'")[0][0]
    queued = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'queued'")[0][0]
    r.check(sending == 0 and queued > 0,
            "after SIGTERM no row is left sending (%d), %d still queued" % (sending, queued))
    r.check(attempted_queued(d) <= 2 * CONNECTIONS,
            "rows released at SIGTERM count no attempt (%d queued rows with one)"
            % attempted_queued(d))
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
    r.check(d.log_text().count("were claimed at the last stop") == 2,
            "the restarts after the two kills re-queued rows in flight; the one"
            " after SIGTERM found none")
    d.stop()
    cap.kill()
    cap.wait()


harness.main(body)
