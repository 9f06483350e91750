"""A preference change made through the web while an issue is being sent
applies to the next message built for that reader (issue #14, item 4).

The worker's clock is TIEDOTE_NOW_FILE; the capture defers two readers'
first delivery (--defer-once), so the issue of 17.3. is in state sending
with their rows deferred until the clock passes smtp.retry_base_s.  While
it is, kaisa changes her language and regions (fi, all -> sv, KYS) and
pekka pauses his mail, both through /u/TOKEN/preferences.  Then the clock
moves on and the rows are built again: kaisa's copy is the one a reader
who was sv/KYS from the start (kalle, same address length, so the text
wraps the same) got, word for word but for the address and tokens, and
not the fi/all one (anna's); pekka's row is skipped and nothing reaches
him.  Nothing waits on time: every wait is for a row's state or a file.
"""
import os
import re

import harness
import test_web
from test_notices import captured
from test_send import Clock, cli
from test_web import Site, capture, fetch, form, csrf_of, mail_to, rows, text_of, token, wait_for

EXAMPLES = os.path.join(harness.QUEUE, "examples")
READERS = (("anna@example.fi", "fi", "all"), ("kalle@example.fi", "sv", "KYS"),
           ("kaisa@example.fi", "fi", "all"), ("pekka@example.fi", "fi", "all"))


def normal(msg, addr):
    """the text part with the reader's own parts (address, tokens) blanked"""
    t = text_of(msg).replace(addr, "READER")
    t = re.sub(r"/[upc]/[A-Za-z0-9_-]+", "/x/TOKEN", t)
    return re.sub(r"\+[a-z2-7]{40}@", "+TOKEN@", t)


def test_change_during_send(r, work):
    clock = Clock(work, "2020-03-10T10:00:00+02:00")
    _, smtp_port, outdir = capture(work, ["--defer-once", "kaisa@example.fi=451 4.2.0 later",
                                          "--defer-once", "pekka@example.fi=451 4.2.0 later"])
    s = Site(work, smtp_port).start()
    d, base = s.d, s.base
    try:
        for f in sorted(os.listdir(EXAMPLES)):
            cli(d, "enqueue", os.path.join(EXAMPLES, f))
        for who, lang, regions in READERS:
            rc, _, err = cli(d, "subscriber", "add", who, "--lang", lang, "--regions", regions)
            r.check(rc == 0, "subscriber add %s" % who, err)

        clock.set("2020-03-17T09:00:01+02:00")
        open_rows = ("SELECT recipient, state FROM outbox WHERE kind = 'bulletin'"
                     " AND recipient IN ('kaisa@example.fi', 'pekka@example.fi') ORDER BY 1")
        wait_for(lambda: rows(d, open_rows) == [("kaisa@example.fi", "deferred"),
                                                 ("pekka@example.fi", "deferred")] and
                 mail_to(outdir, "anna@example.fi") and mail_to(outdir, "kalle@example.fi"))
        r.check(rows(d, open_rows) == [("kaisa@example.fi", "deferred"),
                                       ("pekka@example.fi", "deferred")] and
                rows(d, "SELECT state FROM issues") == [("sending",)],
                "the issue is being sent: kaisa's and pekka's copies deferred",
                (rows(d, open_rows), rows(d, "SELECT number, state FROM issues")))

        # the changes, through the pages, while the issue is sending
        sid = dict(rows(d, "SELECT email, id FROM subscribers"))
        url = base + "/u/" + token(d, "u", sid["kaisa@example.fi"]) + "/preferences"
        st, _, page = fetch(url)
        st, _, _ = form(url, {"csrf": csrf_of(page), "lang": "sv", "regions": ["KYS"],
                              "pause": ""}, xff="192.0.2.50")
        url = base + "/u/" + token(d, "u", sid["pekka@example.fi"]) + "/preferences"
        st2, _, page = fetch(url)
        st2, _, _ = form(url, {"csrf": csrf_of(page), "lang": "fi", "regions": ["all"],
                               "pause": "2020-04-15"}, xff="192.0.2.51")
        r.check(st == 200 and st2 == 200 and
                rows(d, "SELECT lang, regions FROM subscribers WHERE email = 'kaisa@example.fi'")
                == [("sv", 8)] and rows(d, "SELECT state FROM issues") == [("sending",)],
                "the preferences saved while the issue is still sending", (st, st2))

        # the retry: the next message built for each of them
        # past smtp.retry_base_s (3600) with its +20% jitter
        clock.set("2020-03-17T10:15:00+02:00")
        wait_for(lambda: mail_to(outdir, "kaisa@example.fi") and
                 rows(d, open_rows)[1:] == [("pekka@example.fi", "skipped")])
        kaisa = mail_to(outdir, "kaisa@example.fi")
        anna = mail_to(outdir, "anna@example.fi")[0]
        kalle = mail_to(outdir, "kalle@example.fi")[0]
        r.check(kaisa and normal(anna, "anna@example.fi") != normal(kalle, "kalle@example.fi"),
                "kaisa's copy arrived after the change (and fi/all differs from sv/KYS)")
        r.check(kaisa and str(kaisa[0]["Subject"]) == str(kalle["Subject"]) and
                normal(kaisa[0], "kaisa@example.fi") == normal(kalle, "kalle@example.fi"),
                "kaisa's copy is built in her new language and regions (sv, KYS), as "
                "kalle's", kaisa and (str(kaisa[0]["Subject"]), str(kalle["Subject"])))
        r.check(rows(d, open_rows) == [("kaisa@example.fi", "sent"),
                                       ("pekka@example.fi", "skipped")] and
                "pekka@example.fi" not in [rc for rc, _ in captured(outdir)],
                "pekka paused during the send: his copy skipped, nothing sent",
                rows(d, "SELECT recipient, state, reply FROM outbox WHERE kind = 'bulletin'"))
    finally:
        d.stop()


def body(r):
    test_web.run(r, test_change_during_send)


if __name__ == "__main__":
    harness.main(body)
