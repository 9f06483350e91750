"""The one writer (docs/control.md): with a worker running, every write
command of `tiedote` goes through the worker's control socket; without
one, the same commands write directly under the lock file; a forged or
malformed control request gets a clear error and writes nothing; the
socket file is mode 0660; a 100,000-row import through the worker is all
or nothing, and the intake keeps answering while it runs.

How "through the socket" is proven: the worker logs one line per control
request ("control: OP ok"), and each write command must add exactly its
lines.  That alone would not catch a CLI that wrote directly AND sent a
request, so the second check stops the worker (SIGSTOP): a command that
goes through the socket now gets no reply and exits 69 with nothing
written, while a command that wrote the database itself would succeed
(a stopped worker holds no SQLite lock between turns).  The lock file is
the third: while the worker runs, nobody else can take it.
"""
import csv
import fcntl
import io
import base64
import json
import os
import signal
import stat
import subprocess
import threading
import time

import zmq

import harness

CLI = os.path.join(harness.BUILD, "tiedote")


def run(d, *args, total_ms=10000, timeout_ms=2500):
    argv = [CLI, "--db", d.db, "--endpoint", d.endpoint,
            "-o", "client.timeout_ms=%d" % timeout_ms,
            "-o", "client.total_timeout_ms=%d" % total_ms] + list(args)
    p = subprocess.run(argv, capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def control_ep(d):
    return "ipc://" + os.path.join(d.workdir, "tiedote.control")


def control_lines(d, op=None):
    """The worker's log lines of control requests (of op)."""
    out = []
    for line in d.log_text().splitlines():
        i = line.find("control: ")
        if i < 0 or "listening" in line:
            continue
        if op is None or line[i:].startswith("control: %s " % op):
            out.append(line[i:])
    return out


def request(ep, body=None, frames=None, timeout=10000):
    """One raw request on a fresh REQ socket: the parsed reply, or None."""
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep)
    try:
        if frames is not None:
            s.send_multipart(frames)
        else:
            s.send(body if isinstance(body, bytes) else json.dumps(body).encode())
        if not s.poll(timeout):
            return None
        return json.loads(s.recv())
    finally:
        s.close()


def count(db, sql, *args):
    with harness.sqlite(db) as c:
        return c.execute(sql, args).fetchone()[0]


def lock_is_held(db):
    with open(db + ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def write(d, name, text):
    path = os.path.join(d.workdir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def body_file(d):
    return write(d, "body.txt", "Verkostopäivä on maanantaina.\n")


# the write commands, each with the control ops it must send
def write_commands(d, csv_path, tag):
    return [
        (["subscriber", "add", "anu.%s@thl.fi" % tag, "--name", "Anu", "--regions", "HYKS"],
         ["subscriber.add"]),
        (["subscriber", "import", csv_path],
         ["subscriber.import.begin", "subscriber.import.rows", "subscriber.import.commit",
          "subscriber.import.abort"]),
        (["subscriber", "remove", "anu.%s@thl.fi" % tag], ["subscriber.remove"]),
        (["project", "add", "p-%s" % tag, "--name", "Projekti", "--region", "KYS",
          "--contact", "hanke@kys.example"], ["project.add"]),
        (["project", "remove", "p-%s" % tag], ["project.remove"]),
        (["announce", "--at", "2030-05-04 09:00", "--subject", "Ilmoitus", "--body",
          body_file(d), "--id", "a-%s" % tag], ["announce.store"]),
        (["announce", "reschedule", "a-%s" % tag, "--at", "2030-05-05 09:00"],
         ["announce.reschedule"]),
        (["announce", "cancel", "a-%s" % tag], ["announce.cancel"]),
        (["issue", "send-now"], ["issue.send_now"]),
    ]


def test_through_the_worker(r):
    d = harness.Tiedoted().start()
    path = os.path.join(d.workdir, "tiedote.control")
    st = os.stat(path)
    r.check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
            "the control socket is a socket file of mode 0660", oct(st.st_mode))
    r.check(lock_is_held(d.db), "the worker holds the lock file while it runs")

    csv_path = write(d, "few.csv", "email,name,lang,regions\n"
                     "pia@thl.fi,Pia,fi,TYKS\nmiia@thl.fi,Miia,sv,\"HYKS,TYKS\"\n")
    for argv, ops in write_commands(d, csv_path, "w"):
        before = len(control_lines(d))
        rc, out, err = run(d, *argv)
        lines = control_lines(d)[before:]
        r.check(rc == 0 and [l.split()[1] for l in lines] == ops
                and all(" ok " in l for l in lines),
                "with a worker, `%s` is %d control request(s), all ok" % (" ".join(argv[:2]), len(ops)),
                "rc %d\n%s%s\n%s" % (rc, out, err, "\n".join(lines)))
    issue = count(d.db, "SELECT max(id) FROM issues")
    for verb in ("hold", "resume", "cancel", "approve"):
        before = len(control_lines(d))
        rc, out, err = run(d, "issue", verb, str(issue))
        lines = control_lines(d)[before:]
        r.check(len(lines) == 1 and lines[0].startswith("control: issue.%s " % verb)
                and (rc == 0) == (" ok " in lines[0]),
                "with a worker, `issue %s` is one control request (exit %d)" % (verb, rc),
                out + err + "\n".join(lines))
    rc, out, err = run(d, "--json", "subscriber", "list")
    r.check(rc == 0 and sorted(s["email"] for s in json.loads(out)) ==
            ["anu.w@thl.fi", "miia@thl.fi", "pia@thl.fi"],
            "what went through the worker is in the database", out + err)

    # a stopped worker: a command that wrote the database itself would
    # succeed; one that goes through the socket gets no reply
    before = len(control_lines(d))
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        rc, out, err = run(d, "subscriber", "add", "stopped@thl.fi", total_ms=1500, timeout_ms=500)
        n = count(d.db, "SELECT count(*) FROM subscribers WHERE email = 'stopped@thl.fi'")
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    r.check(rc == 69 and "unreachable" in err and n == 0,
            "with the worker stopped, subscriber add waits for it (exit 69) and writes nothing",
            "rc %d n %d\n%s" % (rc, n, err))
    rc, out, err = run(d, "subscriber", "add", "after@thl.fi")
    r.check(rc == 0 and control_lines(d)[-1].startswith("control: subscriber.add ok"),
            "after SIGCONT the worker answers again", err)
    r.check(len(control_lines(d)) >= before + 1, "the worker logged the requests")

    # a second database in the same directory has its own lock but the
    # same default socket name: its worker must not take the first's over
    other = os.path.join(d.workdir, "other.db")
    p = subprocess.run([harness.tiedoted_path(), "--db", other, "--endpoint",
                        "tcp://127.0.0.1:%d" % harness.free_port(),
                        "-o", "message.templates=%s" % os.path.join(harness.ROOT, "templates")],
                       capture_output=True, timeout=60)
    err = p.stderr.decode()
    r.check(p.returncode == 75 and "already answers" in err
            and "control.endpoint" in err and not os.path.exists(other),
            "a worker of another database in the directory refuses the live control socket"
            " (exit 75, naming control.endpoint, nothing created)",
            "exit %d\n%s" % (p.returncode, err))
    # a second worker of the same database: told at once, not after the
    # lock's 60 s wait blamed on a command
    t0 = time.monotonic()
    p = subprocess.run([harness.tiedoted_path(), "--db", d.db, "--endpoint",
                        "tcp://127.0.0.1:%d" % harness.free_port(),
                        "-o", "message.templates=%s" % os.path.join(harness.ROOT, "templates")],
                       capture_output=True, timeout=90)
    took = time.monotonic() - t0
    err = p.stderr.decode()
    r.check(p.returncode == 75 and "already answers" in err and "tiedote command" not in err
            and took < 30, "a second worker of the same database: exit 75 at once (%.1f s),"
            " naming the worker, not a command" % took, "exit %d\n%s" % (p.returncode, err))
    rc, out, err = run(d, "subscriber", "add", "still@thl.fi")
    r.check(rc == 0 and count(d.db, "SELECT count(*) FROM subscribers"
                                    " WHERE email = 'still@thl.fi'") == 1,
            "the first worker's socket still takes its own database's writes", err)
    d.stop()
    r.check(not os.path.exists(path), "the socket file is gone after the worker stopped")

    # control.endpoint naming a file that is not a socket (its own
    # database, a symbolic link): refused at start, the file kept
    victim = os.path.join(d.workdir, "victim.txt")
    with open(victim, "w") as f:
        f.write("keep me\n")
    link = os.path.join(d.workdir, "link.sock")
    os.symlink(victim, link)
    size = os.path.getsize(d.db)
    for what, target in (("its own database", d.db), ("a plain file", victim),
                         ("a symbolic link", link)):
        p = subprocess.run([harness.tiedoted_path(), "--db", d.db, "--endpoint",
                            "tcp://127.0.0.1:%d" % harness.free_port(),
                            "-o", "control.endpoint=ipc://" + target,
                            "-o", "message.templates=%s" % os.path.join(harness.ROOT, "templates")],
                           capture_output=True, timeout=60)
        err = p.stderr.decode()
        r.check(p.returncode == 78 and "not a socket" in err and "control.endpoint" in err
                and os.path.lexists(target),
                "control.endpoint naming %s: exit 78, the file kept" % what,
                "exit %d\n%s" % (p.returncode, err))
    r.check(os.path.getsize(d.db) == size and count(
        d.db, "SELECT count(*) FROM subscribers WHERE email = 'still@thl.fi'") == 1 and
        open(victim).read() == "keep me\n", "the database and the file are whole")
    return d


def test_modes(r):
    """under a shell's umask 022: the database and its files not
    world-readable, an ipc:// intake socket 0660 (the group may enqueue)"""
    work = harness.tempdir()
    db = os.path.join(work, "t.db")
    sock = os.path.join(work, "intake.sock")
    old = os.umask(0o022)
    try:
        p = subprocess.Popen([harness.tiedoted_path(), "--db", db, "--endpoint",
                              "ipc://" + sock, "-o",
                              "message.templates=%s" % os.path.join(harness.ROOT, "templates")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        os.umask(old)
    try:
        # the intake socket is bound and made 0660 after the control one
        up = harness.wait_for(lambda: p.poll() is not None or (
            os.path.exists(sock) and stat.S_IMODE(os.stat(sock).st_mode) == 0o660))
        modes = {f: stat.S_IMODE(os.stat(os.path.join(work, f)).st_mode)
                 for f in os.listdir(work)}
        r.check(up and p.poll() is None and modes.get("intake.sock") == 0o660,
                "an ipc:// intake socket is mode 0660 under umask 022", modes)
        r.check(all(m & 0o007 == 0 for m in modes.values()) and modes.get("t.db", 0o777) == 0o640,
                "nothing the worker made is world-accessible; the database 0640",
                {f: oct(m) for f, m in modes.items()})
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_without_worker(r):
    d = harness.Tiedoted()    # never started: its directory and database path
    csv_path = write(d, "few.csv", "email,name,lang,regions\n"
                     "pia@thl.fi,Pia,fi,TYKS\nmiia@thl.fi,Miia,sv,\"HYKS,TYKS\"\n")
    for argv, _ in write_commands(d, csv_path, "d"):
        rc, out, err = run(d, *argv)
        r.check(rc == 0, "without a worker, `%s` writes directly" % " ".join(argv[:2]), out + err)
    rc, out, err = run(d, "--json", "subscriber", "list")
    r.check(rc == 0 and sorted(s["email"] for s in json.loads(out)) ==
            ["anu.d@thl.fi", "miia@thl.fi", "pia@thl.fi"],
            "what the CLI wrote itself is in the database", out + err)
    r.check(count(d.db, "SELECT count(*) FROM import_rows") == 0,
            "the import's staged rows are gone after its commit")
    r.check(not lock_is_held(d.db), "the CLI let go of the lock when it exited")

    # the lock held by someone else and no control socket: the command
    # waits client.total_timeout_ms, then exit 75 naming the lock
    with open(d.db + ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        t0 = time.monotonic()
        rc, out, err = run(d, "subscriber", "add", "wait@thl.fi", total_ms=1000)
        took = time.monotonic() - t0
        # a worker started now waits for the lock, says so, and starts
        # once it is free
        w = harness.Tiedoted(workdir=d.workdir)
        started = []
        t = threading.Thread(target=lambda: started.append(w.start()))
        t.start()
        deadline = time.monotonic() + 30
        while "holds" not in w.log_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        waited = "holds" in w.log_text() and not started
        fcntl.flock(f, fcntl.LOCK_UN)
    t.join(60)
    r.check(rc == 75 and ".lock is held" in err and 1.0 <= took < 20,
            "lock held, no worker: the command gives up after the total time (exit 75)",
            "rc %d took %.1f\n%s" % (rc, took, err))
    r.check(waited and started and w.running(),
            "a worker waits for a command holding the lock, with a log line, then starts",
            w.log_tail())
    rc, out, err = run(w, "subscriber", "add", "wait@thl.fi")
    r.check(rc == 0 and control_lines(w, "subscriber.add"), "and then takes the writes", err)
    w.stop()

    # a worker waiting for the lock is stopped (systemctl stop): it leaves
    # at once, exit 0, without starting
    with open(d.db + ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        with open(w.log, "ab") as logf:
            p = subprocess.Popen(w.argv(), stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        deadline = time.monotonic() + 30
        while w.log_text().count("holds") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # a reload asked meanwhile (SIGHUP) is not a stop: it waits on
        p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "nothing to reload yet" not in w.log_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        hup_alive = "nothing to reload yet" in w.log_text() and p.poll() is None
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            code = None
        took = time.monotonic() - t0
    r.check(hup_alive, "a SIGHUP while it waits for the lock: it waits on", w.log_tail(3))
    r.check(code == 0 and took < 5 and "stopped while waiting for the lock" in w.log_text(),
            "a worker stopped while it waits for the lock: exit 0 in %.2f s" % took,
            (code, w.log_tail(3)))


def test_forged(r):
    d = harness.Tiedoted().start()
    ep = control_ep(d)
    rc, _, err = run(d, "subscriber", "add", "keep@thl.fi")
    r.check(rc == 0, "a subscriber to compare with", err)
    cases = [
        ("not JSON", b"{\"op\": ", "bad_json", 76),
        ("not an object", [1], "bad_request", 76),
        ("no op", {"email": "x@thl.fi"}, "bad_request", 76),
        ("unknown op", {"op": "subscriber.drop_all"}, "unknown_op", 76),
        ("unknown field", {"op": "subscriber.add", "email": "f1@thl.fi", "admin": True},
         "unknown_field", 76),
        ("wrong type", {"op": "subscriber.add", "email": 5}, "bad_type", 76),
        ("wrong type (bool)", {"op": "subscriber.remove", "email": "keep@thl.fi", "purge": 1},
         "bad_type", 76),
        ("missing field", {"op": "subscriber.add"}, "missing_field", 76),
        ("bad address", {"op": "subscriber.add", "email": "bad@@thl.fi"}, "invalid", 65),
        ("bad regions", {"op": "subscriber.add", "email": "f2@thl.fi", "regions": "Oulu"},
         "invalid", 65),
        ("oversize", {"op": "subscriber.add", "email": "f3@thl.fi", "name": "x" * (3 << 20)},
         "too_large", 76),
        ("a bad row", {"op": "subscriber.import.rows", "import": 1,
                       "rows": [[2, "f4@thl.fi", "", "fi", "all"], [3, "x", "", "fi", "all"]]},
         "invalid", 65),
        ("a row of the wrong shape", {"op": "subscriber.import.rows", "import": 1,
                                      "rows": [[2, "f4@thl.fi"]]}, "bad_type", 76),
        ("rows of no import", {"op": "subscriber.import.rows", "import": 999,
                               "rows": [[2, "f5@thl.fi", "", "fi", "all"]]}, "no_import", 75),
        ("duplicate keys", b'{"op": "subscriber.remove", "email": "keep@thl.fi",'
                           b' "email": "keep@thl.fi"}', "bad_json", 76),
        ("a size below the decoded message", {"op": "inbound.deliver", "raw": base64.b64encode(
            b"From: a@b.fi\r\nSubject: hello\r\n\r\nhello\r\n").decode(), "size": 10},
         "invalid", 65),
    ]
    for name, body, code, exit_ in cases:
        rep = request(ep, body)
        r.check(rep is not None and rep.get("ok") is False and rep.get("error") == code
                and rep.get("exit") == exit_ and rep.get("message"),
                "forged request, %s: error %s, exit %d" % (name, code, exit_), rep)
    rep = request(ep, {"op": "inbound.deliver", "raw": base64.b64encode(b"x" * 100).decode(),
                       "size": 99})
    r.check(rep is not None and rep.get("error") == "invalid" and "size" in rep.get("message", "")
            and count(d.db, "SELECT count(*) FROM inbound") == 0,
            "inbound.deliver with size below the decoded length: invalid naming size, nothing"
            " stored", rep)
    rep = request(ep, {"op": "inbound.deliver", "raw": base64.b64encode(b"x" * 100).decode(),
                       "size": 100})
    r.check(rep is not None and rep.get("ok") is True, "a size equal to the decoded length is"
            " taken", rep)
    rep = request(ep, frames=[b'{"op": "issue.send_now"}', b"more"])
    r.check(rep is not None and rep.get("error") == "bad_frames",
            "a request of two frames: bad_frames", rep)
    # a forged import that repeats an address across chunks: the chunk
    # with the repeat is refused whole; staged rows are not subscribers
    begin = request(ep, {"op": "subscriber.import.begin"})
    iid = begin and begin.get("import")
    a = request(ep, {"op": "subscriber.import.rows", "import": iid,
                     "rows": [[2, "dup@thl.fi", "", "fi", "all"], [3, "f6@thl.fi", "", "fi", "all"]]})
    b = request(ep, {"op": "subscriber.import.rows", "import": iid,
                     "rows": [[4, "f7@thl.fi", "", "fi", "all"], [5, "DUP@thl.fi", "", "fi", "all"]]})
    r.check(a and a["ok"] and b and b.get("error") == "invalid"
            and "line 5" in b.get("message", "") and "line 2" in b.get("message", "")
            and count(d.db, "SELECT count(*) FROM import_rows") == 2,
            "a forged chunk repeating a staged address is refused whole", (a, b))
    rc, out, err = run(d, "--json", "subscriber", "list")
    r.check(rc == 0 and [s["email"] for s in json.loads(out)] == ["keep@thl.fi"],
            "no forged or malformed request wrote anything", out + err)
    # (the scheduler makes the issues of its calendar; one by hand has no slot)
    r.check(count(d.db, "SELECT count(*) FROM events") == 0 and
            count(d.db, "SELECT count(*) FROM issues WHERE slot IS NULL") == 0,
            "nor any event or issue")
    ok = request(ep, {"op": "subscriber.import.abort", "import": iid})
    r.check(ok and ok["ok"] and count(d.db, "SELECT count(*) FROM import_rows") == 0,
            "abort drops the staged rows", ok)
    d.stop()


def big_csv(path, n, bad_last=False):
    langs, regions = ["fi", "sv", "en"], ["all", "HYKS", "\"KYS,OYS\"", "TYKS"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("email,name,lang,regions\n")
        for i in range(n):
            f.write("tilaaja%06d@kunta%d.example,Tilaaja %d,%s,%s\n"
                    % (i, i % 50, i, langs[i % 3], regions[i % 4]))
        if bad_last:
            f.write("not-an-address,X,fi,all\n")
    return path


class Prober(threading.Thread):
    """A producer sending events to the intake back to back while the
    import runs, keeping the latency of each reply."""

    def __init__(self, endpoint):
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.stop = threading.Event()
        self.latencies = []
        self.errors = 0

    def run(self):
        s = zmq.Context.instance().socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        i = 0
        while not self.stop.is_set():
            ev = {"id": "probe-%d" % i, "type": "news", "title": "Luotain", "regions": ["all"]}
            t0 = time.monotonic()
            s.send(json.dumps(ev).encode())
            if not s.poll(30000):
                self.errors += 1
                break
            rep = json.loads(s.recv())
            self.latencies.append(time.monotonic() - t0)
            if rep.get("status") != "ok":
                self.errors += 1
            i += 1
        s.close()


def test_big_import(r):
    d = harness.Tiedoted().start()
    n = 100000
    bad = big_csv(os.path.join(d.workdir, "bad.csv"), n, bad_last=True)
    rc, out, err = run(d, "subscriber", "import", bad)
    r.check(rc == 65 and "line %d" % (n + 2) in err and "nothing imported" in err,
            "100,000 rows and one bad one: exit 65 naming its line", err[-500:])
    r.check(count(d.db, "SELECT count(*) FROM subscribers") == 0
            and not control_lines(d, "subscriber.import.begin"),
            "nothing imported, nothing even sent to the worker")

    # killed half-way: the staged chunks are invisible, nothing imported
    good = big_csv(os.path.join(d.workdir, "good.csv"), n)
    argv = [CLI, "--db", d.db, "--endpoint", d.endpoint, "subscriber", "import", good]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (len(control_lines(d, "subscriber.import.rows")) < 20 and p.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.01)
    p.kill()
    p.communicate()
    staged = count(d.db, "SELECT count(*) FROM import_rows")
    r.check(p.returncode == -signal.SIGKILL and staged >= 20000
            and count(d.db, "SELECT count(*) FROM subscribers") == 0,
            "an import killed after %d staged rows imported nothing" % staged,
            "exit %s" % p.returncode)

    # the whole file through the worker, the intake probed meanwhile
    prober = Prober(d.endpoint)
    prober.start()
    while not prober.latencies:
        time.sleep(0.001)
    t0 = time.monotonic()
    rc, out, err = run(d, "--json", "subscriber", "import", good, total_ms=120000)
    took = time.monotonic() - t0
    during = len(prober.latencies)
    prober.stop.set()
    prober.join(60)
    res = json.loads(out) if rc == 0 else {}
    r.check(rc == 0 and res.get("added") == n and res.get("updated") == 0,
            "100,000 rows through the worker: all added", out + err[-500:])
    r.check(count(d.db, "SELECT count(*) FROM subscribers") == n,
            "the database holds all 100,000")
    applied = [l for l in d.log_text().splitlines() if "rows applied in" in l]
    lat = sorted(prober.latencies)
    r.note("100,000-row import through the worker: %.2f s in all; %s" %
           (took, applied[-1].split("admin: ", 1)[-1] if applied else "?"))
    if lat:
        r.note("intake during the import: %d events answered, latency median %.1f ms,"
               " p99 %.1f ms, max %.1f ms" % (len(lat), 1000 * lat[len(lat) // 2],
                                              1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))
    r.check(prober.errors == 0 and during > 10,
            "the intake kept answering during the import (%d events)" % during)

    # the same file again: every row unchanged, the counts of the old loop
    rc, out, err = run(d, "subscriber", "remove", "tilaaja000007@kunta7.example")
    rc2, out2, err2 = run(d, "--json", "subscriber", "import", good, total_ms=120000)
    res = json.loads(out2) if rc2 == 0 else {}
    r.check(rc == 0 and res.get("unchanged") == n - 1 and res.get("kept_unsubscribed") == 1
            and res.get("added") == 0, "a re-import: unchanged, and the one who left is kept",
            out2 + err2[-300:])
    d.stop()


def body(r):
    test_modes(r)
    test_through_the_worker(r)
    test_without_worker(r)
    test_forged(r)
    test_big_import(r)


if __name__ == "__main__":
    harness.main(body)
