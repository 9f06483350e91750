"""The database's write lock held from outside for 10 s in the middle of a
20,000-recipient send (issue #12/#13): the sender's commits of outcomes
fail meanwhile; they are kept and committed again once the lock is gone.
Afterwards every row is final, each reader got the bulletin exactly once
(counted at the capturing server), no row is left "sending", and the log
says the sender stalled and recovered.  The 10 s is the length of the
fault, not a wait for anything: every wait here is on a condition.
"""
import json
import os
import sqlite3
import time

import harness
from test_send import Clock, db_rows, prepare, start_capture, wait_issue, worker

N = 20000
HOLD_S = 10


def body(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port).start()
    prepare(d, clock, N)
    clock.set("2020-03-17T09:00:01+02:00")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
        except sqlite3.OperationalError:
            sent = 0
        if sent >= 2000:
            break
        time.sleep(0.05)
    holder = sqlite3.connect(d.db, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    held_at = time.monotonic()
    while time.monotonic() - held_at < HOLD_S:
        time.sleep(0.2)
    holder.execute("ROLLBACK")
    holder.close()
    state = wait_issue(d, ("sent",), timeout=600)
    r.check(state == "sent", "the issue completes once the lock is gone", d.log_tail())
    rows = db_rows(d, "SELECT state, count(*) FROM outbox GROUP BY state")
    r.check(all(s in ("sent", "skipped") for s, _ in rows),
            "every row final: none left sending or queued", rows)
    with open(os.path.join(outdir, "log.jsonl")) as f:
        log = [json.loads(line) for line in f]
    counts = {}
    for e in log:
        counts[e["rcpt"]] = counts.get(e["rcpt"], 0) + 1
    sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    dups = len(log) - len(counts)
    r.check(len(counts) == sent and dups == 0,
            "each reader got it exactly once: %d readers, %d duplicates" % (len(counts), dups))
    text = d.log_text()
    r.check("kept, and tried again" in text and "outcomes recorded at the" in text,
            "the sender stalled on the lock and recovered", d.log_tail())
    r.check(d.stop() == 0, "the worker stops cleanly")
    cap.kill()
    cap.wait()


if __name__ == "__main__":
    harness.main(body)
