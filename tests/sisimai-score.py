"""sisimai-score.py - the classifier's agreement with Sisimai beyond ../shared/bounces.

    /usr/bin/python3 tests/sisimai-score.py SET_OF_EMAILS P5_SISIMAI [BUILD]

SET_OF_EMAILS is a checkout of github.com/sisimai/set-of-emails (its
maildir/bsd is read), P5_SISIMAI one of github.com/sisimai/p5-sisimai (the
expectations: the $isexpected table of each t/*.t of an lhost, rhost, ARF,
RFC 3464 or RFC 3834 module, INDEX => [status, replycode, reason, hard]
per recipient).  Runs `tiedote --json inbound classify` on every file that
has an expectation and prints the agreement on the number of recipients
and, per recipient in order, on the status, the reason and hard/soft: for
all of them, and for those not in ../shared/bounces (which
tests/it/test_bounces.py scores).  Then the misses outside
../shared/bounces.  Not part of the suite: neither checkout is there.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def expectations(p5):
    exp = {}
    tdir = os.path.join(p5, "t")
    for name in sorted(os.listdir(tdir)):
        if not re.match(r"(6[1-9]\d|[78]\d\d|3[01]\d)-.*\.t$", name):
            continue
        src = open(os.path.join(tdir, name), encoding="utf-8").read()
        m = re.search(r"\$enginename\s*=\s*'([^']+)'", src)
        if not m or "$isexpected" not in src:
            continue
        eng = m.group(1)
        if eng in ("ARF", "RFC3464", "RFC3834"):
            prefix = eng.lower() + "-"
        else:
            prefix = "%s-%s-" % ("rhost" if "-rhost-" in name else "lhost", eng.lower())
        table = src[src.index("$isexpected"):]
        table = table[:table.index("};")]
        for e in re.finditer(r"'(\d+)'\s*=>\s*\[(.*?)\]\s*,\s*(?=\n\s*'|\n\s*#|\s*$)", table, re.S):
            exp[prefix + e.group(1) + ".eml"] = re.findall(
                r"\[\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*,\s*(\d)", e.group(2))
    return exp


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    maildir = os.path.join(sys.argv[1], "maildir", "bsd")
    build = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "..", "build")
    shared_dir = os.path.join(HERE, "..", "..", "shared", "bounces", "emails")
    shared = set(os.listdir(shared_dir)) if os.path.isdir(shared_dir) else set()
    exp = expectations(sys.argv[2])
    files = sorted(f for f in exp if os.path.exists(os.path.join(maildir, f)))
    out = subprocess.run([os.path.join(build, "tiedote"), "--json", "inbound", "classify"] +
                         [os.path.join(maildir, f) for f in files],
                         capture_output=True, text=True, check=True).stdout
    got = {os.path.basename(g["file"]): g for g in map(json.loads, out.splitlines())}
    sums = {k: dict.fromkeys(("files", "count", "rcpt", "status", "reason", "hard"), 0)
            for k in ("all", "not in ../shared/bounces")}
    misses = []
    for f in files:
        want, have = exp[f], got.get(f, {}).get("recipients", [])
        tallies = [sums["all"]] + ([] if f in shared else [sums["not in ../shared/bounces"]])
        for d in tallies:
            d["files"] += 1
            d["count"] += len(want) == len(have)
        if len(want) != len(have) and f not in shared:
            misses.append("%s: %d recipients, want %d" % (f, len(have), len(want)))
        for i, w in enumerate(want):
            h = have[i] if i < len(have) else {}
            ok = (h.get("status") == w[0], h.get("reason") == w[2], str(h.get("hard")) == w[3])
            for d in tallies:
                d["rcpt"] += 1
                d["status"] += ok[0]
                d["reason"] += ok[1]
                d["hard"] += ok[2]
            if not all(ok) and f not in shared:
                misses.append("%s #%d: %s %s hard %s, want %s %s hard %s" % (
                    f, i, h.get("status"), h.get("reason"), h.get("hard"), w[0], w[2], w[3]))
    for name, d in sums.items():
        if d["files"]:
            print("%s: %d files, recipients %.1f%%; %d recipients: status %.1f%%, reason %.1f%%,"
                  " hard/soft %.1f%%" % (name, d["files"], 100.0 * d["count"] / d["files"],
                                         d["rcpt"], 100.0 * d["status"] / d["rcpt"],
                                         100.0 * d["reason"] / d["rcpt"], 100.0 * d["hard"] / d["rcpt"]))
    for m in misses:
        print("# miss " + m)


if __name__ == "__main__":
    main()
