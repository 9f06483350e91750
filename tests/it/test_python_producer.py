#!/usr/bin/python3
"""tests/it/producer.py (written from queue/README.md alone) against tiedoted.

Everything checked here is a promise of the README: replies and revisions,
the DEALER framing, bad_frames, Lazy Pirate retries while the worker is
down, durability across a crash, exit 0 on SIGTERM.  The database is not
inspected: its layout is not part of the contract.
"""

import copy
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NEWS = os.path.join(harness.QUEUE, "examples", "news-aluekoordinaattorit.json")
DEADLINE = os.path.join(harness.QUEUE, "examples", "deadline-valtionavustus-2020.json")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def dumps(obj, **kw):
    return json.dumps(obj, ensure_ascii=False, **kw).encode("utf-8")


def show(reply):
    return json.dumps(reply, ensure_ascii=False)[:300]


def expect(r, reply, status, ev_id, revision, name):
    r.check(isinstance(reply, dict) and reply.get("status") == status
            and reply.get("id") == ev_id and reply.get("revision") == revision,
            name, "want status=%s id=%s revision=%s\ngot  %s" % (status, ev_id, revision, show(reply)))


def raw_request(endpoint, frames, socket_type, timeout=30):
    """Send `frames` as one multipart message and return the reply frames,
    or None on timeout.  Used where producer.send's one-frame REQ is not
    what is being tested."""
    import zmq
    s = zmq.Context.instance().socket(socket_type)
    s.setsockopt(zmq.LINGER, 0)
    try:
        s.connect(endpoint)
        s.send_multipart(frames)
        if not s.poll(int(timeout * 1000), zmq.POLLIN):
            return None
        return s.recv_multipart()
    finally:
        s.close()


def pipelined(endpoint, template, total, in_flight, prefix, timeout_ms=30000):
    """Keep `in_flight` requests outstanding on one DEALER until `total`
    were sent; returns (replies "ok", ids with no reply in `timeout_ms`).
    A reply that never comes ends the run: that is the failure looked for."""
    import zmq
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    pending, sent, ok = set(), 0, 0
    try:
        while sent < total or pending:
            while sent < total and len(pending) < in_flight:
                ev_id = "%s%d" % (prefix, sent)
                s.send_multipart([b"", dumps(dict(template, id=ev_id))])
                pending.add(ev_id)
                sent += 1
            if not s.poll(timeout_ms):
                break
            rep = json.loads(s.recv_multipart()[-1])
            pending.discard(rep.get("id"))
            ok += rep.get("status") == "ok"
    finally:
        s.close()
    return ok, sorted(pending)


def last_frame_reply(frames):
    """Parse the JSON reply in the last frame (how an error to a badly framed
    request comes back is not specified beyond 'one JSON object')."""
    if not frames:
        return None
    try:
        return json.loads(frames[-1].decode("utf-8"))
    except ValueError:
        return None


def body(r):
    import zmq
    import producer

    if not harness.have_tiedoted():
        r.skip("all tiedoted checks", "%s does not exist" % harness.tiedoted_path())
        return

    news_bytes = read(NEWS)
    news = json.loads(news_bytes)
    nid = news["id"]

    d = harness.Tiedoted()
    d.start()

    # --- revisions ----------------------------------------------------------
    expect(r, producer.send(d.endpoint, news_bytes, total=60), "ok", nid, 1,
           "news example is stored as revision 1")
    expect(r, producer.send(d.endpoint, news_bytes, total=60), "duplicate", nid, 1,
           "the same bytes again: duplicate of revision 1")

    # README: key order and whitespace are not changes.
    reordered = dumps(dict(reversed(list(news.items()))), indent=4)
    expect(r, producer.send(d.endpoint, reordered, total=60), "duplicate", nid, 1,
           "same content, other key order and whitespace: duplicate of revision 1")

    changed = copy.deepcopy(news)
    changed["summary"]["fi"] += " Haku päättyy 31.3.2020."
    expect(r, producer.send(d.endpoint, dumps(changed), total=60), "ok", nid, 2,
           "summary changed: stored as revision 2")
    expect(r, producer.send(d.endpoint, dumps(changed), total=60), "duplicate", nid, 2,
           "revision 2 sent again: duplicate of revision 2")
    # Content equal to an older revision but not to the latest one is a
    # change (a revert), not a duplicate; see the report on the README.
    expect(r, producer.send(d.endpoint, news_bytes, total=60), "ok", nid, 3,
           "revision 1's content again (a revert) is stored as revision 3")

    # --- errors -------------------------------------------------------------
    bad = json.loads(read(DEADLINE))
    bad["id"] = "producer-test-bad-due"
    bad["due"] = "31.3.2020"
    rep = producer.send(d.endpoint, dumps(bad), total=60)
    r.check(rep.get("status") == "error" and rep.get("code") == "invalid_time"
            and rep.get("field") == "due" and "due" in str(rep.get("message", "")),
            "due \"31.3.2020\": error invalid_time, field due, message names due", show(rep))

    mismatch = {"id": nid, "type": "announcement", "title": "Väärä tyyppi", "regions": ["all"],
                "body": "Sama id, eri tyyppi."}
    rep = producer.send(d.endpoint, dumps(mismatch), total=60)
    r.check(rep.get("status") == "error" and rep.get("code") == "type_mismatch",
            "same id with another type: type_mismatch", show(rep))

    cancelled = dict(news, cancelled=True)
    expect(r, producer.send(d.endpoint, dumps(cancelled), total=60), "ok", nid, 4,
           "cancelled: true is stored as a new revision (4)")

    # --- framing ------------------------------------------------------------
    deadline_bytes = read(DEADLINE)
    did = json.loads(deadline_bytes)["id"]
    frames = raw_request(d.endpoint, [b"", deadline_bytes], zmq.DEALER)
    r.check(frames is not None and len(frames) == 2 and frames[0] == b"",
            "DEALER [\"\", body] gets [\"\", reply] back", frames)
    expect(r, last_frame_reply(frames), "ok", did, 1, "DEALER request is stored as revision 1")

    frames = raw_request(d.endpoint, [b"", deadline_bytes, deadline_bytes], zmq.DEALER)
    rep = last_frame_reply(frames)
    r.check(isinstance(rep, dict) and rep.get("status") == "error" and rep.get("code") == "bad_frames",
            "DEALER [\"\", body, body] (3 frames): bad_frames", frames)

    frames = raw_request(d.endpoint, [deadline_bytes], zmq.DEALER)
    rep = last_frame_reply(frames)
    r.check(isinstance(rep, dict) and rep.get("status") == "error" and rep.get("code") == "bad_frames",
            "DEALER [body] without the empty delimiter: bad_frames", frames)

    frames = raw_request(d.endpoint, [deadline_bytes, deadline_bytes], zmq.REQ)
    rep = last_frame_reply(frames)
    r.check(isinstance(rep, dict) and rep.get("status") == "error" and rep.get("code") == "bad_frames",
            "REQ with a two-part message: bad_frames", frames)

    expect(r, producer.send(d.endpoint, deadline_bytes, total=60), "duplicate", did, 1,
           "badly framed copies stored nothing: the deadline is still revision 1")

    # --- size limit (256 KiB; README section 1) ---------------------------------
    limit = 262144
    small = dumps({"id": "producer-test-size", "type": "news", "title": "Koko", "regions": ["all"]})
    at_limit = small + b" " * (limit - len(small))     # JSON whitespace: same event
    expect(r, producer.send(d.endpoint, at_limit, total=60), "ok", "producer-test-size", 1,
           "an event of exactly 262,144 bytes is accepted")
    rep = producer.send(d.endpoint, at_limit + b" ", total=60)
    r.check(rep.get("status") == "error" and rep.get("code") == "too_large",
            "one byte more: too_large", show(rep))
    frames = raw_request(d.endpoint, [at_limit * 4 + b" "], zmq.REQ, timeout=2.0)
    r.check(frames is None and d.running(),
            "over 4 x the limit: no reply, and the worker lives on", frames)
    expect(r, producer.send(d.endpoint, small, total=60), "duplicate", "producer-test-size", 1,
           "…and still answers the next request")

    # --- the CLI ------------------------------------------------------------
    # The news item is now at revision 4 (cancelled); resending the example
    # file itself would make revision 5, so the CLI sends revision 4's content.
    cancelled_file = os.path.join(harness.tempdir(), "news-cancelled.json")
    with open(cancelled_file, "wb") as f:
        f.write(dumps(cancelled))
    cli = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "producer.py"),
                          "--endpoint", d.endpoint, "--total", "10", cancelled_file, DEADLINE],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = cli.stdout.decode("utf-8", "replace")
    r.check(cli.returncode == 0 and out.count('"duplicate"') == 2,
            "producer.py CLI sends two files: exit 0, two duplicates", out)

    # --- durability across a crash -------------------------------------------
    crash = dict(news, id="producer-test-crash")
    expect(r, producer.send(d.endpoint, dumps(crash), total=60), "ok", "producer-test-crash", 1,
           "event before the crash: ok revision 1")
    d.kill()
    d.start()
    expect(r, producer.send(d.endpoint, dumps(crash), total=60), "duplicate", "producer-test-crash", 1,
           "after SIGKILL and restart the same event is a duplicate (ok meant committed)")
    expect(r, producer.send(d.endpoint, dumps(cancelled), total=60), "duplicate", nid, 4,
           "after restart the news item is still at revision 4")

    rc = d.stop()
    r.check(rc == 0, "tiedoted exits 0 on SIGTERM", "exit code %s\n%s" % (rc, d.log_tail()))

    # --- Lazy Pirate: the worker is down when the producer starts -------------
    late = harness.Tiedoted()
    result = {}

    def sender():
        t0 = time.monotonic()
        try:
            result["reply"] = producer.send(late.endpoint, dumps(dict(news, id="producer-test-late")),
                                            timeout=1.0, total=20)
        except Exception as e:  # reported below
            result["error"] = e
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=sender)
    th.start()
    time.sleep(2.5)          # more than two timeouts: at least two fresh sockets
    late.start()
    th.join(30)
    expect(r, result.get("reply"), "ok", "producer-test-late", 1,
           "producer retries with fresh sockets until the worker comes up")
    r.check(result.get("elapsed", 0) >= 2.0, "…and the reply came only after the worker started",
            result)
    late.stop()

    # --- pipelining: 1,000 in flight, as section 1 allows ---------------------
    for batch_max in ("256", "1024"):
        piped = harness.Tiedoted(extra_args=["-o", "intake.batch_max=" + batch_max])
        piped.start()
        got, missing = pipelined(piped.endpoint, dict(news, id=None), 20000, 1000,
                                 "pipe-%s-" % batch_max)
        r.check(got == 20000 and not missing,
                "a DEALER with 1,000 requests in flight gets all 20,000 replies"
                " (intake.batch_max %s)" % batch_max,
                "%d replies; %d ids without one, e.g. %s" % (got, len(missing), missing[:3]))
        piped.stop()

    # --- giving up ------------------------------------------------------------
    t0 = time.monotonic()
    try:
        producer.send("tcp://127.0.0.1:%d" % harness.free_port(), news_bytes, timeout=0.5, total=1.5)
        gave_up = False
    except producer.GiveUp:
        gave_up = True
    elapsed = time.monotonic() - t0
    r.check(gave_up and 1.5 <= elapsed < 15, "with nobody listening, send gives up after the total time",
            "gave_up=%s elapsed=%.1f s" % (gave_up, elapsed))


if __name__ == "__main__":
    harness.main(body)
