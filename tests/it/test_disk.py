"""A full disk in the middle of a send (issue #13): the database lives on a
small tmpfs of its own, and once 2,000 of 20,000 readers have the bulletin
the rest of the file system is filled to the last byte.  The worker must
notice (its once-a-second look, or a commit that finds the store full),
say so once, answer events "unavailable" (the CLI exits 75), claim
nothing new, keep whatever outcome it could not commit, and, once the
filler is gone, go on by itself: every row final, each reader served
exactly once, "issue N created" logged once, one line when the space went
and one when it came back.  Beforehand the database, its WAL and -shm
stay within store.max_size_mb while the send runs (the WAL is counted).

The test mounts a tmpfs, so it runs as root (as CI does).
"""
import json
import os
import sqlite3
import subprocess
import time

import harness
from test_send import Clock, cli, db_rows, prepare, start_capture, wait_issue, worker

N = 20000
TMPFS_MB = 48
RESERVE_MB = 4
CAP_MB = 40


def mount_tmpfs(path, mb):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % mb, "tmpfs", path],
                   check=True)
    harness._cleanups.append(lambda: subprocess.run(["umount", "-l", path]))


def fill(path):
    """Write until the file system refuses; the bytes written"""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(chunk)
        except OSError:
            pass
        # the last pages a partial chunk can still take
        for size in (4096, 512, 1):
            try:
                while True:
                    n += f.write(chunk[:size])
            except OSError:
                pass
    return n


def files_size(db):
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += os.stat(db + suffix).st_size
        except FileNotFoundError:
            pass
    return total


def count_sent(d):
    try:
        return db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    except sqlite3.OperationalError:
        return 0


def body(r):
    if os.geteuid() != 0:
        r.check(False, "runs as root to mount its tmpfs (CI does)")
        return
    workdir = harness.tempdir()
    disk = os.path.join(workdir, "disk")
    mount_tmpfs(disk, TMPFS_MB)
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "store.reserve_mb=%d" % RESERVE_MB,
                               "-o", "store.max_size_mb=%d" % CAP_MB])
    d.db = os.path.join(disk, "tiedote.db")
    d.start()
    prepare(d, clock, N)
    clock.set("2020-03-17T09:00:01+02:00")
    biggest = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and count_sent(d) < 2000:
        biggest = max(biggest, files_size(d.db))
        time.sleep(0.05)
    r.note("database, WAL and -shm at most %.1f MiB while the issue was filled and sent"
           % (biggest / 1048576))
    r.check(0 < biggest <= CAP_MB << 20, "the store's files stay within store.max_size_mb")

    filler = os.path.join(disk, "filler")
    wrote = fill(filler)
    r.note("filler: %.1f MiB; %d rows sent when the disk filled"
           % (wrote / 1048576, count_sent(d)))
    r.check(harness.wait_log(d, "store: short of disk space"), "the worker says it is short of space",
            d.log_tail())
    t0 = time.monotonic()
    rc, out, err = cli(d, "-o", "client.total_timeout_ms=3000", "enqueue", os.path.join(harness.QUEUE, "examples",
                                                  harness.examples()[0][0]))
    r.note("enqueue answered in %.1f s" % (time.monotonic() - t0))
    r.check(rc == 75 and "unavailable" in err,
            "an event while the disk is full: unavailable, exit 75", (rc, out, err))
    r.check(d.running(), "the worker keeps running")
    os.unlink(filler)
    r.check(harness.wait_log(d, "store: disk space back"), "it resumes by itself once there is room",
            d.log_tail())
    state = wait_issue(d, ("sent",), timeout=600)
    r.check(state == "sent", "the issue completes", d.log_tail())
    rows = db_rows(d, "SELECT state, count(*) FROM outbox GROUP BY state")
    r.check(all(s in ("sent", "skipped") for s, _ in rows), "every row final", rows)
    with open(os.path.join(outdir, "log.jsonl")) as f:
        log = [json.loads(line) for line in f]
    seen = {}
    for e in log:
        seen[e["rcpt"]] = seen.get(e["rcpt"], 0) + 1
    sent = count_sent(d)
    dups = len(log) - len(seen)
    r.check(len(seen) == sent and dups == 0,
            "each reader got it exactly once: %d readers, %d duplicates" % (len(seen), dups))
    text = d.log_text()
    r.check(text.count("store: short of disk space") == 1 and
            text.count("store: disk space back") == 1,
            "one log line when the space went, one when it came back",
            [l for l in text.splitlines() if "store:" in l])
    created = [l for l in text.splitlines() if "created" in l and "issue" in l]
    r.check(len(created) == 1, "the issue's creation logged once", created)
    # short of space again, the disk not quite full (the reserve's
    # state): the control socket keeps the reserve too. What adds data is
    # refused before a try; what frees or changes a row in place runs
    st = os.statvfs(disk)
    with open(filler, "wb") as f:
        left = st.f_bavail * st.f_frsize - (RESERVE_MB << 20) // 2
        while left > 0:
            left -= f.write(b"\0" * min(left, 1 << 20))
    r.check(harness.wait_for(lambda: d.log_text().count("store: short of disk space") == 2),
            "below the reserve again: short of space", d.log_tail())
    subs = os.path.join(workdir, "more.csv")
    with open(subs, "w") as f:
        f.write("email,name\n" + "".join("uusi%05d@example.fi,Uusi %d\n" % (i, i)
                                         for i in range(3000)))
    before = db_rows(d, "SELECT count(*) FROM subscribers")[0][0]
    rc, out, err = cli(d, "subscriber", "import", subs)
    rc2, out2, err2 = cli(d, "subscriber", "add", "lisa@example.fi")
    r.check(rc == 75 and rc2 == 75 and err.count("short of disk space") == 1 and
            "short of disk space" in err2 and
            db_rows(d, "SELECT count(*) FROM subscribers")[0][0] == before,
            "an import and an add while short of space: refused (75, said why), nothing"
            " written", (rc, err, rc2, err2))
    staged = db_rows(d, "SELECT count(*) FROM import_rows")[0][0]
    r.check(staged == 0, "no import rows staged while short of space", staged)
    (victim,), = db_rows(d, "SELECT email FROM subscribers WHERE status = 'active'"
                            " ORDER BY id LIMIT 1")
    rc, out, err = cli(d, "subscriber", "remove", victim)
    r.check(rc == 0 and db_rows(d, "SELECT status FROM subscribers WHERE email = ?",
                                (victim,)) == [("unsubscribed",)],
            "an unsubscribe while short of space still goes through", (rc, err))
    os.unlink(filler)
    r.check(harness.wait_for(lambda: d.log_text().count("store: disk space back") == 2),
            "and back", d.log_tail())
    rc, out, err = cli(d, "subscriber", "add", "lisa@example.fi")
    r.check(rc == 0, "with room again, an add goes through", err)
    r.check(d.stop() == 0, "the worker stops cleanly")
    r.note("\n".join(l for l in text.splitlines()
                      if "disk space" in l or "sender:" in l or "intake:" in l and "stored" not in l))
    cap.kill()
    cap.wait()


if __name__ == "__main__":
    harness.main(body)
