"""`tiedote inbound poll` over POP3 with TLS against a real Dovecot
(dovecot-pop3d beside dovecot-imapd on free loopback ports, a self-signed
certificate: tests/it/dovecot.py), the whole loop once.

An issue goes out through a capturing relay; a bounce and a complaint
naming its VERP addresses in Delivered-To, and a mail that is none of the
kinds, are put in the mailbox (IMAP APPEND: the same Maildir). Then:
  - refused, exit 75, nothing read or stored: a wrong pin, a CA file that
    did not sign the certificate, no pin for a self-signed certificate,
    pop3:// to a Dovecot with no TLS (which would take the password in
    plain text: no login tried);
  - one pass (pinned): the bounce suppresses its reader, the complaint
    unsubscribes its reader; all three stay on the server (no
    inbound.mailbox_delete); each UIDL is recorded with its kind, its row
    pointing at its stored message;
  - a second pass stores nothing;
  - inbound.deliver of a recorded UIDL (a poller that lost the worker's
    reply) is answered `duplicate` and stores nothing;
  - forty auto-replies appended, a poller (mailbox_delete=yes) killed with
    SIGKILL in the middle of its pass, then one pass: every message stored
    exactly once, the bounce, the complaint and the auto-replies gone
    from the server (Python's poplib over TLS), the other mail left there;
    one more pass prunes the record to the one message still listed;
  - 10,000 more messages, recorded as taken, then an auto-reply: the
    pass reads the auto-reply past the first 10,000 UIDLs and prunes
    nothing (the list did not go in one piece);
  - the next issue skips the suppressed and the unsubscribed reader;
  - pop3:// on the plain port of a mailbox of its own: unpinned, exit 75;
    pinned, STLS and a pass, its UIDL recorded under pop3://.
Skipped (not failed) when dovecot-pop3d is not installed.
"""
import base64
import json
import os
import poplib
import signal
import sqlite3
import ssl
import subprocess
import time

import harness
from test_send import db_rows
from test_control import control_ep, request
from inbound_common import next_issue
from dovecot import PASSWORD, OTHER, Rig, append, dsn, poll, start_dovecot, vacation, without_tls

FIRST = "2020-03-17T09:00:00+02:00"
SECOND = "2020-03-31T09:00:00+02:00"
READERS = ["gone@example.net", "spam@example.com", "keep@example.fi"]
DATA = os.path.join(harness.ROOT, "tests", "data", "inbound")
AUTOREPLIES = 40
MANY = 10000            # with the message left before: one over a look-up's 10,000


def arf(verp, rcpt):
    with open(os.path.join(DATA, "arf-abuse.eml")) as f:
        text = f.read().replace("complainer@example.com", rcpt)
    return ("Delivered-To: %s\n" % verp + text).replace("\r\n", "\n").replace("\n", "\r\n")


def login(port):
    """a POP3 session over TLS, logged in (the certificate is the test's own)"""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=60)
    c.user("tiedote")
    c.pass_(PASSWORD)
    return c


def server(port):
    """[(uidl, subject)] the POP3 server lists"""
    c = login(port)
    try:
        out = []
        for line in c.uidl()[1]:
            n, uidl = line.decode().split(" ", 1)
            subj = [h.decode() for h in c.top(int(n), 0)[1]
                    if h.lower().startswith(b"subject:")]
            out.append((uidl, subj[0][8:].strip() if subj else ""))
        return out
    finally:
        c.quit()


def count(d, sql):
    return db_rows(d, sql)[0][0]


def uidls(port):
    """[uidl] the POP3 server lists, in its order"""
    c = login(port)
    try:
        return [line.decode().split(" ", 1)[1] for line in c.uidl()[1]]
    finally:
        c.quit()


def many_taken(r, d, rig, port, ident, pinned, verp):
    """MANY messages put in the Maildir and recorded as taken (as though
    earlier passes had taken them, with mailbox_delete off); then an
    auto-reply arrives after them, past the first look-up's 10,000"""
    new = os.path.join(rig.workdir, "dovecot", "mail", "tiedote", "new")
    for i in range(MANY):
        path = os.path.join(new, "1580000000.M%dP1.filler" % i)
        with open(path, "w") as f:
            f.write("From: someone@example.net\r\nSubject: filler %d\r\n\r\nold mail\r\n" % i)
        os.chown(path, 65534, 65534)
    listed = uidls(port)
    r.check(len(listed) == MANY + 1, "the server lists %d messages" % (MANY + 1), len(listed))
    kept = set(u for u, in db_rows(d, "SELECT uidl FROM mailbox_uidls"))
    # test set-up only: the worker is the writer of everything else
    con = sqlite3.connect(d.db, timeout=60)
    with con:
        con.executemany("INSERT INTO mailbox_uidls (mailbox, uidl, kind, inbound_id, taken)"
                        " VALUES (?, ?, 'other', 0, 0)",
                        [(ident, u) for u in listed if u not in kept])
    con.close()
    append(rig.ports["imaps"], vacation(verp["keep@example.fi"]))
    before = count(d, "SELECT count(*) FROM inbound")
    rc, out, err = poll(d, pinned)
    got = json.loads(out) if rc == 0 else {}
    last = uidls(port)[-1]
    r.check(rc == 0 and got.get("autoreply") == 1 and sum(got.values()) == 1 and
            count(d, "SELECT count(*) FROM inbound") == before + 1 and
            db_rows(d, "SELECT kind FROM mailbox_uidls WHERE uidl = '%s'" % last) ==
            [("autoreply",)],
            "%d messages on the server: the one after them is read and recorded, the"
            " others not again" % (MANY + 2), out + err)
    r.check(count(d, "SELECT count(*) FROM mailbox_uidls") == MANY + 2,
            "a list over 10,000 prunes nothing")


def body(r):
    if not os.path.exists("/usr/sbin/dovecot") or not os.path.exists("/usr/lib/dovecot/pop3"):
        r.skip("dovecot-pop3d", "not installed (apt-get install dovecot-pop3d)")
        return
    rig = Rig(FIRST, pop3=True)
    d, workdir, sha, ports = rig.d, rig.workdir, rig.sha, rig.ports
    port = ports["pop3s"]
    try:
        verp = rig.send(r, READERS)
        auth = rig.auth
        url = "pop3s://127.0.0.1:%d" % port
        base = ["inbound.mailbox=" + url, "inbound.mailbox_auth_file=" + auth]
        append(ports["imaps"], dsn(verp["gone@example.net"], "gone@example.net"))
        append(ports["imaps"], arf(verp["spam@example.com"], "spam@example.com"))
        append(ports["imaps"], OTHER)
        listed = server(port)
        r.check(len(listed) == 3, "POP3 lists the three messages", listed)

        # refused: nothing read, nothing stored
        other_ca = os.path.join(workdir, "other-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=localhost", "-keyout", os.path.join(workdir,
                        "other-key.pem"), "-out", other_ca], check=True, capture_output=True)
        rc, out, err = poll(d, base + ["inbound.mailbox_tls_sha256=" + "00" * 32])
        r.check(rc == 75 and "SHA-256" in err, "a wrong pin: exit 75, said", err)
        rc, out, err = poll(d, base + ["inbound.mailbox_ca_file=" + other_ca])
        r.check(rc == 75 and "does not verify" in err,
                "a CA file that did not sign the certificate: exit 75", err)
        rc, out, err = poll(d, base)
        r.check(rc == 75 and "does not verify" in err,
                "a self-signed certificate without a pin: exit 75", err)
        # pop3:// to a server without STLS, which would take the password
        # in plain text: left before it is sent
        without_tls(r, d, workdir, "pop3", auth)
        r.check(server(port) == listed and count(d, "SELECT count(*) FROM inbound") == 0 and
                count(d, "SELECT count(*) FROM mailbox_uidls") == 0,
                "and nothing was read, stored or recorded")

        pinned = base + ["inbound.mailbox_tls_sha256=" + sha]
        rc, out, err = poll(d, pinned)
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and got.get("bounce") == 1 and got.get("complaint") == 1 and
                got.get("other") == 1 and sum(got.values()) == 3,
                "one pass over POP3S: a bounce, a complaint, an other", out + err)
        status = dict(db_rows(d, "SELECT email, status FROM subscribers"))
        r.check(status == {"gone@example.net": "suppressed", "spam@example.com":
                           "unsubscribed", "keep@example.fi": "active"},
                "the bounce suppressed its reader, the complaint unsubscribed its", status)
        r.check(server(port) == listed, "without inbound.mailbox_delete all stay on the server")
        ident = "pop3s://tiedote@127.0.0.1:%d" % port
        rec = db_rows(d, "SELECT u.mailbox, u.uidl, u.kind, i.kind FROM mailbox_uidls u"
                      " JOIN inbound i ON i.id = u.inbound_id AND i.via = 'poll' ORDER BY u.kind")
        r.check(sorted((u, k) for _, u, k, _ in rec) ==
                sorted(zip([u for u, _ in listed], ["bounce", "complaint", "other"])) and
                all(m == ident and k == ik for m, _, k, ik in rec),
                "each UIDL recorded under %s with the kind of its stored message" % ident, rec)

        rc, out, err = poll(d, pinned)
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and sum(got.values()) == 0 and
                count(d, "SELECT count(*) FROM inbound") == 3,
                "a second pass stores nothing", out + err)

        # a poller that lost the reply sends it again: answered, not stored
        bounce_uidl, bounce_id = db_rows(d, "SELECT uidl, inbound_id FROM mailbox_uidls"
                                         " WHERE kind = 'bounce'")[0]
        raw = base64.b64encode(dsn(verp["gone@example.net"], "gone@example.net").encode())
        req = {"op": "inbound.deliver", "raw": raw.decode(), "via": "poll",
               "mailbox": ident, "uidl": bounce_uidl}
        rep = request(control_ep(d), req)
        r.check(rep and rep.get("ok") and rep.get("duplicate") is True and
                rep.get("id") == bounce_id and rep.get("kind") == "bounce" and
                count(d, "SELECT count(*) FROM inbound") == 3,
                "inbound.deliver of a recorded UIDL: duplicate, the first id, nothing stored",
                rep)
        rep = request(control_ep(d), {k: v for k, v in req.items() if k != "mailbox"})
        r.check(rep and rep.get("error") == "invalid" and rep.get("exit") == 65,
                "a uidl without its mailbox is refused", rep)

        # killed in the middle of a pass (mailbox_delete=yes): nothing
        # stored twice, nothing lost; the DELEs of a session without QUIT
        # are not applied by the server, so the next pass deletes them
        for _ in range(AUTOREPLIES):
            append(ports["imaps"], vacation(verp["keep@example.fi"]))
        deleting = pinned + ["inbound.mailbox_delete=yes"]
        poller = rig.poller = poll(d, deleting + ["inbound.poll_s=300"], once=False)
        deadline = time.monotonic() + 60
        while count(d, "SELECT count(*) FROM inbound") == 3 and time.monotonic() < deadline \
                and poller.poll() is None:
            time.sleep(0.01)
        poller.send_signal(signal.SIGKILL)
        poller.wait(timeout=30)
        rig.poller = None
        # the worker may still commit the request the poller sent before
        # it died: that one is then recorded, and skipped by the next pass
        at_kill = count(d, "SELECT count(*) FROM inbound") - 3
        print("# killed with %d of %d auto-replies stored (or one more in flight)" %
              (at_kill, AUTOREPLIES))
        rc, out, err = poll(d, deleting)
        got = json.loads(out) if rc == 0 else {}
        total = 3 + AUTOREPLIES
        r.check(rc == 0 and got.get("autoreply", 0) <= AUTOREPLIES - at_kill and
                count(d, "SELECT count(*) FROM inbound WHERE via = 'poll'") == total and
                count(d, "SELECT count(*) FROM mailbox_uidls") == total and
                count(d, "SELECT count(DISTINCT u.inbound_id) FROM mailbox_uidls u"
                      " JOIN inbound i ON i.id = u.inbound_id") == total,
                "after a SIGKILL mid-pass the next pass stores the rest: %d messages, each"
                " stored once, each with its UIDL" % total, out + err)
        left = server(port)
        r.check([s for _, s in left] == ["A question"],
                "mailbox_delete: the bounce, complaint and auto-replies are gone from the"
                " server, the other mail is left", left)
        rc, out, err = poll(d, deleting)
        got = json.loads(out) if rc == 0 else {}
        r.check(rc == 0 and sum(got.values()) == 0 and
                db_rows(d, "SELECT uidl, kind FROM mailbox_uidls") == [(left[0][0], "other")],
                "a pass over the whole list prunes the record to what the server holds",
                db_rows(d, "SELECT count(*) FROM mailbox_uidls"))

        # a mailbox whose mail is never deleted grows past the 10,000
        # UIDLs one look-up takes: its newest message is still read
        many_taken(r, d, rig, port, ident, pinned, verp)

        # the whole loop: the next issue skips the two
        second = next_issue(d, rig.clock, rig.outdir, SECOND, len(READERS), 1)
        r.check(second == ["keep@example.fi"],
                "the next issue goes only to the reader still active", second)

        # pop3://: STLS on the plain port of a mailbox of its own (the
        # record is kept by the URL: this one's would be new), the
        # certificate checked as on pop3s://
        os.makedirs(os.path.join(workdir, "stls"))
        stls, stls_ports, stls_sha, stls_conf = start_dovecot(os.path.join(workdir, "stls"),
                                                              pop3=True, plain=True)
        try:
            append(stls_ports["imaps"], OTHER)
            plain = ["inbound.mailbox=pop3://127.0.0.1:%d" % stls_ports["pop3"],
                     "inbound.mailbox_auth_file=" + auth]
            rc0, _, err0 = poll(d, plain)
            rc, out, err = poll(d, plain + ["inbound.mailbox_tls_sha256=" + stls_sha])
        finally:
            stls.terminate()
            stls.wait(timeout=30)
        r.check(rc0 == 75 and "does not verify" in err0,
                "pop3:// (STLS): a self-signed certificate without a pin, exit 75", err0)
        got = json.loads(out) if rc == 0 else {}
        logins = [line for line in open(os.path.join(stls_conf, "dovecot.log"))
                  if "pop3-login: Info: Login: user=<tiedote>" in line]
        r.check(rc == 0 and got.get("other") == 1 and sum(got.values()) == 1 and logins and
                "TLS" in logins[-1] and "lport=%d" % stls_ports["pop3"] in logins[-1] and
                count(d, "SELECT count(*) FROM mailbox_uidls WHERE mailbox = "
                      "'pop3://tiedote@127.0.0.1:%d'" % stls_ports["pop3"]) == 1,
                "pop3:// pinned: STLS on the plain port, the pass, its UIDL recorded",
                (out, err, logins[-1:]))
    finally:
        rig.stop()


harness.main(body)
