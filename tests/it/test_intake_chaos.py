"""Chaos: 4 lock-step producers enqueue 10,000 events, and one pipelined
producer 10,000 more (a DEALER keeping 256 in flight), while tiedoted is
SIGKILLed twice.

What must hold afterwards (issue: durable intake):
  - every producer finished with ok/duplicate for every one of its events;
  - the pipelined producer counted an event acknowledged only on its own
    reply (matched by id), and resent what had none;
  - every acknowledged event is stored exactly once: one events row at
    revision 1 and one event_revisions row, no more, no less;
  - the kills really happened mid-stream (the count at each kill is
    strictly between 0 and 10,000), so the test cannot pass vacuously.
"""
import json
import os
import subprocess
import threading
import time

import zmq

import harness

PRODUCERS = 4
PER_PRODUCER = 2500
PIPELINED = 10000      # more than stored at the first kill: it is mid-stream then
IN_FLIGHT = 256


def pipelined(endpoint, events, out):
    """A DEALER with up to IN_FLIGHT requests out; replies matched by id.
    No reply for a second: a new socket, and every unacknowledged event
    sent again (the Lazy Pirate of queue/README.md, many at a time)."""
    ctx = zmq.Context()
    acked, replies, sockets = set(), 0, 0
    deadline = time.monotonic() + 120
    while len(acked) < len(events) and time.monotonic() < deadline:
        sock = ctx.socket(zmq.DEALER)
        sockets += 1
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        pending = [e for e in events if e["id"] not in acked]
        out_now = set()
        while pending or out_now:
            while pending and len(out_now) < IN_FLIGHT:
                e = pending.pop(0)
                sock.send_multipart([b"", json.dumps(e).encode()])
                out_now.add(e["id"])
            if not sock.poll(1000):
                break           # the worker is gone: a fresh socket
            _, body = sock.recv_multipart()
            reply = json.loads(body)
            replies += 1
            if reply.get("status") in ("ok", "duplicate") and reply.get("id") in out_now:
                acked.add(reply["id"])
                out_now.discard(reply["id"])
        sock.close()
    ctx.term()
    out["acked"], out["replies"], out["sockets"] = acked, replies, sockets


def make_batch(workdir, p, n=PER_PRODUCER):
    events = []
    for i in range(n):
        events.append({
            "id": "chaos-%s-%05d" % (p, i),
            "type": "news",
            "title": {"fi": "Uutinen %s/%d" % (p, i), "sv": "Nyhet %s/%d" % (p, i)},
            "summary": "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma alkaa.",
            "regions": [["HYKS", "TYKS", "TAYS", "KYS", "OYS"][i % 5]],
            "published": "2020-01-24T15:43:00+02:00",
        })
    path = os.path.join(workdir, "producer-%s.json" % p)
    with open(path, "w") as f:
        json.dump(events, f, ensure_ascii=False)
    return path


def body(r):
    d = harness.Tiedoted(log_level="warning").start()
    files = [make_batch(d.workdir, p) for p in range(PRODUCERS)]
    cli = os.path.join(harness.BUILD, "tiedote")
    procs = [subprocess.Popen(
        [cli, "--endpoint", d.endpoint, "--db", d.db, "-o", "client.timeout_ms=500",
         "-o", "client.total_timeout_ms=60000", "--json", "enqueue", f],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    with open(make_batch(d.workdir, "p", PIPELINED)) as f:
        piped_events = json.load(f)
    piped = {}
    piper = threading.Thread(target=pipelined, args=(d.endpoint, piped_events, piped))
    piper.start()

    kills = []
    for threshold in (1500, 5500):
        deadline = time.monotonic() + 60
        while harness.events_stored(d.db) < threshold and time.monotonic() < deadline:
            time.sleep(0.01)
        d.kill()
        kills.append(harness.events_stored(d.db))
        d.start()

    outs = [p.communicate(timeout=120) for p in procs]
    piper.join(timeout=150)
    r.check(len(piped.get("acked", ())) == PIPELINED,
            "the pipelined producer: every one of its %d events acknowledged by its own reply"
            " (%d replies in all)" % (PIPELINED, piped.get("replies", 0)))
    r.check(piped.get("sockets", 0) >= 2,
            "the pipelined producer lived through a kill: %d sockets" % piped.get("sockets", 0))
    for p, (out, err) in enumerate(outs):
        rc = procs[p].returncode
        replies = json.loads(out) if out.strip() else []
        good = sum(1 for x in replies if x.get("status") in ("ok", "duplicate"))
        r.check(rc == 0 and good == PER_PRODUCER,
                "producer %d: exit 0 and ok/duplicate for all %d events" % (p, PER_PRODUCER),
                "exit %s, %d good replies\n%s" % (rc, good, err.decode()[-2000:]))
    total = PRODUCERS * PER_PRODUCER + PIPELINED
    r.check(len(kills) == 2 and all(0 < k < total for k in kills),
            "both SIGKILLs landed mid-stream (stored at kill: %s)" % kills)
    r.check(d.stop() == 0, "tiedoted stops cleanly on SIGTERM after the chaos")

    with harness.sqlite(d.db) as c:
        n_events, max_rev = c.execute("SELECT count(*), max(revision) FROM events").fetchone()
        n_revs = c.execute("SELECT count(*) FROM event_revisions").fetchone()[0]
        ids = {row[0] for row in c.execute("SELECT id FROM events")}
        check = c.execute("PRAGMA integrity_check").fetchone()[0]
    want = {"chaos-%d-%05d" % (p, i) for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    want |= {"chaos-p-%05d" % i for i in range(PIPELINED)}
    r.check(ids == want, "every acknowledged event is stored",
            "missing %d, unexpected %d" % (len(want - ids), len(ids - want)))
    r.check(n_events == total and n_revs == total and max_rev == 1,
            "each stored exactly once (events %d, revisions %d, max revision %s)"
            % (n_events, n_revs, max_rev))
    r.check(check == "ok", "database integrity_check after two SIGKILLs: %s" % check)


harness.main(body)
