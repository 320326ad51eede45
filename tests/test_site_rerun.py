"""html2gmi's site mode run again and again on a capsule being served:
a page that does not convert is left out (and said), the capsule is
replaced whole or not at all, what html2gmi did not make is kept, and
the capsule's public address is a setting.  All through the real binary.
"""
import os
import shutil

from test_html2gmi import SITE, run, tree


def write_site(root, pages):
    for rel, html in pages.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(html)


def test_bad_pages_are_left_out(tmp_path):
    site = tmp_path / "site"
    write_site(site, {
        "index.html": b"<title>Home</title><h1>Home</h1><p>See "
                      b"<a href='good.html'>the good page</a> and "
                      b"<a href='broken.html'>the broken one</a>.",
        "good.html": b"<title>Good</title><p>Fine text.",
        "broken.html": b"\0\0\0binary",
        "sub/empty.html": b"",
    })
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 3, err
    assert err == (f"html2gmi: {site}/broken.html: binary data, not an "
                   "HTML document; left out\n"
                   f"html2gmi: {site}/sub/empty.html: empty input, not an "
                   "HTML document; left out\n")
    got = tree(out)
    assert "good.gmi" in got and "index.gmi" in got
    assert "broken.gmi" not in got and "sub/empty.gmi" not in got
    # Converted again without them: no link to a page the capsule lacks.
    assert b"=> good.gmi" in got["index.gmi"]
    assert b"broken.gmi" not in got["index.gmi"]


def test_no_page_converts(tmp_path):
    site = tmp_path / "site"
    write_site(site, {"a.html": b"", "b.html": b"\0\0binary"})
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1
    assert err.endswith(f"html2gmi: {site}: no page converted; {out} is "
                        "left as it was\n"), err
    assert not out.exists()
