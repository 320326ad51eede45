"""The fixture capsule of the test_gemini_*.py files: a temporary root with
every kind of thing a Gemini request can meet (pages, plain and binary
files, directories with and without an index, UTF-8 and spaces in names,
dotfiles, symbolic links inside and out of the root, FIFOs) and a secret
beside it that no answer may contain; `check` holds every answer to the
protocol's form.  Import the fixtures into a test module:

    from helpers.gemini_capsule import capsule, srv  # noqa: F401
"""
import os
import random
import re
import struct
import urllib.parse as up
import zlib

import pytest

for _l in (up.uses_relative, up.uses_netloc):
    if "gemini" not in _l:
        _l.append("gemini")

GEMTEXT = "20 text/gemini; charset=utf-8; lang=en"
SECRET = b"TOP-SECRET-OUTSIDE-ROOT"
DOT_SECRET = b"DOTFILE-SECRET"
PASSWD = b"root:x:0:0"
HEADER_RE = re.compile(r"^[1-6][0-9]( [^\r\n]*)?$")


def make_png(w=16, h=8):
    """A real, valid PNG (RGB, 8 bits) made with zlib and struct."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes((x * 16 % 256, y * 32 % 256, 128)
                                     [i % 3] for x in range(w)
                                     for i in range(3))
                    for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def check(resp, status, what=""):
    """Status, header syntax, empty body on non-success, close_notify."""
    assert HEADER_RE.match(resp.header), \
        f"{what}: malformed header {resp.header!r}"
    assert resp.header[:2] == status, \
        f"{what}: expected {status}, got {resp.header!r}"
    if not status.startswith("2"):
        assert resp.body == b"", f"{what}: {status} with a body {resp.body!r}"
    assert resp.clean, f"{what}: no TLS close_notify after {resp.header!r}"
    assert SECRET not in resp.body and PASSWD not in resp.body, \
        f"{what}: leaked a file from outside the root"
    assert DOT_SECRET not in resp.body, f"{what}: served a dotfile"


def redirect_target(srv, request_url, resp):
    assert resp.header.startswith("31 "), resp.header
    return up.urljoin(request_url, resp.header[3:].strip())


def gemtext_links(body):
    """(url, label) of every link line, outside preformatted blocks."""
    links, pre = [], False
    for line in body.decode("utf-8").splitlines():
        if line.startswith("```"):
            pre = not pre
            continue
        if pre or not line.startswith("=>"):
            continue
        parts = line[2:].strip().split(None, 1)
        if parts:
            links.append((parts[0], parts[1].strip() if len(parts) > 1
                          else ""))
    return links


FILES = {
    "index.gmi": b"# Fixture home\n\n=> page.gmi A page\n=> notes.txt Notes"
                 b"\n=> image.png Image\n=> withindex/ Indexed\n"
                 b"=> listed/ Listed\n",
    "page.gmi": b"# A page\n\nHello from the fixture capsule.\n=> / Home\n",
    "alt.gemini": b"# Alternate extension\n\nServed as gemtext too.\n",
    "notes.txt": b"Plain ASCII notes for the MIME test.\n"
                 b"They say nothing more than this, over a few lines.\n"
                 b"The end.\n",
    "empty.txt": b"",
    "withindex/index.gmi": b"# Index of withindex\n=> other.gmi Other\n",
    "withindex/other.gmi": b"# Other\n",
    "listed/alpha.gmi": b"Some intro text.\n# Alpha heading\n## Later\n",
    "listed/bravo.gmi": b"## Bravo heading\nbody\n",
    "listed/charlie.txt": b"charlie is plain text\n",
    "listed/delta.gmi": b"no heading at all\n",
    "listed/with space \u00e9.gmi": b"# Spaced heading\n",
    "listed/.hidden.gmi": b"# " + DOT_SECRET + b" listed\n",
    "listed/sub/x.gmi": b"# X in sub\n",
    ".secret.gmi": b"# " + DOT_SECRET + b"\n",
    ".hiddendir/inside.gmi": b"# " + DOT_SECRET + b" in a dot directory\n",
    "deep/a/b/c/page.gmi": b"# Deep\n",
}
PNG = make_png()
BIG = random.Random(1965).randbytes(3 * 1024 * 1024 + 17)


@pytest.fixture(scope="module")
def capsule(tmp_path_factory):
    base = tmp_path_factory.mktemp("fixture")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET + b"\n")
    (outside / "secret.gmi").write_bytes(b"# " + SECRET + b"\n")
    for name, data in FILES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "image.png").write_bytes(PNG)
    (root / "big.bin").write_bytes(BIG)
    os.symlink(str(outside / "secret.txt"), root / "escape")
    os.symlink(str(outside / "secret.gmi"), root / "escape.gmi")
    os.symlink("../outside/secret.txt", root / "escape-rel.txt")
    os.symlink(str(outside), root / "escapedir")
    os.symlink("page.gmi", root / "link.gmi")
    os.symlink(str(root / "page.gmi"), root / "abslink.gmi")
    os.symlink("withindex", root / "linkdir")
    os.symlink("does-not-exist.gmi", root / "dangling.gmi")
    os.mkfifo(root / "fifo")
    os.mkfifo(root / "fifo.gmi")
    return {"root": root, "outside": outside, "base": base}


@pytest.fixture
def srv(server_factory, capsule):
    return server_factory(root=capsule["root"], gopher=False)

