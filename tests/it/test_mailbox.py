"""`tiedote inbound poll` against a real Dovecot (IMAP over TLS) and a Maildir.

Dovecot (Debian's dovecot-imapd) is started by the test on a free loopback
port with a throwaway configuration, a passwd-file user and a self-signed
certificate made by openssl. An issue goes out through a capturing relay;
bounces naming its VERP addresses in Delivered-To are APPENDed to INBOX,
with an auto-reply and a mail that is none of the kinds. One pass:
  - the bounce suppresses its reader, the auto-reply is kept;
  - both are moved to the folder `tiedote` (marked \\Seen); the other mail
    stays in INBOX, unread, keyword $TiedoteKept; nothing is deleted;
  - a second pass takes nothing; the certificate pinned wrong, or not
    pinned (self-signed, no CA): exit 75, nothing touched.
imap:// on the plain port: STARTTLS, the certificate checked as with
imaps:// (unpinned: exit 75), then a pass; against a Dovecot with no TLS,
which would take a password in plain text, exit 75 and no login tried.
Then `inbound poll` runs with poll_s=300: a bounce APPENDed is taken
within seconds, so IDLE woke it. Last a Maildir: new/ is read, the bounce
moved to .tiedote/cur/ with flag S, the other mail to cur/ unread.
Skipped (not failed) when dovecot is not installed.
"""
import json
import os
import signal
import time

import harness
from test_send import db_rows
from dovecot import (OTHER, Rig, append, dsn, folder, imap, poll, start_dovecot, vacation,
                     without_tls)

FIRST = "2020-03-17T09:00:00+02:00"
READERS = ["gone@example.net", "away@example.fi", "later@example.org"]
def body(r):
    if not os.path.exists("/usr/sbin/dovecot"):
        r.skip("dovecot", "not installed (apt-get install dovecot-imapd)")
        return
    rig = Rig(FIRST)
    d, workdir, conf, sha, port = rig.d, rig.workdir, rig.conf, rig.sha, rig.ports["imaps"]
    try:
        verp = rig.send(r, READERS)
        auth = rig.auth
        imaps = ["inbound.mailbox=imaps://127.0.0.1:%d/INBOX" % port,
                 "inbound.mailbox_auth_file=" + auth]
        append(port, dsn(verp["gone@example.net"], "gone@example.net"))
        append(port, vacation(verp["away@example.fi"]))
        append(port, OTHER)

        # refused: a wrong pin, and no pin for a self-signed certificate
        rc, out, err = poll(d, imaps + ["inbound.mailbox_tls_sha256=" + "00" * 32])
        r.check(rc == 75 and "SHA-256" in err, "a wrong pin: exit 75, said", err)
        rc, out, err = poll(d, imaps)
        r.check(rc == 75 and "does not verify" in err,
                "a self-signed certificate without a pin: exit 75", err)
        # a server that is not there: exit 75, said (it crashed once)
        rc, out, err = poll(d, ["inbound.mailbox=imaps://127.0.0.1:%d/INBOX" %
                                harness.free_port(), "inbound.mailbox_auth_file=" + auth])
        r.check(rc == 75 and "cannot connect" in err,
                "an IMAP server that does not answer: exit 75, said", (rc, err))
        r.check(len(folder(port, "INBOX")) == 3 and
                db_rows(d, "SELECT count(*) FROM inbound")[0][0] == 0,
                "and nothing was read or touched")

        pinned = imaps + ["inbound.mailbox_tls_sha256=" + sha]
        rc, out, err = poll(d, pinned)
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and got.get("bounce") == 1 and got.get("autoreply") == 1 and
                got.get("other") == 1, "one pass over IMAPS: a bounce, an auto-reply, an other",
                out + err)
        inbox = folder(port, "INBOX")
        done = folder(port, "tiedote")
        r.check(len(inbox) == 1 and "A question" in inbox[0][0] and "$TiedoteKept" in
                inbox[0][1] and "\\Seen" not in inbox[0][1],
                "the other mail stays in INBOX, unread, $TiedoteKept", inbox)
        r.check(len(done) == 2 and all("\\Seen" in f for _, f in done),
                "the bounce and the auto-reply moved to 'tiedote', read", done)
        status = dict(db_rows(d, "SELECT email, status FROM subscribers"))
        r.check(status["gone@example.net"] == "suppressed" and
                status["away@example.fi"] == "active", "the bounce acted on, the auto-reply not",
                status)
        rc, out, err = poll(d, pinned)
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and sum(got.values()) == 0 and
                db_rows(d, "SELECT count(*) FROM inbound")[0][0] == 3,
                "a second pass takes nothing again", out + err)

        # IDLE: poll_s is 300, a new bounce is taken at once
        poller = rig.poller = poll(d, pinned + ["inbound.poll_s=300"], once=False)
        deadline = time.monotonic() + 30
        while "IDLE" not in open(os.path.join(conf, "dovecot.log")).read() and \
                time.monotonic() < deadline and poller.poll() is None:
            time.sleep(0.1)
        t0 = time.monotonic()
        append(port, dsn(verp["later@example.org"], "later@example.org"))
        while db_rows(d, "SELECT count(*) FROM inbound")[0][0] < 4 and \
                time.monotonic() - t0 < 60 and poller.poll() is None:
            time.sleep(0.1)
        took = time.monotonic() - t0
        r.check(poller.poll() is None and
                db_rows(d, "SELECT count(*) FROM inbound")[0][0] == 4 and took < 30,
                "IDLE: a bounce appended is taken in %.1f s (poll_s is 300)" % took)
        # moved once committed: stopped before the move, the poller would
        # leave it for the next pass to store again (at-least-once), and
        # the pass below would count it
        harness.wait_for(lambda: len(folder(port, "tiedote")) == 3)
        poller.terminate()
        poller.wait(timeout=30)
        rig.poller = None

        # imap://: STARTTLS on the plain port, then the same checks as
        # imaps:// before the password goes
        plain = ["inbound.mailbox=imap://127.0.0.1:%d/INBOX" % rig.ports["imap"],
                 "inbound.mailbox_auth_file=" + auth]
        rc, out, err = poll(d, plain)
        r.check(rc == 75 and "does not verify" in err,
                "imap:// (STARTTLS): a self-signed certificate without a pin, exit 75", err)
        append(port, vacation(verp["away@example.fi"]))
        rc, out, err = poll(d, plain + ["inbound.mailbox_tls_sha256=" + sha])
        got = json.loads(out) if rc == 0 else {}
        logins = [line for line in open(os.path.join(conf, "dovecot.log"))
                  if "Login: user=<tiedote>" in line]
        r.check(rc == 0 and got.get("autoreply") == 1 and sum(got.values()) == 1 and
                logins and "TLS" in logins[-1] and
                "lport=%d" % rig.ports["imap"] in logins[-1],
                "imap:// pinned: STARTTLS on the plain port, then the pass", (out, err,
                                                                            logins[-1:]))
        # a server with no TLS at all, which would take the password in
        # plain text: left before it is sent
        without_tls(r, d, workdir, "imap", auth)

        # Maildir
        md = os.path.join(workdir, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        db_rows(d, "SELECT 1")
        with open(os.path.join(md, "new", "1.bounce"), "w") as f:
            f.write(dsn(verp["away@example.fi"], "away@example.fi"))
        with open(os.path.join(md, "new", "2.other"), "w") as f:
            f.write(OTHER)
        rc, out, err = poll(d, ["inbound.mailbox=maildir:" + md])
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and got.get("bounce") == 1 and got.get("other") == 1,
                "Maildir: one pass, a bounce and an other", out + err)
        r.check(os.listdir(os.path.join(md, "new")) == [] and
                os.listdir(os.path.join(md, "cur")) == ["2.other:2,"] and
                os.listdir(os.path.join(md, ".tiedote", "cur")) == ["1.bounce:2,S"],
                "Maildir: the bounce in .tiedote/cur read, the other in cur/ unread",
                [os.listdir(os.path.join(md, s)) for s in ("new", "cur")])

        # inbound.mailbox_delete over IMAP: what was taken is expunged by
        # its UID where the server has UIDPLUS; a server without it
        # (capabilities cut down) gets no UID EXPUNGE it never offered but
        # a plain EXPUNGE, which also removes what another client had
        # marked deleted there
        for uidplus in (True, False):
            sub = os.path.join(workdir, "uidplus-%s" % uidplus)
            os.makedirs(sub)
            dc, ports, sha2, dconf = start_dovecot(
                sub, extra="" if uidplus else "imap_capability = IMAP4rev1 IDLE MOVE")
            try:
                imaps = ports["imaps"]
                append(imaps, vacation(verp["later@example.org"]))
                append(imaps, OTHER)
                c = imap(imaps)
                c.select("INBOX")
                c.store("2", "+FLAGS", "\\Deleted")
                c.logout()
                rc, out, err = poll(d, ["inbound.mailbox=imaps://127.0.0.1:%d/INBOX" % imaps,
                                        "inbound.mailbox_auth_file=" + auth,
                                        "inbound.mailbox_tls_sha256=" + sha2,
                                        "inbound.mailbox_delete=yes"])
                left = folder(imaps, "INBOX")
                log = open(os.path.join(dconf, "dovecot.log")).read()
                if uidplus:
                    r.check(rc == 0 and len(left) == 1 and "A question" in left[0][0] and
                            "\\Deleted" in left[0][1],
                            "mailbox_delete, UIDPLUS: the auto-reply expunged by UID, "
                            "another client's deleted mail left alone", (rc, err, left))
                else:
                    r.check(rc == 0 and left == [] and "UIDPLUS" not in
                            open(os.path.join(dconf, "dovecot.conf")).read().split(
                                "imap_capability")[-1],
                            "mailbox_delete, no UIDPLUS: the pass succeeds with EXPUNGE",
                            (rc, err, left, log[-500:]))
            finally:
                dc.terminate()
                dc.wait(timeout=30)

        # a pass whose messages the worker does not take (stopped: no
        # reply) is no success: exit 75, said, and the message stays
        md2 = os.path.join(workdir, "Maildir-unreachable")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md2, sub))
        with open(os.path.join(md2, "new", "1.other"), "w") as f:
            f.write(OTHER)
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            rc, out, err = poll(d, ["inbound.mailbox=maildir:" + md2,
                                    "client.total_timeout_ms=1000", "client.timeout_ms=500"])
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        r.check(rc == 75 and "not taken by the worker" in err and
                os.listdir(os.path.join(md2, "new")) == ["1.other"],
                "poll --once with the worker unreachable: exit 75, the message left",
                (rc, out, err, os.listdir(os.path.join(md2, "new"))))
    finally:
        rig.stop()


harness.main(body)
