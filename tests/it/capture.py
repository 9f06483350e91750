"""A capturing SMTP server for tests (Debian's python3-aiosmtpd).

    /usr/bin/python3 tests/it/capture.py PORT DIR [--reject ADDR=REPLY ...]
                                                 [--defer ADDR=REPLY ...]
                                                 [--defer-once ADDR=REPLY ...]

Listens on 127.0.0.1:PORT and, for every message accepted, appends one JSON
line {"from", "rcpt", "size", "file"} to DIR/log.jsonl and writes the
message to DIR/NNNNNN.eml (file names in order of arrival).  --reject and
--defer answer RCPT TO for that address with REPLY (e.g. "550 5.1.1 User
unknown"); --defer-once only the first RCPT TO of that address, so its
retry is accepted.  A capture started again on the same DIR numbers on after the
files already there.  Prints "ready" on stdout when listening.  Runs until killed; it
is a separate process so a test can SIGKILL the worker and keep counting.
"""
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir, replies, once=()):
        self.outdir = outdir
        self.replies = replies
        self.once = set(once)
        self.n = len([f for f in os.listdir(outdir) if f.endswith(".eml")])
        self.log = open(os.path.join(outdir, "log.jsonl"), "a", buffering=1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.replies.get(address.lower())
        if reply:
            if address.lower() in self.once:
                del self.replies[address.lower()]
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = "%06d.eml" % self.n
        # written under another name, then renamed: a test that waits for
        # NNNNNN.eml to appear must never read it half-written
        tmp = os.path.join(self.outdir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.outdir, name))
        for rcpt in envelope.rcpt_tos:
            self.log.write(json.dumps({"from": envelope.mail_from, "rcpt": rcpt,
                                       "size": len(envelope.content), "file": name}) + "\n")
        return "250 2.0.0 Ok: queued as %d" % self.n


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    replies, once = {}, []
    args = sys.argv[3:]
    for flag, spec in zip(args[::2], args[1::2]):
        addr, reply = spec.split("=", 1)
        replies[addr.lower()] = reply
        if flag == "--defer-once":
            once.append(addr.lower())
    os.makedirs(outdir, exist_ok=True)
    ctl = Controller(Handler(outdir, replies, once), hostname="127.0.0.1", port=port,
                     data_size_limit=64 << 20, decode_data=False)
    ctl.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
