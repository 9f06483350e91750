"""SIGHUP: the worker reads its configuration file again; the keys a
reload applies take effect (log.level: the info lines stop), a change
that needs a restart is named and not applied, a file that does not load
changes nothing, and the worker goes on taking events throughout."""
import os
import signal
import subprocess
import time

import harness

CLI = os.path.join(harness.BUILD, "tiedote")
WAIT_S = 30


class Worker(harness.Tiedoted):
    """A worker whose log level comes from its file (-c), not the flag"""

    def __init__(self, conf):
        super().__init__()
        self.conf = conf

    def argv(self):
        return [harness.tiedoted_path(), "-c", self.conf, "--db", self.db,
                "--endpoint", self.endpoint]


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def enqueue(d, n):
    p = subprocess.run([CLI, "--db", d.db, "--endpoint", d.endpoint, "enqueue", "deadline",
                        "--id", "reload-%d" % n, "--title", "T", "--due",
                        "2030-06-30T16:15+03:00", "--regions", "KYS", "--url",
                        "https://stm.fi/haku"], capture_output=True, timeout=60)
    return p.returncode


def hup(d, marker):
    """SIGHUP, and wait for the reload's log line after the marker'th one"""
    before = d.log_text().count(marker)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and d.log_text().count(marker) == before:
        time.sleep(0.02)
    lines = [l for l in d.log_text().splitlines() if marker in l]
    return lines[-1] if len(lines) > before else ""


def body(r):
    workdir = harness.tempdir()
    conf = os.path.join(workdir, "tiedote.conf")
    write(conf, "[log]\nlevel = info\n[smtp]\nretry_base_s = 300\n")
    d = Worker(conf).start()
    r.check(enqueue(d, 1) == 0 and "stored deadline reload-1" in d.log_text(),
            "at log.level info a stored event is logged")

    write(conf, "[log]\nlevel = warning\n[smtp]\nretry_base_s = 60\nurl = smtp://127.0.0.1:1\n")
    line = hup(d, "reload:")
    r.check("applied log.level, smtp.retry_base_s" in line and "smtp.url" in line.split(
            "restart", 1)[-1], "the reload names what it applied and what needs a restart",
            line)
    r.check(enqueue(d, 2) == 0 and "reload-2" not in d.log_text(),
            "after the reload (log.level warning) a stored event is not logged")

    write(conf, "[log]\nlevel = debug\nnonsense\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and "running configuration is kept" not in d.log_text():
        time.sleep(0.02)
    r.check("tiedote.conf:3" in d.log_text() and "running configuration is kept"
            in d.log_text(), "a file that does not load: its line named, nothing changed",
            d.log_tail(3))
    r.check(enqueue(d, 3) == 0 and "reload-3" not in d.log_text() and d.running(),
            "the worker still runs at log.level warning")
    r.check(d.stop() == 0, "and stops cleanly")


harness.main(body)
