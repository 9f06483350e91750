"""`issue hold` and `issue cancel` stop what is not yet sent, not only what
is not yet claimed.

The sender claims up to 64 rows ahead of its connections (state
`sending`).  A relay (aiosmtpd, in this process) that holds its reply to
every message's final dot until the test opens its gate keeps 4 messages
in flight, one per connection, and the rest of the window claimed.  Then:

1. `issue hold`: the claimed rows go back to the queue at once; only the
   4 in flight are delivered when the gate opens, nothing more while the
   issue is held.
2. `issue resume`, 4 more in flight, `issue cancel`: again only those 4
   are delivered; every other row ends `cancelled` (the claimed ones once
   a connection is free to claim them again, as stopped).

Every recipient gets at most one message, and the relay sees exactly the
rows the database says were sent.

3. (first) Readers pausing while the window is claimed: 196 rows in a
   row end at their build, without a connection; the worker commits them
   a window at a time and lives.
4. A producer cancels an announcement over ZeroMQ (a new revision with
   `cancelled: true`) while it is being sent: the messages built ahead
   for the next free connections are dropped, and only the 4 in flight
   are delivered.
5. (first) SIGTERM while the replies are held: exit 0 after the wait,
   the messages left unanswered named in one warning.
6. (first) Every reader not in flight unsubscribes by mail through the
   worker's own LMTP listener (their List-Unsubscribe mailto addresses,
   read from `issue preview`), in one transaction, after the next
   messages were built ahead: only the 4 in flight are delivered.
"""
import asyncio
import contextlib
import os
import threading

from email import message_from_string
import re

import harness
import zmq
from aiosmtpd.controller import Controller
from test_send import Clock, cli, db_rows, prepare, subscribers_csv, worker
from inbound_common import lmtp_send

N = 100
CONNECTIONS = 4


class GatedRelay:
    """accepts every message, but answers its final dot only while the
    gate is open; counts the messages that reached the dot"""

    def __init__(self):
        self.gate = threading.Event()
        self.cond = threading.Condition()
        self.arrived = 0
        self.rcpts = []

    async def handle_DATA(self, server, session, envelope):
        with self.cond:
            self.arrived += 1
            self.rcpts.extend(envelope.rcpt_tos)
            self.cond.notify_all()
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait)
        return "250 2.0.0 Ok"

    def wait_arrived(self, n, timeout=60):
        with self.cond:
            return self.cond.wait_for(lambda: self.arrived >= n, timeout)


def wait_for(cond, timeout=60):
    return harness.wait_for(cond, timeout)


def states(d):
    return dict(db_rows(d, "SELECT state, count(*) FROM outbox WHERE kind = 'bulletin'"
                           " GROUP BY state"))


@contextlib.contextmanager
def gated_worker(extra=(), log_level=None):
    """a started worker behind a gated relay, its clock at 10.3.2020:
    yields (relay, worker, clock); stops both"""
    relay = GatedRelay()
    port = harness.free_port()
    ctl = Controller(relay, hostname="127.0.0.1", port=port)
    ctl.start()     # returns once the relay answers
    d = None
    try:
        workdir = harness.tempdir()
        clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
        d = worker(workdir, port, ["-o", "smtp.connections=%d" % CONNECTIONS] + list(extra))
        if log_level:
            d.log_level = log_level
        d.start()
        yield relay, d, clock
    finally:
        relay.gate.set()
        if d and d.proc and d.proc.poll() is None:
            d.stop()
        ctl.stop()


@contextlib.contextmanager
def gated_send(n):
    """a worker whose issue of n readers has begun at the slot time, behind
    a gated relay: yields (relay, worker); stops both"""
    with gated_worker() as (relay, d, clock):
        prepare(d, clock, n)
        clock.set("2020-03-17T09:00:01+02:00")
        yield relay, d


def paused_mid_send(r):
    """3. Readers pause while the window is claimed: every row not in
    flight ends without a connection (skipped at its build), about 200 in
    a row.  Their outcomes are committed a window at a time: the worker
    once claimed window after window in one go and stopped on its limit of
    outcomes waiting for a commit."""
    n = 200
    with gated_send(n) as (relay, d):
        r.check(relay.wait_arrived(CONNECTIONS), "paused: one message in flight on each"
                " connection", "%d arrived" % relay.arrived)
        with relay.cond:
            flying = set(relay.rcpts)
        ep = "ipc://" + os.path.join(d.workdir, "tiedote.control")
        sock = zmq.Context.instance().socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(ep)
        paused = 0
        try:
            for sid, email, lang in db_rows(
                    d, "SELECT id, email, lang FROM subscribers ORDER BY id"):
                if email in flying:
                    continue
                sock.send_json({"op": "web.preferences", "id": sid, "lang": lang,
                                "regions": "all", "paused_until": 1893448800})
                reply = sock.recv_json() if sock.poll(30000) else None
                if reply and reply.get("result") == "updated":
                    paused += 1
                elif not paused:
                    r.check(False, "paused: web.preferences", str(reply))
                    break
        finally:
            sock.close()
        r.check(paused == n - CONNECTIONS, "paused: %d readers paused through the control"
                " socket" % paused)
        relay.gate.set()
        st = wait_for(lambda: states(d).get("skipped") == n - CONNECTIONS and
                      not states(d).get("sending") and states(d))
        r.check(d.proc.poll() is None, "paused: the worker lives", d.log_tail())
        r.check(st == {"sent": CONNECTIONS, "skipped": n - CONNECTIONS},
                "paused: the %d in flight sent, the %d paused readers' rows skipped"
                % (CONNECTIONS, n - CONNECTIONS), str(states(d)))


def built_ahead(d):
    with open(d.log, errors="replace") as f:
        return f.read().count("built ahead")


def announcement_cancelled(r):
    """4. an announcement cancelled by its producer mid-send"""
    n = 40
    with gated_worker(log_level="debug") as (relay, d, clock):
        workdir = d.workdir
        rc, out, err = cli(d, "subscriber", "import", subscribers_csv(workdir, n))
        r.check(rc == 0, "announcement: %d readers" % n, err)
        text = os.path.join(workdir, "body.txt")
        with open(text, "w") as f:
            f.write("Tilaisuus peruttiin.\n")
        event = ["enqueue", "announcement", "--id", "peruttava", "--title", "Tiedote",
                 "--body-file", text, "--regions", "all",
                 "--send-at", "2020-03-11T09:00:00+02:00"]
        rc, out, err = cli(d, *event)
        r.check(rc == 0, "announcement: enqueued for 11.3. 09:00", out + err)
        clock.set("2020-03-11T09:00:01+02:00")
        r.check(relay.wait_arrived(CONNECTIONS), "announcement: one message in flight on"
                " each connection", "%d arrived" % relay.arrived)
        # the next free connections' messages are built while these wait
        r.check(wait_for(lambda: built_ahead(d) >= CONNECTIONS),
                "announcement: the next %d messages built ahead" % CONNECTIONS,
                "%d built ahead: %s" % (built_ahead(d), [
                    ln for ln in open(d.log, errors="replace") if "sender" in ln]))
        rc, out, err = cli(d, *(event + ["--cancelled"]))
        r.check(rc == 0,
                "announcement: the producer's cancel (revision 2)", out + err)
        st = wait_for(lambda: dict(db_rows(
            d, "SELECT state, count(*) FROM outbox WHERE kind = 'announcement'"
               " GROUP BY state")).get("sending") == CONNECTIONS and "ok")
        relay.gate.set()
        final = wait_for(lambda: (lambda s: not s.get("sending") and
                                  not s.get("queued") and s)(dict(db_rows(
                                      d, "SELECT state, count(*) FROM outbox"
                                         " WHERE kind = 'announcement' GROUP BY state"))))
        r.check(st and final and final.get("sent") == CONNECTIONS and
                relay.arrived == CONNECTIONS,
                "announcement: only the %d in flight delivered" % CONNECTIONS,
                "%s, %d arrived" % (final, relay.arrived))
        r.check(d.proc.poll() is None, "announcement: the worker lives", d.log_tail())


def unsubscribed_by_lmtp(r):
    """6. readers whose rows are claimed (some built ahead) unsubscribe by
    mail through the worker's LMTP listener"""
    n = 20
    lmtp_port = harness.free_port()
    with gated_worker(["-o", "inbound.lmtp_listen=127.0.0.1:%d" % lmtp_port],
                      "debug") as (relay, d, clock):
        prepare(d, clock, n)
        clock.set("2020-03-17T09:00:01+02:00")
        r.check(relay.wait_arrived(CONNECTIONS), "lmtp: one message in flight on each"
                " connection", "%d arrived" % relay.arrived)
        r.check(wait_for(lambda: built_ahead(d) >= CONNECTIONS),
                "lmtp: the next %d messages built ahead" % CONNECTIONS,
                "%d built ahead" % built_ahead(d))
        with relay.cond:
            flying = set(relay.rcpts)
        mailtos = []
        for (a,) in db_rows(d, "SELECT email FROM subscribers ORDER BY id"):
            if a in flying:
                continue
            rc, out, err = cli(d, "issue", "preview", "--at", "2020-03-17",
                               "--subscriber", a, "--format", "eml")
            m = re.search(r"mailto:(unsubscribe\+[a-z2-7]+@[^>]+)",
                          str(message_from_string(out).get("List-Unsubscribe")))
            if rc == 0 and m:
                mailtos.append(m.group(1))
        r.check(len(mailtos) == n - CONNECTIONS, "lmtp: the mailto address of each of the"
                " %d readers not in flight" % (n - CONNECTIONS), len(mailtos))
        replies = lmtp_send(lmtp_port, mailtos, "From: reader@example.fi\r\n"
                            "Subject: unsubscribe\r\n\r\nunsubscribe\r\n")
        r.check([c for c, _ in replies] == [250] * len(mailtos),
                "lmtp: 250 for each unsubscribe", replies[:2])
        relay.gate.set()
        final = wait_for(lambda: (lambda st: not st.get("sending") and
                                  not st.get("queued") and st)(states(d)))
        r.check(final and final.get("sent") == CONNECTIONS and relay.arrived == CONNECTIONS,
                "lmtp: only the %d in flight delivered" % CONNECTIONS,
                "%s, %d arrived" % (final, relay.arrived))
        r.check(d.proc.poll() is None, "lmtp: the worker lives", d.log_tail())


def stopped_unanswered(r):
    """5. SIGTERM while the relay holds its replies: after the 10 s the
    worker gives them it exits 0 and names the messages left unanswered
    (their rows stay sending, to go again at the next start)"""
    with gated_send(10) as (relay, d):
        r.check(relay.wait_arrived(CONNECTIONS), "stop: one message in flight on each"
                " connection", "%d arrived" % relay.arrived)
        rc = d.stop(timeout=60)
        text = open(d.log, errors="replace").read()
        r.check(rc == 0 and "stopping with %d messages still waiting for the relay's reply"
                % CONNECTIONS in text, "stop: exit 0 after the wait, the %d unanswered"
                " messages named in the log" % CONNECTIONS, text[-1500:])


def body(r):
    unsubscribed_by_lmtp(r)
    stopped_unanswered(r)
    announcement_cancelled(r)
    paused_mid_send(r)
    with gated_send(N) as (relay, d):
        r.check(relay.wait_arrived(CONNECTIONS), "one message in flight on each connection",
                "%d arrived" % relay.arrived)
        claimed = wait_for(lambda: states(d).get("sending", 0) >= 2 * CONNECTIONS and states(d))
        r.check(claimed and claimed.get("sending", 0) > CONNECTIONS,
                "the sender has claimed rows ahead of its connections", str(claimed))
        (iid,), = db_rows(d, "SELECT id FROM issues ORDER BY id DESC LIMIT 1")

        # 1. hold: the claimed rows go back to the queue; those in flight finish
        rc, out, err = cli(d, "issue", "hold", str(iid))
        r.check(rc == 0, "issue hold", out + err)
        st = wait_for(lambda: states(d).get("sending") == CONNECTIONS and states(d))
        r.check(st and st.get("sending") == CONNECTIONS and
                st.get("queued") == N - CONNECTIONS,
                "held: only the %d in flight stay claimed, the rest are queued"
                % CONNECTIONS, str(states(d)))
        relay.gate.set()
        st = wait_for(lambda: states(d).get("sent") == CONNECTIONS and
                      not states(d).get("sending") and states(d))
        r.check(st and st.get("sent") == CONNECTIONS and st.get("queued") == N - CONNECTIONS,
                "held: the %d in flight delivered, nothing more" % CONNECTIONS,
                str(states(d)))
        r.check(relay.arrived == CONNECTIONS, "the relay got only those",
                "%d arrived" % relay.arrived)

        # 2. resume, then cancel with a full window claimed again
        relay.gate.clear()
        rc, out, err = cli(d, "issue", "resume", str(iid))
        r.check(rc == 0, "issue resume", out + err)
        r.check(relay.wait_arrived(2 * CONNECTIONS), "resumed: %d more in flight" % CONNECTIONS,
                "%d arrived" % relay.arrived)
        wait_for(lambda: states(d).get("sending", 0) > CONNECTIONS)
        rc, out, err = cli(d, "issue", "cancel", str(iid))
        r.check(rc == 0, "issue cancel", out + err)
        # before any reply is let through, the window is given back: the
        # rows queued at the cancel are cancelled, those claimed are queued
        # again (and claimed as stopped when a connection is free)
        st = wait_for(lambda: states(d).get("sending") == CONNECTIONS and states(d))
        r.check(st and st.get("sending") == CONNECTIONS and
                st.get("cancelled", 0) + st.get("queued", 0) == N - 2 * CONNECTIONS,
                "cancelled: only the %d in flight stay claimed" % CONNECTIONS, str(states(d)))
        relay.gate.set()
        st = wait_for(lambda: states(d).get("sent") == 2 * CONNECTIONS and
                      not states(d).get("sending") and states(d))
        r.check(st == {"sent": 2 * CONNECTIONS, "cancelled": N - 2 * CONNECTIONS},
                "cancelled: the %d in flight delivered, every other row cancelled"
                % CONNECTIONS, str(states(d)))
        sent = sorted(a for (a,) in db_rows(d, "SELECT recipient FROM outbox"
                                               " WHERE state = 'sent'"))
        r.check(relay.arrived == 2 * CONNECTIONS and sorted(relay.rcpts) == sent
                and len(set(sent)) == len(sent),
                "the relay got exactly the rows recorded as sent, each once",
                "%d arrived: %s vs %s" % (relay.arrived, relay.rcpts, sent))
        state = wait_for(lambda: db_rows(d, "SELECT state FROM issues WHERE id = ?",
                                         (iid,))[0][0] == "cancelled" and "cancelled")
        r.check(state == "cancelled", "the issue is cancelled")


harness.main(body)
