"""DKIM signatures, checked by an outside verifier (Debian's python3-dkim).

1. `tiedote dkim keygen` writes an RSA and an Ed25519 key (mode 0600, never
   over an existing file) and prints their TXT records.
2. The worker refuses to start with a key file others can read, an RSA
   key under 2048 bits, a key of the wrong type, or a half configuration.
3. A real send through a capturing SMTP server of every kind of message
   (announcement, the editors' draft, the bulletin, a deadline reminder):
   every captured message carries an Ed25519 and an RSA signature, both
   verify with dkim.DKIM.verify() given the printed TXT records through its
   dnsfunc hook, h= covers the fields of the contract with From
   oversigned, and a message changed after signing (Subject, List-Unsubscribe,
   a body byte) fails both.
4. Key rotation: SIGHUP reads the key file again; a key rotated in place
   signs the next message, a key readable by others is refused and the
   key in use kept.
"""
import os
import re
import stat
import subprocess

import dkim

import harness
from test_send import Clock, cli, start_capture

TIEDOTE = os.path.join(harness.BUILD, "tiedote")
DOMAIN = "tiedote.example"
FIRST = "2020-03-17T09:00:00+02:00"
FIELDS = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type",
          "list-id", "list-unsubscribe", "list-unsubscribe-post"]


def keygen(workdir, name, selector, kind):
    path = os.path.join(workdir, name)
    p = subprocess.run([TIEDOTE, "dkim", "keygen", "--domain", DOMAIN, "--selector", selector,
                        "--out", path, "--type", kind], capture_output=True, timeout=60)
    return p.returncode, path, p.stdout.decode(), p.stderr.decode()


def txt_of(record):
    """the TXT record's value: its quoted strings joined, as DNS gives them"""
    return "".join(re.findall(r'"([^"]*)"', record)).encode()


def wait_for(cond, timeout=60):
    return harness.wait_for(cond, timeout)


def outbox(d):
    try:
        with harness.sqlite(d.db) as c:
            return c.execute("SELECT kind, state FROM outbox").fetchall()
    except Exception:
        return []


def verify_all(raw, dns):
    """[True/False per signature]; both signatures of the message"""
    d = dkim.DKIM(raw)
    n = len(re.findall(rb"(?mi)^DKIM-Signature:", raw))
    out = []
    for i in range(n):
        try:
            out.append(d.verify(idx=i, dnsfunc=dns))
        except dkim.ValidationError:    # a body hash mismatch is raised
            out.append(False)
    return out


def test_keygen_and_refusals(r, workdir):
    rc, rsa, out, err = keygen(workdir, "rsa.pem", "s1", "rsa")
    r.check(rc == 0 and out.startswith("s1._domainkey.%s. IN TXT (" % DOMAIN),
            "keygen rsa prints the TXT record of s1._domainkey", out + err)
    r.check(stat.S_IMODE(os.stat(rsa).st_mode) == 0o600, "the key file is 0600")
    r.check(all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', out)),
            "every string of the record fits DNS's 255 bytes")
    rc2, _, out2, err2 = keygen(workdir, "rsa.pem", "s1", "rsa")
    r.check(rc2 == 73 and "exists" in err2, "keygen never writes over a key (exit 73)", err2)
    rc, ed, out_ed, err = keygen(workdir, "ed.pem", "e1", "ed25519")
    r.check(rc == 0 and b"k=ed25519; p=" in txt_of(out_ed), "keygen ed25519", out_ed + err)
    records = {"s1._domainkey.%s." % DOMAIN: txt_of(out),
               "e1._domainkey.%s." % DOMAIN: txt_of(out_ed)}

    open_key = os.path.join(workdir, "open.pem")
    with open(rsa, "rb") as f, open(open_key, "wb") as g:
        g.write(f.read())
    os.chmod(open_key, 0o640)
    s1 = ["-o", "dkim.domain=" + DOMAIN, "-o", "dkim.selector=s1"]
    harness.refused_start(r, s1 + ["-o", "dkim.key_file=" + open_key],
                          "a group-readable key file is refused at start (exit 78)", "mode 0640")
    small = os.path.join(workdir, "small.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:1024", "-out", small], check=True, capture_output=True)
    os.chmod(small, 0o600)
    harness.refused_start(r, s1 + ["-o", "dkim.key_file=" + small],
                          "an RSA key of 1024 bits is refused", "1024 bits")
    harness.refused_start(r, s1 + ["-o", "dkim.key_file=" + ed],
                          "an Ed25519 key as dkim.key_file is refused", "not an RSA key")
    harness.refused_start(r, ["-o", "dkim.domain=" + DOMAIN, "-o", "dkim.key_file=" + rsa],
                          "dkim.domain without a selector is refused", "dkim.selector")
    return rsa, ed, records


def test_every_kind(r, workdir, rsa, ed, records):
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = harness.Tiedoted(workdir=workdir, extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port, "-o", "bulletin.first=" + FIRST,
        "-o", "bulletin.approval=yes", "-o", "bulletin.editors=toimitus@example.fi",
        "-o", "dkim.domain=" + DOMAIN, "-o", "dkim.selector=s1", "-o", "dkim.key_file=" + rsa,
        "-o", "dkim.ed25519_selector=e1", "-o", "dkim.ed25519_key_file=" + ed]).start()
    r.check(d.log_text().count("dkim: signing as d=tiedote.example") == 1,
            "the worker says how it signs, once", d.log_tail())
    for name, _ in harness.examples():
        rc, _, err = cli(d, "enqueue", os.path.join(harness.QUEUE, "examples", name))
        assert rc == 0, err
    for email_, regions in [("kys@example.fi", "KYS"), ("all@example.fi", "all")]:
        rc, _, err = cli(d, "subscriber", "add", email_, "--regions", regions)
        assert rc == 0, err
    rc, _, err = cli(d, "project", "add", "p-kys", "--name", "Pohjois-Savo", "--region", "KYS",
                     "--contact", "hanke@kys.example")
    assert rc == 0, err
    body = os.path.join(workdir, "body.txt")
    with open(body, "w") as f:
        f.write("Verkostopäivän ilmoittautuminen on auki.\n")
    rc, _, err = cli(d, "announce", "--at", "2020-03-12 09:00", "--audience", "all",
                     "--subject", "Ilmoittautuminen auki", "--body", body, "--id", "ilmo")
    assert rc == 0, err

    def kinds_sent(*kinds):
        rows = outbox(d)
        return (all(any(k == kind and s == "sent" for k, s in rows) for kind in kinds)
                and not any(s in ("queued", "sending") for _, s in rows))

    clock.set("2020-03-12T09:00:00+02:00")
    r.check(wait_for(lambda: kinds_sent("announcement")), "the announcement is sent", outbox(d))
    clock.set("2020-03-16T09:00:00+02:00")
    r.check(wait_for(lambda: kinds_sent("draft")), "the editors' draft is sent", outbox(d))
    with harness.sqlite(d.db) as c:
        issue = c.execute("SELECT max(id) FROM issues").fetchone()[0]
    rc, _, err = cli(d, "issue", "approve", str(issue))
    r.check(rc == 0, "issue approve", err)
    clock.set(FIRST)
    r.check(wait_for(lambda: kinds_sent("bulletin", "reminder")),
            "the bulletin and the reminder are sent", outbox(d))
    sent = sum(1 for _, s in outbox(d) if s == "sent")
    files = sorted(f for f in os.listdir(outdir) if f.endswith(".eml"))
    r.check(wait_for(lambda: len([f for f in os.listdir(outdir) if f.endswith(".eml")]) == sent),
            "every sent message was captured (%d)" % sent, files)
    files = sorted(f for f in os.listdir(outdir) if f.endswith(".eml"))

    def dns(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return records.get(name if name.endswith(".") else name + ".")

    bad, algs, heads = [], set(), set()
    for f in files:
        with open(os.path.join(outdir, f), "rb") as fp:
            raw = fp.read()
        sigs = re.findall(rb"(?ms)^DKIM-Signature:(.*?)\r\n(?=\S)", raw)
        for s in sigs:
            tags = dict(t.strip().split(b"=", 1) for t in re.sub(rb"\s+", b"", s).split(b";") if t)
            algs.add(tags[b"a"].decode())
            heads.add(tags[b"h"].decode().lower())
            if tags[b"c"] != b"relaxed/relaxed":
                bad.append((f, "c=" + tags[b"c"].decode()))
        ok = verify_all(raw, dns)
        if len(ok) != 2 or not all(ok):
            bad.append((f, ok))
    r.check(len(files) >= 6 and not bad,
            "each of %d captured messages (announcement, draft, bulletin, reminder) has two "
            "signatures that python3-dkim verifies" % len(files), bad[:5])
    r.check(algs == {"rsa-sha256", "ed25519-sha256"}, "rsa-sha256 and ed25519-sha256", algs)
    full = [h for h in heads if set(FIELDS) <= set(h.split(":"))]
    r.check(full and all(h.split(":").count("from") == 2 for h in heads),
            "h= covers From (twice: oversigned) To Subject Date Message-ID MIME-Version "
            "Content-Type List-Id List-Unsubscribe List-Unsubscribe-Post", heads)

    # a bulletin: it has every field of the contract
    for f in files:
        with open(os.path.join(outdir, f), "rb") as fp:
            raw = fp.read()
        if b"\r\nList-Unsubscribe-Post:" in raw:
            break
    for name, changed in [
            ("the Subject", re.sub(rb"(?m)^Subject: ", b"Subject: Re: ", raw, count=1)),
            ("List-Unsubscribe", re.sub(rb"(?m)^(List-Unsubscribe:\s*<)", rb"\1x", raw,
                                        count=1)),
            ("a second From", b"From: attacker@evil.example\r\n" + raw),
            ("one body byte", raw[:-40] + (b"X" if raw[-40:-39] != b"X" else b"Y") + raw[-39:])]:
        r.check(changed != raw and verify_all(changed, dns) == [False, False],
                "a message with %s changed after signing fails both signatures" % name)
    d.stop()
    cap.kill()


def test_rotation(r):
    """SIGHUP reads the key file again: a key rotated in place signs the
    next message; a key refused (readable by others) keeps the one in use"""
    from test_tmpl_reload import announce, captured, hup
    workdir = harness.tempdir()
    path = os.path.join(workdir, "dkim.pem")
    records = []
    for n in (1, 2, 3):
        rc, p, out, err = keygen(workdir, "k%d.pem" % n, "s1", "rsa")
        assert rc == 0, err
        records.append(txt_of(out))
    os.rename(os.path.join(workdir, "k1.pem"), path)
    cap, port, outdir = start_capture(workdir)
    clock = Clock(workdir, "2020-03-10T12:00:00+02:00")
    d = harness.Tiedoted(workdir=workdir, extra_args=[
        "-o", "smtp.url=smtp://127.0.0.1:%d" % port, "-o", "dkim.domain=" + DOMAIN,
        "-o", "dkim.selector=s1", "-o", "dkim.key_file=" + path]).start()
    rc, _, err = cli(d, "subscriber", "add", "lukija@example.fi", "--regions", "all")
    assert rc == 0, err

    def sent_with(n, day):
        announce(d, workdir, n, day)
        clock.set("2020-03-%02dT09:00:00+02:00" % day)
        wait_for(lambda: len(captured(outdir)) == n)
        with open(os.path.join(outdir, captured(outdir)[n - 1]), "rb") as f:
            raw = f.read()
        return [i for i, rec in enumerate(records)
                if verify_all(raw, lambda name, timeout=5, rec=rec: rec) == [True]]

    r.check(sent_with(1, 12) == [0], "the first message verifies with the first key only")
    os.rename(os.path.join(workdir, "k2.pem"), path)
    line = hup(d, "reload: DKIM keys")
    r.check("read again" in line, "SIGHUP reads the rotated key", line)
    r.check(sent_with(2, 13) == [1], "the next message verifies with the new key only")
    os.chmod(os.path.join(workdir, "k3.pem"), 0o644)
    os.rename(os.path.join(workdir, "k3.pem"), path)
    line = hup(d, "the DKIM keys in use are kept")
    r.check(path in line and "refused, mode 0644" in line,
            "a key readable by others at SIGHUP: refused, named, the keys in use kept", line)
    r.check(d.log_text().count("the DKIM keys in use are kept") == 1,
            "the refusal said once", [l for l in d.log_text().splitlines() if "kept" in l])
    r.check(sent_with(3, 14) == [1] and d.running(),
            "the next message is signed with the key kept")
    d.stop()
    cap.kill()


def body(r):
    workdir = harness.tempdir()
    rsa, ed, records = test_keygen_and_refusals(r, workdir)
    test_every_kind(r, workdir, rsa, ed, records)
    test_rotation(r)


if __name__ == "__main__":
    harness.main(body)
