"""Shared helpers for tiedote's integration tests.

Only the standard library and Debian's modules are used (python3-zmq,
python3-jsonschema), so the tests run with /usr/bin/python3 and need no
virtualenv.  tests/run.sh sets TIEDOTE_BUILD (absolute build directory) and
TIEDOTE_ROOT (the repository); both have defaults so a test can also be run
by hand:  /usr/bin/python3 tests/it/test_contract.py

Output convention (tests/run.sh relies on it): one "ok - NAME" or
"not ok - NAME" line per check, and "N passed, N failed" as the very last
line; the exit status is non-zero when anything failed.
"""

import atexit
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

ROOT = os.environ.get("TIEDOTE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TIEDOTE_BUILD") or os.path.join(ROOT, "build")
QUEUE = os.path.join(ROOT, "queue")
DATA = os.path.join(ROOT, "tests", "data")

# Everything we create is remembered here so that a failing or interrupted
# test leaves no daemon listening and no temporary directory behind.
_tempdirs = []
_daemons = []
_cleanups = []		# callables run after the daemons stop (e.g. umount)


def _cleanup():
    for d in list(_daemons):
        d.kill()
    while _cleanups:
        _cleanups.pop()()
    for path in _tempdirs:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup)


def _exit_on_signal(signum, _frame):
    # atexit handlers do not run when Python dies of a signal; turning the
    # signal into SystemExit makes them run.
    sys.exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _exit_on_signal)


def tempdir(prefix="tiedote-it-"):
    """A fresh directory, removed at exit."""
    path = tempfile.mkdtemp(prefix=prefix)
    _tempdirs.append(path)
    return path


_ports_given = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Chosen at random below the kernel's ephemeral range, never one this
    process handed out before: the kernel gives ports in that range to
    every outgoing connection (and to bind(0)), so a port from it can be
    taken by a client's connection - even a connection to itself - before
    the server binds it.  Below the range only another test can take it,
    and Tiedoted.start() retries on a fresh port when that happens.
    """
    low = min(_ephemeral_low(), 65536)
    for _ in range(1000):
        port = random.randrange(20000, low) if low > 20001 else random.randrange(1024, low)
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port below %d" % low)


def _listens(pid, port):
    """True when process pid holds the socket listening on 127.0.0.1:port
    (read from /proc: a connection would be counted by the worker, and
    another program on the port would answer it just the same)."""
    want = "0100007F:%04X" % port
    inodes = set()
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    inodes.add("socket:[%s]" % fields[9])
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def tiedoted_path():
    return os.path.join(BUILD, "tiedoted")


def have_tiedoted():
    p = tiedoted_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


def sqlite(path):
    """Read-only connection to a tiedote database (never writes to it, so a
    test cannot mask a bug by "repairing" the file)."""
    uri = "file:" + urllib.request.pathname2url(os.path.abspath(path)) + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=5)


def events_stored(db):
    """The events a database holds; 0 while it cannot be read yet (a
    worker killed or starting), so a test can poll it."""
    try:
        with sqlite(db) as c:
            return c.execute("SELECT count(*) FROM events").fetchone()[0]
    except Exception:
        return 0


class Tiedoted:
    """One tiedoted worker with its own database, endpoint and log file.

    The database and log live in a temporary directory that survives
    restart() (so durability across restarts can be tested) and is removed
    at exit.
    """

    def __init__(self, port=None, workdir=None, log_level="info", extra_args=()):
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.workdir = workdir or tempdir()
        self.db = os.path.join(self.workdir, "tiedote.db")
        self.log = os.path.join(self.workdir, "tiedoted.log")
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.proc = None

    @property
    def endpoint(self):
        return "tcp://127.0.0.1:%d" % self.port

    def argv(self):
        return [tiedoted_path(), "--db", self.db, "--endpoint", self.endpoint,
                "--log-level", self.log_level] + self.extra_args

    def start(self, timeout=30.0, retries=3):
        """Start and wait until the worker itself listens on its port."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("tiedoted already running")
        # Append, so the log of a restarted worker keeps the earlier run.
        logf = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
        finally:
            logf.close()
        if self not in _daemons:
            _daemons.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if (not self.fixed_port and retries > 0
                        and "Address already in use" in self.log_tail(3)):
                    # another program took the port first: a new one
                    self._forget()
                    self.port = free_port()
                    return self.start(timeout, retries - 1)
                raise RuntimeError("tiedoted exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if _listens(self.proc.pid, self.port):
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("tiedoted did not listen on %s within %.0f s:\n%s"
                           % (self.endpoint, timeout, self.log_tail()))

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code (negative: killed by that
        signal).  A worker that ignores SIGTERM is SIGKILLed and None is
        returned, so a test can tell "did not stop" from any exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        rc = self.proc.returncode
        self._forget()
        return rc

    def kill(self):
        """SIGKILL, as a crash or power cut would, and wait."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        rc = self.proc.returncode
        self._forget()
        return rc

    def restart(self, timeout=30.0):
        rc = self.stop()
        self.start(timeout)
        return rc

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=20):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _forget(self):
        self.proc = None
        if self in _daemons:
            _daemons.remove(self)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_for(cond, timeout=30):
    """cond()'s first true value, polled every 50 ms; its last value after
    timeout s"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    return cond()


def wait_log(d, text, timeout=60):
    """True once text is in the worker's log, False after timeout s"""
    return wait_for(lambda: text in d.log_text(), timeout)


def refused_start(r, extra_args, name, words):
    """check that a worker with extra_args exits 78 at start, saying words"""
    d = Tiedoted(extra_args=extra_args)
    try:
        d.start()
        d.stop()
        r.check(False, name, "started")
    except RuntimeError as e:
        r.check("exited with 78" in str(e) and words in str(e), name, str(e)[-600:])


class Results:
    """Counts checks and prints the closing summary line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, name, detail=None):
        if cond:
            self.passed += 1
            print("ok - %s" % name)
        else:
            self.failed += 1
            print("not ok - %s" % name)
            if detail:
                for line in str(detail).splitlines():
                    print("#   " + line)
        sys.stdout.flush()
        return bool(cond)

    def skip(self, name, reason):
        """Not counted either way; shows in the log what could not run."""
        print("# skip - %s: %s" % (name, reason))

    def note(self, text):
        for line in str(text).splitlines():
            print("# " + line)

    def done(self):
        # Stop daemons first so nothing they print can come after the summary.
        _cleanup()
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


def main(body):
    """Run body(results); an uncaught exception counts as one failure and the
    summary line is still printed last."""
    r = Results()
    try:
        body(r)
    except SystemExit:
        raise
    except BaseException:
        r.check(False, "test program ran to the end", traceback.format_exc())
    r.done()


# --- test corpora (tests/data/*-events.json) -----------------------------------

def load_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def corpus(name):
    """tests/data/<name>-events.json as a list of dicts."""
    return load_json(os.path.join(DATA, name + "-events.json"))


def event_bytes(entry):
    """The exact request body for a corpus entry.

    "event" is normally the body as a JSON string (so malformed JSON fits in
    the corpus) and is sent as its UTF-8 encoding.  A few bodies are too big
    or impossible to store in a JSON file and are generated instead; such an
    "event" starts with "@":

      @300KiB        a news event whose body makes it ~300 KiB (over the
                     256 KiB limit, under ZeroMQ's 4x hard limit)
      @deep          an otherwise valid news event with a field holding
                     100,000 nested arrays ([[[...]]], balanced)
      @deep-open     100,000 '[' and nothing else
      @invalid-utf8  a news event whose title contains the byte 0xFF
      @bom           a valid news event preceded by a UTF-8 byte order mark
      @body:N:C      an announcement whose body is the character C repeated
                     N times (e.g. @body:65537:a); its id is derived from N
                     and C so every variant is a distinct event
    """
    ev = entry["event"]
    if not ev.startswith("@"):
        return ev.encode("utf-8")
    if ev == "@300KiB":
        para = ("Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma. " * 20).strip()
        body = "\n\n".join([para] * (300 * 1024 // len(para) + 1))
        return json.dumps({"id": "gen-300kib", "type": "news", "title": "Liian suuri",
                           "regions": ["all"], "body": body}).encode("utf-8")
    if ev == "@deep":
        n = 100000
        return (b'{"id": "gen-deep", "type": "news", "title": "Syva", "regions": ["all"], "x": '
                + b"[" * n + b"]" * n + b"}")
    if ev == "@deep-open":
        return b"[" * 100000
    if ev == "@invalid-utf8":
        return b'{"id": "gen-invalid-utf8", "type": "news", "title": "Virhe \xff", "regions": ["all"]}'
    if ev == "@bom":
        return b'\xef\xbb\xbf{"id": "gen-bom", "type": "news", "title": "BOM", "regions": ["all"]}'
    if ev.startswith("@body:"):
        _, n, ch = ev.split(":", 2)
        n = int(n)
        return json.dumps({"id": "gen-body-%d-%x" % (n, ord(ch)), "type": "announcement",
                           "title": "Pitkä tiedote", "regions": ["all"], "body": ch * n},
                          ensure_ascii=False).encode("utf-8")
    raise ValueError("unknown corpus marker %r" % ev)


def examples():
    """[(file name, bytes)] for every queue/examples/*.json, sorted."""
    d = os.path.join(QUEUE, "examples")
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name), "rb") as f:
                out.append((name, f.read()))
    return out


# --- self-test ---------------------------------------------------------------------
# tests/run.sh runs every tests/it/*.py, this module included; so running it
# checks the harness itself instead of failing for want of a summary line.

def _self_test(r):
    import io
    import contextlib

    inner = Results()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        inner.check(True, "a")
        inner.check(False, "b", "why")
    r.check((inner.passed, inner.failed) == (1, 1)
            and out.getvalue() == "ok - a\nnot ok - b\n#   why\n", "Results counts and prints", out.getvalue())

    ports = [free_port() for _ in range(50)]
    bindable = True
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                bindable = False
    r.check(bindable and len(set(ports)) == len(ports), "free_port gives bindable ports, never twice")
    r.check(1024 <= min(ports) and max(ports) < _ephemeral_low(),
            "free_port chooses below the kernel's ephemeral range", ports)
    if have_tiedoted():
        # a port taken between free_port() and the bind: a new one, not a failure
        d = Tiedoted()
        taken = d.port
        with socket.socket() as s:
            s.bind(("127.0.0.1", taken))
            s.listen(1)
            d.start()
            r.check(d.running() and d.port != taken,
                    "a worker whose port was taken starts on a fresh one", d.log_tail())
        d.stop()

    sizes = {m: len(event_bytes({"event": m})) for m in
             ("@300KiB", "@deep", "@deep-open", "@body:65536:a", "@body:21846:€")}
    r.check(262144 < sizes["@300KiB"] < 4 * 262144, "@300KiB is over the limit, under 4x", sizes)
    r.check(sizes["@deep"] < 262144 and sizes["@deep-open"] == 100000, "@deep fits the limit", sizes)
    body = json.loads(event_bytes({"event": "@body:21846:€"}))["body"]
    r.check(len(body.encode("utf-8")) == 65538, "@body:N:C repeats C N times", len(body))
    for m in ("@invalid-utf8", "@bom"):
        try:
            json.loads(event_bytes({"event": m}).decode("utf-8"))
            ok = False
        except ValueError:
            ok = True
        r.check(ok, "%s is not JSON Python accepts" % m)

    if not have_tiedoted():
        r.skip("Tiedoted start/stop", "%s does not exist" % tiedoted_path())
        return
    d = Tiedoted()
    d.start()
    r.check(d.running(), "Tiedoted.start waits until tiedoted listens")
    r.check(d.restart() == 0 and d.running(), "Tiedoted.restart: SIGTERM exit 0, running again")
    r.check(d.kill() == -signal.SIGKILL and not d.running(), "Tiedoted.kill: killed by SIGKILL")
    d.start()
    r.check(d.stop() == 0 and os.path.exists(d.log), "Tiedoted.stop returns 0, log file kept")


if __name__ == "__main__":
    main(_self_test)
