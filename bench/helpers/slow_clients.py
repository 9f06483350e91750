"""bench/helpers/slow_clients - hold N HTTP connections open to 127.0.0.1:PORT the
way a slow client does: a request line, then one header line every few
seconds, never the blank line that ends the request.

    /usr/bin/python3 bench/helpers/slow_clients.py PORT N [INTERVAL_S]

Connects once the port listens, prints "holding N" on stdout, then
trickles (well inside web.timeout_s) until killed; on SIGTERM it prints
how many of its connections the server had not closed ("still open K").
"""
import signal
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
socks = []


def done(*_):
    alive = 0
    for s in socks:
        try:
            s.send(b"X-b: 1\r\n")
            alive += 1
        except OSError:
            pass
    print("still open %d" % alive, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, done)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.send(b"GET /issues/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    socks.append(s)
print("holding %d" % len(socks), flush=True)
while True:
    time.sleep(interval)
    for s in socks:
        try:
            s.send(b"X-a: 1\r\n")
        except OSError:
            pass
