"""html2gmi out of memory: every allocation of a short run is made to fail
in turn (tests/preload/failmalloc.c, preloaded), and each run must end one
of two ways: exactly as without the failure, or failed with "out of
memory" on standard error and the documented status (1; 3 in site mode
when the page is left out and the rest written).  A failure taken for
"nothing there" (no title, no date, not a term list) would give status 0
and other output.  Standard input in one-file mode: main.c's nearby-page
lookup is not under test here."""
import errno
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, HTML2GMI
from helpers.html2gmi import asan_build, tree

FAILMALLOC = os.path.join(BUILD, "tests", "failmalloc.so")
MAX_ALLOCS = 5000       # bounds each walk; a short run makes far fewer
TIMEOUT = 30

pytestmark = pytest.mark.skipif(
    not os.path.exists(HTML2GMI) or asan_build(),
    reason="ASan replaces malloc itself: failmalloc cannot be preloaded")

PAGE = """<!DOCTYPE html>
<html><head><title>A page with no heading</title>
<meta name="date" content="2024-05-06"></head>
<body>
<p>First paragraph, the summary.</p>
<h2>Part <a class="x" href="#part">\u00b6</a></h2>
<p><b>Relieves stress</b> - by hanging upside down.</p>
<p><b>Builds strength</b> - by climbing back up.</p>
<ul><li>one</li><li>two <q>quoted</q></li></ul>
<table border="1"><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td>
</tr></table>
<pre>code
line</pre>
<blockquote>quote <img src="pic.png" alt="a picture"></blockquote>
<p>Link <a href="https://example.com/">out</a> and more words.</p>
</body></html>
"""


def run(args, tmp_path, fail_at=None, data=None):
    env = dict(os.environ, LD_PRELOAD=FAILMALLOC,
               FAILMALLOC_COUNT=str(tmp_path / "count"))
    if fail_at is not None:
        env["FAILMALLOC_AT"] = str(fail_at)
    proc = subprocess.run([HTML2GMI] + args, input=data, env=env,
                          capture_output=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8",
                                                             "replace")


def allocations(tmp_path):
    with open(tmp_path / "count") as f:
        n = int(f.read())
    assert 0 < n <= MAX_ALLOCS, n
    return n


# A library call that fails for want of memory (opendir, fopen) is
# reported with its errno's text.
OOM_WORDS = ("out of memory", os.strerror(errno.ENOMEM))


def check_failed(i, rc, err, statuses=(1,)):
    assert rc in statuses, (i, rc, err)
    assert "html2gmi: " in err and any(w in err for w in OOM_WORDS), (
        i, rc, err)


def test_one_page(tmp_path):
    assert os.path.exists(FAILMALLOC), "make " + FAILMALLOC
    data = PAGE.encode()
    rc, ref, err = run(["-"], tmp_path, data=data)
    assert rc == 0 and err == "", err
    assert b"# A page with no heading" in ref and b"* Relieves" in ref
    for i in range(1, allocations(tmp_path) + 1):
        rc, out, err = run(["-"], tmp_path, i, data)
        if rc == 0:
            assert (out, err) == (ref, ""), i
        else:
            check_failed(i, rc, err)
            assert out == b"", i


def make_site(root):
    (root / "articles").mkdir(parents=True)
    (root / "index.html").write_text(PAGE)
    (root / "about.html").write_text(
        "<title>About</title><p>See <a href='index.html'>home</a>.</p>")
    (root / "articles" / "one.html").write_text(
        PAGE.replace("no heading", "one"))
    (root / "articles" / "two.html").write_text(
        "<title>Two</title><h1>Two</h1><p>Undated.</p>")


def test_site_mode(tmp_path):
    assert os.path.exists(FAILMALLOC), "make " + FAILMALLOC
    site = tmp_path / "site"
    make_site(site)
    # Undated pages take their file's day: the same in every run.
    for d, _, fs in os.walk(site):
        for f in fs:
            os.utime(os.path.join(d, f), (1700000000, 1700000000))
    out = tmp_path / "out"
    args = ["--feed-url", "gemini://example.org/", "-o", str(out),
            str(site)]
    rc, _, err = run(args, tmp_path)
    assert rc == 0, err
    ref = tree(out)
    for i in range(1, allocations(tmp_path) + 1):
        shutil.rmtree(out)
        rc, _, err = run(args, tmp_path, i)
        if rc == 0:
            assert tree(out) == ref and err == "", (i, err)
            continue
        check_failed(i, rc, err, (1, 3))
        if rc == 3:
            assert "out of memory; left out" in err, (i, err)
            os.makedirs(out, exist_ok=True)
        else:
            assert not os.path.exists(out), i   # nothing half made
            os.makedirs(out)


def test_gemlog_mode(tmp_path):
    assert os.path.exists(FAILMALLOC), "make " + FAILMALLOC
    cap = tmp_path / "cap"
    (cap / "articles").mkdir(parents=True)
    (cap / "index.gmi").write_text("# My capsule\n")
    (cap / "articles" / "2024-01-02-first.gmi").write_text(
        "# First\n\nThe first post.\n")
    (cap / "articles" / "second.gmi").write_text(
        "# Second\n\n2024-02-03\n\nDated by a line.\n")
    (cap / "articles" / "index.gmi").write_text(
        "# Posts\n\n=> 2023-01-01-gone.gmi 2023-01-01 Gone\n")
    orig = tree(cap)
    args = ["--feed-url", "gemini://example.org/", "-g", str(cap)]
    rc, _, err = run(args, tmp_path)
    assert rc == 0 and err == "", err
    ref = tree(cap)
    assert "Gone" not in ref["articles/index.gmi"].decode()
    for i in range(1, allocations(tmp_path) + 1):
        for path, data in orig.items():
            (cap / path).write_bytes(data)
        for extra in set(tree(cap)) - set(orig):
            os.unlink(cap / extra)
        rc, _, err = run(args, tmp_path, i)
        if rc == 0:
            assert tree(cap) == ref and err == "", (i, err)
        else:
            check_failed(i, rc, err)
