"""The tiedote CLI and tiedoted as an operator meets them: exit codes,
shortcuts, subscriber import/export, status, --json, clean shutdown, a
worker that is away, a frame too big for ZeroMQ, a full store."""
import csv
import io
import json
import os
import re
import subprocess
import time

import zmq

import harness

CLI = os.path.join(harness.BUILD, "tiedote")


def run(d, *args, stdin=None, db=None, endpoint=None):
    argv = [CLI, "--db", db or d.db, "--endpoint", endpoint or d.endpoint,
            "-o", "client.timeout_ms=500", "-o", "client.total_timeout_ms=3000"] + list(args)
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(d, name, text):
    path = os.path.join(d.workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def body(r):
    d = harness.Tiedoted().start()

    rc, out, err = run(d, "enqueue", "deadline", "--id", "stm-2020", "--title",
                       "Valtionavustushaku päättyy", "--due", "2020-03-31T16:15+03:00",
                       "--regions", "KYS,OYS", "--url", "https://stm.fi/haku", "--remind", "14,7,1")
    r.check(rc == 0 and out == "ok stm-2020 revision 1\n", "typed shortcut enqueues a deadline",
            out + err)
    rc, out, err = run(d, "enqueue", "deadline", "--id", "stm-2020", "--title",
                       "Valtionavustushaku päättyy", "--due", "2020-04-15T16:15+03:00",
                       "--regions", "KYS,OYS", "--url", "https://stm.fi/haku", "--remind", "14,7,1")
    r.check(rc == 0 and "revision 2" in out, "an extended deadline is a new revision", out + err)
    rc, out, err = run(d, "enqueue", "deadline", "--id", "x", "--title", "t", "--due", "31.3.2020")
    r.check(rc == 65 and "invalid_time" in err and "due" in err,
            "an invalid event exits 65 with the error printed", err)
    rc, out, err = run(d, "enqueue", "news", "--id", "sv-1", "--lang", "sv", "--title", "Nyhet")
    r.check(rc == 0, "--lang sets the language of the text options", err)

    arr = write(d, "batch.json", json.dumps([
        {"id": "n1", "type": "news", "title": "Uutinen", "regions": ["all"]},
        {"id": "n2", "type": "news", "title": "Uutinen 2", "regions": ["HYKS"], "bogus": 1},
        {"id": "n3", "type": "news", "title": "Uutinen 3", "regions": ["TYKS"]}]))
    rc, out, err = run(d, "--json", "enqueue", arr)
    replies = json.loads(out) if out.startswith("[") else []
    r.check(rc == 65 and [x["status"] for x in replies] == ["ok", "error", "ok"]
            and replies[1]["code"] == "unknown_field" and replies[1]["field"] == "bogus",
            "an array is sent event by event; --json reports each", out + err)
    rc, out, err = run(d, "enqueue", "-", stdin=b'{"id": "n4", "type": "news", "title": "x", "regions": ["all"]')
    r.check(rc == 65 and "malformed_json" in err, "malformed JSON from stdin exits 65", err)
    # an error that quotes the input cut inside a character (the type at 32
    # octets): a UTF-8 reply, and the worker lives on (it crashed once)
    rc, out, err = run(d, "enqueue", "-", stdin=('{"id": "u1", "type": "a%s"}' % ("\u00e9" * 20))
                       .encode())
    r.check(rc == 65 and "unknown_type" in err, "a type cut inside a character: 65", err)
    rc, out, err = run(d, "enqueue", "-", stdin=json.dumps(
        {"id": "n3", "type": "news", "title": "Uutinen 3", "regions": ["TYKS"]}).encode())
    r.check(rc == 0 and "duplicate" in out and d.proc.poll() is None,
            "and the worker answers the next one", out + err)

    # a worker that is not there: exit 69 after the configured total time
    dead = "tcp://127.0.0.1:%d" % harness.free_port()
    t0 = time.monotonic()
    rc, out, err = run(d, "enqueue", "news", "--id", "n5", "--title", "x", endpoint=dead)
    took = time.monotonic() - t0
    r.check(rc == 69 and "unreachable" in err and 3 <= took < 30,
            "an unreachable worker exits 69 after the total time (%.1f s)" % took, err)

    # subscribers
    rc, out, err = run(d, "subscriber", "add", "anu.niemi@thl.fi", "--name", "Anu Niemi",
                       "--regions", "HYKS")
    r.check(rc == 0 and out.startswith("added"), "subscriber add", err)
    rc, out, err = run(d, "subscriber", "add", "bad@@thl.fi")
    r.check(rc == 65 and "more than one '@'" in err, "subscriber add refuses a bad address", err)
    rc, out, err = run(d, "subscriber", "add", "x@thl.fi", "--name", "Evil\r\nBcc: y@z.fi")
    r.check(rc == 65 and "control character" in err, "a name with CR/LF is refused", err)
    bad_csv = write(d, "bad.csv", "email,name,lang,regions\n"
                    "pia.suvivuo@thl.fi,Pia Suvivuo,fi,TYKS\n"
                    "not-an-address,X,fi,all\n"
                    "miia.stahle@thl.fi,Miia Ståhle,de,HYKS\n"
                    "juha@thl.fi,Juha,fi,Oulu\n"
                    "PIA.SUVIVUO@thl.fi,Pia,fi,TYKS\n"
                    "kalle@thl.fi,Kalle,fi,HYKS,KYS\n")
    rc, out, err = run(d, "subscriber", "import", bad_csv)
    lines = [l for l in err.splitlines() if l.startswith("line ")]
    r.check(rc == 65 and [l.split(":")[0] for l in lines] ==
            ["line 3", "line 4", "line 5", "line 6", "line 7"] and
            "5 fields, the header has 4" in lines[-1],
            "import reports every bad row with its line number (a field more than the"
            " header too)", err)
    rc, out, err = run(d, "--json", "subscriber", "list")
    r.check(rc == 0 and [s["email"] for s in json.loads(out)] == ["anu.niemi@thl.fi"],
            "a failed import wrote nothing", out + err)
    good_csv = write(d, "good.csv", "\ufeffEmail,Name,Lang,Regions\r\n"
                     "pia.suvivuo@thl.fi,Pia Suvivuo,fi,TYKS\r\n"
                     "miia.stahle@thl.fi,\"Ståhle, Miia\",sv,\"HYKS,TYKS\"\r\n"
                     "anu.niemi@thl.fi,Anu Niemi,fi,HYKS\r\n"
                     "leena@thl.fi,,en,\r\n")
    rc, out, err = run(d, "subscriber", "import", good_csv)
    r.check(rc == 0 and out.strip() == "3 added, 0 updated, 1 unchanged, 0 kept unsubscribed",
            "import adds, and leaves an identical subscriber unchanged", out + err)
    rc, out, err = run(d, "subscriber", "remove", "pia.suvivuo@thl.fi")
    r.check(rc == 0, "subscriber remove unsubscribes", err)
    rc, out, err = run(d, "--json", "subscriber", "import", good_csv)
    res = json.loads(out) if rc == 0 else {}
    r.check(res.get("kept_unsubscribed") == 1 and res.get("unchanged") == 3,
            "a re-import does not resubscribe someone who left", out + err)
    with open("/dev/full", "w") as full:
        p = subprocess.run([CLI, "--db", d.db, "subscriber", "export"], stdout=full,
                           stderr=subprocess.PIPE, timeout=60)
    r.check(p.returncode == 74 and b"standard output" in p.stderr,
            "export into a full disk: exit 74, said", p.stderr)
    for argv in (["--help"], ["subscriber", "--help"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([CLI] + argv, stdout=full, stderr=subprocess.PIPE, timeout=60)
        r.check(p.returncode == 74 and b"standard output" in p.stderr,
                "tiedote %s into a full disk: exit 74, said" % " ".join(argv), p.stderr)
    rc, out, err = run(d, "subscriber", "export")
    rows = list(csv.DictReader(io.StringIO(out)))
    miia = [x for x in rows if x["email"] == "miia.stahle@thl.fi"]
    r.check(rc == 0 and len(rows) == 4 and miia and miia[0]["name"] == "Ståhle, Miia"
            and miia[0]["regions"] == "HYKS,TYKS" and miia[0]["lang"] == "sv",
            "export is CSV that reads back", out + err)
    rc, out, err = run(d, "subscriber", "list", "--status", "unsubscribed")
    r.check(rc == 0 and "pia.suvivuo@thl.fi" in out and "anu" not in out,
            "list filters by status", out)
    rc, out, err = run(d, "subscriber", "remove", "nobody@thl.fi")
    r.check(rc == 65, "removing an unknown address exits 65", err)

    # --help at every level: the usage on stdout, exit 0; a usage error on stderr, 64
    for argv in (["--help"], ["project", "--help"], ["subscriber", "import", "--help"],
                 ["announce", "reschedule", "--help"], ["enqueue", "deadline", "--help"],
                 ["issue", "status", "--help"], ["status", "--help"]):
        rc, out, err = run(d, *argv)
        r.check(rc == 0 and out.startswith("usage: tiedote") and err == "",
                "tiedote %s prints the usage on stdout, exit 0" % " ".join(argv), (rc, out, err))
    rc, out, err = run(d, "subscriber", "import", "--help")
    r.check("--dry-run" in out and "project" not in out, "a verb's --help is that verb's usage", out)
    rc, out, err = run(d, "--help")
    r.check(all(c in out for c in ("enqueue", "subscriber add", "issue preview", "project add",
                                   "reminder list", "announce reschedule", "status")),
            "tiedote --help lists every command and verb", out)
    for argv in (["project"], ["subscriber", "frobnicate"], ["nosuch"],
                 ["subscriber", "add", "x@thl.fi", "--purge"],
                 ["subscriber", "list", "--dry-run"], ["issue", "list", "--follow"],
                 ["announce", "cancel", "x", "--at", "2020-05-04 09:00"]):
        rc, out, err = run(d, *argv)
        r.check(rc == 64 and out == "" and "usage: tiedote" in err,
                "tiedote %s: usage error on stderr, exit 64" % " ".join(argv), (rc, out, err))
    for flag in ("--help", "--version"):
        p = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), flag], capture_output=True)
        r.check(p.returncode == 0 and p.stdout and not p.stderr,
                "tiedoted %s prints on stdout, exit 0" % flag, p)

    # what an error echoes is escaped: no control byte reaches the terminal
    def run_raw(*args):
        argv = [CLI, "--db", d.db, "--endpoint", d.endpoint] + [
            a.encode("utf-8", "surrogateescape") for a in args]
        p = subprocess.run(argv, capture_output=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    evil = "x\x1b]0;pwned\x07\x1b[2J\r\nBcc: y@thl.fi"
    cases = [
        (["subscriber", "add", evil + "@@thl.fi"], 65),
        (["subscriber", "remove", evil + "@thl.fi"], 65),
        (["subscriber", "import", "/nonexistent/" + evil + ".csv"], 66),
        (["subscriber", "add", "x@thl.fi", "--" + evil], 64),
        (["project", "show", evil], 65),
        (["announce", "show", evil], 65),
        (["reminder", "list", evil], 65),
        (["announce", "--at", evil, "--subject", "s", "--body", "-"], 65),
        (["issue", "hold", evil], 64),
        (["subscriber", "add", "ok@thl.fi", "--regions", evil], 65),
        (["subscriber", "add", "x\udcff\udcc3@thl.fi"], 65),
    ]
    for i, (argv, want) in enumerate(cases):
        rc, out, err = run_raw(*argv)
        r.check(rc == want and b"\x1b" not in err and b"\x07" not in err and b"\r" not in err
                and b"\xff" not in err and (b"\\x1b" in err or b"\\xff" in err),
                "%s %s (case %d): the input is echoed escaped (exit %d)" % (argv[0], argv[1], i, want),
                (rc, err))
    bad = os.path.join(d.workdir, "evil.csv")
    with open(bad, "wb") as f:
        f.write(b"email,name,lang,regions\n"
                b"\"x\x1b[31m@thl.fi\",Name,fi,all\n"
                b"ok@thl.fi,Name,fi,\"Oulu\x1b]0;x\x07\"\n"
                b"ok2@thl.fi,Name,\"f\ri\",all\n")
    rc, out, err = run_raw("subscriber", "import", bad)
    lines = [l for l in err.split(b"\n") if l.startswith(b"line ")]
    r.check(rc == 65 and len(lines) == 3 and b"\x1b" not in err and b"\x07" not in err
            and b"\r" not in err and b'"x\\x1b[31m@thl.fi"' in lines[0] and b"\\r" in lines[2],
            "import errors quote the CSV field, escaped", err)
    latin1 = ("email,name,lang,regions\n\"pia@thl.fi\",\"Pia\nSuvivuo\",fi,all\n"
              "miia@thl.fi,Miia St\u00e5hle,sv,all\n").encode("latin-1")
    with open(bad, "wb") as f:
        f.write(latin1)
    for how, args, stdin in (("a file", [bad], None), ("standard input", ["-"], latin1)):
        rc, out, err = run(d, "subscriber", "import", *args, stdin=stdin)
        r.check(rc == 65 and "line 4: not UTF-8 text" in err,
                "a Latin-1 CSV on %s is refused naming the line (65)" % how, (rc, err))

    # every date typed is checked by the one rule (clock_civil_valid)
    body_file = write(d, "ann.txt", "Teksti")
    for at in ("2020-02-31 09:00", "2020-02-30T09:00", "2021-02-29 09:00", "2020-05-04 24:00",
               "2020-13-01 09:00", "2020-02-31T09:00+02:00"):
        rc, out, err = run(d, "announce", "--at", at, "--subject", "s", "--body", body_file)
        r.check(rc == 65 and out == "" and "--at" in err,
                "announce --at %s is refused, not moved (65)" % at, (rc, out, err))
    rc, out, err = run(d, "announce", "reschedule", "x", "--at", "2020-02-31 09:00")
    r.check(rc == 65 and "no such date" in err, "reschedule --at refuses 31 February", err)
    rc, out, err = run(d, "announce", "--at", "2020-03-29 03:30", "--subject", "s", "--body",
                       body_file)
    r.check(rc == 65 and "does not exist" in err,
            "a local time skipped by summer time is refused", err)
    rc, out, err = run(d, "issue", "preview", "--at", "2020-02-30")
    r.check(rc == 64 and "no such date" in err, "issue preview --at refuses 30 February", err)

    rc, out, err = run(d, "--json", "status")
    st = json.loads(out) if rc == 0 else {}
    r.check(st.get("events", {}).get("deadline") == 1 and st["events"]["revisions"] == 5
            and st["subscribers"] == {"active": 3, "unsubscribed": 1}
            and st["latest_events"][0]["id"] == "n3",
            "status --json counts events, revisions and subscribers", out + err)
    rc, out, err = run(d, "status")
    r.check(rc == 0 and "stm-2020 (revision 2)" in out, "status for people", out)
    # a command that only reads takes no write lock: it answers while
    # another process holds SQLite's (a big import's commit), and makes
    # no database at a mistyped path
    import sqlite3
    lock = sqlite3.connect(d.db, isolation_level=None, timeout=5)
    lock.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.monotonic()
        rc, out, err = run(d, "-o", "store.busy_timeout_ms=20000", "subscriber", "list")
        took = time.monotonic() - t0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    r.check(rc == 0 and "@" in out and took < 10,
            "subscriber list while the write lock is held: answered (%.1f s)" % took, err)
    typo = os.path.join(d.workdir, "tiedote-typo.db")
    for cmd in (["status"], ["subscriber", "export-data", "anu@example.fi"],
                ["issue", "preview"]):
        rc, out, err = run(d, *cmd, db=typo)
        r.check(rc == 75 and "the worker creates the database" in err
                and not os.path.exists(typo),
                "%s of a database that is not there: exit 75, and no file made" % cmd[-1],
                (rc, err))

    # a frame far over the limit is dropped by ZeroMQ; the worker lives on
    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(d.endpoint)
    s.send(b"x" * (2 << 20))
    r.check(s.poll(1000) == 0, "a 2 MiB frame gets no reply (ZMQ_MAXMSGSIZE)")
    s.close()
    ctx.term()
    rc, out, err = run(d, "enqueue", "news", "--id", "after-big", "--title", "x")
    r.check(rc == 0 and d.running(), "the worker serves the next producer after it", err)

    r.check(d.stop() == 0 and "shutting down" in d.log_text() and "stopped" in d.log_text(),
            "SIGTERM: clean exit 0 with a log line", d.log_tail())
    r.check(all(len(l) < 600 and "\r" not in l for l in d.log_text().splitlines()),
            "log lines are single lines")

    # a store at its size cap: "unavailable", nothing stored, then works again
    full = harness.Tiedoted(extra_args=["-o", "store.max_size_mb=1"]).start()
    big = "Tulevaisuuden sosiaali- ja terveyskeskus. " * 1500
    codes = []
    for i in range(40):
        rc, out, err = run(full, "enqueue", "announcement", "--id", "big-%d" % i, "--title", "x",
                           "--body-file", write(full, "body.txt", big))
        codes.append(rc)
        if rc != 0:
            break
    r.check(codes[-1] == 75 and "full" in err, "a full store replies unavailable, exit 75",
            "%s %s" % (codes, err))
    with harness.sqlite(full.db) as c:
        n = c.execute("SELECT count(*) FROM events").fetchone()[0]
        nr = c.execute("SELECT count(*) FROM event_revisions").fetchone()[0]
    r.check(n == len(codes) - 1 and nr == n, "the refused event left nothing half-written")
    full.stop()

    printed = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), "--print-config"],
                             capture_output=True).stdout.decode()
    with open(os.path.join(harness.ROOT, "tiedote.conf.example")) as f:
        r.check(f.read() == printed, "tiedote.conf.example is the defaults as printed")
    # and it loads (make install puts it in /etc/tiedote/: its comments
    # of over 200 bytes were once read in pieces, as keys)
    p = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), "-c",
                        os.path.join(harness.ROOT, "tiedote.conf.example"), "--print-config"],
                       capture_output=True)
    r.check(p.returncode == 0 and p.stdout.decode() == printed,
            "tiedote.conf.example loads, and gives the defaults", p.stderr.decode()[-300:])

    # every key --print-config prints is in the README's table, and no other
    keys, section = set(), None
    for line in printed.splitlines():
        m = re.match(r"\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        elif re.match(r"\w+ =", line):
            keys.add(section + "." + line.split(" ", 1)[0])
    documented = set()
    with open(os.path.join(harness.ROOT, "README.md"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| `"):
                continue
            section = None
            for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
                if "." in name:
                    section, name = name.split(".", 1)
                documented.add("%s.%s" % (section, name))
    r.check(keys == documented, "the README's configuration table lists every key, and only those",
            "not in README: %s\nnot printed: %s" % (sorted(keys - documented),
                                                   sorted(documented - keys)))

    rc = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), "-o", "intake.batch_max=0"],
                        capture_output=True).returncode
    r.check(rc == 78, "a bad setting exits 78 (EX_CONFIG)")

    # started outside the checkout with templates it cannot find: the whole
    # configuration is checked before the store, which is never created
    away = harness.tempdir()
    db = os.path.join(away, "var", "tiedote.db")
    p = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), "--db", db,
                        "--endpoint", "tcp://127.0.0.1:%d" % harness.free_port(),
                        "-o", "message.templates=./templates"],
                       cwd=away, capture_output=True, timeout=60)
    err = p.stderr.decode()
    r.check(p.returncode == 78 and "message.templates" in err and not os.path.exists(db)
            and not os.path.exists(os.path.dirname(db)),
            "missing templates: exit 78 naming message.templates, no database created",
            "exit %s, db exists %s\n%s" % (p.returncode, os.path.exists(db), err))

    # settings read only by a part started after the store (the calendar,
    # the sender, the DKIM keys) are checked with the rest, before it
    for setting, named in (("bulletin.first=garbage", "bulletin.first"),
                           ("smtp.tls=maybe", "smtp.tls"),
                           ("smtp.url=ftp://relay.example.fi", "smtp"),
                           ("smtp.helo=a b", "helo"),
                           ("dkim.domain=example.fi", "dkim.selector"),
                           ("inbound.lmtp_listen=lmtp-no-port", "inbound.lmtp_listen"),
                           ("inbound.lmtp_listen=[::1]2424", "inbound.lmtp_listen"),
                           ("inbound.lmtp_listen=127.0.0.1:port", "inbound.lmtp_listen"),
                           ("inbound.lmtp_listen=/" + "x" * 120, "inbound.lmtp_listen")):
        p = subprocess.run([os.path.join(harness.BUILD, "tiedoted"), "--db", db,
                            "--endpoint", "tcp://127.0.0.1:%d" % harness.free_port(),
                            "-o", "message.templates=%s" % os.path.join(harness.ROOT, "templates"),
                            "-o", setting],
                           cwd=away, capture_output=True, timeout=60)
        err = p.stderr.decode()
        r.check(p.returncode == 78 and named in err and not os.path.exists(db),
                "%s: exit 78 naming %s, no database created" % (setting, named),
                "exit %s, db exists %s\n%s" % (p.returncode, os.path.exists(db), err))


harness.main(body)
