"""The CLI as README.md, docs/control.md and tiedote(1) describe it, point by
point where an audit found them apart: --json on every write, usage errors
(exit 64 with the verb's usage), an export imported back, the exit codes of
backup and of a missing input file, the lock file's mode, the control ops'
checks and the classifier's JSON."""
import json
import os
import re
import subprocess

import harness

CLI = os.path.join(harness.BUILD, "tiedote")


def run(db, *args, stdin=None, endpoint=None, env=None):
    argv = [CLI, "--db", db, "-o", "client.timeout_ms=500",
            "-o", "client.total_timeout_ms=3000"]
    if endpoint:
        argv += ["--endpoint", endpoint]
    p = subprocess.run(argv + list(args), input=stdin, capture_output=True, timeout=60,
                       env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def as_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def json_writes(r):
    """--json: a write prints the worker's reply object (docs/control.md)."""
    d = harness.Tiedoted().start()
    for way, db in (("worker", d.db), ("no worker", os.path.join(harness.tempdir(), "t.db"))):
        rc, out, err = run(db, "--json", "subscriber", "add", "anu.niemi@thl.fi")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "email": "anu.niemi@thl.fi", "result": "added"},
                "%s: --json subscriber add prints the reply object" % way, out + err)
        rc, out, err = run(db, "--json", "subscriber", "remove", "anu.niemi@thl.fi")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "email": "anu.niemi@thl.fi",
                                  "result": "unsubscribed"},
                "%s: --json subscriber remove prints the reply object" % way, out + err)
        rc, out, err = run(db, "--json", "subscriber", "remove", "--purge", "anu.niemi@thl.fi")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "email": "anu.niemi@thl.fi", "result": "purged"},
                "%s: --json subscriber remove --purge" % way, out + err)
        for result in ("added", "updated"):
            rc, out, err = run(db, "--json", "project", "add", "hanke-1", "--name", "Hanke",
                               "--region", "HYKS", "--contact", "a@example.fi",
                               "--contact", "b@example.fi")
            j = as_json(out)
            r.check(rc == 0 and j == {"ok": True, "id": "hanke-1", "result": result,
                                      "contacts": 2},
                    "%s: --json project add prints the reply object (%s)" % (way, result),
                    out + err)
        rc, out, err = run(db, "--json", "project", "remove", "hanke-1")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "id": "hanke-1", "result": "removed"},
                "%s: --json project remove prints the reply object" % way, out + err)
        body = os.path.join(harness.tempdir(), "body.txt")
        with open(body, "w") as f:
            f.write("Verkostopäivä siirtyy.\n")
        rc, out, err = run(db, "--json", "announce", "--at", "2030-05-04T09:00+03:00",
                           "--subject", "Siirto", "--body", body, "--id", "ilmo-1")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "id": "ilmo-1", "revision": 1,
                                  "send_at": "2030-05-04T06:00:00Z"},
                "%s: --json announce prints the reply object and send_at" % way, out + err)
        rc, out, err = run(db, "--json", "announce", "reschedule", "ilmo-1",
                           "--at", "2030-05-05T09:00+03:00")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "id": "ilmo-1", "result": "rescheduled"},
                "%s: --json announce reschedule prints the reply object" % way, out + err)
        rc, out, err = run(db, "--json", "announce", "cancel", "ilmo-1")
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "id": "ilmo-1", "result": "cancelled"},
                "%s: --json announce cancel prints the reply object" % way, out + err)
    d.stop()

    # issues without a worker: nothing sends them, so they stay where put
    db = os.path.join(harness.tempdir(), "t.db")
    run(db, "subscriber", "add", "anu.niemi@thl.fi")
    rc, out, err = run(db, "--json", "issue", "send-now")
    j = as_json(out)
    r.check(rc == 0 and isinstance(j, dict) and j.get("ok") is True
            and isinstance(j.get("id"), int) and set(j) == {"ok", "id"},
            "--json issue send-now prints {ok, id}", out + err)
    iid = j["id"] if isinstance(j, dict) and isinstance(j.get("id"), int) else 1
    for verb in ("hold", "resume", "cancel"):
        rc, out, err = run(db, "--json", "issue", verb, str(iid))
        j = as_json(out)
        r.check(rc == 0 and j == {"ok": True, "id": iid, "result": verb},
                "--json issue %s prints {ok, id, result}" % verb, out + err)
    rc, out, err = run(db, "issue", "hold", str(iid))
    r.check(rc != 0 and out == "", "a refused issue verb prints nothing on stdout", out + err)


def status_values(r):
    """--status takes the statuses a subscriber can have; another is a usage error."""
    db = os.path.join(harness.tempdir(), "t.db")
    run(db, "subscriber", "add", "anu.niemi@thl.fi")
    run(db, "subscriber", "add", "pia.suvivuo@thl.fi")
    run(db, "subscriber", "remove", "pia.suvivuo@thl.fi")
    for verb in ("list", "export"):
        rc, out, err = run(db, "subscriber", verb, "--status", "bogus")
        r.check(rc == 64 and out == "" and "bogus" in err
                and "usage: tiedote subscriber %s" % verb in err,
                "subscriber %s --status bogus: exit 64 with the usage" % verb, out + err)
        rc, out, err = run(db, "subscriber", verb, "--help")
        r.check(rc == 0 and "active|unsubscribed|suppressed|pending" in out,
                "subscriber %s --help names every status" % verb, out)
        for status in ("active", "unsubscribed", "suppressed", "pending"):
            rc, out, err = run(db, "subscriber", verb, "--status", status)
            r.check(rc == 0, "subscriber %s --status %s is accepted" % (verb, status), err)
    rc, out, err = run(db, "subscriber", "list", "--status", "unsubscribed")
    r.check("pia.suvivuo@thl.fi" in out and "anu.niemi" not in out,
            "--status unsubscribed lists the unsubscribed only", out)


def export_import(r):
    """An export imports back; its unsubscribed rows never become active."""
    a = os.path.join(harness.tempdir(), "a.db")
    run(a, "subscriber", "add", "anu.niemi@thl.fi", "--name", "Anu Niemi", "--regions", "HYKS")
    run(a, "subscriber", "add", "pia.suvivuo@thl.fi", "--name", "Pia, Suvivuo")
    run(a, "subscriber", "remove", "pia.suvivuo@thl.fi")
    rc, exported, err = run(a, "subscriber", "export")
    r.check(rc == 0 and exported.startswith("email,name,lang,regions,status,created,updated"),
            "export writes its header", exported + err)
    path = os.path.join(harness.tempdir(), "export.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(exported)

    rc, out, err = run(a, "subscriber", "import", path)
    r.check(rc == 0 and out == "0 added, 0 updated, 1 unchanged, 0 kept unsubscribed,"
            " 1 not active in the file (skipped)\n",
            "an export imports back into its own database", out + err)
    for extra in ((), ("--resubscribe",)):
        rc, out, err = run(a, "--json", "subscriber", "import", path, *extra)
        j = as_json(out) or {}
        r.check(rc == 0 and j.get("ok") is True and j.get("not_active") == 1
                and j.get("updated") == 0 and isinstance(j.get("import"), int),
                "--json import %s: not_active counted, nothing resubscribed" % " ".join(extra),
                out + err)
    rc, out, err = run(a, "subscriber", "list", "--status", "unsubscribed")
    r.check("pia.suvivuo@thl.fi" in out, "the unsubscribed address stays unsubscribed", out + err)

    b = os.path.join(harness.tempdir(), "b.db")
    rc, out, err = run(b, "subscriber", "import", path)
    r.check(rc == 0 and out.startswith("1 added,"), "an export imports into another database",
            out + err)
    rc, out, err = run(b, "subscriber", "export")
    r.check(rc == 0 and "anu.niemi@thl.fi,Anu Niemi,fi,HYKS,active," in out
            and "pia.suvivuo" not in out,
            "the active row came across whole, the unsubscribed one not at all", out + err)

    bad = os.path.join(harness.tempdir(), "bad.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("email,status\nx@thl.fi,gone\n")
    rc, out, err = run(b, "subscriber", "import", bad)
    r.check(rc == 65 and "line 2: status \"gone\"" in err,
            "an unknown status is a bad row, named with its line", out + err)


def usage_errors(r):
    """A bad option value: the error line, then the verb's usage, exit 64."""
    db = os.path.join(harness.tempdir(), "t.db")
    run(db, "subscriber", "add", "anu.niemi@thl.fi")
    cases = [
        (("issue", "preview", "--lang", "de"), "de", "issue preview"),
        (("issue", "preview", "--format", "pdf"), "pdf", "issue preview"),
        (("issue", "preview", "--at", "2020-02-31"), "2020-02-31", "issue preview"),
        (("inbound", "list", "--kind", "bogus"), "bogus", "inbound list"),
        (("inbound", "list", "--limit", "0"), "--limit 0", "inbound list"),
        (("issue", "hold", "abc"), "abc", "issue hold"),
        (("issue", "hold", "0"), "\"0\"", "issue hold"),
        (("issue", "hold"), "needs an issue id", "issue hold"),
        (("subscriber", "add", "x@thl.fi", "--name"), "--name needs a value", "subscriber add"),
    ]
    for args, said, verb in cases:
        rc, out, err = run(db, *args)
        lines = err.splitlines()
        r.check(rc == 64 and out == "" and len(lines) >= 2 and said in lines[0]
                and lines[1].startswith("usage: tiedote " + verb),
                "%s: exit 64, the error, then the usage" % " ".join(args), "exit %d\n%s" % (rc, err))


def exit_codes(r):
    """backup 73 / 74, a missing input file 66 (README, tiedote(1))."""
    tmp = harness.tempdir()
    db = os.path.join(tmp, "t.db")
    run(db, "subscriber", "add", "anu.niemi@thl.fi")
    rc, out, err = run(db, "backup", os.path.join(tmp, "no-such-dir", "x.db"))
    r.check(rc == 74 and "no-such-dir" in err, "backup into a missing directory exits 74",
            "exit %d %s" % (rc, err))
    rc, out, err = run(db, "backup", db)
    r.check(rc == 73 and "exists" in err, "backup over an existing file exits 73",
            "exit %d %s" % (rc, err))
    missing = os.path.join(tmp, "nonexistent")
    for args in (("enqueue", missing + ".json"), ("subscriber", "import", missing + ".csv"),
                 ("inbound", "classify", missing), ("check", missing)):
        rc, out, err = run(db, *args)
        r.check(rc == 66 and "nonexistent" in err, "%s of a missing file exits 66" % args[0],
                "exit %d %s" % (rc, err))
    rc, out, err = run(db, "subscriber", "import", tmp)
    r.check(rc == 66 and tmp in err, "subscriber import of a directory exits 66 (cannot be read)",
            "exit %d %s" % (rc, err))
    twice = os.path.join(tmp, "twice.csv")
    with open(twice, "w") as f:
        f.write("email,EMAIL\nk@example.fi,l@example.fi\n")
    rc, out, err = run(db, "subscriber", "import", twice)
    r.check(rc == 65 and "line 1" in err and "named twice" in err,
            "a column named twice in the header is a bad row (line 1), nothing imported",
            "exit %d %s" % (rc, err))
    rc, out, err = run(db, "--help")
    r.check(all(" %d " % c in out.replace("\n", " ") for c in (64, 65, 66, 69, 73, 74, 75, 76, 78)),
            "--help lists every exit code", out)


def lock_mode(r):
    """The lock file is created 0660 whatever the umask (docs/control.md)."""
    old = os.umask(0o022)
    try:
        db = os.path.join(harness.tempdir(), "t.db")
        rc, out, err = run(db, "subscriber", "add", "anu.niemi@thl.fi")
        mode = os.stat(db + ".lock").st_mode & 0o777
        r.check(rc == 0 and mode == 0o660, "a command under umask 022 creates the lock file 0660",
                "exit %d, mode %o %s" % (rc, mode, err))
        d = harness.Tiedoted().start()
        mode = os.stat(d.db + ".lock").st_mode & 0o777
        r.check(mode == 0o660, "the worker under umask 022 creates the lock file 0660",
                "mode %o" % mode)
        d.stop()
        os.chmod(db + ".lock", 0o600)
        run(db, "subscriber", "add", "pia.suvivuo@thl.fi")
        mode = os.stat(db + ".lock").st_mode & 0o777
        r.check(mode == 0o600, "an existing lock file keeps the mode its owner gave it",
                "mode %o" % mode)
    finally:
        os.umask(old)


EXITS = {"EX_DATAERR": 65, "EX_PROTOCOL": 76, "EX_TEMPFAIL": 75, "EX_UNAVAILABLE": 69,
         "EX_SOFTWARE": 70}


def error_table(r):
    """docs/control.md's error table has every code an op answers, with its exit."""
    with open(os.path.join(harness.ROOT, "docs", "control.md"), encoding="utf-8") as f:
        doc = f.read()
    table = doc[doc.index("| error | exit | meaning |"):]
    table = table[:table.index("\n\n")]
    documented = {(m.group(1), int(m.group(2)))
                  for m in re.finditer(r"^\| `(\w+)` \| (\d+) \|", table, re.M)}
    answered = set()
    for top, _dirs, files in os.walk(os.path.join(harness.ROOT, "src")):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(top, name), encoding="utf-8") as f:
                    for m in re.finditer(r'admin_error\("(\w+)",\s*(EX_\w+)', f.read()):
                        answered.add((m.group(1), EXITS[m.group(2)]))
    r.check(len(answered) >= 10 and answered == documented,
            "docs/control.md's error table lists every code the ops answer, with its exit",
            "not documented: %s\nnot answered: %s" % (sorted(answered - documented),
                                                     sorted(documented - answered)))
    db = os.path.join(harness.tempdir(), "t.db")
    run(db, "subscriber", "erase", "gone@thl.fi")
    rc, out, err = run(db, "subscriber", "add", "gone@thl.fi")
    r.check(rc == 65 and "erased" in err, "subscriber add of an erased address exits 65",
            "exit %d %s" % (rc, err))


def one_click(r):
    """List-Unsubscribe-Post only under an https message.base_url, as documented."""
    tmp = harness.tempdir()
    db = os.path.join(tmp, "t.db")
    with open(os.path.join(tmp, "body.txt"), "w") as f:
        f.write("Tervetuloa\n")
    env = dict(os.environ, TIEDOTE_NOW="2020-03-10T10:00:00+02:00")
    tmpl = ("-o", "message.templates=" + os.path.join(harness.ROOT, "templates"))
    run(db, "announce", "--in-bulletin", "--subject", "Testi", "--body",
        os.path.join(tmp, "body.txt"), env=env)
    for base, has in (("https://tiedote.example", True), ("http://127.0.0.1:8080", False)):
        rc, out, err = run(db, *tmpl, "-o", "message.base_url=" + base, "issue", "preview",
                           "--at", "2020-03-17", env=env)
        r.check(rc == 0 and "List-Unsubscribe:" in out
                and ("\nList-Unsubscribe-Post: List-Unsubscribe=One-Click" in out) == has,
                "base_url %s: List-Unsubscribe-Post %s" % (base, "present" if has else "absent"),
                out[:2000] + err)
    with open(os.path.join(harness.ROOT, "README.md"), encoding="utf-8") as f:
        row = [l for l in f if l.startswith("| `message.base_url`")]
    r.check(row and "https" in row[0].split("|")[3] and "List-Unsubscribe-Post" in row[0],
            "README's message.base_url row says only https gives List-Unsubscribe-Post", row)
    with open(os.path.join(harness.ROOT, "docs", "web.md"), encoding="utf-8") as f:
        web = " ".join(f.read().split())
    at = web.index("List-Unsubscribe-Post")
    r.check("https" in web[at - 200:at], "docs/web.md says List-Unsubscribe-Post needs https",
            web[at - 200:at + 60])


ARF = ("From: abuse@isp.example\r\nTo: bounces@tiedote.example\r\nSubject: complaint\r\n"
       "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report;"
       " boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
       "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
       "User-Agent: isp/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: anu.niemi@thl.fi\r\n\r\n"
       "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: tiedote@tiedote.example\r\n"
       "To: anu.niemi@thl.fi\r\nSubject: Tiedote\r\n\r\nhello\r\n--b--\r\n")
AUTOREPLY = ("From: anu.niemi@thl.fi\r\nTo: tiedote@tiedote.example\r\nSubject: Out of office\r\n"
             "Auto-Submitted: auto-replied\r\n\r\nAway until Monday.\r\n")


def classify_json(r):
    """--json inbound classify: every recipient has the six keys, replycode a number."""
    tmp = harness.tempdir()
    files = []
    for name, text in (("arf.eml", ARF), ("away.eml", AUTOREPLY)):
        files.append(os.path.join(tmp, name))
        with open(files[-1], "w") as f:
            f.write(text)
    shared = os.path.join(os.path.dirname(harness.ROOT), "shared", "bounces", "emails")
    if os.path.isdir(shared):
        files += sorted(os.path.join(shared, n) for n in os.listdir(shared))[:80]
    db = os.path.join(tmp, "t.db")
    rc, out, err = run(db, "--json", "inbound", "classify", *files)
    objs = [json.loads(l) for l in out.splitlines()]
    rcpts = [x for o in objs for x in o["recipients"]]
    keys = {"address", "status", "reason", "hard", "replycode", "diagnostic"}
    bad = [x for x in rcpts if set(x) != keys or type(x["replycode"]) is not int
           or type(x["diagnostic"]) is not str]
    r.check(rc == 0 and len(objs) == len(files) and rcpts and not bad,
            "every recipient of %d reports has the six documented keys, replycode an integer"
            % len(objs), "exit %d %s %s" % (rc, bad[:3], err))
    extra = {k for o in objs for k in o} - {"file", "kind", "recipients", "feedback_type", "to"}
    r.check(not extra, "no key beyond the documented ones", extra)
    arf = objs[0] if objs else {}
    r.check(arf.get("kind") == "complaint" and arf.get("feedback_type") == "abuse"
            and arf["recipients"][0]["replycode"] == 0
            and arf["recipients"][0]["reason"] == "feedback",
            "a complaint: feedback_type, replycode 0", arf)
    away = objs[1] if len(objs) > 1 else {}
    r.check(away.get("kind") == "autoreply" and "to" not in away
            and all(x["replycode"] == 0 for x in away.get("recipients", [])),
            "an auto-reply: replycode 0, no to (not sent to our addresses)", away)


def body(r):
    json_writes(r)
    status_values(r)
    export_import(r)
    usage_errors(r)
    exit_codes(r)
    lock_mode(r)
    error_table(r)
    one_click(r)
    classify_json(r)


harness.main(body)
