"""Inbound mail, the whole loop, against real programs.

An issue goes out through a capturing relay (aiosmtpd); its VERP envelope
senders and List-Unsubscribe mailto addresses are read from what the relay
took.  Then what comes back arrives by each way in:

  - a hard bounce (RFC 3464, 5.1.1) over LMTP with Python's smtplib.LMTP,
    to the VERP address in LOWER case (tokens are case-insensitive);
  - a soft bounce (mailbox full) by `tiedote inbound deliver` on stdin,
    ORIGINAL_RECIPIENT set as Postfix pipe(8) does; a second one by LMTP;
  - a spam complaint (RFC 5965 ARF) by Postfix's smtp-source -L -F;
  - a mail to the List-Unsubscribe mailto address over LMTP;
  - a sender-side block (Exim, Spamhaus) that must not count;
  - a forged token (logged, not acted on); an auto-reply (kept).
The reader of the hard bounce ends suppressed, the complainer and the
mailto one unsubscribed, the blocked one still active; the mailbox-full
one's two soft bounces are about one message, which counts once
(inbound.soft_limit=2); `issue status` counts them; the next issue skips
exactly those, and a soft bounce of its message to the mailbox-full one
suppresses that reader; `inbound list|show` show them.  With SQLite's write lock held from outside, LMTP
answers 451 per recipient and nothing is stored; released, 250.
"""
import json
import os
import re
import signal
import sqlite3
import socket
import subprocess

import harness
from test_send import CLI, cli, db_rows
from inbound_common import dsn, lmtp_send, lmtp_worker, next_issue, send_issue

FIRST = "2020-03-17T09:00:00+02:00"
SECOND = "2020-03-31T09:00:00+02:00"
READERS = ["gone@example.net", "full@example.org", "spam@example.com",
           "leaver@example.fi", "blocked@example.se", "keep@example.fi"]
DATA = os.path.join(harness.ROOT, "tests", "data", "inbound")


def replies_after_eof(r):
    """An MTA that pipelines its commands and shuts its side gets every
    reply owed, whole, before the close: the listener once freed the
    session at the end of input with its replies unwritten, cut mid-line
    (found by fuzz_lmtp), the 250 for a stored message among them.  A UNIX
    socket's buffers (about 200 KB) are smaller than the replies here."""
    workdir = harness.tempdir()
    path = os.path.join(workdir, "lmtp.sock")
    d = harness.Tiedoted(workdir=workdir, extra_args=["-o", "inbound.lmtp_listen=" + path])
    d.start()
    try:
        # the input fuzz_lmtp found it with: pipelined commands, messages,
        # errors, about 65 KB, answered with more than the socket holds
        with open(os.path.join(harness.ROOT, "fuzz", "seeds", "fuzz_lmtp",
                               "replies-after-eof.lmtp"), "rb") as f:
            script = f.read()
        # the whole input and its end are waiting before the listener reads
        # (the kernel accepts for a stopped process), and the client reads
        # nothing until the messages are stored: the end of input is then
        # read while most replies still wait for the socket
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall(script)
            s.shutdown(socket.SHUT_WR)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        harness.wait_for(lambda: db_rows(d, "SELECT count(*) FROM inbound")[0][0] >= 3)
        out = b""
        s.settimeout(60)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        lines = out.split(b"\r\n")
        bad = [ln for ln in lines[:-1] if not re.fullmatch(rb"[2-5][0-9][0-9][ -].*", ln)]
        r.check(out.endswith(b"\r\n") and not bad and len(out) > 212992,
                "LMTP: %d bytes of replies to a client that shut its side, every line"
                " whole" % len(out), (bad[:3], out[-120:]))
        stored = sum(1 for ln in lines if re.match(rb"250 2\.0\.0 <[^>]*> inbound ", ln))
        r.check(stored == db_rows(d, "SELECT count(*) FROM inbound")[0][0] and stored > 0,
                "LMTP: a 250 for every message stored (%d)" % stored)
    finally:
        d.stop()


def body(r):
    replies_after_eof(r)
    d, clock, cap, outdir, lmtp_port = lmtp_worker(FIRST, [
        "-o", "inbound.soft_limit=2", "-o", "store.busy_timeout_ms=300"])
    workdir = d.workdir
    d.start()
    try:
        got, verp, mailto = send_issue(d, clock, outdir, READERS, FIRST)
        r.check(sorted(a for a, _ in got) == sorted(READERS), "the issue went to all six",
                [a for a, _ in got])
        r.check(all(re.fullmatch(r"bounces\+[a-z2-7]{40}@tiedote\.example", v)
                    for v in verp.values()), "VERP senders carry lower-case base32 tokens",
                list(verp.values())[:2])
        r.check(all(re.fullmatch(r"unsubscribe\+[a-z2-7]{40}@tiedote\.example", v)
                    for v in mailto.values()), "so do the mailto unsubscribe addresses")

        # 1. hard bounce by LMTP, the token lower-cased by some hop
        replies = lmtp_send(lmtp_port, [verp["gone@example.net"].lower()],
                            dsn("gone@example.net", "5.1.1",
                                "550 5.1.1 <gone@example.net>: User unknown"))
        r.check(replies[0][0] == 250, "LMTP: 250 for the hard bounce", replies)

        # 2. soft bounce by `tiedote inbound deliver` (Postfix pipe(8) style)
        env = dict(os.environ, ORIGINAL_RECIPIENT=verp["full@example.org"].upper())
        p = subprocess.run([CLI, "--db", d.db, "inbound", "deliver"], input=dsn(
            "full@example.org", "4.2.2", "452 4.2.2 Mailbox full").encode(),
            capture_output=True, env=env, timeout=60)
        r.check(p.returncode == 0 and b"soft, 1 of 2" in p.stdout,
                "inbound deliver: exit 0, the first soft bounce counted", p.stdout + p.stderr)

        # 3. complaint (ARF) by Postfix's smtp-source speaking LMTP
        arf = os.path.join(workdir, "arf.eml")
        with open(os.path.join(DATA, "arf-abuse.eml")) as f:
            text = f.read().replace("complainer@example.com", "spam@example.com")
        with open(arf, "w") as f:
            f.write(text)
        p = subprocess.run(["/usr/sbin/smtp-source", "-L", "-F", arf, "-f",
                            "fbl@fbl.example.com", "-t", verp["spam@example.com"],
                            "127.0.0.1:%d" % lmtp_port], capture_output=True, timeout=60)
        r.check(p.returncode == 0, "smtp-source -L delivered the complaint",
                p.stdout + p.stderr)

        # 4. mailto unsubscribe; 5. a sender-side block; 6. a forged token;
        # 7. an auto-reply - all in one LMTP transaction, one reply each
        with open(os.path.join(DATA, "exim-blocked.eml")) as f:
            blocked = f.read().replace("reader@example.com", "blocked@example.se")
        replies = lmtp_send(lmtp_port, [mailto["leaver@example.fi"]],
                            "From: leaver@example.fi\r\nSubject: unsubscribe\r\n\r\nbye\r\n")
        r.check(replies[0][0] == 250, "LMTP: 250 for the mailto unsubscribe", replies)
        replies = lmtp_send(lmtp_port, [verp["blocked@example.se"]], blocked)
        r.check(replies[0][0] == 250, "LMTP: 250 for the sender-side block", replies)
        forged = "bounces+" + "a" * 40 + "@tiedote.example"
        replies = lmtp_send(lmtp_port, [forged, verp["keep@example.fi"]],
                            open(os.path.join(DATA, "vacation.eml")).read())
        r.check([c for c, _ in replies] == [250, 250],
                "LMTP: one reply per recipient (forged token, auto-reply)", replies)
        r.check("does not check" in d.log_text(), "the forged token is logged",
                d.log_tail(5))

        # 451 while the store cannot commit, nothing stored; then 250
        before = db_rows(d, "SELECT count(*) FROM inbound")[0][0]
        lock = sqlite3.connect(d.db, timeout=5, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            replies = lmtp_send(lmtp_port, [verp["full@example.org"]],
                                dsn("full@example.org", "4.2.2", "452 4.2.2 Mailbox full"))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        r.check(replies[0][0] == 451, "LMTP: 451 while SQLite's write lock is held", replies)
        r.check(db_rows(d, "SELECT count(*) FROM inbound")[0][0] == before,
                "and nothing of it was stored")
        replies = lmtp_send(lmtp_port, [verp["full@example.org"]],
                            dsn("full@example.org", "4.2.2", "452 4.2.2 Mailbox full"))
        r.check(replies[0][0] == 250, "the MTA's retry: 250", replies)

        status = dict(db_rows(d, "SELECT email, status FROM subscribers"))
        want = {"gone@example.net": "suppressed", "full@example.org": "active",
                "spam@example.com": "unsubscribed", "leaver@example.fi": "unsubscribed",
                "blocked@example.se": "active", "keep@example.fi": "active"}
        r.check(status == want, "subscribers: hard suppressed, two soft reports about one"
                " message counted once, complaint and mailto unsubscribed, sender-side block"
                " and auto-reply not held against them", status)
        rc, out, err = cli(d, "--json", "issue", "status")
        counts = json.loads(out).get("inbound", {}) if rc == 0 else {}
        r.check(counts == {"hard": 1, "soft": 2, "sender": 1, "complaint": 1,
                           "unsubscribe": 1}, "issue status counts what came back", out + err)
        rc, out, err = cli(d, "--json", "inbound", "list")
        rows = json.loads(out) if rc == 0 else []
        kinds = sorted(x["kind"] for x in rows)
        # the two-recipient transaction is kept once per recipient: each
        # envelope recipient is its own token
        r.check(kinds == ["autoreply", "autoreply", "bounce", "bounce", "bounce", "bounce",
                          "complaint", "unsubscribe"] and
                sum(x["token"] == "forged" for x in rows) == 1,
                "inbound list: every message, the forged token marked", kinds)
        rc, out, err = cli(d, "--json", "inbound", "show", str(rows[-1]["id"]), "--raw")
        one = json.loads(out) if rc == 0 else {}
        r.check(one.get("kind") == "bounce" and "gone@example.net" in one.get("raw", "")
                and one.get("via") == "lmtp", "inbound show: the first, with its raw text",
                out[:300] + err)
        rc, out, err = cli(d, "inbound", "show", "999999")
        r.check(rc == 65, "inbound show of no message: exit 65", err)

        # the next issue skips exactly the three
        second = next_issue(d, clock, outdir, SECOND, len(READERS), 3)
        r.check(second == ["blocked@example.se", "full@example.org", "keep@example.fi"],
                "the next issue goes only to the three still active", second)
        # its message to the mailbox-full one bounces softly too: a second
        # message, 2 of 2, suppressed
        with open(os.path.join(outdir, "log.jsonl")) as f:
            froms = [e["from"] for e in map(json.loads, f)
                     if "full@example.org" in json.dumps(e["rcpt"]).lower()]
        replies = lmtp_send(lmtp_port, [froms[-1]],
                            dsn("full@example.org", "4.2.2", "452 4.2.2 Mailbox full"))
        r.check(len(froms) == 2 and replies[0][0] == 250 and
                dict(db_rows(d, "SELECT email, status FROM subscribers"))["full@example.org"] ==
                "suppressed", "a soft bounce of a second message: suppressed at 2 of 2",
                (froms, replies))

        # a token is a capability (it suppresses or unsubscribes a reader):
        # none in the log, the forged one neither, in either case
        log = d.log_text().lower()
        tokens = [a.split("+", 1)[1].split("@", 1)[0].lower()
                  for a in list(verp.values()) + list(mailto.values())] + ["a" * 40]
        r.check(len(tokens) == 2 * len(READERS) + 1 and not any(t in log for t in tokens),
                "no VERP or mailto token in the worker's log",
                [t for t in tokens if t in log][:3])
    finally:
        d.stop()
        cap.kill()
        cap.wait()


harness.main(body)
