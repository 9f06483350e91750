"""tiedote backup while a send runs, tiedote check, and a restore: the
backup is one consistent state (each recipient of the issue has exactly
one outbox row, nothing half-written); restored and started, the worker
finishes the send with no row lost or doubled."""
import os
import shutil
import subprocess
import time

import harness
from test_send import Clock, cli, db_rows, prepare, start_capture, wait_issue, worker

N = 2000			# a send of some seconds; the backup takes about 0.1 s
WAIT_S = 120


def body(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port).start()
    prepare(d, clock, N)
    clock.set("2020-03-17T09:00:01+02:00")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if db_rows(d, "SELECT count(*) FROM outbox WHERE kind = 'bulletin' AND state = 'sent'"
                   )[0][0] >= N // 10:
            break
        time.sleep(0.05)
    backup = os.path.join(workdir, "backup.db")
    t0 = time.monotonic()
    old_mask = os.umask(0o022)      # a staff shell's: files come out 0644
    try:
        rc, out, err = cli(d, "backup", backup)
    finally:
        os.umask(old_mask)
    took = time.monotonic() - t0
    r.check(rc == 0 and os.path.isfile(backup), "tiedote backup while the issue is being sent"
            " (%.2f s)" % took, err)
    mode = os.stat(backup).st_mode & 0o777
    r.check(mode == 0o600, "the backup (every address, the links' key) is mode 0600 under"
            " umask 022", oct(mode))
    rc2, _, err2 = cli(d, "backup", backup)
    r.check(rc2 == 73 and "exists" in err2, "a backup never overwrites a file (exit 73)", err2)
    rc, out, err = cli(d, "check", backup)
    r.check(rc == 0 and "ok" in out, "tiedote check FILE: the backup is whole", out + err)
    left = sorted(f for f in os.listdir(workdir) if f.startswith("backup.db"))
    r.check(left == ["backup.db"], "the backup is one file, also once checked", str(left))

    b = harness.sqlite(backup)
    states = dict(b.execute("SELECT state, count(*) FROM outbox WHERE kind = 'bulletin'"
                            " GROUP BY state").fetchall())
    rows, distinct = b.execute("SELECT count(*), count(DISTINCT recipient) FROM outbox"
                               " WHERE kind = 'bulletin'").fetchone()
    recipients = b.execute("SELECT recipients FROM issues").fetchone()[0]
    r.check(states.get("sent", 0) > 0 and states.get("queued", 0) + states.get("sending", 0) > 0,
            "the backup was taken mid-send: %s" % states)
    r.check(rows == distinct == recipients == N, "in the backup each of the %d recipients has"
            " exactly one row (%d rows, %d distinct)" % (N, rows, distinct))
    subs_b = b.execute("SELECT email, name, lang, regions, status FROM subscribers"
                       " ORDER BY email").fetchall()
    events_b = b.execute("SELECT id, revision, body FROM events ORDER BY id").fetchall()
    sent_b = {x[0] for x in b.execute("SELECT recipient FROM outbox WHERE state = 'sent'")}
    b.close()

    state = wait_issue(d, ("sent",), timeout=WAIT_S)
    r.check(state == "sent", "the live send finishes", d.log_tail())
    sent_live = {x[0] for x in db_rows(d, "SELECT recipient FROM outbox WHERE state = 'sent'")}
    r.check(sent_b <= sent_live, "what the backup says was sent was sent")
    r.check(subs_b == db_rows(d, "SELECT email, name, lang, regions, status FROM subscribers"
                                 " ORDER BY email")
            and events_b == db_rows(d, "SELECT id, revision, body FROM events ORDER BY id"),
            "subscribers and events in the backup equal the live ones")
    r.check(d.stop() == 0, "the worker stops")
    cap.kill()
    cap.wait()

    # restore: the backup as the database of a new worker, which finishes the send
    restored = harness.tempdir()
    shutil.copy(backup, os.path.join(restored, "tiedote.db"))
    cap2, port2, outdir2 = start_capture(restored)
    os.environ["TIEDOTE_NOW_FILE"] = clock.path
    d2 = worker(restored, port2).start()
    state = wait_issue(d2, ("sent",), timeout=WAIT_S)
    r.check(state == "sent", "restored, the worker finishes the issue", d2.log_tail())
    final = db_rows(d2, "SELECT state, count(*), count(DISTINCT recipient) FROM outbox"
                        " WHERE kind = 'bulletin' GROUP BY state")
    r.check(final == [("sent", N, N)], "restored: %d rows, all sent, none doubled" % N,
            final)
    with open(os.path.join(outdir2, "log.jsonl")) as f:
        resent = [l for l in f if l.strip()]
    r.check(len(resent) == N - len(sent_b), "the restored worker sent exactly the %d rows"
            " the backup had not sent" % (N - len(sent_b)), len(resent))
    r.check(d2.stop() == 0, "the restored worker stops")
    cap2.kill()
    cap2.wait()

    # check finds damage
    bad = os.path.join(workdir, "bad.db")
    shutil.copy(backup, bad)
    with open(bad, "r+b") as f:
        size = os.path.getsize(bad)
        f.seek(size // 2)
        f.write(b"\xff" * 4096)
    rc, out, err = cli(d, "check", bad)
    r.check(rc in (65, 66), "tiedote check: a damaged copy is refused (exit %d)" % rc,
            out + err)
    # the database side: a missing database or a file that is not one is
    # no input (66), the copy's side no output (74)
    text = os.path.join(workdir, "notes.txt")
    with open(text, "w") as f:
        f.write("not a database, " * 512)
    for what, src in (("a missing database", os.path.join(workdir, "nonexistent.db")),
                      ("a file that is not a database", text)):
        out_path = os.path.join(workdir, "copy-%d.db" % len(what))
        p = subprocess.run([os.path.join(harness.BUILD, "tiedote"), "--db", src, "backup",
                            out_path], capture_output=True, timeout=60)
        r.check(p.returncode == 66 and not os.path.exists(out_path) and
                not [f for f in os.listdir(workdir) if f.startswith("copy-")],
                "backup of %s: exit 66, nothing left" % what,
                (p.returncode, p.stderr.decode()))
    r.note("backup of a %d-recipient store mid-send: %.2f s" % (N, took))


harness.main(body)
