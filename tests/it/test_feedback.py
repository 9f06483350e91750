"""Feedback-loop reports that are not a reader's complaint, and one that
does not name its reader, through the worker's LMTP listener.

An issue goes out through a capturing relay (aiosmtpd) to four readers;
then, over LMTP:
  - an ARF report of Feedback-Type "not-spam" (RFC 6430: the reader took
    the message out of the spam folder) to that reader's VERP address;
  - a DMARC failure report, Feedback-Type "auth-failure" (RFC 6591), to
    another's: it is about the sender's DKIM/SPF, not about the reader;
  - an abuse report sent to a fixed feedback-loop address, not ours, its
    addressee redacted ("redacted@aol.example", no Original-Rcpt-To): the
    returned original's Return-Path still carries the reader's VERP token.
The first two readers stay active and `issue status` counts no complaint
for them (the report is kept, its action saying why nothing was done);
the third is unsubscribed as by any complaint; the fourth, untouched,
stays active.
"""
import json

import harness
from test_send import cli, db_rows
from inbound_common import lmtp_send, lmtp_worker, send_issue

FIRST = "2020-03-17T09:00:00+02:00"
READERS = ["notspam@example.com", "dmarc@example.com", "redacted@example.com",
           "keep@example.com"]


def arf(feedback_type, rcpt, return_path, extra=""):
    """an RFC 5965 report about our message to rcpt whose Return-Path was
    return_path; rcpt None: redacted, no Original-Rcpt-To"""
    orig_rcpt = "Original-Rcpt-To: <%s>\r\n" % rcpt if rcpt else ""
    return ("From: <feedback@fbl.example.com>\r\nTo: <fbl@tiedote.example>\r\n"
            "Subject: Feedback report\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n"
            "\r\n--F\r\nContent-Type: text/plain\r\n\r\nA feedback report.\r\n"
            "\r\n--F\r\nContent-Type: message/feedback-report\r\n\r\n"
            "Feedback-Type: %s\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n%s%s"
            "\r\n--F\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            "Return-Path: <%s>\r\nFrom: tiedote@tiedote.example\r\nTo: %s\r\n"
            "Message-ID: <x.y@tiedote.example>\r\nSubject: Tiedote\r\n"
            "\r\n--F--\r\n" % (feedback_type, orig_rcpt, extra, return_path,
                               rcpt or "redacted@aol.example"))


def body(r):
    d, clock, cap, outdir, lmtp_port = lmtp_worker(FIRST)
    d.start()
    try:
        got, verp, _ = send_issue(d, clock, outdir, READERS, FIRST)
        r.check(sorted(a for a, _ in got) == sorted(READERS), "the issue went to all four",
                [a for a, _ in got])

        a = "notspam@example.com"
        replies = lmtp_send(lmtp_port, [verp[a]], arf("not-spam", a, verp[a]))
        r.check(replies[0][0] == 250, "LMTP: 250 for the not-spam report", replies)
        a = "dmarc@example.com"
        replies = lmtp_send(lmtp_port, [verp[a]], arf(
            "auth-failure", a, verp[a], "Auth-Failure: dmarc\r\nDelivery-Result: reject\r\n"
            "Reported-Domain: tiedote.example\r\n"))
        r.check(replies[0][0] == 250, "LMTP: 250 for the DMARC failure report", replies)
        a = "redacted@example.com"
        replies = lmtp_send(lmtp_port, ["fbl@tiedote.example"], arf("abuse", None, verp[a]))
        r.check(replies[0][0] == 250, "LMTP: 250 for the redacted abuse report", replies)

        status = dict(db_rows(d, "SELECT email, status FROM subscribers"))
        want = {"notspam@example.com": "active", "dmarc@example.com": "active",
                "redacted@example.com": "unsubscribed", "keep@example.com": "active"}
        r.check(status == want, "not-spam and auth-failure reports leave their readers be;"
                " the redacted complaint finds its reader by the original's Return-Path",
                status)
        rc, out, err = cli(d, "--json", "issue", "status")
        counts = json.loads(out).get("inbound", {}) if rc == 0 else {}
        r.check(counts == {"hard": 0, "soft": 0, "sender": 0, "complaint": 1, "unsubscribe": 0},
                "issue status: one complaint", out + err)
        rc, out, err = cli(d, "--json", "inbound", "list")
        rows = json.loads(out) if rc == 0 else []
        acts = sorted(x.get("action", "") for x in rows)
        r.check(len(rows) == 3 and all(x["kind"] == "complaint" for x in rows) and
                sum("no complaint: nothing done" in s for s in acts) == 2,
                "inbound list: three complaints kept, two with nothing done", acts)
    finally:
        d.stop()
        cap.kill()
        cap.wait()


harness.main(body)
