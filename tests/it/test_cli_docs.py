"""The CLI as README.md, docs/control.md and tiedote(1) describe it, point by
point where an audit found them apart: --json on every write, usage errors
(exit 64 with the verb's usage), an export imported back, the exit codes of
backup and of a missing input file, the lock file's mode, the control ops'
checks and the classifier's JSON."""
import json
import os
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


def body(r):
    json_writes(r)
    status_values(r)


harness.main(body)
