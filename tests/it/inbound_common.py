"""What test_inbound.py, test_feedback.py, test_mailbox.py, test_pop3.py
and test_log_secrets.py share: a worker with an LMTP listener behind the
capturing relay, an issue sent to some readers through it, the addresses
it went out with, the next issue, a DSN and an LMTP client."""
import json
import os
import re
import smtplib
import time

import harness
from test_send import Clock, cli, start_capture, wait_rows_final
from test_notices import captured


def lmtp_worker(first, extra=()):
    """(worker, clock, capture process, its output dir, LMTP port): a worker
    not yet started, its clock at 10.3.2020, sending to a capturing relay
    with bulletin.first = first and an LMTP listener on a free port"""
    workdir = harness.tempdir()
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    cap, smtp_port, outdir = start_capture(workdir)
    lmtp_port = harness.free_port()
    d = harness.Tiedoted(workdir=workdir, extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % smtp_port, "-o", "bulletin.first=" + first,
        "-o", "inbound.lmtp_listen=127.0.0.1:%d" % lmtp_port] + list(extra))
    return d, clock, cap, outdir, lmtp_port


def send_issue(d, clock, outdir, readers, when):
    """Examples enqueued, readers subscribed (all regions), the clock moved
    to when (a slot): ([(rcpt, message)], {rcpt: VERP sender},
    {rcpt: List-Unsubscribe mailto})"""
    for name, _ in harness.examples():
        rc, _, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        assert rc == 0, err
    for a in readers:
        rc, _, err = cli(d, "subscriber", "add", a, "--regions", "all")
        assert rc == 0, err
    clock.set(when)
    deadline = time.monotonic() + 60
    while len(captured(outdir)) < len(readers) and time.monotonic() < deadline:
        time.sleep(0.1)
    got = captured(outdir)
    wait_rows_final(d)
    verp, mailto = {}, {}
    with open(os.path.join(outdir, "log.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            rcpts = e["rcpt"] if isinstance(e["rcpt"], list) else [e["rcpt"]]
            verp[rcpts[0].lower()] = e["from"]
    for a, msg in got:
        m = re.search(r"<mailto:([^>]+)>", str(msg["List-Unsubscribe"]))
        mailto[a] = m.group(1)
    return got, verp, mailto


def next_issue(d, clock, outdir, when, before, expect):
    """The clock moved to when (the next slot), expect more messages
    awaited after the before already captured: the sorted recipients of
    the new ones"""
    clock.set(when)
    deadline = time.monotonic() + 60
    while len(captured(outdir)) < before + expect and time.monotonic() < deadline:
        time.sleep(0.1)
    wait_rows_final(d)
    return sorted(a for a, _ in captured(outdir)[before:])


def dsn(rcpt, status, diag, action="failed"):
    return ("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "To: bounces@tiedote.example\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\r\n"
            "\r\n--X\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "\r\n--X\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n"
            "Diagnostic-Code: smtp; %s\r\n\r\n--X--\r\n" % (rcpt, action, status, diag))


def lmtp_send(port, rcpts, msg, mail_from="MAILER-DAEMON@mx.example.net"):
    """[(code, text)] per recipient, from Python's LMTP client"""
    c = smtplib.LMTP("127.0.0.1", port, timeout=30)
    try:
        c.ehlo_or_helo_if_needed()
        c.mail(mail_from)
        for rc in rcpts:
            code, _ = c.rcpt(rc)
            assert code == 250, code
        c.putcmd("data")
        code, _ = c.getreply()
        assert code == 354, code
        c.send(smtplib.quotedata(msg).encode() + b"\r\n.\r\n")
        return [c.getreply() for _ in rcpts]
    finally:
        try:
            c.quit()
        except smtplib.SMTPException:
            pass
