"""A throwaway Dovecot for the mailbox poller's tests (test_mailbox.py
IMAP, test_pop3.py POP3): Debian's dovecot-imapd and dovecot-pop3d on
free loopback ports, TLS only (a self-signed certificate made by
openssl), one passwd-file user; and what the tests put in it and read
back: a DSN, an auto-reply, a mail of no kind, IMAP APPEND, a poll; and
the Rig both tests stand on (a relay, a Dovecot, a worker, an issue)."""
import hashlib
import imaplib
import os
import ssl
import subprocess

import harness
from test_send import CLI, Clock, start_capture, wait_port
from inbound_common import send_issue

PASSWORD = "kissa-koira-1234"


def dsn(verp, rcpt):
    return ("Delivered-To: %s\r\nFrom: MAILER-DAEMON@mx.example.net\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nTo: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\r\n"
            "\r\n--X\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; %s\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown"
            "\r\n\r\n--X--\r\n" % (verp, verp, rcpt))


def vacation(verp):
    return ("Delivered-To: %s\r\nFrom: away@example.fi\r\nTo: %s\r\n"
            "Subject: Automatic reply: out of office\r\nAuto-Submitted: auto-replied\r\n\r\n"
            "Back on Monday.\r\n" % (verp, verp))


OTHER = ("From: someone@example.net\r\nTo: bounces@tiedote.example\r\n"
         "Subject: A question\r\n\r\nHow do I change my regions?\r\n")


def start_dovecot(workdir, pop3=False, plain=False, tls=True, extra=""):
    """(process, {"imaps": port[, "pop3s": port]}, SHA-256 of the
    certificate, the configuration's directory).  plain: the plain ports
    too ("imap"[, "pop3"]), where the client must ask for STARTTLS or STLS
    before it may log in; tls=False: a server with no TLS at all, only
    the plain ports, that takes a password in plain text; extra: more
    lines of dovecot.conf"""
    os.chmod(workdir, 0o755)
    conf = os.path.join(workdir, "dovecot")
    os.makedirs(conf)
    os.chmod(conf, 0o755)
    mail = os.path.join(conf, "mail")
    os.makedirs(mail)
    os.chown(mail, 65534, 65534)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", os.path.join(conf, "key.pem"),
                    "-out", os.path.join(conf, "cert.pem")], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", os.path.join(conf, "cert.pem"), "-outform",
                          "DER"], check=True, capture_output=True).stdout
    with open(os.path.join(conf, "passwd"), "w") as f:
        f.write("tiedote:{PLAIN}%s::::::\n" % PASSWORD)
    protos = ["imap"] + (["pop3"] if pop3 else [])
    ports = {}
    for proto in protos:
        if tls:
            ports[proto + "s"] = harness.free_port()
        if plain or not tls:
            ports[proto] = harness.free_port()
    with open(os.path.join(conf, "dovecot.conf"), "w") as f:
        f.write("""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = {protocols}
listen = 127.0.0.1
login_log_format_elements = user=<%u> method=%m rip=%r lip=%l lport=%a mpid=%e %c
{ssl}
auth_mechanisms = plain
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={d}/mail/%u
}}
first_valid_uid = 1
service anvil {{
  chroot =
}}
{extra}
""".format(d=conf, protocols=" ".join(protos), extra=extra,
           ssl=("ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem".format(d=conf)
                if tls else "ssl = no\ndisable_plaintext_auth = no")))
        # each protocol's listeners: a port 0 is off
        for proto in protos:
            f.write("""
service {proto}-login {{
  inet_listener {proto} {{
    port = {plain}
  }}
  inet_listener {proto}s {{
    port = {tls}
    ssl = yes
  }}
  chroot =
}}
""".format(proto=proto, plain=ports.get(proto, 0), tls=ports.get(proto + "s", 0)))
    p = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", os.path.join(conf, "dovecot.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for n in ports.values():
        wait_port(n, p)
    return p, ports, hashlib.sha256(der).hexdigest(), conf


def imap(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    c.login("tiedote", PASSWORD)
    return c


def append(port, text, folder="INBOX"):
    c = imap(port)
    c.append(folder, None, None, text.encode())
    c.logout()


def folder(port, name):
    """[(subject, flags)] of a folder"""
    c = imap(port)
    out = []
    typ, _ = c.select(name)
    if typ == "OK":
        _, data = c.uid("SEARCH", None, "ALL")
        for uid in data[0].split():
            _, d = c.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            flags = d[0][0].decode()
            subj = d[0][1].decode().strip()
            out.append((subj, flags))
    c.logout()
    return out


def poll(d, extra, once=True):
    argv = [CLI, "--db", d.db, "--json"]
    for kv in extra:
        argv += ["-o", kv]
    argv += ["inbound", "poll"] + (["--once"] if once else [])
    if once:
        p = subprocess.run(argv, capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)




def without_tls(r, d, workdir, proto, auth):
    """poll proto:// (imap or pop3) at a Dovecot with no TLS at all, which
    would take the password in plain text: exit 75, said, and the server
    saw no login"""
    os.makedirs(os.path.join(workdir, "bare"))
    bare, ports, _, conf = start_dovecot(os.path.join(workdir, "bare"), pop3=proto == "pop3",
                                         tls=False)
    try:
        rc, _, err = poll(d, ["inbound.mailbox=%s://127.0.0.1:%d" % (proto, ports[proto]),
                              "inbound.mailbox_auth_file=" + auth])
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    log = open(os.path.join(conf, "dovecot.log")).read()
    r.check(rc == 75 and "would not start TLS" in err and "Login:" not in log and
            "no auth attempts" in log,
            "%s:// to a server without %s: exit 75, no login tried" %
            (proto, "STARTTLS" if proto == "imap" else "STLS"), (rc, err, log))


class Rig:
    """A capturing relay, a Dovecot (with POP3: pop3), a worker whose first
    issue is at first, the mailbox's auth file; send() sends the issue"""

    def __init__(self, first, pop3=False):
        self.workdir = harness.tempdir()
        self.clock = Clock(self.workdir, "2020-03-10T12:00:00+02:00")
        self.cap, smtp_port, self.outdir = start_capture(self.workdir)
        self.dc, self.ports, self.sha, self.conf = start_dovecot(self.workdir, pop3, plain=True)
        self.first = first
        self.d = harness.Tiedoted(workdir=self.workdir, extra_args=[
            "-o", "smtp.url=smtp://127.0.0.1:%d" % smtp_port, "-o", "bulletin.first=" + first])
        self.d.start()
        self.poller = None  # a `tiedote inbound poll` the test started
        self.auth = os.path.join(self.workdir, "mailbox.auth")
        with open(self.auth, "w") as f:
            f.write("tiedote:%s\n" % PASSWORD)
        os.chmod(self.auth, 0o600)

    def send(self, r, readers):
        """{reader: VERP sender} of the first issue"""
        _, verp, _ = send_issue(self.d, self.clock, self.outdir, readers, self.first)
        r.check(len(verp) == len(readers), "the issue went out with VERP senders", verp)
        return verp

    def stop(self):
        if self.poller is not None:
            self.poller.kill()
            self.poller.wait()
        self.d.stop()
        self.cap.kill()
        self.cap.wait()
        self.dc.terminate()
        self.dc.wait(timeout=30)
