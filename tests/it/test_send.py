"""Sending the bulletin through real SMTP servers on loopback.

1. 2,000 subscribers, the scheduler's own send at the slot time (the clock
   is moved with TIEDOTE_NOW_FILE), captured by aiosmtpd: each recipient
   exactly once, every message parses with email.policy.strict and its
   decoded parts equal `tiedote issue preview` for that subscriber.
2. Faults from Postfix's smtp-sink options: soft and hard rejects at RCPT
   and after DATA, a dropped connection: states, replies, retries with
   backoff up to the maximum age, and suppression of unknown users.
"""
import datetime
import email
import email.policy
import json
import os
import socket
import sqlite3
import subprocess
import time

import harness

CLI = os.path.join(harness.BUILD, "tiedote")
CAPTURE = os.path.join(harness.ROOT, "tests", "it", "capture.py")
FIRST = "2020-03-17T09:00:00+02:00"


class Clock:
    """The worker's and the CLI's clock: a file they read at every use."""

    def __init__(self, workdir, start):
        self.path = os.path.join(workdir, "now")
        self.set(start)
        os.environ["TIEDOTE_NOW_FILE"] = self.path

    def set(self, when):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(when + "\n")
        os.rename(tmp, self.path)


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not listening" % port)


def start_capture(workdir, extra=(), port=None):
    """capture.py on a free port (or port, to stand in for one that
    stopped), writing to workdir/captured"""
    port = port or harness.free_port()
    outdir = os.path.join(workdir, "captured")
    p = subprocess.Popen(["/usr/bin/python3", CAPTURE, str(port), outdir] + list(extra),
                         stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"ready"
    wait_port(port, p)
    return p, port, outdir


def start_sink(flags):
    port = harness.free_port()
    p = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody"] + flags +
                         ["127.0.0.1:%d" % port, "100"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port


def cli(d, *args):
    p = subprocess.run([CLI, "--db", d.db, "--endpoint", d.endpoint] + list(args),
                       capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def worker(workdir, smtp_port, extra=()):
    return harness.Tiedoted(workdir=workdir, log_level="info", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % smtp_port, "-o", "bulletin.first=" + FIRST,
        "-o", "smtp.timeout_ms=5000"] + list(extra))


def subscribers_csv(workdir, n, name="subs.csv"):
    langs = ["fi", "sv", "en"]
    regions = ["HYKS", "TYKS", "TAYS", "KYS", "OYS", "all", "KYS;OYS"]
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("email,name,lang,regions\n")
        for i in range(n):
            f.write("tilaaja%05d@example.fi,Tilaaja %d Äyräpää,%s,\"%s\"\n"
                    % (i, i, langs[i % 3], regions[i % 7]))
    return path


def db_rows(d, sql, args=()):
    with harness.sqlite(d.db) as c:
        return c.execute(sql, args).fetchall()


def wait_issue(d, states, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = db_rows(d, "SELECT state FROM issues ORDER BY id")
        except sqlite3.OperationalError:
            rows = []
        if rows and rows[-1][0] in states:
            return rows[-1][0]
        time.sleep(0.1)
    return rows[-1][0] if rows else None


def wait_rows_final(d, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = db_rows(d, "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending')")[0][0]
        if left == 0:
            return True
        time.sleep(0.1)
    return False


def prepare(d, clock, n):
    """Examples received on 10.3.2020, n subscribers."""
    for name, _ in harness.examples():
        rc, out, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        assert rc == 0, err
    rc, out, err = cli(d, "subscriber", "import", subscribers_csv(d.workdir, n))
    assert rc == 0, err


def parts_of(msg):
    """Decoded text and HTML, line ends back from MIME's CRLF to LF."""
    text = html = None
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_content().replace("\r\n", "\n")
        elif part.get_content_type() == "text/html":
            html = part.get_content().replace("\r\n", "\n")
    return text, html


def test_bulk(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port).start()
    prepare(d, clock, 2000)
    r.check(db_rows(d, "SELECT count(*) FROM issues")[0][0] == 0,
            "before the slot time the scheduler sends nothing")
    t0 = time.monotonic()
    clock.set("2020-03-17T09:00:01+02:00")
    state = wait_issue(d, ("sent",), timeout=300)
    took = time.monotonic() - t0
    r.check(state == "sent", "the scheduled issue is sent (%.1f s)" % took, d.log_tail())

    with open(os.path.join(outdir, "log.jsonl")) as f:
        log = [json.loads(line) for line in f]
    counts = {}
    for e in log:
        counts[e["rcpt"]] = counts.get(e["rcpt"], 0) + 1
    want = {"tilaaja%05d@example.fi" % i for i in range(2000)}
    r.check(set(counts) == want and max(counts.values()) == 1,
            "each of 2,000 recipients got the bulletin exactly once",
            "%d distinct, %d deliveries" % (len(counts), len(log)))
    r.check(all(e["from"].startswith("bounces+") and e["from"].endswith("@tiedote.example")
                for e in log), "envelope senders are VERP addresses")
    sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    r.check(sent == 2000, "the outbox says 2,000 sent (%d)" % sent)
    rc, out, err = cli(d, "--json", "announce", "show", "thl-ajankohtaistiedote-kahden-viikon-valein")
    number = db_rows(d, "SELECT number FROM issues WHERE state = 'sent'")[0][0]
    r.check(rc == 0 and json.loads(out).get("issue") == number,
            "announce show names the issue (%s) that carried an in-bulletin announcement"
            % number, out[:300] + err)

    bad = []
    by_rcpt = {}
    for e in log:
        with open(os.path.join(outdir, e["file"]), "rb") as f:
            raw = f.read()
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.strict)
            if msg.defects or msg["To"].addresses[0].addr_spec != e["rcpt"]:
                bad.append(e["file"])
            by_rcpt[e["rcpt"]] = msg
        except Exception as exc:        # strict policy raises on defects
            bad.append("%s: %s" % (e["file"], exc))
    r.check(not bad, "all 2,000 captured messages parse with email.policy.strict",
            "\n".join(bad[:5]))

    mismatch = []
    for i in list(range(0, 2000, 97)) + [1999]:
        rcpt = "tilaaja%05d@example.fi" % i
        msg = by_rcpt.get(rcpt)
        text, html = parts_of(msg) if msg else (None, None)
        rc1, want_text, _ = cli(d, "issue", "preview", "--at", FIRST, "--subscriber", rcpt,
                                "--format", "text")
        rc2, want_html, _ = cli(d, "issue", "preview", "--at", FIRST, "--subscriber", rcpt,
                                "--format", "html")
        if rc1 or rc2 or text != want_text or html != want_html:
            mismatch.append(rcpt)
    r.check(not mismatch, "captured bodies equal the preview of the same recipient",
            ", ".join(mismatch[:5]))
    msg = by_rcpt.get("tilaaja00001@example.fi")
    r.check(msg is not None and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            and "Aktuellt" in msg["Subject"] and msg["Message-ID"].startswith("<2020-01."),
            "Swedish subscriber: Swedish subject, RFC 8058 headers, Message-ID by issue")

    rc, out, err = cli(d, "--json", "issue", "list")
    issues = json.loads(out) if rc == 0 else []
    r.check(len(issues) == 1 and issues[0]["number"] == "2020/01"
            and issues[0]["counts"]["sent"] == 2000,
            "issue list --json reports the totals", out + err)
    rc, out, err = cli(d, "issue", "status")
    r.check(rc == 0 and "sent 2000" in out and "2020/01" in out, "issue status for people", out)
    # the clock stood at 09:00:01 for the whole send: every time stored is
    # that second, so the average is 2,000 over the 1 s the times resolve
    r.check("rate 2000.0/s (average)" in out, "issue status: the average rate once sent", out)
    rc, out, err = cli(d, "--json", "issue", "status")
    st = json.loads(out) if rc == 0 else {}
    r.check(st.get("rate") == 2000.0 and st.get("rate_basis") == "average",
            "issue status --json: rate and its basis", out + err)
    r.check(d.stop() == 0, "the worker stops cleanly")
    cap.kill()
    cap.wait()


def fault_case(r, name, sink_flags, check, clock_steps=()):
    workdir = harness.tempdir()
    sink, port = start_sink(sink_flags)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "smtp.retry_base_s=300"]).start()
    prepare(d, clock, 3)
    clock.set("2020-03-17T09:00:01+02:00")
    wait_issue(d, ("sending", "sent"))
    wait_rows_final(d)
    for when in clock_steps:
        clock.set(when)
        # every row is retried at the new time (its "updated" moves there)
        t = int(datetime.datetime.fromisoformat(when).timestamp())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and db_rows(
                d, "SELECT count(*) FROM outbox WHERE updated < ?", (t,))[0][0]:
            time.sleep(0.05)
        wait_rows_final(d)
    rows = db_rows(d, "SELECT recipient, state, attempts, reply_code, reply, next_attempt,"
                      " first_attempt FROM outbox ORDER BY recipient")
    subs = db_rows(d, "SELECT email, status FROM subscribers ORDER BY email")
    supp = db_rows(d, "SELECT email FROM suppressions")
    try:
        check(r, rows, subs, supp)
    finally:
        d.stop()
        sink.kill()
        sink.wait()


def test_faults(r):
    def soft_rcpt(r, rows, subs, supp):
        first = rows[0][6]
        r.check(all(x[1] == "deferred" and x[2] == 1 and x[3] == 450 for x in rows),
                "soft reject at RCPT: deferred after one attempt, 450 kept",
                repr(rows))
        r.check(all(first + 240 <= x[5] <= first + 360 for x in rows),
                "first retry after 300 s +- 20% jitter")

    fault_case(r, "soft-rcpt", ["-r", "RCPT"], soft_rcpt)

    def soft_retry(r, rows, subs, supp):
        r.check(all(x[1] == "failed" and x[2] >= 3 for x in rows),
                "still refused 4 days later: failed after retries (max age 72 h)",
                repr([(x[1], x[2]) for x in rows]))
        r.check(all("450" in x[4] for x in rows), "the last reply is kept")

    fault_case(r, "soft-rcpt-age", ["-r", "RCPT"], soft_retry,
               clock_steps=["2020-03-18T09:00:00+02:00", "2020-03-21T09:30:00+02:00"])

    def unknown(r, rows, subs, supp):
        r.check(all(x[1] == "suppressed" and x[2] == 1 and x[3] == 550 and "5.1.1" in x[4]
                    for x in rows), "550 5.1.1 at RCPT: failed at once, the row says suppressed", repr(rows))
        r.check(len(supp) == 3 and all(s[1] == "suppressed" for s in subs),
                "user unknown suppresses the addresses for later sends")

    fault_case(r, "unknown", ["-f", "RCPT", "-B", "550 5.1.1 User unknown"], unknown)

    def hard_data(r, rows, subs, supp):
        r.check(all(x[1] == "failed" and x[3] == 554 for x in rows),
                "554 after the message content: failed", repr(rows))
        r.check(not supp and all(s[1] == "active" for s in subs),
                "a content rejection does not suppress the address")

    fault_case(r, "hard-data", ["-f", ".", "-B", "554 5.7.1 Rejected as spam"], hard_data)

    def soft_data(r, rows, subs, supp):
        r.check(all(x[1] == "deferred" and x[3] == 450 for x in rows),
                "450 after the message content: deferred", repr(rows))

    fault_case(r, "soft-data", ["-r", "."], soft_data)

    def dropped(r, rows, subs, supp):
        # the third drop in a row pauses the relay (relay.h
        # RELAY_TIMEOUT_RUN); each message's content had gone out, so each
        # is deferred with backoff rather than sent again at once
        r.check(all(x[1] == "deferred" and not x[3] for x in rows),
                "connection dropped after DATA: deferred, no reply code", repr(rows))

    fault_case(r, "dropped", ["-q", "."], dropped)


def test_built_ahead_is_fresh(r):
    """A message built ahead and then held back (here by smtp.rate_per_sec,
    whose tokens follow the test clock) is built again when it goes: its
    Date is when it went, not when it was built."""
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = harness.Tiedoted(workdir=workdir, log_level="debug", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port, "-o", "bulletin.first=" + FIRST,
        "-o", "smtp.rate_per_sec=1"]).start()
    prepare(d, clock, 3)
    clock.set("2020-03-17T09:00:01+02:00")

    def until(cond):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not cond():
            time.sleep(0.05)
        return cond()
    # one message goes; the clock stands still, so the others wait for a
    # token, built ahead meanwhile
    def emls():
        return sorted(n for n in os.listdir(outdir) if n.endswith(".eml"))
    r.check(until(lambda: len(emls()) == 1 and
                  d.log_text().count("built ahead") >= 2),
            "one sent at 09:00:01, the next ones built ahead", d.log_tail())
    clock.set("2020-03-17T09:10:00+02:00")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(emls()) < 2:
        time.sleep(0.1)
    names = emls()
    dates = []
    for n in names:
        with open(os.path.join(outdir, n), "rb") as f:
            dates.append(email.message_from_bytes(f.read())["Date"])
    r.check(len(dates) == 2 and "09:00:01" in dates[0] and "09:10:00" in dates[1] and
            "building it again" in d.log_text(),
            "the first at 09:00:01; the one held back until 09:10 was built again and "
            "is dated 09:10", dates)
    d.stop()
    cap.kill()


def body(r):
    test_bulk(r)
    test_faults(r)
    test_built_ahead_is_fresh(r)


if __name__ == "__main__":
    harness.main(body)
