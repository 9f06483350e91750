"""Logs hold no tokens, passwords or message bodies (issue 16, item 7).

One worker at log.level debug (the most it ever says) with an SMTP
auth_file, the web front and the LMTP listener goes through every flow:
intake (stored and rejected events), the CLI's control operations and a
subscriber import, an issue and an announcement sent, web subscription,
confirmation and one-click unsubscription, a bounce and a mailto
unsubscription by LMTP.  Then the worker's whole log and every CLI
command's stderr are searched for each secret of the run: the SMTP
password (as written and base64, as AUTH would send it), the token key,
every token (VERP, mailto, /u/, /c/, the anti-forgery value), and a line
of each message body (the announcement's own paragraph, an issue item's
summary, the confirmation text).  Each one found is named.
"""
import base64
import json
import os
import re
import subprocess

import harness
from inbound_common import dsn, lmtp_send
from test_notices import captured
from test_send import Clock, start_capture
from test_web import csrf_of, fetch, form, hidden, link_in, one_click, text_of, unsub_url, wait_for

CLI = os.path.join(harness.BUILD, "tiedote")
FIRST = "2020-03-17T09:00:00+02:00"
PASSWORD = "Salasana-7Qz-vaihda"
BODY = "Verkostopaivan ilmoittautuminen on auki tasta hetkesta alkaen."
CLI_ERR = []


def cli(d, *args, stdin=None):
    p = subprocess.run([CLI, "--db", d.db, "--endpoint", d.endpoint] + list(args),
                       capture_output=True, timeout=120, input=stdin)
    CLI_ERR.append(p.stderr.decode("utf-8", "replace"))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def body(r):
    workdir = harness.tempdir()
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    cap, smtp_port, outdir = start_capture(workdir)
    auth = os.path.join(workdir, "smtp-auth")
    with open(os.open(auth, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("tiedote:%s\n" % PASSWORD)
    web_port, lmtp_port = harness.free_port(), harness.free_port()
    base = "http://127.0.0.1:%d" % web_port
    d = harness.Tiedoted(workdir=workdir, log_level="debug", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % smtp_port, "-o", "bulletin.first=" + FIRST,
        "-o", "smtp.auth_file=" + auth, "-o", "message.base_url=" + base,
        "-o", "web.listen=127.0.0.1:%d" % web_port, "-o", "web.trusted_proxies=127.0.0.1",
        "-o", "inbound.lmtp_listen=127.0.0.1:%d" % lmtp_port]).start()
    wait_for(lambda: "web:" in d.log_text())

    # intake and control operations, an import
    for name, _ in harness.examples():
        rc, _, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        assert rc == 0, err
    cli(d, "enqueue", "-", stdin=b'{"type": "deadline", "id": "x"}')     # rejected
    # a rejected event is logged with its id, when it has a valid one, so a
    # producer's refused event can be found (TIEDOTE_EVENT_ID in journald)
    cli(d, "enqueue", "-", stdin=b'{"type": "deadline", "id": "hylatty-1"}')
    r.check(wait_for(lambda: "intake: rejected event hylatty-1: missing_field" in d.log_text()),
            "a rejected event's line names its id", d.log_tail())
    csv = os.path.join(workdir, "subs.csv")
    with open(csv, "w") as f:
        f.write("email,name,lang,regions\n")
        for i in range(4):
            f.write("tuotu%d@example.fi,Tuotu %d,fi,all\n" % (i, i))
    rc, _, err = cli(d, "subscriber", "import", csv)
    r.check(rc == 0, "subscriber import", err)
    for args in (["subscriber", "add", "lukija@example.fi", "--regions", "all"],
                 ["subscriber", "add", "pois@example.fi", "--regions", "all"],
                 ["subscriber", "remove", "tuotu3@example.fi"],
                 ["subscriber", "list"], ["subscriber", "export"], ["status"],
                 ["issue", "list"], ["project", "add", "p1", "--name", "Hanke", "--region",
                                     "KYS", "--contact", "hanke@example.fi"]):
        rc, _, err = cli(d, *args)
        r.check(rc == 0, "tiedote " + " ".join(args[:2]), err)
    bodyfile = os.path.join(workdir, "body.txt")
    with open(bodyfile, "w") as f:
        f.write(BODY + "\n")
    rc, _, err = cli(d, "announce", "--at", "2020-03-12 09:00", "--audience", "all",
                     "--subject", "Ilmoittautuminen", "--body", bodyfile, "--id", "ilmo")
    r.check(rc == 0, "announce", err)

    # sending: the announcement, then the issue
    clock.set("2020-03-12T09:00:00+02:00")
    r.check(wait_for(lambda: len(captured(outdir)) >= 5, 60), "the announcement is sent")
    clock.set(FIRST)
    r.check(wait_for(lambda: len(captured(outdir)) >= 10, 60), "the issue is sent")

    # web: subscribe, confirm, one-click unsubscribe
    st, _, page = fetch(base + "/subscribe")
    secrets = {"csrf " + csrf_of(page): csrf_of(page)}
    st, _, _ = form(base + "/subscribe", {**hidden(page), "email": "uusi@example.fi",
                    "lang": "fi", "regions": ["KYS"]}, xff="192.0.2.10")
    r.check(st == 200, "web subscribe")
    conf = wait_for(lambda: [m for a, m in captured(outdir) if a == "uusi@example.fi"], 60)
    curl = conf and link_in(conf[0], "c")
    r.check(curl, "the confirmation carries /c/TOKEN")
    st, _, page = fetch(curl)
    st, _, _ = form(curl, {"csrf": csrf_of(page)}, xff="192.0.2.10")
    r.check(st == 200, "web confirm")
    issue_msgs = [m for a, m in captured(outdir) if a == "lukija@example.fi"]
    st, _, _ = one_click(unsub_url(issue_msgs[-1]))
    r.check(st == 200, "one-click unsubscribe")

    # inbound: a bounce and a mailto unsubscription
    got = captured(outdir)
    verp = {}
    with open(os.path.join(outdir, "log.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            rc_ = e["rcpt"] if isinstance(e["rcpt"], list) else [e["rcpt"]]
            verp[rc_[0].lower()] = e["from"]
    replies = lmtp_send(lmtp_port, [verp["tuotu0@example.fi"]],
                        dsn("tuotu0@example.fi", "5.1.1", "550 5.1.1 User unknown"))
    r.check(replies[0][0] == 250, "LMTP bounce", replies)
    mailto = [m for a, m in got if a == "pois@example.fi"][-1]
    maddr = re.search(r"<mailto:([^>?]+)", str(mailto["List-Unsubscribe"])).group(1)
    replies = lmtp_send(lmtp_port, [maddr], "From: pois@example.fi\r\nSubject: x\r\n\r\nbye\r\n")
    r.check(replies[0][0] == 250, "LMTP mailto unsubscribe", replies)
    wait_for(lambda: "inbound" in d.log_text() and "lmtp: inbound" in d.log_text(), 30)
    d.stop()
    cap.kill()

    # the secrets of the run
    secrets["the SMTP password"] = PASSWORD
    secrets["the SMTP AUTH PLAIN string"] = base64.b64encode(
        b"\0tiedote\0" + PASSWORD.encode()).decode()
    with harness.sqlite(d.db) as c:
        secrets["the token key"] = c.execute(
            "SELECT value FROM meta WHERE key = 'token_key'").fetchone()[0]
    for a, m in got + [(a, m) for a, m in captured(outdir)]:
        for u in re.findall(r"/(?:u|c|p|issues)/([A-Za-z0-9_-]{20,})", text_of(m)):
            secrets["a link token to %s" % a] = u
        lu = str(m.get("List-Unsubscribe", ""))
        for t in re.findall(r"\+([a-z2-7]{40})@", lu):
            secrets["a mailto token to %s" % a] = t
    for v in verp.values():
        secrets["a VERP token"] = v.split("+", 1)[1].split("@", 1)[0]
    secrets["the announcement's body"] = BODY
    for a, m in got:
        lines = [l.strip() for l in text_of(m).splitlines() if len(l.strip()) > 40 and
                 "http" not in l]
        if lines:
            secrets["a body line to %s" % a] = lines[len(lines) // 2]
    conf_lines = [l.strip() for l in text_of(conf[0]).splitlines() if len(l.strip()) > 30 and
                  "http" not in l]
    secrets["the confirmation's text"] = conf_lines[0]
    log = d.log_text() + "\n".join(CLI_ERR)
    found = [name for name, s in secrets.items() if s and s.lower() in log.lower()]
    r.check(len(secrets) >= 20, "%d secrets collected" % len(secrets))
    r.check(len(log.splitlines()) > 50, "a log of %d lines searched" % len(log.splitlines()))
    # the search finds what is there: the flows did log, at debug
    r.check("intake: stored" in log and "lmtp: inbound" in log and "debug" in log,
            "the log holds the flows' own lines, debug ones too")
    r.check(not found, "no token, password or message body in the log", found)
    for name in found:
        s = secrets[name]
        for l in log.splitlines():
            if s.lower() in l.lower():
                r.note("%s: %s" % (name, l[:200]))
                break


if __name__ == "__main__":
    harness.main(body)
