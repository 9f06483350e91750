"""Inbound mail: LMTP messages/s into the worker's listener, beside
Postfix's smtp-sink taking the same messages from the same client in the
same run (the ratio is the figure), and classification microseconds per
message over ../shared/bounces.

    /usr/bin/python3 bench/inbound.py [BUILD]   (make bench)

smtp-source -L sends N copies of one DSN (a soft bounce: every one is
classified, checked, counted and committed before its 250) over S
sessions; smtp-source (SMTP) sends the same to smtp-sink, which only
reads and discards them.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "it"))
import harness  # noqa: E402

N = int(os.environ.get("BENCH_INBOUND_N", "2000"))
SESSIONS = 4
DSN = ("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n"
       "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;"
       " boundary=\"X\"\n\n--X\nContent-Type: message/delivery-status\n\n"
       "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; nobody@example.org\n"
       "Action: failed\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 4.2.2 Mailbox full\n\n--X--\n")


def wait_port(port, timeout=30):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not listening" % port)


def source(port, lmtp, path):
    argv = ["/usr/sbin/smtp-source"] + (["-L"] if lmtp else []) + [
        "-s", str(SESSIONS), "-m", str(N), "-F", path, "-f", "mailer-daemon@mx.example.net",
        "-t", "bounces+x@tiedote.example", "127.0.0.1:%d" % port]
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=600)
    return time.monotonic() - t0


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    os.environ["TIEDOTE_BUILD"] = build
    work = harness.tempdir()
    path = os.path.join(work, "dsn.eml")
    with open(path, "w") as f:
        f.write(DSN)
    lport, sport = harness.free_port(), harness.free_port()
    d = harness.Tiedoted(workdir=work, log_level="warning", extra_args=[
        "-o", "inbound.lmtp_listen=127.0.0.1:%d" % lport])
    d.start()
    wait_port(lport)
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "127.0.0.1:%d" % sport,
                             "100"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(sport)
        t_lmtp = source(lport, True, path)
        t_sink = source(sport, False, path)
        with harness.sqlite(d.db) as c:
            stored = c.execute("SELECT count(*) FROM inbound").fetchone()[0]
    finally:
        sink.kill()
        sink.wait()
        d.stop()
    print("lmtp: %d messages in %.2f s = %.0f/s (%d stored)" % (N, t_lmtp, N / t_lmtp, stored))
    print("smtp-sink, same client and messages: %.2f s = %.0f/s" % (t_sink, N / t_sink))
    print("ratio lmtp/smtp-sink: %.2f" % (t_sink / t_lmtp))
    corpus = os.path.join(harness.ROOT, "..", "shared", "bounces", "emails")
    if os.path.isdir(corpus):
        classify_us(build, [os.path.join(corpus, f) for f in sorted(os.listdir(corpus))])


def run_classify(build, files):
    t0 = time.monotonic()
    subprocess.run([os.path.join(build, "tiedote"), "inbound", "classify"] + files,
                   check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def classify_us(build, files):
    """Microseconds per message: the corpus REPEAT times over in one
    command, less the same command on one file (its start: loading the
    program, opening nothing else), best of TRIES runs (a shared machine
    only ever makes a run slower)."""
    repeat, tries = 10, 3
    many = files * repeat
    best_many = min(run_classify(build, many) for _ in range(tries))
    best_once = min(run_classify(build, files[:1]) for _ in range(tries))
    us = (best_many - best_once) * 1e6 / (len(many) - 1)
    print("classify: %d messages (%d files x %d), %.0f us each, best of %d "
          "(the command's start, %.1f ms, left out)"
          % (len(many), len(files), repeat, us, tries, best_once * 1e3))

main()
