"""The bulletins of tests/unit/test_roundtrip.c as a second, independent
reader sees them: Python's email package with email.policy.strict.

build/tests/test_roundtrip --write DIR stores 1,200 hostile events
(<script>, {{x}}, emoji, combining marks, RTL text and direction
marks, 2,000-character words, CR LF, tabs, lines that are "." or start
with "From ", ...) through the real validator, composes twelve issues for
four recipients with hostile display names, and writes each message as
DIR/NNN.eml with DIR/NNN.json holding what the renderer produced (subject,
text, html) and the recipient.  For every message we check the wire format
(CRLF, line lengths, 7-bit), that it parses without a defect, the header
fields (Subject, From, To, Message-ID, Date, List-*), the MIME structure,
and that the decoded text/plain and text/html equal the rendered parts
(line ends normalised to LF).  Each check is reported once over all
messages, with the first few failures as detail."""
import email
import email.header
import email.policy
import email.utils
import json
import os
import re
import subprocess

import harness


def normbody(s):
    return s.replace("\r\n", "\n")


def shape(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_subtype(),
                           ",".join(shape(p) for p in part.iter_parts()))
    return part.get_content_subtype()


def check_one(raw, x, fail):
    # --- the wire format
    lines = raw.split(b"\r\n")
    if lines[-1] != b"":
        fail("every line ends in CRLF", "no final CRLF")
    bad = [ln for ln in lines if b"\r" in ln or b"\n" in ln]
    if bad:
        fail("every line ends in CRLF", "bare CR or LF: %r" % bad[0][:80])
    longest = max(lines, key=len)
    if len(longest) > 78:
        fail("no line over 78 octets (headers folded, QP at 76)", "%d: %r" %
             (len(longest), longest[:100]))
    if any(b > 127 for b in raw) or b"\0" in raw:
        fail("the message is 7-bit ASCII without NUL", "")

    # --- parsing
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
    except Exception as e:  # strict raises on the first defect
        fail("parses under email.policy.strict", "%s: %s" % (type(e).__name__, e))
        return
    defects = []
    for part in msg.walk():
        defects += [repr(d) for d in part.defects]
        for name, value in part.items():
            defects += ["%s: %r" % (name, d) for d in getattr(value, "defects", ())]
    if defects:
        fail("no defects in any part or header field", "; ".join(defects[:3]))

    # --- header fields
    names = list(msg.keys())
    want = ["Date", "From", "To", "Message-ID", "Subject", "List-Id", "List-Unsubscribe",
            "List-Unsubscribe-Post", "MIME-Version", "Content-Type"]
    if x["draft"]:
        # an editors' approval copy: nothing to unsubscribe from
        want = [w for w in want if not w.startswith("List-Unsubscribe")]
    if names != want:
        fail("header fields are exactly Date, From, To, Message-ID, Subject, List-*, MIME",
             names)
    if str(msg["Subject"]) != x["subject"]:
        fail("Subject decodes to the rendered subject",
             "%r != %r" % (str(msg["Subject"]), x["subject"]))
    if x["draft"] != str(msg["Subject"]).startswith("[LUONNOS / DRAFT] "):
        fail("an approval copy's subject is marked, no other", str(msg["Subject"]))
    raw_fields = dict(msg.raw_items())
    for field, key in (("From", "from"), ("To", "to")):
        # the legacy parser and decoder follow RFC 2047 6.2 (white space
        # between adjacent encoded-words dropped); email.headerregistry does
        # not before CPython gh-128110 (Debian 12 has 3.11), see
        # test_mime_python.py
        value = raw_fields[field].replace("\r\n", "")
        name, addr = email.utils.parseaddr(value)
        name = str(email.header.make_header(email.header.decode_header(name))) if name else ""
        want_name = re.sub(" +", " ", x[key + "_name"]).strip(" ")
        if (name, addr) != (want_name, x[key + "_addr"]):
            fail("From and To decode to the display name and address",
                 "%s: %r != %r" % (field, (name, addr), (want_name, x[key + "_addr"])))
        addrs = msg[field].addresses
        got = (addrs[0].display_name, addrs[0].addr_spec) if len(addrs) == 1 else addrs
        if not re.search(r"\?= +=\?", value) and got != (want_name, x[key + "_addr"]):
            fail("email.headerregistry reads the same display name and address",
                 "%s: %r" % (field, got))
    if not re.fullmatch(r"<\d{4}-\d{2}\.[0-9a-f]{20}@[^<>@\s]+>", msg["Message-ID"] or ""):
        fail("Message-ID is <YYYY-NN.hash@list-id>", msg["Message-ID"])
    if msg["Date"].datetime is None or msg["Date"].datetime.utcoffset() is None:
        fail("Date parses with a numeric offset", str(msg["Date"]))
    # mime.c folds this field right after the colon (its first line is
    # "List-Unsubscribe: "), so the unfolded value starts with a space
    lu = str(msg["List-Unsubscribe"]).strip(" ")
    if x["draft"]:
        pass
    elif not re.fullmatch(r"<https://[^<>\s]+/u/[A-Za-z0-9_-]+>, <mailto:[^<>\s]+@[^<>\s]+>", lu):
        fail("List-Unsubscribe is <https:...>, <mailto:...>", lu)
    elif lu.split(">")[0][1:] not in x["text"] or lu.split(">")[0][1:] not in x["html"]:
        fail("the List-Unsubscribe URL is the one in the text and the HTML", lu)
    if not x["draft"] and str(msg["List-Unsubscribe-Post"]) != "List-Unsubscribe=One-Click":
        fail("List-Unsubscribe-Post is One-Click", str(msg["List-Unsubscribe-Post"]))
    if not str(msg["List-Id"]).endswith(">"):
        fail("List-Id is phrase <id>", str(msg["List-Id"]))

    # --- structure and bodies
    if shape(msg) != "alternative(plain,html)":
        fail("MIME structure: alternative(plain,html)", shape(msg))
        return
    for part, key in zip(msg.iter_parts(), ("text", "html")):
        if part.get_content_charset() != "utf-8" or \
                part["Content-Transfer-Encoding"] != "quoted-printable":
            fail("text parts are UTF-8, quoted-printable",
                 "%s %s" % (part.get_content_charset(), part["Content-Transfer-Encoding"]))
        got = normbody(part.get_content())
        if got != x[key]:
            i = next((i for i, (a, b) in enumerate(zip(got, x[key])) if a != b),
                     min(len(got), len(x[key])))
            fail("decoded parts equal the rendered text and HTML",
                 "%s at %d of %d/%d: %r != %r" % (key, i, len(got), len(x[key]),
                                                  got[i:i + 40], x[key][i:i + 40]))
    m = re.search(r".{0,40}(<script|<img|<b>|<h1>|<!-- kommentti)", x["html"], re.I)
    if m:
        fail("no producer markup in the HTML", m.group(0))


def body(r):
    exe = os.path.join(harness.BUILD, "tests", "test_roundtrip")
    if not r.check(os.access(exe, os.X_OK), "%s exists" % exe):
        return
    d = harness.tempdir("tiedote-roundtrip-")
    env = dict(os.environ, TIEDOTE_ROOT=harness.ROOT)
    p = subprocess.run([exe, "--write", d], capture_output=True, timeout=600, env=env)
    out = p.stdout.decode(errors="replace")
    # the C program's own verdict is its test's business; here we need the files
    names = sorted(n[:-4] for n in os.listdir(d) if n.endswith(".eml"))
    if not r.check(len(names) >= 40, "test_roundtrip --write wrote %d messages" % len(names),
                   out + p.stderr.decode(errors="replace")[-3000:]):
        return
    for ln in out.splitlines():
        if ln.startswith("# "):
            r.note(ln[2:])

    failures, order, current = {}, [], [None]

    def fail(name, detail):
        if name not in failures:
            failures[name] = []
            order.append(name)
        failures[name].append("%s: %s" % (current[0], detail))

    langs = set()
    for n in names:
        current[0] = n
        with open(os.path.join(d, n + ".eml"), "rb") as f:
            raw = f.read()
        x = harness.load_json(os.path.join(d, n + ".json"))
        langs.add(x["lang"])
        check_one(raw, x, fail)

    r.check(langs == {"fi", "sv", "en"}, "messages in fi, sv and en", langs)
    all_checks = [
        "every line ends in CRLF",
        "no line over 78 octets (headers folded, QP at 76)",
        "the message is 7-bit ASCII without NUL",
        "parses under email.policy.strict",
        "no defects in any part or header field",
        "header fields are exactly Date, From, To, Message-ID, Subject, List-*, MIME",
        "Subject decodes to the rendered subject",
        "an approval copy's subject is marked, no other",
        "From and To decode to the display name and address",
        "email.headerregistry reads the same display name and address",
        "Message-ID is <YYYY-NN.hash@list-id>",
        "Date parses with a numeric offset",
        "List-Unsubscribe is <https:...>, <mailto:...>",
        "the List-Unsubscribe URL is the one in the text and the HTML",
        "List-Unsubscribe-Post is One-Click",
        "List-Id is phrase <id>",
        "MIME structure: alternative(plain,html)",
        "text parts are UTF-8, quoted-printable",
        "decoded parts equal the rendered text and HTML",
        "no producer markup in the HTML",
    ]
    for name in all_checks + [n for n in order if n not in all_checks]:
        bad = failures.get(name, [])
        r.check(not bad, "%s (%d messages)" % (name, len(names)),
                "%d failed, e.g.\n%s" % (len(bad), "\n".join(bad[:5])))


if __name__ == "__main__":
    harness.main(body)
