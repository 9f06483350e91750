#!/usr/bin/python3
"""A tiedote producer written from queue/README.md alone.

It exists to prove that the README is enough to write a correct producer,
so it deliberately uses nothing from tiedote's C sources.  Every rule below
is quoted from the README section that imposes it.

    /usr/bin/python3 tests/it/producer.py [--endpoint EP] FILE...

sends each file (or "-" for stdin) as one event and prints the reply.
Exit status: 0 when every reply is ok/duplicate, 65 when any reply is an
error, 69 when tiedote gave no reply within --total seconds (the README's
"tiedote CLI gives up after 30 s and exits 69").

Without FILE it tests itself against a stand-in ROUTER (no tiedoted
needed) and prints "N passed, N failed": tests/run.sh runs every
tests/it/*.py, this file included.
"""

import argparse
import json
import sys
import time

import zmq

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5570"   # README section 1

# README section 2: an error with one of these codes is final ("fix the
# event, do not resend it unchanged"); only "unavailable" is worth retrying.
RETRYABLE_CODES = {"unavailable"}


class GiveUp(Exception):
    """No usable reply within the total time.  .last_reply is the last
    'unavailable' reply, or None when tiedote never answered at all."""

    def __init__(self, message, last_reply=None):
        super().__init__(message)
        self.last_reply = last_reply


class ProtocolError(Exception):
    """tiedote answered with something the README does not allow."""


def _parse_reply(frames):
    # README section 1: "reply: exactly one frame: a UTF-8 JSON object".
    if len(frames) != 1:
        raise ProtocolError("reply has %d frames, expected 1" % len(frames))
    try:
        reply = json.loads(frames[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("reply is not UTF-8 JSON: %r (%s)" % (frames[0][:200], e))
    if not isinstance(reply, dict) or "status" not in reply:
        raise ProtocolError("reply is not an object with 'status': %r" % (reply,))
    return reply


def send(endpoint, event_bytes, timeout=2.5, total=30, pause=1.0, context=None):
    """Send one event and return tiedote's reply as a dict.

    Lazy Pirate, as README section 2 prescribes: wait `timeout` seconds for
    the reply; if none comes, close the REQ socket with LINGER 0 (a REQ
    socket that timed out cannot be reused), open a new one and send the
    same bytes again, until `total` seconds have passed.  Resending is safe
    because the event's id is the idempotency key: a retry of an event that
    was committed but whose reply was lost gets 'duplicate', which callers
    treat exactly like 'ok'.

    An 'unavailable' error is retried after `pause` seconds within the same
    total time; any other error is final and returned to the caller.
    Raises GiveUp when the total time runs out.
    """
    if isinstance(event_bytes, str):
        event_bytes = event_bytes.encode("utf-8")
    ctx = context or zmq.Context.instance()
    deadline = time.monotonic() + total
    attempts = 0
    last_unavailable = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GiveUp("no reply from %s after %d attempt(s) in %.1f s"
                         % (endpoint, attempts, total), last_unavailable)
        attempts += 1
        wait_ms = max(1, int(min(timeout, remaining) * 1000))
        sock = ctx.socket(zmq.REQ)
        # LINGER 0: closing must not block on, nor later deliver, the
        # unanswered request.
        sock.setsockopt(zmq.LINGER, 0)
        # A send can only block if the pipe is full; bound it like the wait.
        sock.setsockopt(zmq.SNDTIMEO, wait_ms)
        try:
            sock.connect(endpoint)
            try:
                sock.send(event_bytes)   # one event, exactly one frame
            except zmq.Again:
                continue
            if not sock.poll(wait_ms, zmq.POLLIN):
                continue                 # no reply in time: fresh socket
            reply = _parse_reply(sock.recv_multipart())
        finally:
            sock.close()
        if reply.get("status") == "error" and reply.get("code") in RETRYABLE_CODES:
            last_unavailable = reply
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            continue
        return reply


def _read(path):
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Send tiedote events (queue/README.md).")
    ap.add_argument("files", nargs="*", metavar="FILE",
                    help="event file, or - for stdin; none: run the self-test")
    ap.add_argument("--endpoint", default=DEFAULT_ENDPOINT)
    ap.add_argument("--timeout", type=float, default=2.5, help="seconds to wait per attempt")
    ap.add_argument("--total", type=float, default=30.0, help="seconds before giving up")
    args = ap.parse_args(argv)
    if not args.files:
        return self_test()
    status = 0
    for path in args.files:
        try:
            reply = send(args.endpoint, _read(path), args.timeout, args.total)
        except GiveUp as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            return 69
        print("%s: %s" % (path, json.dumps(reply, ensure_ascii=False)))
        if reply.get("status") not in ("ok", "duplicate"):
            status = 65
    return status


def self_test():
    """The retry logic against a stand-in ROUTER that misbehaves on purpose."""
    import socket
    import threading

    results = [0, 0]

    def check(cond, name, detail=""):
        results[0 if cond else 1] += 1
        print("%s - %s" % ("ok" if cond else "not ok", name))
        if not cond and detail:
            print("#   %s" % detail)

    def free_endpoint():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return "tcp://127.0.0.1:%d" % s.getsockname()[1]

    def stand_in(endpoint, replies, seen):
        """ROUTER answering request i with replies[i] (None: stay silent)."""
        ctx = zmq.Context.instance()
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.bind(endpoint)

        def run():
            try:
                for reply in replies:
                    if not router.poll(10000):
                        return
                    ident, empty, body = router.recv_multipart()
                    seen.append((ident, body))
                    if reply is not None:
                        router.send_multipart([ident, empty, json.dumps(reply).encode()])
            finally:
                router.close()
        t = threading.Thread(target=run)
        t.start()
        return t

    ok = {"status": "ok", "id": "x", "revision": 1}
    ep, seen = free_endpoint(), []
    t = stand_in(ep, [None, ok], seen)
    reply = send(ep, b'{"id": "x"}', timeout=0.5, total=10)
    t.join()
    check(reply == ok, "a lost reply is retried and the retry's reply returned", reply)
    check(len(seen) == 2 and seen[0][1] == seen[1][1] and seen[0][0] != seen[1][0],
          "the retry sends the same bytes from a new socket", seen)

    ep, seen = free_endpoint(), []
    unavailable = {"status": "error", "code": "unavailable", "message": "disk full"}
    t = stand_in(ep, [unavailable, ok], seen)
    reply = send(ep, b"{}", timeout=1, total=10, pause=0.2)
    t.join()
    check(reply == ok and len(seen) == 2, "'unavailable' is retried after a pause", reply)

    ep, seen = free_endpoint(), []
    final = {"status": "error", "code": "invalid_time", "field": "due", "message": "due: ..."}
    t = stand_in(ep, [final], seen)
    reply = send(ep, b"{}", timeout=1, total=10)
    t.join()
    check(reply == final and len(seen) == 1, "any other error is final and not resent", reply)

    t0 = time.monotonic()
    try:
        send(free_endpoint(), b"{}", timeout=0.3, total=1.0)
        gave_up = False
    except GiveUp:
        gave_up = True
    check(gave_up and time.monotonic() - t0 < 3, "with nobody listening, send gives up after total")

    for frames, what in (([b"{}", b"{}"], "two frames"), ([b"nope"], "not JSON"),
                         ([b"[]"], "not an object")):
        try:
            _parse_reply(frames)
            rejected = False
        except ProtocolError:
            rejected = True
        check(rejected, "a reply of %s is a protocol error" % what)

    print("%d passed, %d failed" % tuple(results))
    return 1 if results[1] else 0


if __name__ == "__main__":
    sys.exit(main())
