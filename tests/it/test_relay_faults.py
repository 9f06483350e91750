"""The relay's circuit breaker (relay.h) against real servers on loopback.

1. Postfix's smtp-sink refusing the greeting or MAIL FROM (a refused EHLO
   is not a refusal: libcurl falls back to HELO, which smtp-sink takes): sending
   pauses at once, no reader's row is failed or charged an attempt,
   `issue status` says "paused: relay" with the reply, one log line says
   so; when a working server (aiosmtpd) takes the port, the probe gets
   through, sending resumes by itself and every reader gets the bulletin
   exactly once, at its first charged attempt.
2. The same refusal at RCPT (5.7.1, not about any address) for several
   different readers in a row is the relay's too: the run is held back
   and queued again uncharged.
3. A relay that accepts connections and never answers: after a run of
   timeouts sending pauses; while it stays silent only the probes reach
   it (counted at the listener), not a message per connection per
   smtp.timeout_ms.
5. (after 2) our sender refused at RCPT (550 5.1.0 "Sender address
   rejected"): the relay's at once; nobody failed or suppressed.
6. (after 5) a relay that says 421 to the second MAIL of a session: a
   new session takes it, sending never pauses.
4. smtp-sink -W rcpt:1 answering out of order (503): nobody is failed,
   the session goes on without pipelining, each reader gets it once.
"""
import json
import os
import socket
import threading
import time

import harness
from test_send import Clock, cli, db_rows, prepare, start_capture, start_sink, wait_issue, \
    worker

N = 40
PAUSED = "relay refusing, sending paused"
RESUMED = "relay answers again, sending resumed"


def wait_for(cond, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def captured(outdir):
    path = os.path.join(outdir, "log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def start(workdir, port, n=N, extra=()):
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "smtp.timeout_ms=1000"] + list(extra)).start()
    prepare(d, clock, n)
    clock.set("2020-03-17T09:00:01+02:00")
    return d


def to_send(d):
    return db_rows(d, "SELECT count(*) FROM outbox WHERE state != 'skipped'")[0][0]


def check_resumed(r, d, outdir, what):
    state = wait_issue(d, ("sent",), timeout=120)
    got = captured(outdir)
    counts = {}
    for e in got:
        counts[e["rcpt"]] = counts.get(e["rcpt"], 0) + 1
    want = to_send(d)
    r.check(state == "sent" and len(counts) == want and max(counts.values()) == 1,
            "%s: once a server answers, the issue is sent, each reader exactly once" % what,
            "%s: %d of %d readers, %d deliveries" % (state, len(counts), want, len(got)))
    rows = db_rows(d, "SELECT state, attempts, count(*) FROM outbox WHERE state != 'skipped'"
                      " GROUP BY state, attempts")
    r.check(rows == [("sent", 1, want)],
            "%s: every row sent at its first charged attempt" % what, rows)
    r.check(RESUMED in d.log_text(), "%s: the log says sending resumed" % what, d.log_tail())
    rc, out, err = cli(d, "issue", "status")
    r.check(rc == 0 and "paused" not in out, "%s: issue status no longer says paused" % what,
            out)


def resume_on_a_working_relay(r, d, sink, workdir, port, what):
    """the refusing sink goes, a working server takes its port: the
    probe gets through and the issue is sent"""
    sink.kill()
    sink.wait()
    cap, _, outdir = start_capture(workdir, port=port)
    check_resumed(r, d, outdir, what)
    cap.kill()
    cap.wait()
    d.stop()


def charged(d):
    """rows failed, deferred, suppressed or charged an attempt"""
    return db_rows(d, "SELECT state, attempts, count(*) FROM outbox"
                      " WHERE state NOT IN ('queued', 'sending', 'skipped') OR"
                      " (state = 'queued' AND attempts > 0) GROUP BY state, attempts")


def test_refusal(r, command, resume=True):
    workdir = harness.tempdir()
    sink, port = start_sink(["-f", command, "-B", "554 5.7.1 Client host blocked"])
    d = start(workdir, port)
    what = "5xx to %s" % command
    r.check(wait_for(lambda: PAUSED in d.log_text()), "%s: sending pauses" % what,
            d.log_tail())
    bad = charged(d)
    r.check(not bad, "%s: no reader's row failed, deferred or charged" % what, bad)
    rc, out, err = cli(d, "issue", "status")
    r.check(rc == 0 and "paused: relay" in out and "5.7.1 Client host blocked" in out,
            "%s: issue status says paused: relay, with the reply" % what, out + err)
    rc, out, err = cli(d, "--json", "issue", "status")
    paused = json.loads(out).get("paused", {}) if rc == 0 else {}
    r.check(paused.get("by") == "relay" and "5.7.1" in paused.get("reply", ""),
            "%s: issue status --json has paused.by relay and the reply" % what, out)
    # the period printed is the issue's, not the pause's time (it was once)
    js = json.loads(out) if rc == 0 else {}
    want = "period %s .. %s" % tuple(
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(js.get(k, 0)))
        for k in ("period_start", "period_end"))
    rc, out, err = cli(d, "issue", "status")
    r.check(rc == 0 and want in out,
            "%s: issue status prints the period's start while paused" % what, (want, out))
    r.check(d.log_text().count(PAUSED) == 1, "%s: one log line for the pause" % what)
    sink.kill()
    sink.wait()
    if resume:
        cap, _, outdir = start_capture(workdir, port=port)
        check_resumed(r, d, outdir, what)
        cap.kill()
        cap.wait()
    r.check(d.stop() == 0, "%s: the worker stops cleanly" % what)


def test_same_failure(r):
    workdir = harness.tempdir()
    sink, port = start_sink(["-f", "RCPT", "-B", "554 5.7.1 Relay access denied"])
    d = start(workdir, port)
    what = "554 5.7.1 at RCPT for many readers"
    r.check(wait_for(lambda: PAUSED in d.log_text()), "%s: sending pauses" % what,
            d.log_tail())
    r.check("the same reply for" in d.log_text(), "%s: the log says why" % what)
    bad = db_rows(d, "SELECT state, count(*) FROM outbox"
                     " WHERE state IN ('failed', 'suppressed', 'deferred') GROUP BY state")
    r.check(not bad, "%s: the run held back is queued again, nobody failed" % what, bad)
    resume_on_a_working_relay(r, d, sink, workdir, port, what)


class Silent:
    """A relay that accepts every connection and never says a word."""

    def __init__(self):
        self.port = harness.free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.conns = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_sender_refused(r):
    """our envelope sender refused at RCPT, as Postfix does by default
    (smtpd_delay_reject) with 5.1.0 when the bounce address is unknown:
    no reader failed, none suppressed (5.1.0 is "bad address" when it is
    the reader's), sending paused at the first reply"""
    workdir = harness.tempdir()
    sink, port = start_sink(["-f", "RCPT", "-B", "550 5.1.0 <bounces@tiedote.example>: Sender"
                             " address rejected: User unknown in local recipient table"])
    d = start(workdir, port)
    what = "our sender refused at RCPT (550 5.1.0)"
    r.check(wait_for(lambda: PAUSED in d.log_text()), "%s: sending pauses" % what,
            d.log_tail())
    bad = charged(d)
    r.check(not bad, "%s: no reader's row failed, suppressed or charged" % what, bad)
    r.check(db_rows(d, "SELECT count(*) FROM subscribers WHERE status != 'active'") == [(0,)]
            and db_rows(d, "SELECT count(*) FROM suppressions")[0][0] == 0,
            "%s: every reader still active, no address suppressed" % what)
    resume_on_a_working_relay(r, d, sink, workdir, port, what)


class OneMailASession:
    """aiosmtpd: the first MAIL of each session is taken, a second gets
    421 (a relay ending a session at its limit, or its idle timeout
    crossing our MAIL)"""

    def __init__(self):
        self.lock = threading.Lock()
        self.rcpts = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            # counted on the session itself: an id() of a freed session
            # may be given to a new one
            n = session.tiedote_mails = getattr(session, "tiedote_mails", 0) + 1
        if n > 1:
            return "421 4.4.2 session limit reached, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.rcpts.extend(envelope.rcpt_tos)
        return "250 2.0.0 Ok"


def test_421_to_a_reused_session(r):
    """a 421 to MAIL on a session that carried a message is the session's
    end, not a refusal: the message goes on a new session, sending never
    pauses, nobody is charged"""
    from aiosmtpd.controller import Controller
    handler = OneMailASession()
    port = harness.free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        workdir = harness.tempdir()
        d = start(workdir, port, n=20, extra=["-o", "smtp.connections=1"])
        what = "421 to MAIL on a reused session"
        state = wait_issue(d, ("sent",), timeout=120)
        want = to_send(d)
        r.check(state == "sent" and sorted(handler.rcpts) == sorted(set(handler.rcpts)) and
                len(handler.rcpts) == want, "%s: the issue is sent, each reader once" % what,
                "%s: %d of %d" % (state, len(handler.rcpts), want))
        r.check(PAUSED not in d.log_text(), "%s: sending never paused" % what, d.log_tail())
        rows = db_rows(d, "SELECT state, attempts, count(*) FROM outbox WHERE state != 'skipped'"
                          " GROUP BY state, attempts")
        r.check(rows == [("sent", 1, want)], "%s: every row sent at its first attempt" % what,
                rows)
        d.stop()
    finally:
        ctl.stop()


def test_silent(r):
    workdir = harness.tempdir()
    relay = Silent()
    connections = 4
    d = start(workdir, relay.port, extra=["-o", "smtp.connections=%d" % connections])
    r.check(wait_for(lambda: PAUSED in d.log_text()), "silent relay: sending pauses after a "
            "run of timeouts", d.log_tail())
    r.check(wait_for(lambda: d.log_text().count("relay still refusing") >= 2),
            "silent relay: two probes, each timed out", d.log_tail())
    n = len(relay.conns)
    probes = d.log_text().count("probing the relay")
    # before the run is seen: every connection, and the two freed by the
    # first timeouts (relay.h RELAY_TIMEOUT_RUN 3); then one per probe
    r.check(n <= connections + 2 + probes,
            "silent relay: only the first sessions and the probes reached it (%d connections,"
            " %d at once, %d probes)" % (n, connections, probes))
    rows = db_rows(d, "SELECT state, attempts, count(*) FROM outbox WHERE state != 'skipped'"
                      " GROUP BY state, attempts")
    charged = sum(c for s, a, c in rows if a > 0 and s != "sending")
    r.check(charged <= 2 and all(s in ("queued", "deferred", "sending") for s, a, c in rows),
            "silent relay: at most two readers charged (deferred) before the run was seen",
            rows)
    d.stop()
    relay.close()


def test_out_of_step(r):
    workdir = harness.tempdir()
    sink, port = start_sink(["-W", "rcpt:1"])
    cap_workdir = workdir
    d = start(cap_workdir, port, n=12, extra=["-o", "smtp.timeout_ms=5000"])
    state = wait_issue(d, ("sent",), timeout=120)
    rows = db_rows(d, "SELECT state, count(*) FROM outbox WHERE state != 'skipped'"
                      " GROUP BY state")
    r.check(state == "sent" and len(rows) == 1 and rows[0][0] == "sent",
            "smtp-sink -W rcpt:1 (replies out of step): every reader sent, none failed",
            (state, rows, d.log_tail()))
    d.stop()
    sink.kill()
    sink.wait()


def body(r):
    test_refusal(r, "MAIL")
    test_refusal(r, "CONNECT")
    test_same_failure(r)
    test_sender_refused(r)
    test_421_to_a_reused_session(r)
    test_silent(r)
    test_out_of_step(r)


if __name__ == "__main__":
    harness.main(body)
