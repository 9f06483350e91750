"""systemd: the unit's exposure score, and what the worker says to the
manager (READY=1 once migrations, templates and sockets are ready,
WATCHDOG=1 from the loop, STOPPING=1 at SIGTERM), read from a
NOTIFY_SOCKET datagram socket this test binds itself."""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import harness

UNIT = os.path.join(harness.ROOT, "systemd", "tiedoted.service")
EXPOSURE_MAX = 2.0
WATCHDOG_USEC = 200000		# pings every 100 ms
WAIT_S = 30			# bound against a worker that never says it


def exposure(r, text, name):
    """systemd-analyze security --offline=yes on a unit file's text."""
    d = harness.tempdir()
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text.replace("@SBINDIR@", "/usr/local/sbin"))
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    if not m:
        r.check(False, "systemd-analyze gave a score for %s" % name, p.stdout + p.stderr)
        return None
    return float(m.group(1))


def unit_checks(r):
    if shutil.which("systemd-analyze") is None:
        r.check(False, "systemd-analyze is installed (Debian's systemd package)")
        return
    with open(UNIT) as f:
        text = f.read()
    score = exposure(r, text, "tiedoted.service")
    if score is not None:
        r.check(score <= EXPOSURE_MAX, "systemd-analyze security --offline=yes: exposure %.1f"
                " <= %.1f" % (score, EXPOSURE_MAX))
        r.note("exposure of systemd/tiedoted.service: %.1f" % score)
    # the check can fail: the same unit without its hardening scores high
    bare = "\n".join(l for l in text.splitlines()
                     if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|"
                                     r"NoNewPrivileges|MemoryDeny|LockPersonality|ProcSubset|"
                                     r"DevicePolicy|KeyringMode|RemoveIPC|UMask)", l))
    weak = exposure(r, bare, "weak.service")
    if weak is not None:
        r.check(weak > EXPOSURE_MAX, "the unit without its hardening scores %.1f > %.1f"
                % (weak, EXPOSURE_MAX))
    for key in ("Type=notify", "WatchdogSec=", "ProtectSystem=strict", "ReadWritePaths=",
                "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
                "MemoryDenyWriteExecute=yes", "ExecReload=",
                "RestartPreventExitStatus=64 78"):
        r.check(key in text, "the unit has %s" % key.strip())


def recv(sock, deadline):
    """The next datagram as a dict of its assignments, or None at the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    sock.settimeout(left)
    try:
        data = sock.recv(4096).decode()
    except socket.timeout:
        return None
    return dict(l.split("=", 1) for l in data.splitlines() if "=" in l)


def notify_checks(r):
    d = harness.tempdir()
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    w = harness.Tiedoted()
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    with open(w.log, "ab") as logf:
        proc = subprocess.Popen(w.argv(), stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                env=env)
    w.proc = proc
    harness._daemons.append(w)
    deadline = time.monotonic() + WAIT_S
    got = []
    ready_when = None
    while ready_when is None:
        m = recv(sock, deadline)
        if m is None:
            break
        got.append(m)
        if m.get("READY") == "1":
            # at the moment it says so, everything must be in place
            with harness.sqlite(w.db) as c:
                version = c.execute("PRAGMA user_version").fetchone()[0]
            ready_when = (harness._listens(proc.pid, w.port), version,
                          os.path.exists(os.path.join(w.workdir, "tiedote.control")))
    r.check(ready_when is not None, "READY=1 sent", "%s\n%s" % (got, w.log_tail()))
    if ready_when:
        r.check(ready_when[0], "at READY=1 the intake socket listens")
        r.check(ready_when[1] > 0, "at READY=1 the migrations have run (schema %d)"
                % ready_when[1])
        r.check(ready_when[2], "at READY=1 the control socket exists")
        r.check(any("STATUS" in m for m in got), "READY=1 comes with a STATUS= line")
    pings = 0
    while pings < 3:
        m = recv(sock, deadline)
        if m is None:
            break
        pings += m.get("WATCHDOG") == "1"
    r.check(pings == 3, "WATCHDOG=1 sent again and again with WATCHDOG_USEC set")
    r.check("WATCHDOG=1 every 100 ms" in w.log_text(), "the watchdog's interval is half"
            " WATCHDOG_USEC", w.log_tail())
    proc.send_signal(signal.SIGTERM)
    stopping = False
    while not stopping:
        m = recv(sock, deadline)
        if m is None:
            break
        stopping = m.get("STOPPING") == "1"
    r.check(stopping, "STOPPING=1 sent at SIGTERM")
    r.check(proc.wait(WAIT_S) == 0, "and the worker exits 0")
    w._forget()

    # no watchdog asked for: no pings (WATCHDOG_PID names another process)
    w2 = harness.Tiedoted()
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC),
               WATCHDOG_PID="1")
    with open(w2.log, "ab") as logf:
        proc = subprocess.Popen(w2.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf, env=env)
    w2.proc = proc
    harness._daemons.append(w2)
    deadline = time.monotonic() + WAIT_S
    seen = []
    while True:
        m = recv(sock, deadline)
        if m is None or m.get("READY") == "1":
            break
        seen.append(m)
    proc.send_signal(signal.SIGTERM)
    while True:
        m = recv(sock, deadline)
        if m is None or m.get("STOPPING") == "1":
            break
        seen.append(m)
    proc.wait(WAIT_S)
    w2._forget()
    r.check(not any("WATCHDOG" in m for m in seen),
            "no WATCHDOG=1 when WATCHDOG_PID is another process's", seen)
    sock.close()


def body(r):
    unit_checks(r)
    notify_checks(r)


harness.main(body)
