"""Deadline reminders and scheduled announcements, end to end.

The worker runs on its own clock (TIEDOTE_NOW_FILE) and sends through a
capturing SMTP server (aiosmtpd) on loopback.

1. queue/examples/ as producers send them, plus the grant call again for
   KYS and OYS only, and three projects: the 31.3.2020 call's reminders
   reach exactly the right projects' contacts on 17.3., 24.3. and 30.3. at
   09:00 Helsinki time (not a second before), once each, also across a
   SIGKILL of the worker between the offsets; each message carries an
   iCalendar file that Debian's python3-icalendar reads as the same event
   (UID, time, zone, SEQUENCE, METHOD:PUBLISH).
2. `tiedote announce --at "2020-05-04 09:00"` (a Monday) goes out at 09:00
   and not before, to the subscribers of the right regions only; a
   cancelled one never goes, a rescheduled one goes at its new time, and
   the example announcement that arrived five weeks after its send_at is
   marked expired instead of being sent.
"""
import datetime
import email
import email.policy
import json
import os
import time
import zoneinfo

import icalendar

import harness
from test_send import Clock, cli, start_capture

HKI = zoneinfo.ZoneInfo("Europe/Helsinki")
LIST_ID = "ajankohtaistiedote.tiedote.example"


def worker(workdir, port):
    return harness.Tiedoted(workdir=workdir, log_level="info", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port,
        # no bulletin in these weeks: only the messages under test
        "-o", "bulletin.first=2030-01-01T09:00:00+02:00"])


def captured(outdir):
    """[(rcpt, message)] in order of arrival."""
    out = []
    path = os.path.join(outdir, "log.jsonl")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            with open(os.path.join(outdir, e["file"]), "rb") as m:
                msg = email.message_from_binary_file(m, policy=email.policy.default)
            rcpts = e["rcpt"] if isinstance(e["rcpt"], list) else [e["rcpt"]]
            for rcpt in rcpts:
                out.append((rcpt.lower(), msg))
    return out


def wait_count(outdir, n, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = captured(outdir)
        if len(got) >= n:
            time.sleep(0.5)     # and nothing more comes
            return captured(outdir)
        time.sleep(0.1)
    return captured(outdir)


def text_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def ics_of(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True)
    return None


def list_headers(msg, purpose, show=False):
    """The bulk-mail fields of RFC 2369/2919/8058, as the bulletin has them:
    List-Id <message.list_id>, List-Unsubscribe with the recipient's https
    link under message.base_url (/u/ subscriber, /p/ project contact) and
    the local+TOKEN mailto, and List-Unsubscribe-Post One-Click."""
    lid = str(msg.get("List-Id", ""))
    lu = str(msg.get("List-Unsubscribe", "")).strip()
    post = str(msg.get("List-Unsubscribe-Post", ""))
    if show:
        return (lid, lu, post)
    return (lid.endswith("<%s>" % LIST_ID) and
            lu.startswith("<https://tiedote.example/%s/" % purpose) and
            ">, <mailto:unsubscribe+" in lu and post == "List-Unsubscribe=One-Click")


def test_reminders(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port).start()
    for pid, name, region, lang, contacts in [
            ("p-kys", "Pohjois-Savon sote-keskus", "KYS", "fi", ["a@kys.example", "b@kys.example"]),
            ("p-hus", "HUS sote-keskus", "HYKS", "sv", ["c@hus.example"]),
            ("p-oys", "Pohjois-Pohjanmaa", "OYS", "en", ["d@oys.example"])]:
        args = ["project", "add", pid, "--name", name, "--region", region, "--lang", lang]
        for c in contacts:
            args += ["--contact", c]
        rc, out, err = cli(d, *args)
        r.check(rc == 0, "project add %s" % pid, err)
    for name, _ in harness.examples():
        rc, _, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        r.check(rc == 0, "enqueue %s" % name, err)
    call = harness.load_json(os.path.join(harness.QUEUE, "examples",
                                          "deadline-valtionavustus-2020.json"))
    regional = dict(call, id="stm-valtionavustus-2020-kys-oys", regions=["KYS", "OYS"])
    path = os.path.join(workdir, "regional.json")
    with open(path, "w") as f:
        json.dump(regional, f, ensure_ascii=False)
    rc, _, err = cli(d, "enqueue", path)
    r.check(rc == 0, "enqueue the regional call", err)

    everyone = {"a@kys.example", "b@kys.example", "c@hus.example", "d@oys.example"}
    kys_oys = {"a@kys.example", "b@kys.example", "d@oys.example"}
    days = [("2020-03-17T09:00:00+02:00", 14), ("2020-03-24T09:00:00+02:00", 7),
            ("2020-03-30T09:00:00+03:00", 1)]
    total = 0
    for i, (when, offset) in enumerate(days):
        t = datetime.datetime.fromisoformat(when)
        clock.set((t - datetime.timedelta(seconds=2)).isoformat())
        time.sleep(2.5)
        r.check(len(captured(outdir)) == total, "nothing before %s" % when,
                "%d captured" % len(captured(outdir)))
        clock.set(when)
        got = wait_count(outdir, total + 7)
        new = got[total:]
        total = len(got)
        by_event = {}
        for rcpt, msg in new:
            cal = icalendar.Calendar.from_ical(ics_of(msg))
            uid = str(next(iter(cal.walk("VEVENT")))["UID"])
            by_event.setdefault(uid, []).append(rcpt)
        r.check(sorted(by_event.get("stm-valtionavustus-2020@" + LIST_ID, [])) == sorted(everyone),
                "%d days before: the national call reaches every project contact once" % offset,
                by_event)
        r.check(sorted(by_event.get("stm-valtionavustus-2020-kys-oys@" + LIST_ID, [])) ==
                sorted(kys_oys),
                "%d days before: the KYS+OYS call reaches exactly KYS and OYS contacts" % offset,
                by_event)
        if i == 0:
            d.kill()            # SIGKILL between the offsets
            d.start()
    time.sleep(2)
    got = captured(outdir)
    r.check(len(got) == 21, "21 reminders in all, none twice after the restart", len(got))
    ids = [m["Message-ID"] for _, m in got]
    r.check(len(set(ids)) == len(ids), "every reminder has its own Message-ID")

    # wording, language and the calendar file
    fi = [m for rc_, m in got if rc_ == "a@kys.example"]
    sv = [m for rc_, m in got if rc_ == "c@hus.example"]
    r.check(fi and fi[0]["Subject"].startswith("Muistutus"), "Finnish subject",
            fi and fi[0]["Subject"])
    r.check(sv and "Påminnelse" in sv[0]["Subject"], "Swedish project gets Swedish",
            sv and sv[0]["Subject"])
    last = [m for m in fi if "HUOMENNA" in text_of(m)]
    r.check(len(last) == 2, "the 1-day reminder says 'tomorrow'", len(last))
    r.check(all("31.3.2020 klo 16.15" in text_of(m) for m in fi), "the due time in Finnish")
    cal = icalendar.Calendar.from_ical(ics_of(fi[0]))
    ev = next(iter(cal.walk("VEVENT")))
    start = ev["DTSTART"].dt
    r.check(str(cal["METHOD"]) == "PUBLISH", "METHOD:PUBLISH")
    r.check(start == datetime.datetime(2020, 3, 31, 16, 15, tzinfo=HKI) and
            str(ev["DTSTART"].params.get("TZID")) == "Europe/Helsinki",
            "DTSTART 31.3.2020 16.15 Europe/Helsinki", (start, ev["DTSTART"].params))
    r.check(str(ev["SUMMARY"]) == call["title"]["fi"], "SUMMARY is the Finnish title")
    r.check(int(ev["SEQUENCE"]) == 0, "SEQUENCE 0 for the first revision")
    tz = next(iter(cal.walk("VTIMEZONE")), None)
    r.check(tz is not None and str(tz["TZID"]) == "Europe/Helsinki", "VTIMEZONE Europe/Helsinki")
    r.check(fi[0]["List-Unsubscribe"] and "/p/" in fi[0]["List-Unsubscribe"],
            "a project contact's opt-out link", fi[0]["List-Unsubscribe"])
    r.check(all(list_headers(m, "p") for _, m in got),
            "every reminder is a list message: List-Id, its /p/ link and mailto, One-Click",
            [list_headers(m, "p", True) for _, m in got[:1]])

    # on 30.3. at 10 the call closes earlier, at 16.00 the same day: one
    # reminder at once, saying so; the calendar entry moves (same UID,
    # SEQUENCE 1)
    clock.set("2020-03-30T10:00:00+03:00")
    moved = dict(call, due="2020-03-30T16:00:00+03:00")
    with open(path, "w") as f:
        json.dump(moved, f, ensure_ascii=False)
    rc, _, err = cli(d, "enqueue", path)
    r.check(rc == 0, "enqueue the earlier date", err)
    got = wait_count(outdir, total + 4)
    new = [m for _, m in got[total:]]
    r.check(len(new) == 4, "after the date moved earlier: one more reminder per contact",
            len(new))
    if new:
        ev = next(iter(icalendar.Calendar.from_ical(ics_of(new[0])).walk("VEVENT")))
        r.check(str(ev["UID"]) == "stm-valtionavustus-2020@" + LIST_ID and
                int(ev["SEQUENCE"]) == 1 and
                ev["DTSTART"].dt == datetime.datetime(2020, 3, 30, 16, 0, tzinfo=HKI),
                "the moved date: same UID, SEQUENCE 1, new DTSTART",
                (ev["UID"], ev["SEQUENCE"], ev["DTSTART"].dt))
        fi_new = [m for rc_, m in got[total:] if rc_ == "a@kys.example"]
        r.check(fi_new and "muuttunut" in text_of(fi_new[0]).lower() and
                "TÄNÄÄN" in text_of(fi_new[0]),
                "the reminder says the date changed, and that it is today",
                fi_new and text_of(fi_new[0]))
    rc, out, err = cli(d, "--json", "reminder", "list", "stm-valtionavustus-2020")
    plan = json.loads(out)[0] if rc == 0 else {}
    r.check([s["days"] for s in plan.get("sends", [])] == [14, 7, 1, 1],
            "reminder list --json shows the sends", plan.get("sends"))
    rc, out, err = cli(d, "reminder", "list")
    lines = out.splitlines()
    r.check(rc == 0 and lines and not any(x.startswith(" ") for x in lines) and
            any(x.startswith("stm-valtionavustus-2020 ") for x in lines),
            "reminder list: the deadlines, a line each (README)", out + err)
    rc, out, err = cli(d, "reminder", "list", "stm-valtionavustus-2020")
    r.check(rc == 0 and sum(x.startswith("  sent ") for x in out.splitlines()) == 4,
            "reminder list ID: its plan and what was sent", out + err)
    rc, out, err = cli(d, "--json", "project", "show", "p-hus")
    r.check(rc == 0 and len(json.loads(out)["reminders"]) == 4,
            "project show lists the contact's reminders", out[:300])
    d.stop()
    cap.kill()


def test_announcements(r):
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port).start()
    for email_, lang, regions in [("kys@example.fi", "fi", "KYS"), ("hus@example.fi", "sv", "HYKS"),
                                  ("all@example.fi", "en", "all")]:
        rc, _, err = cli(d, "subscriber", "add", email_, "--lang", lang, "--regions", regions)
        r.check(rc == 0, "subscriber add %s" % email_, err)
    for name, _ in harness.examples():
        if name.startswith("announcement-"):
            cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
    time.sleep(2)
    rc, out, err = cli(d, "--json", "announce", "show", "thl-aluekoordinaattorit-aloittavat-2020-02")
    r.check(rc == 0 and json.loads(out)["state"] == "expired",
            "an announcement found five weeks after its send_at expires", out[:200] + err)
    r.check(len(captured(outdir)) == 0, "and nothing is sent for it")

    clock.set("2020-05-01T12:00:00+03:00")
    body = os.path.join(workdir, "body.txt")
    with open(body, "w") as f:
        f.write("Verkostopäivän ilmoittautuminen on auki.\n\nTervetuloa!\n")
    rc, out, err = cli(d, "--json", "announce", "--at", "2020-05-04 09:00", "--audience",
                       "regions:KYS,OYS", "--subject", "Ilmoittautuminen auki", "--body", body,
                       "--id", "monday")
    r.check(rc == 0 and json.loads(out)["send_at"] == "2020-05-04T06:00:00Z",
            "announce --at 2020-05-04 09:00 is 09:00 Helsinki time", out + err)
    rc, _, err = cli(d, "announce", "--at", "2020-05-04 09:00", "--subject", "Peruttu",
                     "--body", body, "--id", "peruttu")
    rc2, _, err2 = cli(d, "announce", "cancel", "peruttu")
    r.check(rc == 0 and rc2 == 0, "a second one, cancelled", err + err2)
    # the third comes over ZeroMQ, as a producer's announcement event
    rc, _, err = cli(d, "enqueue", "announcement", "--id", "siirretty", "--title", "Myöhemmin",
                     "--body-file", body, "--regions", "HYKS",
                     "--send-at", "2020-05-04T09:00:00+03:00")
    rc2, _, err2 = cli(d, "announce", "reschedule", "siirretty", "--at", "2020-05-04 10:00")
    r.check(rc == 0 and rc2 == 0, "a third one, from a producer, rescheduled to 10:00",
            err + err2)
    rc, _, err = cli(d, "announce", "--at", "2020-05-04 25:00", "--subject", "x", "--body", body)
    r.check(rc == 65, "a bad --at is refused (65)", (rc, err))
    rc, _, err = cli(d, "announce", "--at", "2020-05-04 09:00", "--subject", "x\ny", "--body", body)
    r.check(rc == 65 and "title" in err, "a line break in the subject is refused", (rc, err))
    for name, data in [("empty", b""), ("blank", b"  \n"), ("latin-1", b"P\xe4iv\xe4\n")]:
        bad = os.path.join(workdir, name + ".txt")
        with open(bad, "wb") as f:
            f.write(data)
        rc, _, err = cli(d, "announce", "--at", "2020-05-04 09:00", "--subject", "x",
                         "--body", bad)
        r.check(rc == 65 and err, "a %s body is refused (65)" % name, (rc, err))

    clock.set("2020-05-04T08:59:58+03:00")
    time.sleep(2.5)
    r.check(len(captured(outdir)) == 0, "nothing before Monday 09:00", len(captured(outdir)))
    clock.set("2020-05-04T09:00:00+03:00")
    got = wait_count(outdir, 2)
    r.check(sorted(rc_ for rc_, _ in got) == ["all@example.fi", "kys@example.fi"],
            "at 09:00: the KYS subscriber and the all-regions one, not HYKS",
            [rc_ for rc_, _ in got])
    subjects = {rc_: m["Subject"] for rc_, m in got}
    r.check(subjects.get("kys@example.fi", "").endswith("Ilmoittautuminen auki"),
            "the subject as given", subjects)
    r.check(all("Tervetuloa!" in text_of(m) for _, m in got), "the body as given")
    r.check(all(list_headers(m, "u") for _, m in got),
            "an announcement to subscribers is a list message: List-Id, /u/ link, mailto, One-Click",
            [list_headers(m, "u", True) for _, m in got[:1]])
    clock.set("2020-05-04T09:59:58+03:00")
    time.sleep(2.5)
    r.check(len(captured(outdir)) == 2, "the rescheduled one not at 9", len(captured(outdir)))
    clock.set("2020-05-04T10:00:00+03:00")
    got = wait_count(outdir, 4)
    r.check(sorted(rc_ for rc_, _ in got[2:]) == ["all@example.fi", "hus@example.fi"],
            "the rescheduled one (HYKS) at 10", [rc_ for rc_, _ in got])
    rc, _, err = cli(d, "announce", "reschedule", "monday", "--at", "2020-06-01 09:00")
    r.check(rc == 65 and "already sent" in err, "a sent announcement cannot be rescheduled", err)
    rc, out, err = cli(d, "--json", "announce", "list")
    states = {a["id"]: a["state"] for a in json.loads(out)} if rc == 0 else {}
    r.check(states.get("monday") == "sent" and states.get("peruttu") == "cancelled" and
            states.get("siirretty") == "sent" and
            states.get("thl-ajankohtaistiedote-kahden-viikon-valein") == "in-bulletin",
            "announce list --json: sent, cancelled, in-bulletin", states)
    d.kill()
    d.start()
    time.sleep(2)
    r.check(len(captured(outdir)) == 4, "a restart sends nothing again", len(captured(outdir)))
    d.stop()
    cap.kill()


def test_reasons_gone(r):
    """A reminder still waiting for a retry is not sent once its reason is
    gone: the project removed, or the deadline passed meanwhile."""
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir, [
        "--defer", "d@oys.example=451 4.3.0 try again later",
        "--defer", "e@tays.example=451 4.3.0 try again later"])
    clock = Clock(workdir, "2020-06-01T12:00:00+03:00")
    d = harness.Tiedoted(workdir=workdir, log_level="info", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port, "-o", "smtp.retry_base_s=60",
        "-o", "bulletin.first=2030-01-01T09:00:00+02:00"]).start()
    for pid, region, contact in [("p-oys", "OYS", "d@oys.example"),
                                 ("p-tays", "TAYS", "e@tays.example")]:
        rc, _, err = cli(d, "project", "add", pid, "--name", pid, "--region", region,
                         "--contact", contact)
        r.check(rc == 0, "project add %s" % pid, err)
    rc, _, err = cli(d, "enqueue", "deadline", "--id", "kesa", "--title", "Raportti",
                     "--regions", "OYS,TAYS", "--due", "2020-06-30T10:00:00+03:00",
                     "--remind", "1")
    r.check(rc == 0, "enqueue a deadline", err)
    clock.set("2020-06-29T09:00:00+03:00")

    def states():
        with harness.sqlite(d.db) as c:
            return dict(c.execute("SELECT recipient, state || ': ' || coalesce(reply, '')"
                                  " FROM outbox WHERE kind = 'reminder'").fetchall())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            len(states()) == 2 and all(v.startswith("deferred") for v in states().values())):
        time.sleep(0.1)
    r.check(len(states()) == 2 and all(v.startswith("deferred") for v in states().values()),
            "both reminders deferred by the relay", states())
    rc, _, err = cli(d, "project", "remove", "p-oys")
    r.check(rc == 0, "project remove p-oys", err)
    # the retries come after the deadline (30.6. 10.00) for one, and after
    # the project is gone for the other
    clock.set("2020-06-30T10:30:00+03:00")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
            v.startswith("cancelled") for v in states().values()):
        time.sleep(0.1)
    st = states()
    r.check(st.get("d@oys.example", "").startswith("cancelled") and
            "removed" in st.get("d@oys.example", ""),
            "the removed project's contact: cancelled, saying why", st)
    r.check(st.get("e@tays.example", "").startswith("cancelled") and
            "passed" in st.get("e@tays.example", ""),
            "a reminder retried after its deadline: cancelled, saying why", st)
    r.check(len(captured(outdir)) == 0, "nothing delivered")
    d.stop()


def test_fired_revision(r):
    """Every recipient of an announcement reads the revision that was
    fired: one whose delivery the relay deferred gets it at the retry, not
    the revision a producer sent meanwhile."""
    workdir = harness.tempdir()
    cap, port, outdir = start_capture(workdir, [
        "--defer", "late@example.fi=451 4.3.0 try again later"])
    clock = Clock(workdir, "2020-05-01T12:00:00+03:00")
    d = harness.Tiedoted(workdir=workdir, log_level="info", extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port, "-o", "smtp.retry_base_s=60",
        "-o", "bulletin.first=2030-01-01T09:00:00+02:00"]).start()
    for email_ in ("early@example.fi", "late@example.fi"):
        rc, _, err = cli(d, "subscriber", "add", email_, "--lang", "fi", "--regions", "all")
        r.check(rc == 0, "subscriber add %s" % email_, err)
    one, two = os.path.join(workdir, "one.txt"), os.path.join(workdir, "two.txt")
    with open(one, "w") as f:
        f.write("Versio yksi: ilmoittautuminen on auki.\n")
    with open(two, "w") as f:
        f.write("Versio kaksi: ilmoittautuminen on suljettu.\n")
    rc, _, err = cli(d, "announce", "--at", "2020-05-04 09:00", "--subject", "Ilmoitus",
                     "--body", one, "--id", "revisio")
    r.check(rc == 0, "announce revisio", err)
    clock.set("2020-05-04T09:00:00+03:00")

    def state(addr):
        with harness.sqlite(d.db) as c:
            row = c.execute("SELECT state FROM outbox WHERE kind = 'announcement'"
                            " AND recipient = ?", (addr,)).fetchone()
        return row[0] if row else None
    got = wait_count(outdir, 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and state("late@example.fi") != "deferred":
        time.sleep(0.1)
    r.check(len(got) == 1 and got[0][0] == "early@example.fi" and
            state("late@example.fi") == "deferred",
            "fired: one delivered, one deferred by the relay",
            ([a for a, _ in got], state("late@example.fi")))
    # a producer sends revision 2 over ZeroMQ, then the relay takes mail again
    rc, _, err = cli(d, "enqueue", "announcement", "--id", "revisio", "--title", "Ilmoitus",
                     "--body-file", two, "--send-at", "2020-05-04T09:00:00+03:00")
    r.check(rc == 0, "revision 2 from a producer", err)
    cap.kill()
    cap.wait()
    cap, _, _ = start_capture(workdir, port=port)
    clock.set("2020-05-04T09:05:00+03:00")
    got = wait_count(outdir, 2)
    texts = {a: text_of(m) for a, m in got}
    r.check(len(got) == 2 and "Versio yksi" in texts.get("late@example.fi", "") and
            "Versio kaksi" not in texts.get("late@example.fi", ""),
            "the retry carries the fired revision, not the newer one",
            {a: t[:80] for a, t in texts.items()})
    time.sleep(2)
    r.check(len(captured(outdir)) == 2, "and revision 2 is not sent again",
            len(captured(outdir)))
    d.stop()
    cap.kill()


def body(r):
    caps = []
    real = start_capture

    def tracked(*a, **k):
        caps.append(real(*a, **k))
        return caps[-1]
    globals()["start_capture"] = tracked
    try:
        test_reminders(r)
        test_announcements(r)
        test_reasons_gone(r)
        test_fired_revision(r)
    finally:
        for p, _, _ in caps:
            p.kill()


if __name__ == "__main__":
    harness.main(body)
