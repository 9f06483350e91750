"""Issue numbers through the worker and the CLI (the audit's case).

An issue cancelled while sending keeps its number (2020/01); `tiedote
issue send-now` twice in the same second makes two issues, 2020/02 and
2020/03 (the second covers no new time, but lists the deadlines and
events ahead as any issue does); the next scheduled issue takes 2020/04. Before, the cancelled number was handed out
again: the start failed with "UNIQUE constraint failed: issues.number"
every second and every later issue stayed a draft; and the second
send-now failed with the same error, exit 75.

The relay is a port nobody listens on, so issue 1 stays `sending` until
it is cancelled (its rows are never delivered).
"""
import time

import harness
from test_send import Clock, cli, db_rows, prepare, worker


def issues(d):
    return {i: (n, s) for i, n, s in db_rows(d, "SELECT id, number, state FROM issues")}


def wait_for(d, cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = issues(d)
        if cond(got):
            return got
        time.sleep(0.05)
    return issues(d)


def body(r):
    workdir = harness.tempdir()
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, harness.free_port()).start()
    prepare(d, clock, 3)
    clock.set("2020-03-17T09:00:00+02:00")
    got = wait_for(d, lambda g: g.get(1) == ("2020/01", "sending"))
    r.check(got.get(1) == ("2020/01", "sending"), "issue 1 is 2020/01, sending", got)
    rc, out, err = cli(d, "issue", "cancel", "1")
    r.check(rc == 0, "issue cancel 1", (rc, out, err))
    # the test clock stands still: both in the same second
    rc, out, err = cli(d, "issue", "send-now")
    r.check(rc == 0, "issue send-now", (rc, out, err))
    rc, out, err = cli(d, "issue", "send-now")
    r.check(rc == 0 and "UNIQUE" not in out + err,
            "a second issue send-now in the same second makes another issue", (rc, out, err))
    got = wait_for(d, lambda g: g.get(2, ("", "draft"))[1] != "draft" and
                   g.get(3, ("", "draft"))[1] != "draft")
    r.check(got.get(1) == ("2020/01", "cancelled") and got.get(2) == ("2020/02", "sending"),
            "the cancelled issue keeps 2020/01; the one sent now takes 2020/02", got)
    r.check(got.get(3) == ("2020/03", "sending"), "the second send-now's issue is 2020/03",
            got)
    clock.set("2020-03-31T09:00:00+02:00")
    got = wait_for(d, lambda g: g.get(4, ("", "draft"))[1] != "draft")
    r.check(got.get(4) == ("2020/04", "sending"), "the next scheduled issue is 2020/04", got)
    r.check("UNIQUE constraint" not in d.log_text() and "starting issue" not in d.log_text(),
            "no failed start in the log", d.log_tail())
    r.check(d.stop() == 0, "the worker stops cleanly")


if __name__ == "__main__":
    harness.main(body)
