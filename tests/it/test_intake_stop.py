"""SIGTERM in the middle of a pipelined stream: tiedoted stops reading,
stores and answers what it had read, and exits 0.

A DEALER producer keeps up to 1,000 requests in flight (queue/README.md's
limit) from a stream of 20,000 events; once 3,000 are stored the worker
gets SIGTERM.  After it has exited and its last replies have been read:
  - the events acknowledged ("ok", matched by id) are exactly the events
    stored: none stored without its reply, none acknowledged unstored;
  - the stop came mid-stream (fewer than 20,000 stored), so the test
    cannot pass vacuously;
  - the exit code is 0 and the database is intact.
"""
import json
import threading
import time

import zmq

import harness

EVENTS = 20000
IN_FLIGHT = 1000
AT = 3000


def event(i):
    return {"id": "stop-%05d" % i, "type": "news",
            "title": {"fi": "Uutinen %d" % i, "sv": "Nyhet %d" % i},
            "summary": "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma alkaa.",
            "regions": ["KYS"], "published": "2020-01-24T15:43:00+02:00"}


def producer(endpoint, exited, out):
    """Sends while it may, reads every reply until the worker has exited
    and nothing more is on its way."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    acked, other, sent = set(), [], 0
    while True:
        while sent < EVENTS and sent - len(acked) - len(other) < IN_FLIGHT \
                and not exited.is_set():
            sock.send_multipart([b"", json.dumps(event(sent)).encode()])
            sent += 1
        # after the exit, whatever it flushed is local: half a second of
        # silence then means there is no more
        if not sock.poll(500 if exited.is_set() else 100):
            if exited.is_set():
                break
            continue
        _, body = sock.recv_multipart()
        reply = json.loads(body)
        if reply.get("status") == "ok":
            acked.add(reply["id"])
        else:
            other.append(reply)
    sock.close()
    ctx.term()
    out["acked"], out["other"], out["sent"] = acked, other, sent


def body(r):
    d = harness.Tiedoted(log_level="warning").start()
    exited, out = threading.Event(), {}
    t = threading.Thread(target=producer, args=(d.endpoint, exited, out))
    t.start()
    deadline = time.monotonic() + 120
    while harness.events_stored(d.db) < AT and time.monotonic() < deadline:
        time.sleep(0.01)    # polls the store's count, which is what it waits for
    n = harness.events_stored(d.db) >= AT
    rc = d.stop(timeout=60)
    exited.set()
    t.join(timeout=120)
    with harness.sqlite(d.db) as c:
        ids = {row[0] for row in c.execute("SELECT id FROM events")}
        check = c.execute("PRAGMA integrity_check").fetchone()[0]
    r.check(n, "%d events stored before the SIGTERM" % AT)
    r.check(rc == 0, "tiedoted exits 0 on SIGTERM mid-stream (%s)" % rc)
    r.check(len(ids) < EVENTS,
            "the stop came mid-stream: %d of %d stored, %d sent" % (len(ids), EVENTS,
                                                                 out.get("sent", 0)))
    acked = out.get("acked", set())
    r.check(acked == ids,
            "every stored event was answered ok and every ok was stored (%d stored,"
            " %d acknowledged)" % (len(ids), len(acked)),
            "stored unanswered %d, answered unstored %d"
            % (len(ids - acked), len(acked - ids)))
    r.check(out.get("other") == [], "no other reply: %s" % (out.get("other") or [])[:3])
    r.check(check == "ok", "integrity_check: %s" % check)


harness.main(body)
