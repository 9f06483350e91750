"""What test_inbound.py and test_mailbox.py share: an issue sent to some
readers through the capturing relay, and the addresses it went out with."""
import json
import os
import re
import time

import harness
from test_send import cli, wait_rows_final
from test_notices import captured


def send_issue(d, clock, outdir, readers, when):
    """Examples enqueued, readers subscribed (all regions), the clock moved
    to when (a slot): ([(rcpt, message)], {rcpt: VERP sender},
    {rcpt: List-Unsubscribe mailto})"""
    for name, _ in harness.examples():
        rc, _, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        assert rc == 0, err
    for a in readers:
        rc, _, err = cli(d, "subscriber", "add", a, "--regions", "all")
        assert rc == 0, err
    clock.set(when)
    deadline = time.monotonic() + 60
    while len(captured(outdir)) < len(readers) and time.monotonic() < deadline:
        time.sleep(0.1)
    got = captured(outdir)
    wait_rows_final(d)
    verp, mailto = {}, {}
    with open(os.path.join(outdir, "log.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            rcpts = e["rcpt"] if isinstance(e["rcpt"], list) else [e["rcpt"]]
            verp[rcpts[0].lower()] = e["from"]
    for a, msg in got:
        m = re.search(r"<mailto:([^>]+)>", str(msg["List-Unsubscribe"]))
        mailto[a] = m.group(1)
    return got, verp, mailto
