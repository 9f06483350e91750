"""metrics.listen: the worker's Prometheus figures, scraped over HTTP and
parsed with Debian's python3-prometheus-client parser; every figure is
compared with the database or with what the test did.  A relay that is
down opens the breaker (and the figures say so); slow scrapers holding
connections do not delay the intake."""
import http.client
import os
import socket
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

import harness
from test_send import Clock, cli, db_rows, prepare, start_capture, wait_issue, worker

WAIT_S = 120			# bound against a send or a breaker that never comes


def scrape(port, path="/metrics", method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path)
    resp = c.getresponse()
    body = resp.read().decode()
    c.close()
    return resp.status, resp.getheader("Content-Type"), body


def samples(port):
    """{(name, frozenset(labels)): value} of one scrape"""
    status, ctype, body = scrape(port)
    assert status == 200, body
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, ctype, body


def get(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def wait_for(port, cond, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m, _, _ = samples(port)
        if cond(m):
            return m
        time.sleep(0.1)
    return m


def body(r):
    workdir = harness.tempdir()
    mport = harness.free_port()
    smtp_port = harness.free_port()	# nothing listens yet: the relay is down
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, smtp_port, ["-o", "metrics.listen=%d" % mport,
                                    "-o", "smtp.retry_base_s=1"]).start()
    prepare(d, clock, 40)
    examples = len(harness.examples())

    # a duplicate and two rejections of different codes
    ex = os.path.join(harness.QUEUE, "examples", "deadline-valtionavustus-2020.json")
    rc, _, err = cli(d, "enqueue", ex)
    r.check(rc == 0, "the same event again: duplicate", err)
    bad = os.path.join(workdir, "bad.json")
    with open(bad, "w") as f:
        f.write('{"type": "nonsense", "id": "x-1"}')
    rc1, _, err1 = cli(d, "enqueue", bad)
    with open(bad, "w") as f:
        f.write('{"id": "x-2"}')
    rc2, _, err2 = cli(d, "enqueue", bad)
    r.check(rc1 == 65 and rc2 == 65, "two invalid events refused", err1 + err2)

    m, ctype, text = samples(mport)
    r.check(ctype.startswith("text/plain; version=0.0.4"), "text format 0.0.4", ctype)
    r.check(get(m, "tiedote_events_accepted_total", status="ok") == examples,
            "events accepted ok: %d, the examples" % examples, text[:2000])
    r.check(get(m, "tiedote_events_accepted_total", status="duplicate") == 1,
            "events accepted as duplicate: 1")
    rejected = {dict(k[1])["code"]: v for k, v in m.items()
                if k[0] == "tiedote_events_rejected_total"}
    r.check(sorted(rejected.values()) == [1, 1] and "unknown_type" in rejected,
            "events rejected by code: %s" % rejected)
    r.check(get(m, "tiedote_database_bytes", file="db") > 0
            and get(m, "tiedote_schema_version") == db_rows(d, "PRAGMA user_version")[0][0],
            "database size and schema version")
    r.check(get(m, "tiedote_relay_state", state="closed") == 1, "relay breaker closed at start")

    # the slot: the relay is down, so the breaker opens
    clock.set("2020-03-17T09:00:01+02:00")
    m = wait_for(mport, lambda m: get(m, "tiedote_relay_state", state="open") == 1)
    r.check(get(m, "tiedote_relay_state", state="open") == 1
            and get(m, "tiedote_relay_state_changes_total", state="open") >= 1,
            "a relay that is down: breaker open, the change counted", d.log_tail())
    r.check(get(m, "tiedote_deliveries_total", **{"class": "none"}) >= 1,
            "deliveries with no reply counted (class none)")

    # slow scrapers: connections that send half a request and wait
    slow = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", mport))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    t0 = time.monotonic()
    rc, _, err = cli(d, "-o", "client.total_timeout_ms=5000", "enqueue", "deadline",
                     "--id", "metrics-slow", "--title", "Hidas", "--due", "2020-06-30T16:15+03:00",
                     "--regions", "KYS", "--url", "https://stm.fi/haku")
    r.check(rc == 0, "with slow scrapers connected an event is stored (%.2f s)"
            % (time.monotonic() - t0), err)

    # the relay comes back: the probe closes the breaker, the issue goes out
    cap, _, outdir = start_capture(workdir, ["--reject", "tilaaja00003@example.fi=550 5.1.1 "
                                             "User unknown"], port=smtp_port)
    # the rows deferred before the breaker opened are due a second later
    # (smtp.retry_base_s=1 with jitter) on the test clock
    clock.set("2020-03-17T09:00:05+02:00")
    state = wait_issue(d, ("sent",), timeout=WAIT_S)
    r.check(state == "sent", "the issue is sent once the relay answers", d.log_tail())
    m, _, text = samples(mport)
    for s in slow:
        s.close()
    r.check(get(m, "tiedote_relay_state", state="closed") == 1
            and get(m, "tiedote_relay_state_changes_total", state="closed") >= 1,
            "breaker closed again, the change counted")
    rows = db_rows(d, "SELECT kind, state, count(*) FROM outbox GROUP BY kind, state")
    got = {(dict(k[1])["kind"], dict(k[1])["state"]): v for k, v in m.items()
           if k[0] == "tiedote_outbox_rows"}
    kinds = ("bulletin", "draft", "reminder", "announcement", "confirm", "welcome")
    states = ("queued", "sending", "sent", "deferred", "failed", "suppressed", "skipped",
              "cancelled")
    want = {(k, s): 0 for k in kinds for s in states}
    want.update({(k, s): n for k, s, n in rows})
    r.check(got == want, "outbox rows by kind and state equal the database's, every kind"
            " and state there (0 too: a series does not vanish with its last row)",
            "%s\n%s" % (got, rows))
    sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    r.check(get(m, "tiedote_messages_sent_total") == sent,
            "messages sent since the start: %d, as stored" % sent)
    r.check(get(m, "tiedote_deliveries_total", **{"class": "2xx"}) == sent
            and get(m, "tiedote_deliveries_total", **{"class": "5xx"}) == 1,
            "deliveries by reply class: 2xx %s, 5xx %s" % (
                get(m, "tiedote_deliveries_total", **{"class": "2xx"}),
                get(m, "tiedote_deliveries_total", **{"class": "5xx"})))
    now = 1584428405	# 2020-03-17T09:00:05+02:00
    recent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent' AND updated > ?",
                     (now - 60,))[0][0]
    r.check(abs(get(m, "tiedote_send_rate_per_second") - recent / 60.0) < 1e-9 and recent > 0,
            "send rate: %d sent in the last minute (test clock) / 60" % recent)
    number, end, recipients = db_rows(d, "SELECT number, period_end, recipients FROM issues"
                                      " ORDER BY id DESC LIMIT 1")[0]
    r.check(get(m, "tiedote_last_issue_info", number=number, state="sent") == 1
            and get(m, "tiedote_last_issue_timestamp_seconds") == end
            and get(m, "tiedote_last_issue_recipients") == recipients,
            "the latest issue: %s, its time and recipients" % number,
            "%s %s %s" % ([(k, v) for k, v in m.items() if "last_issue" in k[0]], end,
                          recipients))
    r.check(get(m, "tiedote_last_issue_rows", state="sent") == sent
            and get(m, "tiedote_last_issue_rows", state="suppressed") == 1,
            "the latest issue's rows by state")
    size = os.path.getsize(d.db)
    r.check(get(m, "tiedote_database_bytes", file="db") == size,
            "database size %d bytes, as stat says" % size)

    status, _, _ = scrape(mport, "/other")
    r.check(status == 404, "another path: 404")
    status, _, _ = scrape(mport, "/metrics", "POST")
    r.check(status == 405, "another method: 405")
    r.check(d.stop() == 0, "the worker stops cleanly with a scraper's connections gone")
    cap.kill()
    cap.wait()

    # off by default; loopback only
    r.check("metrics:" not in harness.Tiedoted().start().log_text(),
            "without metrics.listen no endpoint")
    for bad_value in ("0.0.0.0:%d" % mport, "192.0.2.1:80", "99999", "x"):
        p = subprocess.run([harness.tiedoted_path(), "-o", "metrics.listen=" + bad_value,
                            "--db", os.path.join(workdir, "never", "t.db")],
                           capture_output=True, timeout=60)
        r.check(p.returncode == 78 and b"metrics.listen" in p.stderr,
                "metrics.listen=%s refused (exit 78)" % bad_value, p.stderr.decode())


harness.main(body)
