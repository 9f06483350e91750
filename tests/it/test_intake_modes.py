"""The intake's socket changes hands while producers come and go.

A lone request is read, stored and answered by the loop's thread; when
several arrive together the socket goes to the intake's own thread, and
back to the loop once the stream has thinned to one request at a time
(src/store/intake.c).  Three producers run at once, each alternating
lock-step runs (a REQ socket, one request at a time) with pipelined
bursts (a DEALER with up to 200 requests in flight), for several rounds,
and beside them four lock-step producers all along, whose requests now
come one at a time and now together, so the socket changes hands often
(a hand-back racing the loop's next read once broke replies here):
  - every lock-step request gets its own reply, "ok" with its id;
  - every pipelined request gets exactly one reply, "ok" with its id;
  - the store holds every event sent, once, and nothing else;
  - the socket changed hands both ways several times (the worker's debug
    log says so), so the test exercised what it is about.
"""
import json
import threading

import zmq

import harness

PRODUCERS = 3
LOCKSTEP_ONLY = 4
LOCKSTEP_ONLY_EVENTS = 1500
ROUNDS = 6
LOCKSTEP = 30
BURST = 600
IN_FLIGHT = 200


def event(p, rnd, kind, i):
    return {"id": "modes-%d-%d-%s-%04d" % (p, rnd, kind, i), "type": "news",
            "title": {"fi": "Uutinen %d" % i},
            "summary": "Tulevaisuuden sosiaali- ja terveyskeskus -ohjelma.",
            "regions": ["KYS"], "published": "2020-01-24T15:43:00+02:00"}


def lockstep(ctx, endpoint, events, sent, acked, wrong):
    """One REQ socket, each event after the last one's reply."""
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(endpoint)
    try:
        for ev in events:
            sent.add(ev["id"])
            req.send(json.dumps(ev).encode())
            if not req.poll(30000):
                wrong.append("no reply to %s" % ev["id"])
                break
            reply = json.loads(req.recv())
            if reply.get("status") == "ok" and reply.get("id") == ev["id"]:
                acked.add(ev["id"])
            else:
                wrong.append("%s got %s" % (ev["id"], reply))
    finally:
        req.close()


def producer(endpoint, p, out):
    ctx = zmq.Context()
    sent, acked, wrong = set(), set(), []
    try:
        for rnd in range(ROUNDS):
            lockstep(ctx, endpoint, (event(p, rnd, "l", i) for i in range(LOCKSTEP)),
                     sent, acked, wrong)
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.connect(endpoint)
            n, answered = 0, 0
            while answered < BURST:
                while n < BURST and n - answered < IN_FLIGHT:
                    ev = event(p, rnd, "p", n)
                    sent.add(ev["id"])
                    dealer.send_multipart([b"", json.dumps(ev).encode()])
                    n += 1
                if not dealer.poll(30000):
                    wrong.append("burst %d: %d of %d answered" % (rnd, answered, BURST))
                    break
                _, body = dealer.recv_multipart()
                reply = json.loads(body)
                answered += 1
                if reply.get("status") != "ok" or reply.get("id") in acked:
                    wrong.append("burst reply %s" % reply)
                else:
                    acked.add(reply["id"])
            dealer.close()
    finally:
        ctx.term()
        out[p] = (sent, acked, wrong)


def lockstep_only(endpoint, p, out):
    ctx = zmq.Context()
    sent, acked, wrong = set(), set(), []
    try:
        lockstep(ctx, endpoint, (event(p, 0, "s", i) for i in range(LOCKSTEP_ONLY_EVENTS)),
                 sent, acked, wrong)
    finally:
        ctx.term()
        out[p] = (sent, acked, wrong)


def body(r):
    with harness.Tiedoted(log_level="debug") as d:
        out = {}
        threads = [threading.Thread(target=producer, args=(d.endpoint, p, out))
                   for p in range(PRODUCERS)]
        threads += [threading.Thread(target=lockstep_only, args=(d.endpoint, p, out))
                    for p in range(PRODUCERS, PRODUCERS + LOCKSTEP_ONLY)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        sent = set().union(*(out[p][0] for p in out))
        acked = set().union(*(out[p][1] for p in out))
        wrong = [w for p in out for w in out[p][2]]
        total = PRODUCERS * ROUNDS * (LOCKSTEP + BURST) + LOCKSTEP_ONLY * LOCKSTEP_ONLY_EVENTS
        r.check(len(out) == PRODUCERS + LOCKSTEP_ONLY and len(sent) == total,
                "%d producers sent %d events" % (len(out), len(sent)))
        r.check(wrong == [], "every request got one reply, ok with its own id",
                "; ".join(wrong[:5]))
        r.check(acked == sent, "%d of %d acknowledged" % (len(acked), len(sent)))
        with harness.sqlite(d.db) as c:
            ids = [row[0] for row in c.execute("SELECT id FROM events")]
        r.check(len(ids) == len(set(ids)) and set(ids) == sent,
                "the store holds every event sent, once (%d rows)" % len(ids))
        log = d.log_text()
        to_thread = log.count("intake: the intake's thread reads the socket")
        to_loop = log.count("intake: the loop reads the socket again")
        r.check(to_thread >= ROUNDS and to_loop >= ROUNDS,
                "the socket changed hands: %d times to the thread, %d back to the loop"
                % (to_thread, to_loop))
        r.check(d.running(), "the worker is still running")
        r.check(d.stop(timeout=60) == 0, "and exits 0 on SIGTERM")


harness.main(body)
