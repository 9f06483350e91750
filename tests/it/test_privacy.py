"""Consent and personal data (README, "Consent and personal data"), through
the real worker, its web front and the CLI.

The form is loaded in Swedish and sent choosing Finnish mail: the consent
log keeps the Swedish text exactly as the page showed it, the version the
form carried, the client as a keyed hash (X-Forwarded-For from a trusted
proxy: the IP itself is nowhere in the row), and the confirmation time once
the link from the captured message is followed; a welcome message follows,
in the language chosen.  A form whose consent
version no text has is refused and writes nothing.  `subscriber
export-data` prints JSON that parses and names every row; `subscriber
erase` goes through the worker's control socket; afterwards no table
holds the address, `subscriber add` and `subscriber import` (another
case of the address) are refused with exit 65 and nothing imported, the
web form answers byte for byte as for an unknown address and sends
nothing.  Retention: the worker prunes an expired pending confirmation, the
consent log row stays.  Restarted with web.consent_ip_hash = no, the log
keeps the IP.
"""
import csv
import json
import os
import re

import harness
from test_notices import captured
from test_send import Clock, cli
import test_web
from test_web import (Site, capture, fetch, form, hidden, link_in, mail_to, rows,
                      wait_for)

ADDR = "Ann.Privacy@example.fi"


def every_text(d):
    """every text value of every table, lower-cased, with where it is"""
    out = []
    with harness.sqlite(d.db) as c:
        tables = [t for (t,) in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            for row in c.execute("SELECT * FROM %s" % t):
                for v in row:
                    if isinstance(v, bytes):
                        v = v.decode("utf-8", "replace")
                    if isinstance(v, str):
                        out.append((t, v.lower()))
    return out


def test_consent_export_erase(r, work):
    clock = Clock(work, "2020-03-10T10:00:00+02:00")
    cap, smtp_port, outdir = capture(work)
    s = Site(work, smtp_port).start()
    d, base = s.d, s.base
    try:
        st, _, page = fetch(base + "/subscribe?lang=sv")
        shown = re.search(r'<p class="consent" id="consent">(.*?)</p>', page, re.S)
        version = hidden(page)["consent_version"]
        r.check(st == 200 and shown and re.fullmatch(r"[0-9a-f]{16}", version),
                "the form shows the consent text and carries its version", version)

        # a version no text has: the form again, nothing written
        bad = dict(hidden(page), consent_version="0000000000000000")
        st, _, again = form(base + "/subscribe?lang=sv", dict(bad, email=ADDR),
                            xff="192.0.2.77")
        r.check(st == 400 and 'name="consent_version" value="%s"' % version in again and
                rows(d, "SELECT count(*) FROM confirmations") == [(0,)],
                "an unknown consent version: 400, the form again, nothing written", st)

        st, _, _ = form(base + "/subscribe?lang=sv", dict(hidden(page), email=ADDR,
                        name="Ann", lang="fi", regions=["KYS"]), xff="192.0.2.77")
        r.check(st == 200, "the form sent: 200", st)
        log = rows(d, "SELECT email, ip, lang, form_version, text, confirmed, given"
                   " FROM consents")
        r.check(len(log) == 1 and log[0][0] == ADDR and log[0][2] == "sv" and
                log[0][3] == version and log[0][5] is None and log[0][6] > 0,
                "the consent log: the address, the page's language, the version", log)
        r.check(log and log[0][4] == shown.group(1),
                "the consent log holds exactly the text the page showed",
                log and (log[0][4], shown.group(1)))
        r.check(log and re.fullmatch(r"hash:[0-9a-f]{64}", log[0][1]) and
                "192.0.2.77" not in log[0][1],
                "the client's IP as a keyed hash, not the IP", log and log[0][1])

        msg = mail_to(outdir, ADDR.lower())  # the capture folds the case
        link = msg and link_in(msg[0], "c")
        r.check(link, "the confirmation arrived with its /c/ link",
                [rc for rc, _ in captured(outdir)] + rows(d, "SELECT * FROM outbox"))
        st, _, cpage = fetch(link)
        st, _, _ = form(link, {"csrf": hidden(cpage)["csrf"]}, xff="192.0.2.77")
        r.check(st == 200 and rows(d, "SELECT status FROM subscribers") == [("active",)],
                "confirmed: an active subscriber", st)
        both = mail_to(outdir, ADDR.lower(), 2)
        welcome = both and both[1]
        r.check(welcome and "/u/" in str(welcome.get("List-Unsubscribe", "")) and
                "TERVETULOA TILAAJAKSI" in welcome.get_body(("plain",)).get_content(),
                "a welcome after the confirmation, in the language chosen (fi)",
                welcome and str(welcome)[:1500])
        r.check(rows(d, "SELECT confirmed > given FROM consents") == [(0,)] and
                rows(d, "SELECT confirmed IS NOT NULL FROM consents") == [(1,)],
                "the consent log stamped with the confirmation time",
                rows(d, "SELECT given, confirmed FROM consents"))

        # export-data: JSON that parses, every table of the address
        wait_for(lambda: rows(d, "SELECT state FROM outbox") == [("sent",), ("sent",)])
        rc, out, err = cli(d, "subscriber", "export-data", ADDR.upper())
        try:
            data = json.loads(out)
        except ValueError:
            data = {}
        r.check(rc == 0 and data, "export-data prints JSON that parses", err or out[:200])
        sub = data.get("subscriber") or {}
        r.check(sub.get("email") == ADDR and sub.get("regions") == "KYS" and
                sub.get("lang") == "fi" and sub.get("status") == "active",
                "export-data: the subscriber row and its regions", sub)
        r.check(len(data.get("consents", [])) == 1 and
                data["consents"][0].get("text") == shown.group(1) and
                data["consents"][0].get("form_version") == version and
                data["consents"][0].get("confirmed"),
                "export-data: the consent log with the text shown and its confirmation")
        r.check(len(data.get("confirmations", [])) == 1 and
                [o.get("kind") for o in data.get("outbox", [])] == ["confirm", "welcome"] and
                data["outbox"][0].get("state") == "sent" and
                data.get("erased") is False and data.get("suppressions") == [],
                "export-data: the confirmation, the outbox row of its message, no "
                "suppression", data.get("outbox"))
        for k in ("inbound", "inbound_outcomes", "project_contacts", "contact_optouts",
                  "staged_imports"):
            r.check(data.get(k) == [], "export-data: %s is an empty list" % k, data.get(k))

        # erase, through the worker (it is running: the control socket)
        rc, out, err = cli(d, "subscriber", "erase", ADDR)
        r.check(rc == 0 and out.strip() == "erased " + ADDR, "subscriber erase: exit 0",
                (rc, out, err))
        left = [(t, v) for t, v in every_text(d) if "ann.privacy" in v]
        r.check(left == [], "no table holds the address after erase", left)
        r.check(rows(d, "SELECT count(*) FROM suppressions WHERE reason = 'erased' AND"
                     " email LIKE 'erased:%'") == [(1,)] and
                rows(d, "SELECT count(*) FROM outbox WHERE kind IN ('confirm', 'welcome')") ==
                [(2,)],
                "only the keyed hash stays; the outbox keeps its count")
        r.check("ann.privacy" not in d.log_text().lower().split("an address was erased")[-1],
                "the erase's log line names no address")
        rc, out, _ = cli(d, "subscriber", "export-data", ADDR)
        data = json.loads(out) if rc == 0 else {}
        r.check(data.get("erased") is True and data.get("subscriber") is None and
                data.get("consents") == [] and data.get("confirmations") == [],
                "export-data after erase: erased, nothing else", data)

        # nothing adds it back
        rc, _, err = cli(d, "subscriber", "add", ADDR.lower())
        r.check(rc == 65 and "erased" in err, "subscriber add of the erased address: 65",
                (rc, err))
        r.check("control: subscriber.add refused: erased" in d.log_text(),
                "the worker's log names the code, erased", d.log_tail(3))
        path = os.path.join(work, "back.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["email", "name", "lang", "regions"])
            w.writerow(["new.one@example.fi", "New", "fi", "all"])
            w.writerow([ADDR.upper(), "Ann", "fi", "all"])
        rc, _, err = cli(d, "subscriber", "import", path)
        r.check(rc == 65 and "line 3" in err and
                rows(d, "SELECT count(*) FROM subscribers") == [(0,)],
                "erase, then import: refused naming the line, nothing imported", (rc, err))

        # the form: the same answer as for an unknown address, nothing sent
        st, _, page = fetch(base + "/subscribe")
        answers = [form(base + "/subscribe", dict(hidden(page), email=who, lang="en"),
                        xff=ip)[:3:2] for who, ip in ((ADDR, "192.0.2.80"),
                                                      ("stranger@example.fi", "192.0.2.81"))]
        r.check(answers[0] == answers[1] and answers[0][0] == 200,
                "the form answers the erased address exactly as an unknown one")
        r.check(rows(d, "SELECT recipient FROM outbox WHERE kind = 'confirm' ORDER BY id") ==
                [("erased/1",), ("stranger@example.fi",)],
                "no confirmation for the erased address (one for the stranger)",
                rows(d, "SELECT recipient FROM outbox"))

        # retention: the worker drops the pending row once its link expired;
        # the consent log keeps the record
        clock.set("2020-03-18T10:00:01+02:00")
        wait_for(lambda: rows(d, "SELECT count(*) FROM confirmations") == [(0,)])
        r.check(rows(d, "SELECT count(*) FROM confirmations") == [(0,)] and
                rows(d, "SELECT email FROM consents") == [("stranger@example.fi",)],
                "an expired pending confirmation pruned by the worker; its consent log row"
                " kept", rows(d, "SELECT id, email, expires FROM confirmations"))
    finally:
        d.stop()

    # web.consent_ip_hash = no: the IP as it is
    s = Site(work, smtp_port, extra=["-o", "web.consent_ip_hash=no"]).start()
    try:
        st, _, page = fetch(s.base + "/subscribe")
        form(s.base + "/subscribe", dict(hidden(page), email="plain@example.fi"),
             xff="192.0.2.99")
        r.check(rows(s.d, "SELECT ip FROM consents WHERE email = 'plain@example.fi'") ==
                [("192.0.2.99",)], "web.consent_ip_hash = no: the IP itself",
                rows(s.d, "SELECT ip FROM consents"))
    finally:
        s.d.stop()
        cap.kill()


def body(r):
    test_web.run(r, test_consent_export_erase)


if __name__ == "__main__":
    harness.main(body)
