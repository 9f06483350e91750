"""Chaos: 4 producers enqueue 10,000 events while tiedoted is SIGKILLed twice.

What must hold afterwards (issue: durable intake):
  - every producer finished with ok/duplicate for every one of its events;
  - every acknowledged event is stored exactly once: one events row at
    revision 1 and one event_revisions row, no more, no less;
  - the kills really happened mid-stream (the count at each kill is
    strictly between 0 and 10,000), so the test cannot pass vacuously.
"""
import json
import os
import subprocess
import time

import harness

PRODUCERS = 4
PER_PRODUCER = 2500


def make_batch(workdir, p):
    events = []
    for i in range(PER_PRODUCER):
        events.append({
            "id": "chaos-%d-%05d" % (p, i),
            "type": "news",
            "title": {"fi": "Uutinen %d/%d" % (p, i), "sv": "Nyhet %d/%d" % (p, i)},
            "summary": "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma alkaa.",
            "regions": [["HYKS", "TYKS", "TAYS", "KYS", "OYS"][i % 5]],
            "published": "2020-01-24T15:43:00+02:00",
        })
    path = os.path.join(workdir, "producer-%d.json" % p)
    with open(path, "w") as f:
        json.dump(events, f, ensure_ascii=False)
    return path


def stored(db):
    try:
        with harness.sqlite(db) as c:
            return c.execute("SELECT count(*) FROM events").fetchone()[0]
    except Exception:
        return 0


def body(r):
    d = harness.Tiedoted(log_level="warning").start()
    files = [make_batch(d.workdir, p) for p in range(PRODUCERS)]
    cli = os.path.join(harness.BUILD, "tiedote")
    procs = [subprocess.Popen(
        [cli, "--endpoint", d.endpoint, "--db", d.db, "-o", "client.timeout_ms=500",
         "-o", "client.total_timeout_ms=60000", "--json", "enqueue", f],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]

    kills = []
    for threshold in (1500, 5500):
        deadline = time.monotonic() + 60
        while stored(d.db) < threshold and time.monotonic() < deadline:
            time.sleep(0.01)
        d.kill()
        kills.append(stored(d.db))
        d.start()

    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in enumerate(outs):
        rc = procs[p].returncode
        replies = json.loads(out) if out.strip() else []
        good = sum(1 for x in replies if x.get("status") in ("ok", "duplicate"))
        r.check(rc == 0 and good == PER_PRODUCER,
                "producer %d: exit 0 and ok/duplicate for all %d events" % (p, PER_PRODUCER),
                "exit %s, %d good replies\n%s" % (rc, good, err.decode()[-2000:]))
    r.check(len(kills) == 2 and all(0 < k < PRODUCERS * PER_PRODUCER for k in kills),
            "both SIGKILLs landed mid-stream (stored at kill: %s)" % kills)
    r.check(d.stop() == 0, "tiedoted stops cleanly on SIGTERM after the chaos")

    with harness.sqlite(d.db) as c:
        n_events, max_rev = c.execute("SELECT count(*), max(revision) FROM events").fetchone()
        n_revs = c.execute("SELECT count(*) FROM event_revisions").fetchone()[0]
        ids = {row[0] for row in c.execute("SELECT id FROM events")}
        check = c.execute("PRAGMA integrity_check").fetchone()[0]
    want = {"chaos-%d-%05d" % (p, i) for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    r.check(ids == want, "every acknowledged event is stored",
            "missing %d, unexpected %d" % (len(want - ids), len(ids - want)))
    r.check(n_events == 10000 and n_revs == 10000 and max_rev == 1,
            "each stored exactly once (events %d, revisions %d, max revision %s)"
            % (n_events, n_revs, max_rev))
    r.check(check == "ok", "database integrity_check after two SIGKILLs: %s" % check)


harness.main(body)
