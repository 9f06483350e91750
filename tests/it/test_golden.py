"""Golden bulletins: what three real subscribers get, compared with reviewed
files in tests/golden/.

The scenario (build_issue) is the programme's own events, queue/examples/,
sent to a worker whose clock the test sets (TIEDOTE_NOW_FILE), and three
subscribers:

  fi-hyks  Finnish, follows HYKS
  sv-tyks  Swedish, follows TYKS
  en-all   English, follows all regions

The issue previewed is the one sent on Tuesday 17.3.2020 at 9.00 (a slot
of the default calendar: every second Tuesday from 7.1.2020), so its period
is 3.–17.3.2020.  On 20.1.2020, when the grant call opened, the deadline
was first announced with the wrong date, 17.3.2020 16.15 (a revision made
by this test from the example); on 10.3.2020, inside the period, every
example arrives, the corrected deadline (31.3.2020 16.15) among them.  So
the issue has a deadline marked as changed, a network day (10.6.) and
events within the 90-day window, the in-bulletin announcement and, for
en-all, the KYS/OYS workshop and the Sitra news item (regions TAYS, KYS,
OYS; no date, so the day it arrived).  The examples' practices are
published in May and June, after the 31.3. deadline has passed, and the
THL news item on 24.1., outside the period, so no issue of the defaults
can show them together with this deadline.

Normalisation before comparing (normalise()): the unsubscribe token
(/u/TOKEN, unsubscribe+TOKEN@) and the Message-ID hash and MIME boundary
derived from it depend on a random key each database creates, so they are
replaced by fixed words; the .eml files are stored with LF line ends (the
test checks separately that the message uses CRLF throughout).  Nothing
else is normalised.

GOLDEN_UPDATE=1 rewrites the golden files from this run (then review the
diff!).  "test_golden.py --write DIR" writes the un-normalised previews
(fi-hyks.txt, .html, .eml, ...) to DIR and exits; docs/screenshot.sh uses it.
"""
import difflib
import html.parser
import json
import os
import re
import subprocess
import sys

import harness

GOLDEN = os.path.join(harness.ROOT, "tests", "golden")
CLI = os.path.join(harness.BUILD, "tiedote")
TEMPLATES = os.path.join(harness.ROOT, "templates")

ISSUE_AT = "2020-03-17"                    # the slot's day; 9.00 local
FIRST_NOW = "2020-01-20T08:00:00+02:00"    # the wrongly dated first announcement
NOW = "2020-03-10T12:00:00+02:00"          # every example arrives, in the period

SUBSCRIBERS = [
    # golden name, address, name, language, regions
    ("fi-hyks", "laura.virtanen@hus.example", "Laura Virtanen", "fi", "HYKS"),
    ("sv-tyks", "erik.lindholm@abo.example", "Erik Lindholm", "sv", "TYKS"),
    ("en-all", "sarah.miller@example.org", "Sarah Miller", "en", "all"),
]
FORMATS = (("txt", "text"), ("html", "html"), ("eml", "eml"))


def cli(*args, db, endpoint=None, env=None):
    # -c /dev/null: the embedded defaults, whatever /etc/tiedote/tiedote.conf says
    argv = [CLI, "-c", "/dev/null", "--db", db, "-o", "message.templates=" + TEMPLATES,
            "-o", "client.timeout_ms=1000", "-o", "client.total_timeout_ms=10000"]
    if endpoint:
        argv += ["--endpoint", endpoint]
    e = {k: v for k, v in os.environ.items() if not k.startswith("TIEDOTE_NOW")}
    e.update(env or {})
    p = subprocess.run(argv + list(args), capture_output=True, timeout=60, env=e)
    if p.returncode != 0:
        raise RuntimeError("tiedote %s: exit %d\n%s" % (" ".join(args), p.returncode,
                                                        p.stderr.decode(errors="replace")))
    return p.stdout


def set_now(path, when):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(when + "\n")
    os.rename(tmp, path)      # the worker never reads a half-written clock


def first_revision(example):
    """The deadline as first (wrongly) announced: due 17.3.2020 16.15."""
    ev = json.loads(example)
    ev["due"] = "2020-03-17T16:15:00+02:00"
    for field in ("title", "summary"):
        ev[field] = {k: v.replace("31.3.2020", "17.3.2020").replace("31 March 2020", "17 March 2020")
                     for k, v in ev[field].items()}
    return json.dumps(ev, ensure_ascii=False, indent=2)


def build_issue(workdir):
    """A database holding the scenario; returns its path."""
    now_file = os.path.join(workdir, "now")
    set_now(now_file, FIRST_NOW)
    d = harness.Tiedoted(workdir=workdir, extra_args=[
        "-c", "/dev/null",
        "-o", "bulletin.first=2030-01-01T09:00:00+02:00",     # the scheduler sends nothing
        "-o", "message.templates=" + TEMPLATES])
    # tiedoted reads its clock from TIEDOTE_NOW_FILE at every use; Tiedoted
    # starts it with our environment, so set it just for the start
    saved = os.environ.get("TIEDOTE_NOW_FILE")
    os.environ["TIEDOTE_NOW_FILE"] = now_file
    try:
        d.start()
    finally:
        if saved is None:
            del os.environ["TIEDOTE_NOW_FILE"]
        else:
            os.environ["TIEDOTE_NOW_FILE"] = saved
    try:
        examples = dict(harness.examples())
        first = os.path.join(workdir, "deadline-first-revision.json")
        with open(first, "w", encoding="utf-8") as f:
            f.write(first_revision(examples["deadline-valtionavustus-2020.json"]))
        cli("enqueue", first, db=d.db, endpoint=d.endpoint)
        set_now(now_file, NOW)
        for name in sorted(examples):
            cli("enqueue", os.path.join(harness.QUEUE, "examples", name), db=d.db,
                endpoint=d.endpoint)
        for _, email, name, lang, regions in SUBSCRIBERS:
            cli("subscriber", "add", email, "--name", name, "--lang", lang, "--regions",
                regions, db=d.db)
    finally:
        rc = d.stop()
    if rc != 0:
        raise RuntimeError("tiedoted exited %s:\n%s" % (rc, d.log_tail()))
    return d.db


def previews(db):
    """{(golden name, ext): bytes} as `tiedote issue preview` prints them."""
    out = {}
    for name, email, _, _, _ in SUBSCRIBERS:
        for ext, fmt in FORMATS:
            # TZ: the Date field is written in local time (mime.h)
            out[name, ext] = cli("issue", "preview", "--subscriber", email, "--format", fmt,
                                 "--at", ISSUE_AT, db=db, env={"TZ": "Europe/Helsinki"})
    return out


def normalise(data):
    s = data.decode("utf-8")
    s = s.replace("\r\n", "\n")
    # the token may be cut by a quoted-printable soft line break in the .eml
    s = re.sub(r"/u/(?:[A-Za-z0-9_-]|=\n)+", "/u/TOKEN", s)
    s = re.sub(r"unsubscribe\+[A-Za-z0-9_-]+@", "unsubscribe+TOKEN@", s)
    s = re.sub(r"(<\d{4}-\d{2}\.)[0-9a-f]{20}@", r"\1HASH@", s)
    s = re.sub(r"=_td_[0-9a-f]{16}_", "=_td_HASH_", s)
    return s


# --- checks that hold whatever the golden files say -------------------------------

DUE = {"fi": "ti 31.3.2020 klo 16.15", "sv": "tis 31.3.2020 kl. 16.15",
       "en": "Tue 31 March 2020, 16:15"}
WAS = {"fi": "ti 17.3.2020 klo 16.15", "sv": "tis 17.3.2020 kl. 16.15",
       "en": "Tue 17 March 2020, 16:15"}
PERIOD = {"fi": "3.–17.3.2020", "sv": "3.–17.3.2020", "en": "3–17 March 2020"}
NETWORK_DAY = {"fi": "ke 10.6.2020 klo 9.00–15.30", "sv": "ons 10.6.2020 kl. 9.00–15.30",
               "en": "Wed 10 June 2020, 09:00–15:30"}
WEBINAR = {"fi": "to 14.5.2020 klo 13.00–14.30", "sv": "tors 14.5.2020 kl. 13.00–14.30",
           "en": "Thu 14 May 2020, 13:00–14:30"}


class Tags(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "hr", "link", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.hrefs, self.lang = [], [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "a":
            self.hrefs.append(a.get("href") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else ""))
        else:
            self.stack.pop()


def sanity(r, name, lang, text, html_, eml):
    long = [ln for ln in text.split("\n") if len(ln) > 76 and
            not re.fullmatch(r" *https?://\S+", ln)]
    r.check(not long, "%s: text lines fit 76 columns (a URL alone may not)" % name, long[:3])
    trailing = [ln for ln in text.split("\n") if ln != ln.rstrip() and ln != "-- "]
    r.check(not trailing, "%s: no trailing white space but the signature's '-- '" % name,
            trailing[:3])
    for what, table in (("the deadline", DUE), ("the old deadline", WAS),
                        ("the period", PERIOD), ("the network day", NETWORK_DAY),
                        ("the webinar", WEBINAR)):
        r.check(table[lang] in text and table[lang] in html_,
                "%s: %s in %s's convention: %s" % (name, what, lang, table[lang]))
    r.check("{{" not in text and "{{" not in html_ and "}}" not in text and "}}" not in html_,
            "%s: no Mustache tag left unrendered" % name)
    p = Tags()
    p.feed(html_)
    p.close()
    r.check(not p.errors and not p.stack, "%s: HTML elements nest and close" % name,
            p.errors[:3] + p.stack[:3])
    r.check(p.lang == lang, "%s: <html lang=%s>" % (name, lang), p.lang)
    bad = [h for h in p.hrefs if not re.match(r"(https://|mailto:)\S+$", h)]
    r.check(p.hrefs and not bad, "%s: every link is https: or mailto:" % name, bad[:3])
    unsub = re.findall(r"https://tiedote\.example/u/[A-Za-z0-9_-]+", text)
    r.check(len(set(unsub)) == 1 and unsub[0] in html_ and
            unsub[0] in eml.replace("\r\n ", " "),
            "%s: one unsubscribe link, the same in text, HTML and List-Unsubscribe" % name)
    r.check(eml.count("\n") == eml.count("\r\n") and eml.endswith("\r\n"),
            "%s: the message's lines end in CRLF" % name)
    # text that fell back to another language is marked with it, and only
    # such text: the webinar (Finnish only) on the sv and en pages
    marks = re.findall(r'(?<!<html) lang="([a-z]+)"', html_)
    r.check(lang not in marks, "%s: no element repeats the page's lang" % name, marks)
    webinar = 'lang="fi">Uudistunut Innokylä – esittelywebinaari hankkeille<'
    r.check((webinar in html_) == (lang != "fi") and (lang == "fi") == (not marks),
            "%s: a Finnish fallback carries lang=\"fi\" on its element" % name, marks)


def body(r):
    if not r.check(os.access(CLI, os.X_OK) and harness.have_tiedoted(),
                   "%s and tiedoted exist" % CLI):
        return
    db = build_issue(harness.tempdir("tiedote-golden-"))
    got = previews(db)
    update = os.environ.get("GOLDEN_UPDATE") == "1"
    if update:
        os.makedirs(GOLDEN, exist_ok=True)
        r.note("GOLDEN_UPDATE=1: rewriting %s; review the diff before committing" % GOLDEN)

    for name, email, _, lang, _ in SUBSCRIBERS:
        text = got[name, "txt"].decode("utf-8")
        html_ = got[name, "html"].decode("utf-8")
        eml = got[name, "eml"].decode("ascii")
        sanity(r, name, lang, text, html_, eml)
        for ext, _ in FORMATS:
            path = os.path.join(GOLDEN, "%s.%s" % (name, ext))
            mine = normalise(got[name, ext])
            if update:
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(mine)
            try:
                with open(path, encoding="utf-8", newline="") as f:
                    want = f.read()
            except OSError as e:
                r.check(False, "%s.%s matches tests/golden" % (name, ext), e)
                continue
            diff = "".join(list(difflib.unified_diff(
                want.splitlines(True), mine.splitlines(True),
                "tests/golden/%s.%s" % (name, ext), "this run", n=2))[:60])
            r.check(mine == want, "%s.%s matches tests/golden (tokens normalised)"
                    % (name, ext), diff + "\n(GOLDEN_UPDATE=1 rewrites the golden files)")

    # who gets what: the regions filter
    workshop = {"fi": "Muutosjohtamisen työpaja", "sv": "Muutosjohtamisen työpaja",
                "en": "Change management workshop"}
    sitra = {"fi": "Huomisen Terveyskeskus", "sv": "Huomisen Terveyskeskus",
             "en": "Health Centre of Tomorrow"}
    for name, _, _, lang, regions in SUBSCRIBERS:
        text = got[name, "txt"].decode("utf-8")
        kys = regions == "all"
        r.check((workshop[lang] in text) == kys and (sitra[lang] in text) == kys,
                "%s: the KYS/OYS workshop and the TAYS/KYS/OYS news %s" %
                (name, "are in" if kys else "are left out"))
        r.check("3/2020" not in text and "17.2.2021" not in text,
                "%s: network days beyond 90 days are left out" % name)
        calendar(r, name, got[name, "eml"], kys)


def calendar(r, name, eml, kys):
    """The one .ics of the issue: the same deadlines and events as the text,
    as Debian's python3-icalendar reads them."""
    import datetime
    import email
    import email.policy
    import zoneinfo
    import icalendar

    msg = email.message_from_bytes(eml, policy=email.policy.default)
    ics = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    if not r.check(len(ics) == 1 and ics[0].get_filename().endswith(".ics"),
                   "%s: one calendar attachment" % name):
        return
    cal = icalendar.Calendar.from_ical(ics[0].get_payload(decode=True))
    events = {str(e["UID"]).split("@")[0]: e for e in cal.walk("VEVENT")}
    want = {"stm-valtionavustus-2020", "thl-webinaari-innokyla-2020-05-14",
            "thl-verkostopaiva-2020-q2"}
    if kys:
        want.add("thl-tyopaja-kys-oys-2020-05-27")
    r.check(set(events) == want, "%s: the calendar holds the issue's deadlines and events"
            % name, sorted(events))
    dl = events.get("stm-valtionavustus-2020")
    hki = zoneinfo.ZoneInfo("Europe/Helsinki")
    r.check(dl is not None and dl["DTSTART"].dt == datetime.datetime(2020, 3, 31, 16, 15,
            tzinfo=hki) and int(dl["SEQUENCE"]) == 1,
            "%s: the corrected deadline, 31.3.2020 16.15 Helsinki, SEQUENCE 1" % name,
            dl and (dl["DTSTART"].dt, dl["SEQUENCE"]))
    r.check(str(cal["METHOD"]) == "PUBLISH", "%s: METHOD:PUBLISH" % name)


def write(outdir):
    os.makedirs(outdir, exist_ok=True)
    got = previews(build_issue(harness.tempdir("tiedote-golden-")))
    for (name, ext), data in sorted(got.items()):
        with open(os.path.join(outdir, "%s.%s" % (name, ext)), "wb") as f:
            f.write(data)
        print(os.path.join(outdir, "%s.%s" % (name, ext)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write(sys.argv[2])
        sys.exit(0)
    harness.main(body)
