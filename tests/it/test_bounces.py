"""Classification accuracy on the real bounces of ../shared/bounces.

Runs `tiedote --json inbound classify` over every file of the corpus
(TIEDOTE_BOUNCES, default ROOT/../shared/bounces) and compares each with
expected.json (Sisimai's classification): the number of recipients, and per
recipient (in order) the status, hard/soft and the reason.  Prints the
agreement on each and the misses.  The checks are floors under what the
classifier reaches today (a fall is a regression); the issue's targets
(reason >= 95%, hard/soft >= 98%) are printed beside them, met or not.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CORPUS = os.environ.get("TIEDOTE_BOUNCES") or os.path.join(
    harness.ROOT, "..", "shared", "bounces")
FLOORS = {"count": 0.99, "status": 0.98, "hard": 0.98, "reason": 0.97}
TARGETS = {"count": 0.95, "status": 0.95, "hard": 0.98, "reason": 0.95}


def classify(files):
    out = subprocess.run([os.path.join(harness.BUILD, "tiedote"), "--json", "inbound",
                          "classify"] + files, capture_output=True, timeout=600)
    return out.returncode, [json.loads(l) for l in out.stdout.decode().splitlines() if l]


def body(r):
    exp_path = os.path.join(CORPUS, "expected.json")
    if not os.path.exists(exp_path):
        r.skip("bounce corpus", "%s not found" % CORPUS)
        return
    expected = json.load(open(exp_path))
    names = sorted(expected)
    files = [os.path.join(CORPUS, "emails", n) for n in names]
    t0 = time.monotonic()
    rc, got = classify(files)
    took = time.monotonic() - t0
    r.check(rc == 0 and len(got) == len(names), "every file classified (exit %d, %d of %d)"
            % (rc, len(got), len(names)))
    by = {g["file"]: g for g in got}
    ok = {"count": 0, "status": 0, "hard": 0, "reason": 0}
    n_files = n_rcpt = 0
    misses = []
    for name in names:
        want = expected[name]
        have = by.get(name, {}).get("recipients", [])
        n_files += 1
        if len(have) == len(want):
            ok["count"] += 1
        else:
            misses.append("%s: %d recipients, want %d" % (name, len(have), len(want)))
        for i, w in enumerate(want):
            n_rcpt += 1
            h = have[i] if i < len(have) else {}
            for k in ("status", "hard", "reason"):
                if h.get(k) == w[k] or (k == "status" and w[k] == "" and
                                        h.get(k, "").startswith(("5.0", "4.0", ""))):
                    ok[k] += 1
                else:
                    misses.append("%s: %s %r, want %r (%s)" % (name, k, h.get(k), w[k],
                                  (h.get("diagnostic") or "")[:100]))
    figures = {"count": ok["count"] / n_files}
    for k in ("status", "hard", "reason"):
        figures[k] = ok[k] / n_rcpt
    r.note("%d files, %d recipients; %.0f us per message" % (
        n_files, n_rcpt, took * 1e6 / max(1, n_files)))
    for k, v in figures.items():
        r.note("agreement %-6s %.1f%% (issue target %.0f%%: %s)" % (
            k, 100 * v, 100 * TARGETS[k], "met" if v >= TARGETS[k] else "NOT met"))
    for m in misses:
        r.note("miss " + m)
    for k, v in figures.items():
        r.check(v >= FLOORS[k], "agreement on %s %.1f%% >= floor %.0f%%" % (
            k, 100 * v, 100 * FLOORS[k]))


harness.main(body)
