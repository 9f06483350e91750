"""SIGHUP reloads the templates (issue 16, item 6).

1. A changed template is used by the next message after SIGHUP (an
   announcement captured before and after), and the web thread, which has
   a context of its own, serves a page from the new set too.
2. A template that does not parse, at SIGHUP: the worker logs
   "reload: templates: FILE:LINE:COL: ..." and keeps the set it had; the
   next message is rendered from it.
3. A send in progress at SIGHUP continues: an issue going out one message
   a second (smtp-sink -w 1, one connection) gets a SIGHUP with a new set
   mid-send, and every row ends sent, none failed, none sent twice.
"""
import os
import re
import shutil
import email
import email.policy
import signal

import harness
from test_send import Clock, cli, db_rows, prepare, start_capture, start_sink, worker
from test_web import text_of, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT_S = 60


def hup(d, marker):
    """SIGHUP and the first log line with marker after it ("" if none)"""
    before = d.log_text().count(marker)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.log_text().count(marker) > before, WAIT_S)
    lines = [l for l in d.log_text().splitlines() if marker in l]
    return lines[-1] if len(lines) > before else ""


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def captured(outdir):
    return sorted(f for f in os.listdir(outdir) if f.endswith(".eml"))


def text(outdir, i):
    """the text part of the i'th captured message, decoded"""
    with open(os.path.join(outdir, captured(outdir)[i]), "rb") as f:
        return text_of(email.message_from_binary_file(f, policy=email.policy.default))


def announce(d, workdir, n, day):
    body = os.path.join(workdir, "body%d.txt" % n)
    with open(body, "w") as f:
        f.write("Tiedote numero %d.\n" % n)
    rc, _, err = cli(d, "announce", "--at", "2020-03-%02d 09:00" % day, "--audience", "all",
                     "--subject", "Ilmoitus %d" % n, "--body", body, "--id", "ilmo%d" % n)
    assert rc == 0, err


def test_change_and_break(r):
    workdir = harness.tempdir()
    tdir = os.path.join(workdir, "templates")
    shutil.copytree(os.path.join(ROOT, "templates"), tdir)
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    web_port = harness.free_port()
    d = worker(workdir, port, ["-o", "message.templates=" + tdir,
                               "-o", "web.listen=127.0.0.1:%d" % web_port]).start()
    rc, _, err = cli(d, "subscriber", "add", "lukija@example.fi", "--regions", "all")
    assert rc == 0, err

    announce(d, workdir, 1, 12)
    clock.set("2020-03-12T09:00:00+02:00")
    r.check(wait_for(lambda: len(captured(outdir)) == 1), "the first announcement is sent")
    r.check("UUSI-POHJA-7" not in text(outdir, 0), "before SIGHUP the old template")

    # 1. a changed template and page
    path = os.path.join(tdir, "announcement.txt")
    old = open(path).read()
    write(path, old.replace("{{#announcement}}\n", "{{#announcement}}\nUUSI-POHJA-7\n", 1))
    page = os.path.join(tdir, "page.html")
    page_old = open(page).read()
    write(page, page_old.replace("<body", "<!-- UUSI-SIVU-7 --><body", 1))
    line = hup(d, "reload: templates")
    r.check("reload: templates of %s loaded" % tdir in line, "SIGHUP loads the new set", line)
    announce(d, workdir, 2, 13)
    clock.set("2020-03-13T09:00:00+02:00")
    r.check(wait_for(lambda: len(captured(outdir)) == 2), "the second announcement is sent")
    second = text(outdir, 1)
    r.check("UUSI-POHJA-7" in second, "the next message uses the changed template", second)
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/subscribe" % web_port, timeout=30) as resp:
        html = resp.read().decode()
    r.check("UUSI-SIVU-7" in html, "the web thread serves its pages from the new set",
            html[:300])

    # 2. a broken template: error with FILE:LINE:COL, the set before kept
    write(path, old.replace("{{/announcement}}\n", "", 1))
    line = hup(d, "reload: templates")
    m = re.search(r"reload: templates: (\S+?):(\d+):(\d+): .*the templates loaded before are kept",
                  line)
    r.check(m is not None and m.group(1).endswith("announcement.txt"),
            "a template that does not parse: its FILE:LINE:COL logged, the old set kept", line)
    announce(d, workdir, 3, 14)
    clock.set("2020-03-14T09:00:00+02:00")
    r.check(wait_for(lambda: len(captured(outdir)) == 3), "the third announcement is sent")
    third = text(outdir, 2) if len(captured(outdir)) > 2 else ""
    r.check("UUSI-POHJA-7" in third and "Tiedote numero 3" in third,
            "the next message is rendered from the set kept", third)
    r.check(d.running(), "the worker runs on")
    d.stop()
    cap.kill()


def test_send_in_progress(r):
    workdir = harness.tempdir()
    tdir = os.path.join(workdir, "templates")
    shutil.copytree(os.path.join(ROOT, "templates"), tdir)
    n = 6
    sink, port = start_sink(["-w", "1"])
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = worker(workdir, port, ["-o", "message.templates=" + tdir,
                               "-o", "smtp.connections=1"]).start()
    prepare(d, clock, n)
    clock.set("2020-03-17T09:00:01+02:00")

    def sent():
        return db_rows(d, "SELECT count(*) FROM outbox WHERE state = 'sent'")[0][0]

    wait_for(lambda: sent() >= 1)
    path = os.path.join(tdir, "bulletin.txt")
    write(path, open(path).read() + "\n")
    before = sent()
    line = hup(d, "reload: templates")
    total = db_rows(d, "SELECT count(*) FROM outbox WHERE kind = 'bulletin'")[0][0]
    r.check(1 <= before < total and "loaded" in line,
            "SIGHUP mid-send (%d of %d sent)" % (before, total), line)
    r.check(wait_for(lambda: db_rows(d, "SELECT count(*) FROM outbox WHERE state IN "
                                        "('queued', 'sending')")[0][0] == 0),
            "the send goes on to the end")
    rows = db_rows(d, "SELECT state, attempts FROM outbox WHERE kind = 'bulletin'")
    r.check(rows and all(s == "sent" and a == 1 for s, a in rows),
            "every row sent at its first attempt: no session dropped", rows)
    d.stop()
    sink.kill()


def body(r):
    test_change_and_break(r)
    test_send_in_progress(r)


if __name__ == "__main__":
    harness.main(body)
