"""CurveZMQ producers (queue/README.md section 6) against a real tiedoted.

1. `tiedote keys generate` writes pyzmq-readable pairs (0600 secret file).
2. The worker refuses to start: a non-loopback tcp endpoint without CURVE
   (unless intake.allow_plain), a group-readable secret key, a secret file
   among the producer keys.
3. The Python producer of queue/README.md, that exact snippet (only the
   port changed), with a known key: ok, and the event is stored.
4. An unknown key: no reply, nothing stored, the refusal logged once; a
   plain (non-CURVE) socket: no reply either.
5. `tiedote enqueue` with client.key_file / client.server_key_file works;
   without them it gets no reply (exit 69).
6. A key removed from the directory, then SIGHUP: the same producer, on a
   fresh socket and on the socket it had open, gets no reply and nothing is
   stored; a key added + SIGHUP gets in.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time

import zmq
import zmq.auth

import harness

TIEDOTE = os.path.join(harness.BUILD, "tiedote")
NEWS = os.path.join(harness.QUEUE, "examples", "news-aluekoordinaattorit.json")
README = os.path.join(harness.QUEUE, "README.md")


def gen(path):
    p = subprocess.run([TIEDOTE, "keys", "generate", "--out", path], capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode()


def events(d):
    try:
        with harness.sqlite(d.db) as c:
            return c.execute("SELECT count(*) FROM event_revisions").fetchone()[0]
    except Exception:
        return 0


def request(endpoint, body, keys=None, timeout_ms=1500, sock=None):
    """one REQ round trip; keys = (public, secret, server) or None; the
    reply, or None when none came"""
    s = sock or zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    if keys and sock is None:
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = keys
    if sock is None:
        s.connect(endpoint)
    s.send(body)
    got = s.recv() if s.poll(timeout_ms) else None
    if sock is None:
        s.close()
    return got


def readme_snippet():
    with open(README) as f:
        text = f.read()
    sec = text[text.index("## 6. Authenticated producers"):]
    return re.search(r"```python\n(.*?)```", sec, re.S).group(1)


DEADLINE = os.path.join(harness.QUEUE, "examples", "deadline-valtionavustus-2020.json")


def body(r):
    work = harness.tempdir()
    keys = os.path.join(work, "producers")
    os.mkdir(keys)
    rc, server_pub, err = gen(os.path.join(work, "server"))
    r.check(rc == 0 and len(server_pub) == 40, "keys generate prints the public key", err)
    r.check(stat.S_IMODE(os.stat(os.path.join(work, "server.key_secret")).st_mode) == 0o600,
            "the secret file is 0600")
    pub, sec = zmq.auth.load_certificate(os.path.join(work, "server.key_secret"))
    r.check(pub.decode() == server_pub and sec, "pyzmq's load_certificate reads the pair")
    rc, _, err = gen(os.path.join(work, "server"))
    r.check(rc == 73, "keys generate never writes over a key (exit 73)", err)
    for name in ("alice", "bob", "cli"):
        rc, _, err = gen(os.path.join(work, name))
        assert rc == 0, err
    shutil.copy(os.path.join(work, "alice.key"), keys)
    shutil.copy(os.path.join(work, "cli.key"), keys)

    port = harness.free_port()
    harness.refused_start(r, ["--endpoint", "tcp://*:%d" % port],
                          "tcp://* without CURVE is refused (exit 78)", "intake.allow_plain")
    d = harness.Tiedoted(extra_args=["--endpoint", "tcp://0.0.0.0:%d" % port,
                                     "-o", "intake.allow_plain=yes"])
    with open(d.log, "ab") as logf:     # start() waits for 127.0.0.1, not 0.0.0.0
        d.proc = subprocess.Popen(d.argv(), stdout=logf, stderr=logf)
    r.check(harness.wait_log(d, "intake: listening on tcp://0.0.0.0:%d" % port),
            "tcp://0.0.0.0 starts with intake.allow_plain = yes", d.log_tail())
    r.check(d.stop() == 0, "and stops", d.log_tail())
    open_key = os.path.join(work, "open.key_secret")
    shutil.copy(os.path.join(work, "server.key_secret"), open_key)
    os.chmod(open_key, 0o644)
    harness.refused_start(r, ["-o", "intake.key_file=" + open_key,
                              "-o", "intake.producer_keys=" + keys],
                          "a world-readable server secret key is refused", "mode 0644")
    bad = os.path.join(work, "bad")
    os.mkdir(bad)
    shutil.copy(os.path.join(work, "bob.key_secret"), os.path.join(bad, "bob.key"))
    harness.refused_start(r, ["-o", "intake.key_file=" + os.path.join(work, "server.key_secret"),
                              "-o", "intake.producer_keys=" + bad],
                          "a secret file among the producer keys is refused", "only public keys")

    d = harness.Tiedoted(extra_args=[
        "-o", "intake.key_file=" + os.path.join(work, "server.key_secret"),
        "-o", "intake.producer_keys=" + keys]).start()
    r.check("zap: 2 producer keys allowed" in d.log_text(), "the worker reads 2 keys",
            d.log_tail())
    # the README's producer, exactly, with the port of this worker
    code = readme_snippet().replace("tcp://127.0.0.1:5570", d.endpoint)
    run = os.path.join(work, "run")
    os.mkdir(run)
    os.symlink(harness.QUEUE, os.path.join(run, "queue"))
    shutil.copy(os.path.join(work, "alice.key_secret"), os.path.join(run, "producer.key_secret"))
    shutil.copy(os.path.join(work, "server.key"), os.path.join(run, "server.key"))
    p = subprocess.run(["/usr/bin/python3", "-c", code], cwd=run, capture_output=True,
                       timeout=60)
    out = p.stdout.decode()
    r.check(p.returncode == 0 and "'status': 'ok'" in out and "'revision': 1" in out,
            "queue/README.md's CURVE producer with a known key: ok", out + p.stderr.decode())
    r.check(events(d) == 1, "and the event is stored")

    def k(name):
        pub_, sec_ = zmq.auth.load_certificate(os.path.join(work, name + ".key_secret"))
        return pub_, sec_, server_pub.encode()

    news = open(NEWS, "rb").read()
    ev = json.loads(news)
    ev["summary"] = "Muutettu tiivistelmä."
    changed = json.dumps(ev, ensure_ascii=False).encode()
    r.check(request(d.endpoint, changed, k("bob")) is None and events(d) == 1,
            "an unknown key gets no reply and stores nothing")
    r.check(request(d.endpoint, changed, k("bob")) is None, "nor on a second try")
    r.check(harness.wait_log(d, "zap: refused producer key") and
            d.log_text().count("zap: refused producer key") == 1,
            "the refused key is logged once", d.log_tail())
    r.check(request(d.endpoint, changed) is None and events(d) == 1,
            "a plain socket gets no reply either")

    base = ["--db", d.db, "--endpoint", d.endpoint, "-o", "client.timeout_ms=500",
            "-o", "client.total_timeout_ms=1500"]
    p = subprocess.run([TIEDOTE] + base + [
        "-o", "client.key_file=" + os.path.join(work, "cli.key_secret"),
        "-o", "client.server_key_file=" + os.path.join(work, "server.key"),
        "enqueue", DEADLINE], capture_output=True, timeout=60)
    r.check(p.returncode == 0 and events(d) == 2, "tiedote enqueue with client.key_file",
            p.stderr.decode())
    p = subprocess.run([TIEDOTE] + base + ["enqueue", DEADLINE], capture_output=True,
                       timeout=60)
    r.check(p.returncode == 69, "tiedote enqueue without a key: no reply, exit 69",
            p.returncode)
    # the control socket (ipc, no CURVE) in the same ZeroMQ context: its
    # connections pass the ZAP handler too, which lets them in
    p = subprocess.run([TIEDOTE, "--db", d.db, "subscriber", "add", "anu.niemi@thl.fi"],
                       capture_output=True, timeout=60)
    r.check(p.returncode == 0, "tiedote subscriber add through the control socket (the worker "
            "holds the lock, so it must go there)", p.stderr.decode())

    # a socket alice keeps open across the removal of her key
    ctx = zmq.Context.instance()
    held = ctx.socket(zmq.REQ)
    held.setsockopt(zmq.LINGER, 0)
    held.curve_publickey, held.curve_secretkey, held.curve_serverkey = k("alice")
    held.connect(d.endpoint)
    got = request(d.endpoint, news, sock=held)
    r.check(got is not None and b'"duplicate"' in got, "alice's open socket works", got)
    os.remove(os.path.join(keys, "alice.key"))
    shutil.copy(os.path.join(work, "bob.key"), keys)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while d.log_text().count("zap: 2 producer keys allowed") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    r.check(d.log_text().count("zap: 2 producer keys allowed") == 2,
            "SIGHUP reads the directory again", d.log_tail())
    r.check(request(d.endpoint, changed, k("alice")) is None and events(d) == 2,
            "a removed key: no reply, nothing stored")
    r.check(request(d.endpoint, changed, sock=held) is None and events(d) == 2,
            "nor on the connection it had open before the removal")
    held.close()
    got = request(d.endpoint, changed, k("bob"), timeout_ms=10000)
    r.check(got is not None and b'"ok"' in got and events(d) == 3,
            "an added key gets in after SIGHUP", got)
    r.check(d.stop() == 0, "exit 0 on SIGTERM")


if __name__ == "__main__":
    harness.main(body)
