#!/usr/bin/env bash
# screenshot.sh [BUILD] - what a subscriber sees: the Finnish bulletin of
# the golden test (tests/it/test_golden.py: the queue/examples events, the
# issue of 17.3.2020, a subscriber following HYKS) rendered by Debian's
# headless Chromium, the whole page, into
#   docs/bulletin-fi.png        800 px wide (desktop mail client / webmail)
#   docs/bulletin-fi-phone.png  420 px wide (phone; the template's 620 px
#                               media query applies)
# Run by "make screenshot", which builds first.  Needs the chromium package
# (apt-get install --no-install-recommends chromium) and, so that the
# templates' Arial is drawn with Arial's metrics, fonts-liberation; neither
# is a test dependency.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
export TIEDOTE_BUILD=$PWD/$build TIEDOTE_ROOT=$PWD

chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
	echo "screenshot: chromium is not installed (apt-get install --no-install-recommends chromium)" >&2
	exit 69
fi
if ! fc-match Arial 2>/dev/null | grep -q Liberation; then
	echo "screenshot: note: no Arial-compatible font (fonts-liberation); text is drawn in $(fc-match Arial 2>/dev/null)" >&2
fi

work=$(mktemp -d /tmp/tiedote-screenshot.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/it/test_golden.py --write "$work/out" >/dev/null
html=$work/out/fi-hyks.html

# chrome - headless Chromium as root in a container, nothing from the network
chrome() {
	local profile
	profile=$(mktemp -d "$work/profile.XXXXXX")
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking --disable-component-update \
	    --disable-sync --hide-scrollbars --user-data-dir="$profile" "$@" 2>"$work/chromium.log"
}

# shoot WIDTH FILE - the page at WIDTH in a window taller than it, cut
# below the last row that is not background (plus the layout's own 24 px).
# (Measuring the page with --dump-dom would not do: that mode keeps the
# window at least 500 px wide and takes 143 px off its height.)
shoot() {
	local width=$1 out=$2
	chrome --window-size="$width,$TALL" --screenshot="$PWD/$out" "file://$html" >/dev/null
	echo "$out: $(/usr/bin/python3 "$work/crop.py" "$out" 24)"
}
TALL=4000

# crop.py PNG MARGIN - drop the uniform rows at the bottom of Chromium's
# 8-bit RGB(A) PNG, in place; the standard library only
cat >"$work/crop.py" <<'PY'
import struct, sys, zlib

def crop(path, margin):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((kind, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    bpp = {2: 3, 6: 4}[ctype]
    assert depth == 8 and interlace == 0
    raw = zlib.decompress(b"".join(c for k, c in chunks if k == b"IDAT"))
    stride = w * bpp + 1
    prev, rows = bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    bg = rows[-1][:bpp]
    last = max((y for y in range(h) if rows[y] != bg * w), default=0)
    keep = min(h, last + 1 + margin)
    # the rows above are unchanged, so their filtered bytes stay valid
    ihdr = struct.pack(">IIBBBBB", w, keep, depth, ctype, 0, 0, 0)
    out = [b"\x89PNG\r\n\x1a\n"]
    def chunk(kind, body):
        out.append(struct.pack(">I", len(body)) + kind + body +
                   struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    chunk(b"IHDR", ihdr)
    chunk(b"IDAT", zlib.compress(raw[:keep * stride], 9))
    chunk(b"IEND", b"")
    open(path, "wb").write(b"".join(out))
    return w, keep, h

w, h, full = crop(sys.argv[1], int(sys.argv[2]))
if h >= full:
    sys.exit("%s: the page is taller than the %d px window" % (sys.argv[1], full))
print("%dx%d" % (w, h))
PY

shoot 800 docs/bulletin-fi.png
shoot 420 docs/bulletin-fi-phone.png
