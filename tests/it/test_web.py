"""The subscriber pages (docs/web.md), through real HTTP.

The worker runs with web.listen on a free loopback port and message.base_url
pointing at it, so the links in the messages it sends (captured by
aiosmtpd) are the links a test follows.  Its clock is TIEDOTE_NOW_FILE.

1. Plain HTTP (urllib, http.client): the RFC 8058 POST exactly as a
   mailbox provider sends it (form body List-Unsubscribe=One-Click, no
   cookie, no redirect) unsubscribes at once and cancels the address's
   deferred bulletin; GET changes nothing; both repeat harmlessly; the
   /p/ contact opt-out the same; forged, other-purpose and truncated
   tokens get 404 and change nothing; an oversize body 413 (declared and
   chunked); CR/LF in a field or a path is refused and reaches no header;
   the security headers; X-Forwarded-For only from web.trusted_proxies;
   web.posts_per_ip_hour (429); one confirmation per address per
   web.confirm_interval and the same answer for a known address; per-IP
   connection limit; a slow client does not delay intake; double opt-in
   (an unsubscribed address comes back only by confirming; an expired
   link is 410; the forms' errors in fi, sv and en); preferences (language, regions, a pause) apply to the
   next issue; the archive lists sent issues only, the web view has no
   personal parts, a held issue is never public, the Atom feed parses.
2. Headless Chromium (Debian's chromium + chromium-driver +
   python3-selenium): subscribe -> the confirmation read from the
   capturing SMTP server -> its link -> confirm -> preferences -> change
   -> unsubscribe from the page; every page on a desktop and a phone
   width, screenshots kept in the work directory.
"""
import email
import email.policy
import hmac
import hashlib
import base64
import http.client
import json
import os
import signal
import re
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import harness
from test_notices import captured
from test_send import Clock, cli, start_capture, wait_port

EXAMPLES = os.path.join(harness.QUEUE, "examples")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url, data=None, headers=None, method=None):
    """(status, headers, body text) without following a redirect or
    keeping a cookie"""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with OPENER.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def form(url, fields, xff=None):
    body = urllib.parse.urlencode(fields, doseq=True).encode()
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if xff:
        h["X-Forwarded-For"] = xff
    return fetch(url, body, h)


def one_click(url):
    """RFC 8058 section 3.1, as a provider sends it"""
    return fetch(url, b"List-Unsubscribe=One-Click",
                {"Content-Type": "application/x-www-form-urlencoded"})


def csrf_of(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    return m.group(1) if m else ""


def hidden(page):
    """the subscribe form's hidden fields: its anti-forgery value and the
    version of the consent text it showed"""
    m = re.search(r'name="consent_version" value="([^"]*)"', page)
    return {"csrf": csrf_of(page), "consent_version": m.group(1) if m else ""}


def token(d, purpose, subject):
    """a token as token.h makes it, from the key in the database"""
    with harness.sqlite(d.db) as c:
        key = bytes.fromhex(c.execute("SELECT value FROM meta WHERE key = 'token_key'")
                            .fetchone()[0])
    raw = struct.pack("<q", subject) + purpose.encode()
    mac = hmac.new(key, raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")


def rows(d, sql, args=()):
    with harness.sqlite(d.db) as c:
        return c.execute(sql, args).fetchall()


wait_for = harness.wait_for     # imported from here by other tests and bench/web.py


def mail_to(outdir, rcpt, n=1):
    return wait_for(lambda: [m for r, m in captured(outdir) if r == rcpt][n - 1:] and
                    [m for r, m in captured(outdir) if r == rcpt])


def text_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def link_in(msg, kind):
    m = re.search(r"(http://127\.0\.0\.1:\d+/%s/[A-Za-z0-9_-]+)" % kind, text_of(msg))
    return m.group(1) if m else None


def unsub_url(msg):
    m = re.search(r"<(http://[^>]+/u/[A-Za-z0-9_-]+)>", str(msg.get("List-Unsubscribe", "")))
    return m.group(1) if m else None


class Site:
    def __init__(self, workdir, smtp_port, extra=()):
        self.web_port = harness.free_port()
        self.base = "http://127.0.0.1:%d" % self.web_port
        self.d = harness.Tiedoted(workdir=workdir, log_level="info", extra_args=[
            "-o", "smtp.url=smtp://127.0.0.1:%d" % smtp_port,
            "-o", "bulletin.first=2020-03-17T09:00:00+02:00",
            "-o", "smtp.retry_base_s=3600",
            "-o", "message.base_url=" + self.base,
            "-o", "web.listen=127.0.0.1:%d" % self.web_port,
            "-o", "web.trusted_proxies=127.0.0.1",
            "-o", "web.posts_per_ip_hour=6",
            "-o", "web.per_ip_connections=4"] + list(extra))

    def start(self):
        self.d.start()
        wait_port(self.web_port, self.d.proc)
        return self


CAPTURES = []


def capture(work, extra=()):
    p, port, outdir = start_capture(work, list(extra))
    CAPTURES.append(p)
    return p, port, outdir


def test_http(r, work):
    clock = Clock(work, "2020-03-10T10:00:00+02:00")
    cap, smtp_port, outdir = capture(work, ["--defer", "viivi@example.fi=451 4.2.0 later"])
    s = Site(work, smtp_port).start()
    d, base = s.d, s.base
    for f in sorted(os.listdir(EXAMPLES)):
        cli(d, "enqueue", os.path.join(EXAMPLES, f))
    for who, lang in (("anu@example.fi", "fi"), ("viivi@example.fi", "fi"),
                      ("bo@example.fi", "sv"), ("paula@example.fi", "en")):
        rc, _, err = cli(d, "subscriber", "add", who, "--lang", lang)
        r.check(rc == 0, "subscriber add %s" % who, err)
    cli(d, "project", "add", "kys-hanke", "--name", "KYS-hanke", "--region", "KYS",
        "--contact", "hanke@example.fi")

    # the headers of every page
    st, h, page = fetch(base + "/subscribe?lang=sv")
    r.check(st == 200 and '<html lang="sv">' in page, "GET /subscribe?lang=sv: 200, lang sv")
    # Accept-Language by its weights (RFC 9110 12.5.4): ours of the
    # highest q, the first of equal ones, q=0 never; "fil" is not fi
    for accept, want in (("fi;q=0.1, en;q=0.9", "en"), ("en-GB;q=0.8, sv;q=0.9", "sv"),
                         ("sv;q=0, en", "en"), ("de, sv-FI, en", "sv"),
                         ("fil, en;q=0.5", "en"), ("EN-us;Q=0.7,fi;q=0.700", "en"),
                         ("de, *;q=0.5", "fi"), ("sv;q=0", "fi")):
        st, _, page = fetch(base + "/subscribe", headers={"Accept-Language": accept})
        r.check(st == 200 and '<html lang="%s">' % want in page,
                "Accept-Language: %s -> %s" % (accept, want), page[:120])
    r.check(h.get("Content-Security-Policy", "").startswith("default-src 'none'") and
            h.get("X-Frame-Options") == "DENY" and h.get("Referrer-Policy") == "no-referrer"
            and h.get("Cache-Control") == "no-store",
            "CSP default-src 'none', X-Frame-Options DENY, Referrer-Policy no-referrer",
            dict(h))
    r.check("<script" not in page and "https://" not in page.replace(base, ""),
            "no script, no third-party asset")
    st, h, _ = fetch(base + "/static/page.css")
    r.check(st == 200 and h.get("Content-Type", "").startswith("text/css"), "the stylesheet")
    st, _, _ = fetch(base + "/nothing-here")
    r.check(st == 404, "an unknown path: 404")
    st, h, _ = fetch(base + "/subscribe", method="DELETE")
    r.check(st == 405, "DELETE: 405")

    # the issue of 17.3. goes out; viivi's is deferred
    clock.set("2020-03-17T09:00:01+02:00")
    anu = mail_to(outdir, "anu@example.fi")
    r.check(anu and unsub_url(anu[0]), "the bulletin carries the /u/ link",
            anu and anu[0].get("List-Unsubscribe"))
    url = unsub_url(anu[0])
    r.check(url and url + "/preferences" in text_of(anu[0]) and
            'href="%s/preferences"' % url in anu[0].get_body(("html",)).get_content(),
            "the bulletin carries the preferences link beside unsubscribe")
    wait_for(lambda: rows(d, "SELECT state FROM outbox WHERE recipient = 'viivi@example.fi'")
             == [("deferred",)])
    r.check(rows(d, "SELECT state FROM outbox WHERE recipient = 'viivi@example.fi'") ==
            [("deferred",)], "viivi's bulletin is deferred")

    # GET changes nothing (link scanners)
    st, _, page = fetch(url)
    r.check(st == 200 and 'name="List-Unsubscribe" value="One-Click"' in page and
            'method="post"' in page and url + "/preferences" in page,
            "GET /u/TOKEN: one button that POSTs, a link to the preferences", page[:300])
    r.check(rows(d, "SELECT status FROM subscribers WHERE email = 'anu@example.fi'") ==
            [("active",)], "GET /u/TOKEN changed nothing")

    # forged, other purpose, truncated: 404, nothing changed
    tok = url.rsplit("/", 1)[1]
    forged = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    for name, u in (("forged", base + "/u/" + forged),
                    ("truncated", base + "/u/" + tok[:-4]),
                    ("confirm token at /u/", base + "/u/" + token(d, "c", 1)),
                    ("contact token at /u/", base + "/u/" + token(d, "p", 1)),
                    ("token of another installation", base + "/u/" +
                     base64.urlsafe_b64encode(struct.pack("<q", 1) + b"u" + bytes(16))
                     .decode().rstrip("="))):
        st, _, page = one_click(u)
        r.check(st == 404 and "lang=" in page, "POST %s: 404 with a page" % name, st)
    r.check(rows(d, "SELECT status FROM subscribers WHERE email = 'anu@example.fi'") ==
            [("active",)], "nothing changed by a bad token")

    # oversize bodies: declared and chunked
    st, _, _ = fetch(url, b"List-Unsubscribe=One-Click&x=" + b"a" * 20000,
                    {"Content-Type": "application/x-www-form-urlencoded"})
    r.check(st == 413, "a 20 kB body (Content-Length): 413", st)
    c = http.client.HTTPConnection("127.0.0.1", s.web_port, timeout=30)
    c.putrequest("POST", urllib.parse.urlsplit(url).path)
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    try:
        for _ in range(20):
            c.send(b"400\r\n" + b"a" * 1024 + b"\r\n")
        c.send(b"0\r\n\r\n")
        st = c.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        st = "closed"
    c.close()
    r.check(st == 413, "a 20 kB chunked body: 413 (read to its end, then answered)", st)
    r.check(rows(d, "SELECT status FROM subscribers WHERE email = 'anu@example.fi'") ==
            [("active",)], "nothing changed by an oversize body")
    st, _, _ = fetch(url, b"List-Unsubscribe=Other",
                    {"Content-Type": "application/x-www-form-urlencoded"})
    r.check(st == 400, "a POST without List-Unsubscribe=One-Click: 400")

    # the one-click POST, as a provider sends it
    st, h, page = one_click(url)
    r.check(st == 200 and h.get("Location") is None and h.get("Set-Cookie") is None,
            "RFC 8058 POST: 200, no redirect, no cookie", st)
    r.check(rows(d, "SELECT status FROM subscribers WHERE email = 'anu@example.fi'") ==
            [("unsubscribed",)], "unsubscribed at once")
    st, _, _ = one_click(url)
    st2, _, page2 = fetch(url)
    r.check(st == 200 and st2 == 200 and 'id="done"' in page2,
            "repeating POST and GET: 200, shown as done")
    r.check("control: web.unsubscribe ok" in d.log_text() and tok not in d.log_text(),
            "through the control socket; the token is in no log line")

    # viivi's deferred bulletin is cancelled by her one click
    vurl = token(d, "u", rows(d, "SELECT id FROM subscribers WHERE email = 'viivi@example.fi'")[0][0])
    st, _, _ = one_click(base + "/u/" + vurl)
    r.check(st == 200 and rows(d, "SELECT state FROM outbox WHERE recipient ="
                               " 'viivi@example.fi'") == [("cancelled",)],
            "the deferred bulletin of the address is cancelled")

    # a project contact's opt-out
    cid = rows(d, "SELECT id FROM contacts WHERE email = 'hanke@example.fi'")[0][0]
    purl = base + "/p/" + token(d, "p", cid)
    st, _, page = fetch(purl)
    r.check(st == 200 and "One-Click" in page and rows(d, "SELECT count(*) FROM"
            " contact_optouts") == [(0,)], "GET /p/TOKEN: asks, changes nothing")
    st, _, _ = one_click(purl)
    st2, _, _ = one_click(purl)
    r.check(st == 200 and st2 == 200 and rows(d, "SELECT email FROM contact_optouts") ==
            [("hanke@example.fi",)], "POST /p/TOKEN: opted out, repeatable")
    st, _, _ = one_click(base + "/p/" + token(d, "u", cid))
    r.check(st == 404, "a subscriber token at /p/: 404")

    # CR/LF: in a path, in a field
    st, h, _ = fetch(base + "/u/" + tok + "%0d%0aSet-Cookie:%20x=1")
    r.check(st == 404 and h.get("Set-Cookie") is None, "CR LF in the path: 404, no header")
    st, _, page = fetch(base + "/subscribe")
    st, h, page = form(base + "/subscribe", {**hidden(page), "email": "eve@example.fi",
                       "name": "Eve\r\nBcc: all@example.fi", "lang": "fi"}, xff="192.0.2.1")
    r.check(st == 400 and h.get("Bcc") is None and rows(d, "SELECT count(*) FROM"
            " confirmations WHERE email = 'eve@example.fi'") == [(0,)],
            "CR LF in a name: 400, nothing stored", st)
    st, _, page = form(base + "/subscribe", {**hidden(page),
                       "email": "eve@example.fi\r\nBcc: x@example.fi"}, xff="192.0.2.1")
    r.check(st == 400, "CR LF in an address: 400")
    # the form's errors in the page's language: fi, sv, en
    for i, (lang, words) in enumerate((("fi", ("Sähköpostiosoite ei kelpaa: tarkista se.",
                                "Nimi ei kelpaa: siinä ei voi olla rivinvaihtoja")),
                        ("sv", ("E-postadressen är inte giltig: kontrollera den.",
                                "Namnet är inte giltigt")),
                        ("en", ("The e-mail address is not valid: please check it.",
                                "The name is not valid")))):
        st, _, p2 = fetch(base + "/subscribe?lang=" + lang)
        st, _, bad = form(base + "/subscribe?lang=" + lang,
                          {**hidden(p2), "email": "not an address", "name": "A\x01B",
                           "lang": lang}, xff="192.0.2.4%d" % i)
        r.check(st == 400 and '<html lang="%s">' % lang in bad and
                all(w in bad for w in words) and bad.count("<li>") == 2,
                "the subscribe form's errors in %s" % lang, bad[:2000])
    st, _, bad = form(base + "/subscribe?lang=sv", {**hidden(page),
                      "consent_version": "0" * 16, "email": "eve@example.fi", "lang": "sv"},
                      xff="192.0.2.45")
    r.check(st == 400 and "Samtyckestexten har ändrats" in bad,
            "a changed consent text: said in Swedish", bad[:2000])
    st, _, _ = form(base + "/subscribe", {"csrf": "forged", "email": "eve@example.fi"},
                    xff="192.0.2.1")
    r.check(st == 400 and rows(d, "SELECT count(*) FROM confirmations") == [(0,)],
            "a form without its anti-forgery value: refused")
    # a fresh anti-forgery value in another site's form, posted by its
    # visitors' browsers: the browser says where the form came from
    st, _, page = fetch(base + "/subscribe")
    for site in ("cross-site", "same-site"):
        body = urllib.parse.urlencode({**hidden(page), "email": "eve@example.fi"}).encode()
        st, _, _ = fetch(base + "/subscribe", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": site,
            "Origin": "null", "X-Forwarded-For": "192.0.2.2"})
        r.check(st == 400 and rows(d, "SELECT count(*) FROM confirmations") == [(0,)],
                "a valid form posted from another site (Sec-Fetch-Site: %s): refused" % site, st)

    # double opt-in; the same answer for an unknown, a known, a repeated address
    st, _, page = fetch(base + "/subscribe")
    answers = []
    for who, ip in (("uusi@example.fi", "192.0.2.10"), ("bo@example.fi", "192.0.2.11"),
                    ("uusi@example.fi", "192.0.2.12")):
        st, _, body = form(base + "/subscribe", {**hidden(page), "email": who,
                           "lang": "en", "regions": ["KYS", "OYS"]}, xff=ip)
        answers.append((st, body))
    r.check(all(a == answers[0] for a in answers) and answers[0][0] == 200,
            "the same answer for a new, a known and a repeated address")
    r.check(rows(d, "SELECT count(*) FROM outbox WHERE kind = 'confirm' AND recipient ="
                 " 'uusi@example.fi'") == [(1,)],
            "one confirmation per address per web.confirm_interval")
    conf = mail_to(outdir, "uusi@example.fi")
    curl = conf and link_in(conf[0], "c")
    r.check(curl, "the confirmation message carries /c/TOKEN", conf and text_of(conf[0]))
    r.check(rows(d, "SELECT count(*) FROM subscribers WHERE email = 'uusi@example.fi'") ==
            [(0,)], "not subscribed before confirming")
    st, _, page = fetch(curl)
    r.check(st == 200 and 'id="confirm"' in page and '<html lang="en">' in page,
            "GET /c/TOKEN: a confirm button, in the chosen language")
    st, _, _ = form(curl, {"csrf": csrf_of(page)}, xff="192.0.2.13")
    r.check(st == 200 and rows(d, "SELECT status, lang, regions FROM subscribers WHERE"
            " email = 'uusi@example.fi'") == [("active", "en", 8 | 16)],
            "POST /c/TOKEN: active with its language and regions", rows(
                d, "SELECT status, lang, regions FROM subscribers WHERE email = 'uusi@example.fi'"))
    st, _, _ = form(curl, {"csrf": csrf_of(page)}, xff="192.0.2.13")
    r.check(st == 200, "confirming twice: 200")

    # an unsubscribed address comes back only by confirming
    st, _, page = fetch(base + "/subscribe")
    st, _, _ = form(base + "/subscribe", {**hidden(page), "email": "anu@example.fi"},
                    xff="192.0.2.20")
    back = mail_to(outdir, "anu@example.fi", 2)
    r.check(rows(d, "SELECT status FROM subscribers WHERE email = 'anu@example.fi'") ==
            [("unsubscribed",)] and back and link_in(back[-1], "c"),
            "an unsubscribed address: still out until it confirms")
    # an expired link: 410, nothing changed
    clock.set("2020-03-25T10:00:00+02:00")
    st, _, _ = fetch(link_in(back[-1], "c"))
    r.check(st == 410 and rows(d, "SELECT status FROM subscribers WHERE email ="
            " 'anu@example.fi'") == [("unsubscribed",)], "a confirmation after 8 days: 410", st)

    # web.posts_per_ip_hour, counted per X-Forwarded-For client
    st, _, page = fetch(base + "/subscribe")
    got = [form(base + "/subscribe", {**hidden(page), "email": "x%d@example.fi" % i},
                xff="203.0.113.5")[0] for i in range(7)]
    other = form(base + "/subscribe", {**hidden(page), "email": "y@example.fi"},
                 xff="203.0.113.6")[0]
    r.check(got[:6] == [200] * 6 and got[6] == 429 and other == 200,
            "the 7th POST of one client: 429; another client: 200", (got, other))
    r.check(rows(d, "SELECT count(*) FROM confirmations WHERE email = 'x6@example.fi'") ==
            [(0,)], "nothing stored for the refused POST")

    def fnv_slot(ip):           # the table's old, unkeyed hash: anyone could collide
        h = 2166136261
        for ch in ip.encode():
            h = ((h ^ ch) * 16777619) & 0xffffffff
        return h % 4096
    collider = next("198.51.%d.%d" % (i // 256, i % 256) for i in range(65536)
                    if fnv_slot("198.51.%d.%d" % (i // 256, i % 256)) == fnv_slot("203.0.113.5"))
    st1 = form(base + "/subscribe", {**hidden(page), "email": "c1@example.fi"}, xff=collider)[0]
    st2 = form(base + "/subscribe", {**hidden(page), "email": "c2@example.fi"},
               xff="203.0.113.5")[0]
    r.check(st1 == 200 and st2 == 429, "a POST from an address chosen to share the limited"
            " client's slot does not reset its count", (collider, st1, st2))

    # X-Forwarded-For in two lines: the proxy appends its own line after a
    # forged one; the client is the right-most entry of the last line
    c = http.client.HTTPConnection("127.0.0.1", s.web_port, timeout=30)
    body = urllib.parse.urlencode({**hidden(page), "email": "c3@example.fi"}).encode()
    c.putrequest("POST", "/subscribe")
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Content-Length", str(len(body)))
    c.putheader("X-Forwarded-For", "10.9.9.9")
    c.putheader("X-Forwarded-For", "203.0.113.5")
    c.endheaders(body)
    st = c.getresponse().status
    c.close()
    r.check(st == 429, "X-Forwarded-For in two lines: counted for the proxy's (last) entry,"
            " not the forged first line", st)

    # IPv6 clients are counted by their /64
    got = [form(base + "/subscribe", {**hidden(page), "email": "v%d@example.fi" % i},
                xff="2001:db8:1:2::%x" % (i + 1))[0] for i in range(7)]
    other = form(base + "/subscribe", {**hidden(page), "email": "v9@example.fi"},
                 xff="2001:db8:1:3::1")[0]
    r.check(got == [200] * 6 + [429] and other == 200, "IPv6: seven addresses of one /64"
            " are one client (the 7th 429); the next /64 is another", (got, other))

    # per-IP connections; a slow client holds nothing up
    held = []
    for _ in range(4):
        c = http.client.HTTPConnection("127.0.0.1", s.web_port, timeout=30)
        c.request("GET", "/static/page.css")
        c.getresponse().read()
        held.append(c)
    x = socket.create_connection(("127.0.0.1", s.web_port), timeout=10)
    x.sendall(b"GET /subscribe HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        refused = x.recv(100) == b""
    except ConnectionResetError:
        refused = True
    x.close()
    r.check(refused, "web.per_ip_connections: the 5th connection is closed unanswered")
    for c in held:
        c.close()
    slow = socket.create_connection(("127.0.0.1", s.web_port), timeout=10)
    slow.sendall(b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nemail=")
    t0 = time.monotonic()
    rc, _, err = cli(d, "enqueue", os.path.join(EXAMPLES, "news-aluekoordinaattorit.json"))
    took = time.monotonic() - t0
    st, _, _ = wait_for(lambda: fetch(base + "/issues/"))
    r.check(rc == 0 and st == 200, "with a client stalled mid-body: an event enqueued"
            " in %.2f s, other pages served" % took, err)
    slow.close()

    # preferences: language, regions, a pause; applied to the next issue
    bo = rows(d, "SELECT id FROM subscribers WHERE email = 'bo@example.fi'")[0][0]
    purl = base + "/u/" + token(d, "u", bo) + "/preferences"
    pa = rows(d, "SELECT id FROM subscribers WHERE email = 'paula@example.fi'")[0][0]
    paurl = base + "/u/" + token(d, "u", pa) + "/preferences"
    st, _, page = fetch(purl)
    r.check(st == 200 and '<html lang="sv">' in page and 'id="save"' in page,
            "GET /u/TOKEN/preferences: the form in the reader's language")
    st, _, bad = form(purl, {"csrf": "forged", "lang": "sv", "regions": ["XYZ"],
                      "pause": "30.2.2020"}, xff="192.0.2.32")
    r.check(st == 400 and '<html lang="sv">' in bad and
            "Formuläret är för gammalt: skicka det igen." in bad and
            "Välj regioner: HYKS, TYKS, TAYS, KYS, OYS eller alla." in bad and
            "Paus: ett datum som ÅÅÅÅ-MM-DD." in bad and "form is too old" not in bad and
            rows(d, "SELECT lang FROM subscribers WHERE id = ?", (bo,)) == [("sv",)],
            "the preference form's errors in the reader's language (sv), nothing saved",
            bad[:2000])
    st, _, _ = form(purl, {"csrf": csrf_of(page), "lang": "en", "regions": ["KYS"],
                    "pause": ""}, xff="192.0.2.30")
    r.check(st == 200 and rows(d, "SELECT lang, regions, paused_until FROM subscribers"
            " WHERE id = ?", (bo,)) == [("en", 8, None)], "POST: language and regions saved")
    st, _, page = fetch(paurl)
    st, _, _ = form(paurl, {"csrf": csrf_of(page), "lang": "en", "regions": ["all"],
                    "pause": "2020-04-15"}, xff="192.0.2.31")
    r.check(st == 200 and rows(d, "SELECT paused_until FROM subscribers WHERE id = ?",
                               (pa,))[0][0] is not None, "POST: a pause saved")
    st, _, bad = form(paurl, {"csrf": csrf_of(page), "lang": "xx", "pause": "2020-02-30"},
                      xff="192.0.2.31")
    r.check(st == 400 and "Choose a language: suomi, svenska or English." in bad and
            "Pause: a date as YYYY-MM-DD." in bad, "a bad language and 30 February: 400,"
            " both said in the reader's language (en)", bad[:2000])
    clock.set("2020-03-31T09:00:01+02:00")
    wait_for(lambda: rows(d, "SELECT count(*) FROM outbox WHERE kind = 'bulletin' AND"
                          " ref = '2020/02' AND state = 'sent'")[0][0] >= 1)
    bo_mail = mail_to(outdir, "bo@example.fi")
    r.check(bo_mail and str(bo_mail[-1].get("Content-Language", "")) in ("en", "") and
            "Bulletin" in str(bo_mail[-1]["Subject"]),
            "the next issue reaches bo in English", bo_mail and bo_mail[-1]["Subject"])
    r.check(rows(d, "SELECT count(*) FROM outbox WHERE kind = 'bulletin' AND ref = '2020/02'"
                 " AND recipient = 'paula@example.fi'") == [(0,)],
            "a paused reader gets no issue during the pause")

    # the archive: sent only, no personal parts; a held issue never public.
    # The relay is stopped until the hold is in: a small issue could
    # otherwise be wholly sent before the hold reaches it (1 run in 5)
    os.kill(cap.pid, signal.SIGSTOP)
    try:
        rc, out, err = cli(d, "issue", "send-now")
        held_id = rows(d, "SELECT id, number FROM issues ORDER BY id DESC LIMIT 1")[0]
        rc, out, err = cli(d, "issue", "hold", str(held_id[0]))
    finally:
        os.kill(cap.pid, signal.SIGCONT)
    r.check(rc == 0, "the new issue held before it was sent", out + err)
    st, h, page = fetch(base + "/issues/")
    r.check(st == 200 and "/issues/2020-01/fi" in page and "/issues/2020-01/sv" in page and
            held_id[1] not in page, "GET /issues/: the sent issues per language, not the"
            " held one", page[:2000])
    r.check(h.get("Cache-Control") == "public, max-age=300" and
            h.get("Vary") == "Accept-Language", "GET /issues/: cached, by Accept-Language "
            "(its language comes from it)", dict(h))
    st, h, page = fetch(base + "/issues/2020-01/fi")
    r.check(st == 200 and "@example.fi" not in page and "/u/" not in page and
            "script-src" not in h.get("Content-Security-Policy", "") and
            'lang="fi"' in page, "the web view: no address, no personal link")
    st, _, _ = fetch(base + "/issues/%s/fi" % held_id[1].replace("/", "-"))
    r.check(st == 404, "a held issue: 404")
    st, h, feed = fetch(base + "/issues/fi.atom")
    try:
        root = ET.fromstring(feed)
        ns = "{http://www.w3.org/2005/Atom}"
        entries = root.findall(ns + "entry")
        ok = (root.tag == ns + "feed" and root.find(ns + "id") is not None and
              root.find(ns + "updated") is not None and len(entries) >= 2 and
              all(e.find(ns + "id") is not None and e.find(ns + "title").text and
                  e.find(ns + "updated") is not None for e in entries))
    except ET.ParseError as e:
        ok = False
        feed = str(e)
    r.check(ok and h.get("Content-Type", "").startswith("application/atom+xml"),
            "GET /issues/fi.atom: an Atom feed with an entry per sent issue", feed[:500])
    d.stop()
    cap.kill()


def chromium(workdir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run",
              "--user-data-dir=" + os.path.join(workdir, "chromium")):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def test_browser(r, work):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Clock(work, "2020-03-10T10:00:00+02:00")
    cap, smtp_port, outdir = capture(work)
    s = Site(work, smtp_port).start()
    drv = chromium(work)
    # a click returns before the next page has loaded: every step waits
    # for what the next page shows, never for time
    drv.implicitly_wait(30)

    def until(cond):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(drv, 30).until(lambda d: cond(d.page_source))
    # WEB_SCREENSHOTS=docs keeps them (docs/web-*.png); else the work dir
    shots = os.environ.get("WEB_SCREENSHOTS") or os.path.join(work, "shots")
    os.makedirs(shots, exist_ok=True)

    def shot(name):
        for label, size in (("desktop", (1280, 900)), ("phone", (390, 844))):
            drv.set_window_size(*size)
            drv.save_screenshot(os.path.join(shots, "web-%s-%s.png" % (name, label)))
        # a phone width must not scroll sideways
        drv.set_window_size(390, 844)
        return drv.execute_script("return document.documentElement.scrollWidth") <= 390

    try:
        drv.get(s.base + "/subscribe?lang=en")
        r.check(drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en" and
                drv.find_element(By.ID, "consent").text, "the form, with its consent text")
        r.check(shot("subscribe"), "the form fits a phone")
        labels = [drv.find_element(By.CSS_SELECTOR, "label[for=%s]" % i).text
                  for i in ("email", "name", "lang")]
        r.check(all(labels), "every field labelled", labels)
        drv.find_element(By.ID, "email").send_keys("selma@example.fi")
        drv.find_element(By.ID, "name").send_keys("Selma Selenium")
        Select(drv.find_element(By.ID, "lang")).select_by_value("en")
        drv.find_element(By.ID, "region-all").click()      # off
        drv.find_element(By.ID, "region-KYS").click()
        drv.find_element(By.ID, "subscribe").click()
        r.check(until(lambda p: "Check your email" in p), "submitted: check your email")
        shot("check-mail")
        conf = mail_to(outdir, "selma@example.fi")
        link = conf and link_in(conf[0], "c")
        r.check(link, "the confirmation captured from SMTP")
        drv.get(link)
        shot("confirm")
        drv.find_element(By.ID, "confirm").click()
        r.check(until(lambda p: "Subscription confirmed" in p) and
                rows(s.d, "SELECT status, lang, regions FROM subscribers WHERE email ="
                     " 'selma@example.fi'") == [("active", "en", 8)],
                "confirmed in the browser: active, en, KYS")
        shot("confirmed")
        drv.find_element(By.LINK_TEXT, "Change your preferences instead").click()
        shot("preferences")
        Select(drv.find_element(By.ID, "lang")).select_by_value("sv")
        drv.find_element(By.ID, "region-OYS").click()
        drv.find_element(By.ID, "save").click()
        r.check(until(lambda p: '<p class="ok">' in p) and rows(s.d, "SELECT lang, regions FROM subscribers WHERE email ="
                     " 'selma@example.fi'") == [("sv", 8 | 16)],
                "preferences changed in the browser: sv, KYS+OYS")
        shot("saved")
        drv.find_element(By.CSS_SELECTOR, "main a").click()
        drv.find_element(By.ID, "unsubscribe").click()
        r.check(drv.find_element(By.ID, "done").text and
                rows(s.d, "SELECT status FROM subscribers WHERE email = 'selma@example.fi'")
                == [("unsubscribed",)], "unsubscribed from the page")
        r.check(shot("unsubscribed"), "the unsubscribe page fits a phone")
        drv.get(s.base + "/u/forged")
        r.check(until(lambda p: "not valid" in p), "a forged link: a clear page")
        shot("bad-link")
        drv.get(s.base + "/issues/")
        shot("issues")
        r.check(drv.find_element(By.TAG_NAME, "h1").text == "Aiemmat numerot" or
                drv.find_element(By.TAG_NAME, "h1").text, "the archive page")
        r.note("screenshots: %s" % shots)
    finally:
        drv.quit()
        s.d.stop()
        cap.kill()


def test_late_answer(r, work):
    """The worker cannot answer within WEB_WORKER_WAIT_MS (a foreign
    process holds SQLite's write lock, and store.busy_timeout_ms lets the
    worker wait for it longer): the one-click POST gets 503 with a page that
    says the request may still take effect, not that nothing was changed;
    once the lock goes, the worker commits it."""
    import sqlite3
    _, port, _ = capture(work)
    s = Site(work, port, ["-o", "store.busy_timeout_ms=30000"]).start()
    d = s.d
    try:
        rc, _, err = cli(d, "subscriber", "add", "late@example.fi", "--lang", "en")
        r.check(rc == 0, "subscriber add", err)
        (sid,), = rows(d, "SELECT id FROM subscribers WHERE email = 'late@example.fi'")
        lock = sqlite3.connect(d.db, isolation_level=None, timeout=5)
        lock.execute("BEGIN IMMEDIATE")
        try:
            st, _, page = one_click(s.base + "/u/" + token(d, "u", sid))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        r.check(st == 503 and "Pyyntösi voi silti toteutua" in page and
                "Mitään ei muutettu" not in page,
                "no answer in time: 503, the request may still take effect", (st, page[-600:]))
        r.check(wait_for(lambda: rows(d, "SELECT status FROM subscribers WHERE id = ?",
                                      (sid,)) == [("unsubscribed",)]),
                "and the worker commits it once the lock is gone")
    finally:
        d.stop()


def test_port_in_use(r, work):
    """web.listen or inbound.lmtp_listen on a port another program holds:
    the worker exits 75 (a socket that cannot be opened), not 78 (the
    configuration is fine)"""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        for key in ("web.listen", "inbound.lmtp_listen"):
            d = harness.Tiedoted(workdir=harness.tempdir(), extra_args=[
                "-o", "%s=127.0.0.1:%d" % (key, port)])
            p = subprocess.run(d.argv(), capture_output=True, timeout=60)
            r.check(p.returncode == 75, "%s on a port in use: exit 75" % key,
                    (p.returncode, p.stderr[-300:]))
    finally:
        held.close()


def run(r, *tests):
    """each test in its own directory; the capture servers killed after"""
    if not harness.have_tiedoted():
        r.check(False, "build/tiedoted exists")
        return
    try:
        for t in tests:
            t(r, harness.tempdir())
    finally:
        for p in CAPTURES:
            p.kill()


def body(r):
    run(r, test_http, test_late_answer, test_port_in_use, test_browser)


if __name__ == "__main__":
    harness.main(body)
