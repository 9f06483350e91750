"""bench/web - the subscriber pages under load (wrk, Debian's package), each
beside the same tool fetching a small static page of the same server in
the same run; then the send benchmark while slow clients hold web
connections open.

    /usr/bin/python3 bench/web.py BUILD [SECONDS [RECIPIENTS [SLOW]]]

1. A worker with web.listen sends the issue of 17.3. to 200 subscribers
   (a capturing SMTP server), so the archive has an issue.  Then wrk (2
   threads, 16 connections, SECONDS each, default 10) runs, in this order:
   GET /static/page.css (the static baseline, 5 kB), GET /issues/2020-01/fi
   (the archive's web view: the issue loaded and rendered), POST /u/TOKEN
   with List-Unsubscribe=One-Click (RFC 8058) to 50,000 further active
   subscribers in turn, so that every POST is a first one: through the
   control socket, a write transaction in the worker and its COMMIT (a
   repeated POST is answered from the page's own read and would measure
   nothing of that; how many readers the run unsubscribed is printed),
   the static page again.  Reported: requests/s, p50 and p99 latency, and each rate's
   ratio to the mean of the two static runs (the machine's speed drifts).
2. bench/send.py's run (RECIPIENTS, default 20,000; 4 connections into
   smtp-sink, its ratio to smtp-source in the same run) twice, with
   web.listen on: without other clients, then with SLOW (default 500) slow
   clients (bench/helpers/slow_clients.py, its own process) holding connections
   open for the whole run; the target is the second ratio within 10 % of
   the first, and tiedoted's CPU time per message beside it (the ratio
   moves with the shared machine's load; the CPU time much less).  The
   web port's established connections (/proc/net/tcp) are counted at
   every sample of the send: the server must hold all SLOW throughout.
The load average (1, 5, 15 minutes) is printed before and after: the
machine is shared.
"""
import base64
import hashlib
import hmac
import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "it"))
os.environ.setdefault("TIEDOTE_BUILD", os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build"))
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
RECIPIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
SLOW = int(sys.argv[4]) if len(sys.argv) > 4 else 500
sys.argv[1:] = sys.argv[1:2]    # send.py reads its own argv at import
import harness  # noqa: E402
import send  # noqa: E402
import test_web  # noqa: E402
from test_send import Clock, cli, prepare  # noqa: E402

send.N = RECIPIENTS


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


READERS = 50000     # active subscribers the one-click POSTs go through, each once


def tokens(d, first, n):
    """the /u/ paths of subscribers first..first+n-1, as token.h makes them"""
    (key,), = test_web.rows(d, "SELECT value FROM meta WHERE key = 'token_key'")
    key = bytes.fromhex(key)
    out = []
    for sid in range(first, first + n):
        raw = struct.pack("<q", sid) + b"u"
        mac = hmac.new(key, raw, hashlib.sha256).digest()[:16]
        out.append("/u/" + base64.urlsafe_b64encode(raw + mac).decode().rstrip("="))
    return out


def lua(workdir, paths):
    """a wrk script POSTing List-Unsubscribe=One-Click to each path in turn,
    the two threads interleaved, so that no path is posted twice while
    there are paths left: every POST is a first one, a write by the worker"""
    listing = os.path.join(workdir, "paths.txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    path = os.path.join(workdir, "oneclick.lua")
    with open(path, "w") as f:
        f.write('local paths = {}\n'
                'for l in io.lines("%s") do paths[#paths + 1] = l end\n'
                'local threads = 0\n'
                'function setup(thread) thread:set("tid", threads); threads = threads + 1 end\n'
                'local n = 0\n'
                'function request()\n'
                '  n = n + 1\n'
                '  local p = paths[((n - 1) * 2 + tid) %% #paths + 1]\n'
                '  return wrk.format("POST", p, {["Content-Type"] ='
                ' "application/x-www-form-urlencoded"}, "List-Unsubscribe=One-Click")\n'
                'end\n' % listing)
    return path


def unit(v, u):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[u]


def wrk(url, script=None):
    """(requests/s, p50 ms, p99 ms, non-2xx responses) of one wrk run"""
    cmd = ["wrk", "-t", "2", "-c", "16", "-d", "%ds" % SECONDS, "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rate, unit(*p50.groups()), unit(*p99.groups()), int(bad.group(1)) if bad else 0


def http_part():
    work = harness.tempdir()
    clock = Clock(work, "2020-03-10T12:00:00+02:00")
    cap, port, _ = test_web.capture(work)
    s = test_web.Site(work, port, extra=["-o", "log.level=warning",
                                         "-o", "web.per_ip_connections=64"]).start()
    d = s.d
    try:
        prepare(d, clock, 200)
        clock.set("2020-03-17T09:00:01+02:00")
        test_web.wait_for(lambda: test_web.rows(d, "SELECT state FROM issues") == [("sent",)],
                          timeout=120)
        csv_path = os.path.join(work, "readers.csv")
        with open(csv_path, "w") as f:
            f.write("email,name,lang,regions\n")
            f.writelines("bench%06d@example.fi,B,fi,all\n" % i for i in range(READERS))
        rc, _, err = cli(d, "subscriber", "import", csv_path)
        assert rc == 0, err
        (first,), = test_web.rows(d, "SELECT min(id) FROM subscribers WHERE email LIKE 'bench%'")
        runs = [("static GET /static/page.css", s.base + "/static/page.css", None),
                ("archive GET /issues/2020-01/fi", s.base + "/issues/2020-01/fi", None),
                ("one-click POST /u/TOKEN", s.base + "/",
                 lua(work, tokens(d, first, READERS))),
                ("static GET /static/page.css", s.base + "/static/page.css", None)]
        got = [(name, wrk(url, script)) for name, url, script in runs]
        (left,), = test_web.rows(d, "SELECT count(*) FROM subscribers WHERE status = 'active'"
                                 " AND email LIKE 'bench%'")
    finally:
        d.stop()
        cap.kill()
    static = (got[0][1][0] + got[3][1][0]) / 2
    print("web: wrk -t 2 -c 16 -d %ds, loopback, one worker (web on its own thread)" % SECONDS)
    for name, (rate, p50, p99, bad) in got:
        print("  %-32s %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  ratio to static %.3f%s"
              % (name, rate, p50, p99, rate / static, "  (%d non-2xx)" % bad if bad else ""))
    print("  one-click: %d of %d readers unsubscribed by the run (each POST a first one: %s)"
          % (READERS - left, READERS, "yes" if got[2][1][0] * SECONDS <= READERS * 1.05
             else "no, %d readers were too few" % READERS))


def send_part():
    slow = []

    def web_args(workdir):
        port = harness.free_port()
        slow.append(port)
        return ["-o", "web.listen=127.0.0.1:%d" % port, "-o", "web.max_connections=2048",
                "-o", "web.per_ip_connections=2048"]

    def with_slow(workdir):
        args = web_args(workdir)
        p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "helpers", "slow_clients.py"),
                              str(slow[-1]), str(SLOW)], stdout=subprocess.PIPE, text=True)
        slow.append(p)
        return args

    counts = []

    def established():
        """the web port's established connections now, from /proc/net/tcp"""
        port = "%04X" % slow[-2]
        with open("/proc/net/tcp") as f:
            counts.append(sum(1 for l in f if l.split()[1].endswith(":" + port) and
                              l.split()[3] == "01"))

    _, cpu_quiet, quiet = send.one("web on, no web clients", web_args)
    try:
        _, cpu_held, held = send.one("web on, %d slow clients holding connections" % SLOW, with_slow,
                              established)
    finally:
        slow[-1].terminate()
        first = slow[-1].communicate(timeout=30)[0].split("\n")[0]
    print("  slow clients: %s; connections the server held during the send: %d to %d"
          % (first or "none connected", min(counts or [0]), max(counts or [0])))
    print("send with %d slow web clients: ratio %.2f vs %.2f without (%.1f %% %s; target "
          "within 10 %%); tiedoted's CPU per message %.0f vs %.0f us"
          % (SLOW, held, quiet, 100 * abs(held - quiet) / quiet,
             "lower" if held < quiet else "higher", 1e6 * cpu_held, 1e6 * cpu_quiet))


def main():
    print("load average before: %s" % load())
    http_part()
    print("load average: %s" % load())
    send_part()
    print("load average after: %s" % load())


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in test_web.CAPTURES:
            p.kill()
