"""mime_build's messages as a second, independent reader sees them: Python's
email package with email.policy.strict (which raises on any defect the
parser registers).

build/tests/test_mime --write DIR N writes N messages generated from hostile
fragments (<script>, {{, emoji, combining marks, RTL and override
characters, CR/LF/NUL and other control characters, injection attempts,
lookalike encoded-words and boundaries, 2,000-character words, lines of
10,000) with a JSON sidecar each holding the raw input and what a reader
must decode.  For every message we check the wire format (CRLF, line
lengths, 7-bit), that it parses without defects, that the header has
exactly the expected fields (nothing injected), that every field and body
decodes to the input (control characters in header text as one space each
run, white space in phrases squeezed, bodies with NUL dropped and line
ends normalised), the MIME structure
and the attachments.  The sidecar's expectations are recomputed here from
the raw input, so a mistake in the C test's helpers cannot hide one in
mime.c.  Each check is reported once over all messages, with the first few
failures as detail."""
import email
import email.header
import email.policy
import email.utils
import json
import os
import re
import subprocess

import harness

N = 1200
CTL = re.compile("[\x00-\x1f\x7f\x80-\x9f]+")


def cleaned(s):
    return CTL.sub(" ", s)


def squeezed(s):
    return re.sub(" +", " ", cleaned(s)).strip(" ")


def normbody(s):
    return s.replace("\0", "").replace("\r\n", "\n").replace("\r", "\n")


def expected_fields(x):
    f = ["Date", "From"]
    if x["reply_to"]:
        f.append("Reply-To")
    f += ["To", "Message-ID", "Subject"]
    if x["list_id"] is not None:
        f.append("List-Id")
    if x["list_unsubscribe"] is not None:
        f.append("List-Unsubscribe")
    if x["one_click"]:
        f.append("List-Unsubscribe-Post")
    f += ["Auto-Submitted", "X-Tiedote-Test", "MIME-Version", "Content-Type"]
    if x["html"] is None and not x["attachments"]:
        f.append("Content-Transfer-Encoding")
    return f


def shape(part):
    if part.is_multipart():
        return "%s(%s)" % (part.get_content_subtype(),
                           ",".join(shape(p) for p in part.iter_parts()))
    return part.get_content_subtype()


def expected_shape(x):
    s = "alternative(plain,html)" if x["html"] is not None else "plain"
    if x["attachments"]:
        subs = [(a["content_type"] or "application/octet-stream").split(";")[0].split("/")[1]
                for a in x["attachments"]]
        s = "mixed(%s)" % ",".join([s] + subs)
    return s


def leaves(part):
    if part.is_multipart():
        for p in part.iter_parts():
            yield from leaves(p)
    else:
        yield part


def check_one(raw, x, fail):
    # --- the wire format
    lines = raw.split(b"\r\n")
    if lines[-1] != b"":
        fail("every line ends in CRLF", "no final CRLF")
    bad = [ln for ln in lines if b"\r" in ln or b"\n" in ln]
    if bad:
        fail("every line ends in CRLF", "bare CR or LF: %r" % bad[0][:80])
    if max(len(ln) for ln in lines) > 998:
        fail("no line over 998 octets", "longest %d" % max(len(ln) for ln in lines))
    if max(len(ln) for ln in lines) > 78:
        fail("no line over 78 octets (headers folded, QP and base64 at 76)",
             "longest: %r" % max(lines, key=len)[:100])
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

    # --- the header: exactly the fields we expect, nothing injected
    names = list(msg.keys())
    if names != expected_fields(x):
        fail("header fields are exactly the expected ones (nothing injected)",
             "got %s" % names)

    # --- the sidecar says what we would say
    want = {
        "subject": cleaned(x["subject_raw"]),
        "from_name": squeezed(x["from_name_raw"]),
        "to_name": squeezed(x["to_name_raw"]),
        "text": normbody(x["text_raw"]),
        "html": None if x["html_raw"] is None else normbody(x["html_raw"]),
    }
    if x["list_id_raw"] is not None:
        c = squeezed(x["list_id_raw"])
        lt = c.rindex("<")
        phrase = c[:lt].strip(" ")
        want["list_id"] = (phrase + " " if phrase else "") + c[lt:]
    else:
        want["list_id"] = None
    for k, v in want.items():
        if x[k] != v:
            fail("the sidecar's expectations agree with Python's reading of the raw input",
                 "%s: %r != %r" % (k, x[k][:80], v and v[:80]))

    # --- header fields decode to the input
    if str(msg["Subject"]) != want["subject"]:
        fail("Subject decodes to the input, control characters as spaces",
             "%r != %r" % (str(msg["Subject"])[:100], want["subject"][:100]))
    raw_fields = dict(msg.raw_items())
    for field, key in (("From", "from"), ("To", "to")):
        # RFC 2047 6.2: white space between adjacent encoded-words is
        # dropped.  email.headerregistry keeps it in display names before
        # CPython gh-128110 (Debian 12 has 3.11), so the name is read with
        # the legacy parser and decoder, which follow the RFC here; the
        # modern reading must agree whenever no two encoded-words touch.
        raw = raw_fields[field].replace("\r\n", "")
        name, addr = email.utils.parseaddr(raw)
        name = str(email.header.make_header(email.header.decode_header(name))) if name else ""
        if (name, addr) != (want[key + "_name"], x[key + "_addr"]):
            fail("From and To decode to the display name and address",
                 "%s: %r != %r" % (field, (name, addr), (want[key + "_name"], x[key + "_addr"])))
        addrs = msg[field].addresses
        got = (addrs[0].display_name, addrs[0].addr_spec) if len(addrs) == 1 else addrs
        if re.search(r"\?= +=\?", raw):
            fail("(note) display names with adjacent encoded-words, read by the legacy "
                 "parser only (gh-128110)", field)
        elif got != (want[key + "_name"], x[key + "_addr"]):
            fail("email.headerregistry reads the same display name and address",
                 "%s: %r != %r" % (field, got, (want[key + "_name"], x[key + "_addr"])))
    if x["reply_to"] and str(msg["Reply-To"]) != x["reply_to"]:
        fail("Reply-To is the address", str(msg["Reply-To"]))
    if msg["Message-ID"] != "<%s>" % x["message_id"]:
        fail("Message-ID is <id>", msg["Message-ID"])
    if msg["Date"].datetime is None or msg["Date"].datetime.utcoffset() is None:
        fail("Date parses with a numeric offset", str(msg["Date"]))
    if msg["MIME-Version"] != "1.0":
        fail("MIME-Version: 1.0", str(msg["MIME-Version"]))
    if x["list_id"] is not None and str(msg["List-Id"]) != x["list_id"]:
        fail("List-Id decodes to phrase <id>", "%r != %r" % (str(msg["List-Id"]), x["list_id"]))
    if x["list_unsubscribe"] is not None and \
            str(msg["List-Unsubscribe"]) != x["list_unsubscribe"]:
        fail("List-Unsubscribe is <https:...>, <mailto:...>", str(msg["List-Unsubscribe"]))
    if x["one_click"] and str(msg["List-Unsubscribe-Post"]) != "List-Unsubscribe=One-Click":
        fail("List-Unsubscribe-Post is One-Click", str(msg["List-Unsubscribe-Post"]))
    for entry in x["extra"]:
        name, value = entry[0], entry[-1]
        if len(entry) == 3 and value != cleaned(entry[1]).strip(" "):
            fail("the sidecar's expectations agree with Python's reading of the raw input",
                 "%s: %r" % (name, value))
        if str(msg[name]) != value:
            fail("extra fields decode to the input (control characters as spaces, trimmed)",
                 "%s: %r != %r" % (name, str(msg[name])[:80], value[:80]))

    # --- structure and bodies
    if shape(msg) != expected_shape(x):
        fail("MIME structure: [mixed(] alternative(plain,html) or plain [, attachments)]",
             "%s != %s" % (shape(msg), expected_shape(x)))
        return
    parts = list(leaves(msg))
    texts = parts[:2] if x["html"] is not None else parts[:1]
    for part, key in zip(texts, ("text", "html")):
        if part.get_content_charset() != "utf-8" or part["Content-Transfer-Encoding"] != \
                "quoted-printable":
            fail("text parts are UTF-8, quoted-printable",
                 "%s %s" % (part.get_content_charset(), part["Content-Transfer-Encoding"]))
        got = normbody(part.get_content())
        if got != want[key]:
            i = next((i for i, (a, b) in enumerate(zip(got, want[key])) if a != b),
                     min(len(got), len(want[key])))
            fail("bodies decode to the input (NUL dropped, line ends normalised)",
                 "%s at %d: %r != %r" % (key, i, got[i:i + 40], want[key][i:i + 40]))
    for part, a in zip(parts[len(texts):], x["attachments"]):
        data = a["data"].encode("utf-8")
        if part.get_content_disposition() != "attachment" or \
                part.get_filename() != a["filename"] or \
                part["Content-Transfer-Encoding"] != "base64" or \
                part.get_content_type() != (a["content_type"] or
                                            "application/octet-stream").split(";")[0] or \
                part.get_payload(decode=True) != data:
            fail("attachments: base64, disposition, filename, type and bytes",
                 "%s %s %s" % (part.get_filename(), part.get_content_type(),
                               len(part.get_payload(decode=True) or b"")))


def body(r):
    exe = os.path.join(harness.BUILD, "tests", "test_mime")
    if not r.check(os.access(exe, os.X_OK), "%s exists" % exe):
        return
    dirs = []
    for run in (1, 2):
        d = harness.tempdir("tiedote-mime-")
        p = subprocess.run([exe, "--write", d, str(N)], capture_output=True, timeout=600)
        if not r.check(p.returncode == 0, "test_mime --write generates %d messages (run %d)"
                       % (N, run), p.stdout.decode(errors="replace") +
                       p.stderr.decode(errors="replace")):
            return
        dirs.append(d)

    failures = {}
    order = []
    current = [None]

    def fail(name, detail):
        if name not in failures:
            failures[name] = []
            order.append(name)
        failures[name].append("%s: %s" % (current[0], detail))

    differ = []
    for i in range(N):
        current[0] = "%04d" % i
        with open(os.path.join(dirs[0], "%04d.eml" % i), "rb") as f:
            raw = f.read()
        with open(os.path.join(dirs[1], "%04d.eml" % i), "rb") as f:
            if f.read() != raw:
                differ.append(current[0])
        x = harness.load_json(os.path.join(dirs[0], "%04d.json" % i))
        check_one(raw, x, fail)

    r.check(not differ, "two runs give byte-identical messages", differ[:5])
    all_checks = [
        "every line ends in CRLF",
        "no line over 998 octets",
        "no line over 78 octets (headers folded, QP and base64 at 76)",
        "the message is 7-bit ASCII without NUL",
        "parses under email.policy.strict",
        "no defects in any part or header field",
        "header fields are exactly the expected ones (nothing injected)",
        "the sidecar's expectations agree with Python's reading of the raw input",
        "Subject decodes to the input, control characters as spaces",
        "From and To decode to the display name and address",
        "email.headerregistry reads the same display name and address",
        "Reply-To is the address",
        "Message-ID is <id>",
        "Date parses with a numeric offset",
        "MIME-Version: 1.0",
        "List-Id decodes to phrase <id>",
        "List-Unsubscribe is <https:...>, <mailto:...>",
        "List-Unsubscribe-Post is One-Click",
        "extra fields decode to the input (control characters as spaces, trimmed)",
        "MIME structure: [mixed(] alternative(plain,html) or plain [, attachments)]",
        "text parts are UTF-8, quoted-printable",
        "bodies decode to the input (NUL dropped, line ends normalised)",
        "attachments: base64, disposition, filename, type and bytes",
    ]
    for name in all_checks + [n for n in order if n not in all_checks]:
        bad = failures.get(name, [])
        if name.startswith("(note)"):
            r.note("%s: %d fields" % (name[7:], len(bad)))
            continue
        r.check(not bad, "%s (%d messages)" % (name, N),
                "%d failed, e.g.\n%s" % (len(bad), "\n".join(bad[:5])))


if __name__ == "__main__":
    harness.main(body)
