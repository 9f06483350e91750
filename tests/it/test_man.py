"""Manual pages: tiedote(1), tiedoted(8), tiedote.conf(5) are clean under
mandoc -Tlint, installed by make install, and name every configuration key
`tiedoted --print-config` prints and every command and verb of the CLI's
dispatch table (as `tiedote --help` lists them)."""
import os
import re
import shutil
import subprocess

import harness

MAN = os.path.join(harness.BUILD, "man")
PAGES = ("tiedote.1", "tiedote.conf.5", "tiedoted.8")
# about the machine, not the page: the pages refer to each other before
# they are installed, and mandoc's own database may be out of date
IGNORED = ("referenced manual not found", "mandoc.db")


def rendered(page):
    """The page as plain text, whitespace collapsed"""
    p = subprocess.run(["mandoc", "-Tascii", os.path.join(MAN, page)], capture_output=True)
    text = re.sub(r".\x08", "", p.stdout.decode())
    return " ".join(text.split())


def body(r):
    if shutil.which("mandoc") is None:
        r.check(False, "mandoc is installed (Debian's mandoc package)")
        return
    for page in PAGES:
        path = os.path.join(MAN, page)
        r.check(os.path.isfile(path), "%s is built" % page)
        p = subprocess.run(["mandoc", "-Tlint", path], capture_output=True, text=True)
        lines = [l for l in (p.stdout + p.stderr).splitlines()
                 if not any(i in l for i in IGNORED)]
        r.check(not lines, "%s is clean under mandoc -Tlint" % page, "\n".join(lines))

    printed = subprocess.run([harness.tiedoted_path(), "--print-config"],
                             capture_output=True, text=True).stdout
    keys, section = [], None
    for line in printed.splitlines():
        m = re.match(r"\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        elif re.match(r"\w+ =", line):
            keys.append(section + "." + line.split(" ", 1)[0])
    conf = rendered("tiedote.conf.5")
    missing = [k for k in keys if k not in conf]
    r.check(keys and not missing, "tiedote.conf(5) names all %d keys" % len(keys),
            "missing: %s" % missing)

    helptext = subprocess.run([os.path.join(harness.BUILD, "tiedote"), "--help"],
                              capture_output=True, text=True).stdout
    verbs = [" ".join(l.split()[:2]) for l in helptext.splitlines()
             if l.startswith("    ") and not l.startswith("     ")]
    commands = [l.split()[0] for l in helptext.splitlines()
                if l.startswith("  ") and not l.startswith("   ") and l.strip()]
    cli = rendered("tiedote.1")
    missing = [v for v in verbs if "tiedote " + v not in cli]
    r.check(len(verbs) > 20 and not missing, "tiedote(1) names all %d commands and verbs"
            " of --help" % len(verbs), "missing: %s" % missing)
    missing = [c for c in commands if "tiedote " + c not in cli]
    r.check(len(commands) >= 9 and not missing, "tiedote(1) has each of the %d commands"
            % len(commands), "missing: %s" % missing)
    # EXIT STATUS has every code README's exit-code paragraph names
    with open(os.path.join(harness.ROOT, "README.md"), encoding="utf-8") as f:
        readme = " ".join(f.read().split())
    para = readme[readme.index("Exit codes follow `sysexits.h`"):]
    para = para[:para.index(" `enqueue` retries")]
    codes = sorted({int(c) for c in re.findall(r"\b(6[4-9]|7[0-8])\b", para)})
    status = cli[cli.index("EXIT STATUS"):cli.index("EXAMPLES")]
    missing = [c for c in codes if not re.search(r"\b%d\b" % c, status)]
    r.check(len(codes) >= 9 and not missing, "tiedote(1) EXIT STATUS lists the %d codes README"
            " names" % len(codes), "README: %s; missing: %s" % (codes, missing))
    # the check can fail: a key and a verb that do not exist are not found
    r.check("store.no_such_key" not in conf and "tiedote subscriber frobnicate" not in cli,
            "a key and a verb that do not exist are not found")
    # the keys a reload applies: tiedote.conf(5) marks them (from conf.c's
    # table), tiedoted(8)'s RELOAD lists them by hand: the same set
    live = set()
    for i, k in enumerate(keys):
        start = conf.index(k + " (default")
        end = conf.index(keys[i + 1] + " (default") if i + 1 < len(keys) else len(conf)
        if "A reload (SIGHUP) applies it" in conf[start:end]:
            live.add(k)
    eight = rendered("tiedoted.8")
    section = eight[eight.index("RELOAD At"):eight.index("SYSTEMD The unit")]
    listed = {k for k in keys if k in section}
    r.check(len(live) >= 5 and listed == live, "tiedoted(8) RELOAD lists the %d keys a reload"
            " applies, as tiedote.conf(5) marks them" % len(live),
            "marked: %s\nlisted: %s" % (sorted(live), sorted(listed)))

    dest = harness.tempdir()
    p = subprocess.run(["make", "-s", "install", "BUILD=" + os.path.relpath(harness.BUILD,
                        harness.ROOT), "DESTDIR=" + dest, "PREFIX=/usr/local"],
                       cwd=harness.ROOT, capture_output=True, text=True)
    r.check(p.returncode == 0, "make install DESTDIR=... runs", p.stdout + p.stderr)
    for page in PAGES:
        sect = page.rsplit(".", 1)[1]
        r.check(os.path.isfile(os.path.join(dest, "usr/local/share/man/man" + sect, page)),
                "make install puts %s in share/man/man%s" % (page, sect))


harness.main(body)
