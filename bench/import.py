"""Subscriber import: `tiedote subscriber import` of N rows (1,000,000 by
default) through a running worker, all new addresses: the wall time, rows
per second, the peak RSS of the CLI and of the worker, beside a baseline of
the same run: the CLI's own check of the same file (a file with one bad
last row is read and checked whole, then refused, nothing sent).

    /usr/bin/python3 bench/import.py [BUILD]   (make bench)

BENCH_IMPORT_N sets N.  The CLI reads the file in pieces, twice (check,
then send), and holds only the addresses: its RSS grows with the
addresses, not with the file.
"""
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "it"))
import harness  # noqa: E402

N = int(os.environ.get("BENCH_IMPORT_N", "1000000"))
LANGS = ("fi", "sv", "en")
REGIONS = ("all", "KYS", "\"HYKS;OYS\"")


def write_csv(path, n, bad_last):
    with open(path, "w") as f:
        f.write("email,name,lang,regions\n")
        for i in range(n):
            f.write("tilaaja%d@esimerkki.fi,Tilaaja Numero %d,%s,%s\n"
                    % (i, i, LANGS[i % 3], REGIONS[i % 3]))
        if bad_last:
            f.write("not-an-address,Bad,fi,all\n")


def cli(build, db, args):
    """(exit code, seconds, peak RSS KiB) of one tiedote command"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(build, "tiedote"), "--db", db] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    secs = time.monotonic() - t0
    # ru_maxrss of the children is the largest so far: each run is larger
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return p.returncode, secs, rss if rss > before else before, p


def hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    os.environ["TIEDOTE_BUILD"] = build
    work = harness.tempdir()
    good, bad = os.path.join(work, "good.csv"), os.path.join(work, "bad.csv")
    write_csv(good, N, False)
    write_csv(bad, N, True)
    d = harness.Tiedoted(workdir=work, log_level="warning").start()
    try:
        rc, check_s, check_rss, p = cli(build, d.db, ["subscriber", "import", bad])
        if rc != 65:
            sys.exit("bench/import: the bad file gave exit %d: %s" % (rc, p.stderr[-300:]))
        rc, secs, rss, p = cli(build, d.db, ["subscriber", "import", good])
        if rc != 0 or b"%d added" % N not in p.stdout:
            sys.exit("bench/import: exit %d: %s %s" % (rc, p.stdout, p.stderr[-300:]))
        worker = hwm(d.proc.pid)
    finally:
        d.stop()
    print("import: %d rows (%.1f MiB file), all new, through the worker"
          % (N, os.path.getsize(good) / 1048576))
    print("  check alone (bad last row, nothing sent)  %6.1f s   CLI peak RSS %6.1f MiB"
          % (check_s, check_rss / 1024))
    print("  whole import (check, stage, one commit)   %6.1f s   %8.0f rows/s"
          % (secs, N / secs))
    print("  peak RSS: CLI %.1f MiB, worker %.1f MiB;   import / check alone %.2f"
          % (rss / 1024, worker / 1024, secs / check_s))
    print("  load average %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
