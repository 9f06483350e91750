"""bench/send - the whole worker sending a personalised bulletin into
Postfix's smtp-sink, beside smtp-source -d into the same sink in the same
run.

    /usr/bin/python3 bench/send.py BUILD [RECIPIENTS [CONNECTIONS,...]]

Both send RECIPIENTS messages (default 100,000) over the same number of
connections (smtp.connections; default 4, or each of a list such as
4,16,64, one whole run each); smtp-source's messages are as large as
ours (-l).  smtp-source runs before and after the worker, and the ratio is
to the mean of the two: this machine's speed drifts within a run.  We
report messages/s, the ratio, the worker's peak RSS (VmHWM) during the
send, and the CPU time per message of the worker and of smtp-sink.  Our
rate is the sending's, between 5 % and 95 % of the messages sent (the
outbox is read every 0.25 s, every 10 ms until it is filled and over the
last 2 %); the rate of the whole issue, from the clock change to the
issue marked sent (starting the issue, which the worker does when its
clock moves, filling the outbox, and marking it sent at the commit of its
last outcome are in it), is printed too.
Also printed: the rate over the last tenth of the messages against the
first tenth, the time from the clock change until the issue's outbox is
filled, and the database's growth in pages over the issue.
BENCH_DECILES=1 also prints our rate over each tenth of the messages;
BENCH_UNSIGNED_ONLY=1 leaves out the signed run (a million recipients).
For each number of connections the issue is sent twice, each time by a
worker with a database of its own: unsigned, then DKIM-signed with an
RSA-2048 and an Ed25519 key made by `tiedote dkim keygen` (two signatures
a message); "signed/unsigned" is the ratio of the two rates, the cost of
signing.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "it"))
os.environ.setdefault("TIEDOTE_BUILD", os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"))
import harness  # noqa: E402
from test_send import Clock, FIRST, cli, db_rows, prepare, start_sink, wait_issue, worker  # noqa: E402

N = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
CONNS = [int(c) for c in (sys.argv[3] if len(sys.argv) > 3 else "4").split(",")]
CONN = 4


def db_size(d):
    """the database's pages, in bytes, the WAL's committed pages included"""
    (count,), = db_rows(d, "PRAGMA page_count")
    (size,), = db_rows(d, "PRAGMA page_size")
    return count * size


def cpu_seconds(pid):
    """user + system CPU time of a process so far"""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def smtp_source(port, size):
    """smtp-source's rate, same sink, same connections, same size"""
    t0 = time.monotonic()
    subprocess.run(["/usr/sbin/smtp-source", "-d", "-s", str(CONN), "-l", str(size), "-m", str(N),
                    "-f", "bench@tiedote.example", "-t", "sink@example.fi",
                    "127.0.0.1:%d" % port], check=True, stdout=subprocess.DEVNULL)
    return N / (time.monotonic() - t0)


def dkim_keys(workdir):
    """dkim.* settings with an RSA-2048 and an Ed25519 key of their own"""
    args = ["-o", "dkim.domain=tiedote.example"]
    for kind, sel, opt in (("rsa", "s1", ""), ("ed25519", "e1", "ed25519_")):
        path = os.path.join(workdir, "dkim-%s.pem" % kind)
        subprocess.run([os.path.join(harness.BUILD, "tiedote"), "dkim", "keygen", "--domain",
                        "tiedote.example", "--selector", sel, "--out", path, "--type", kind],
                       check=True, stdout=subprocess.DEVNULL)
        args += ["-o", "dkim.%sselector=%s" % (opt, sel), "-o", "dkim.%skey_file=%s" % (opt, path)]
    return args


def main():
    global CONN
    for CONN in CONNS:
        plain, plain_cpu, _ = one("unsigned")
        if os.environ.get("BENCH_UNSIGNED_ONLY"):
            continue
        signed, signed_cpu, _ = one("DKIM-signed (rsa-sha256 + ed25519-sha256)", dkim_keys)
        print("  signed/unsigned %.2f (%.0f vs %.0f msg/s); CPU per message %.0f vs %.0f us"
              % (signed / plain, signed, plain, 1e6 * signed_cpu, 1e6 * plain_cpu))


def one(label, extra=lambda workdir: [], probe=None):
    """one run; probe, if given, is called at every sample of the send"""
    workdir = harness.tempdir()
    sink, port = start_sink(["-m", "1000"])    # sessions at once: room for 64 and more
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "smtp.connections=%d" % CONN, "-o", "log.level=warning"]
               + extra(workdir)).start()
    prepare(d, clock, N)
    rc, eml, _ = cli(d, "issue", "preview", "--at", FIRST, "--subscriber", "tilaaja00000@example.fi")
    size = len(eml.encode())

    sink_cpu = cpu_seconds(sink.pid)
    base1 = smtp_source(port, size)
    base_sink_cpu = cpu_seconds(sink.pid) - sink_cpu

    sink_cpu, our_cpu = cpu_seconds(sink.pid), cpu_seconds(d.proc.pid)
    size0 = db_size(d)
    filled = None
    t0 = time.monotonic()
    clock.set("2020-03-17T09:00:01+02:00")
    peak = 0
    samples = []        # (seconds, messages sent)
    while True:
        with open("/proc/%d/status" % d.proc.pid) as f:
            m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
            peak = max(peak, int(m.group(1)))
        state = db_rows(d, "SELECT state, recipients FROM issues ORDER BY id DESC LIMIT 1")
        # sent = filled - open; the open rows are counted from the worker's
        # own partial index (counting 'sent' would read every row)
        sent = 0
        if state and state[0][1] == N:
            if filled is None:
                filled = time.monotonic() - t0
            sent = N - db_rows(d, "SELECT count(*) FROM outbox WHERE kind = 'bulletin'"
                               " AND (state = 'queued' OR state = 'sending' OR state = 'deferred')")[0][0]
        samples.append((time.monotonic() - t0, sent))
        if probe:
            probe()
        if state and state[0][0] == "sent":
            break
        # counting the outbox costs the shared CPUs too: every 0.25 s while
        # sending, every 10 ms until the outbox is filled and over the last
        # 2 %, so that the fill time and the whole issue's end are exact
        # to 10 ms (the issue is marked sent by its last outcome's commit)
        time.sleep(0.01 if filled is None or sent >= 0.98 * N else 0.25)
    whole = N / (time.monotonic() - t0)
    our_cpu = cpu_seconds(d.proc.pid) - our_cpu
    sink_cpu = cpu_seconds(sink.pid) - sink_cpu
    sent = db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]
    # the sending itself, as smtp-source's figure is: from 5 % to 95 % of
    # the messages sent, without starting the issue, filling the outbox and
    # marking it sent
    def when(k):
        for (ta, a), (tb, b) in zip(samples, samples[1:]):
            if b >= k:
                return ta + (tb - ta) * (k - a) / max(b - a, 1)
        return samples[-1][0]
    if os.environ.get("BENCH_DECILES"):
        print("  deciles:", " ".join("%.0f" % (0.1 * N / max(when((k + 1) * N / 10) - when(k * N / 10), 1e-9)) for k in range(10)))
    ours = 0.9 * N / max(when(0.95 * N) - when(0.05 * N), 1e-9)
    # from the first message sent: the fill before it is not sending
    first = (0.1 * N - 1) / max(when(0.1 * N) - when(1), 1e-9)
    last = 0.1 * N / max(when(N) - when(0.9 * N), 1e-9)
    growth = db_size(d) - size0
    d.stop()
    base2 = smtp_source(port, size)
    base = (base1 + base2) / 2
    sink.kill()
    print("send, %s: %d recipients, %d-byte personalised bulletin, %d connections, smtp-sink"
          " on loopback" % (label, N, size, CONN))
    print("  smtp-source -d            %8.0f msg/s   (%.0f before, %.0f after)" % (base, base1, base2))
    print("  tiedoted (outbox->SMTP)   %8.0f msg/s   %d sent   peak RSS %.1f MiB"
          % (ours, sent, peak / 1024))
    print("  ratio tiedoted/smtp-source %7.2f" % (ours / base))
    print("  CPU per message: tiedoted %.0f us (outbox fill included), smtp-sink %.0f us"
          " (%.0f us under smtp-source)"
          % (1e6 * our_cpu / N, 1e6 * sink_cpu / N, 1e6 * base_sink_cpu / N))
    print("  the whole issue, clock change to 'sent' (start and outbox fill included): "
          "%.0f msg/s, %.2f" % (whole, whole / base))
    print("  last tenth vs first tenth %.2f (%.0f vs %.0f msg/s); outbox filled %.1f s after"
          " the clock change; database grew %.1f MiB (%.0f bytes a recipient; the WAL aside)"
          % (last / first, last, first, filled or -1, growth / 1048576, growth / N))
    return ours, our_cpu / N, ours / base


if __name__ == "__main__":
    main()
