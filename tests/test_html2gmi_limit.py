"""html2gmi's input size limit: a page over it is refused by name, with
the limit in the message and a non-zero status, from a file, from
standard input and in site mode (where the rest of the site converts);
a page at the limit converts; --max-input (or the profile's max-input)
moves it, within 1 to 64 MiB.  The default limit (4 MiB) is what
html2gmi.1 states; the timings behind it are in bench/results.md.
"""
import os
import subprocess

from conftest import HTML2GMI, SANITIZER_MARKS

LIMIT = 4 * 1024 * 1024
TIMEOUT = 120       # seconds; ASan builds are several times slower
MESSAGE = "larger than 4 MiB, not converted (--max-input raises the limit)"


def page(size):
    """size bytes of HTML that cost little to convert: one paragraph,
    padded with a comment (the slow kinds are for the benchmark)."""
    head = b"<title>Big</title><p>Kept text.</p><!--"
    tail = b"-->"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def run(args, data=None):
    proc = subprocess.run([HTML2GMI] + list(args), input=data,
                          capture_output=True, timeout=TIMEOUT)
    err = proc.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    return proc.returncode, proc.stdout, err


def test_file_over_limit_is_refused_by_name(tmp_path):
    big = tmp_path / "big.html"
    big.write_bytes(page(LIMIT + 1))
    rc, out, err = run([str(big)])
    assert rc == 1, (rc, err)
    assert out == b""
    assert f"html2gmi: {big}: {MESSAGE}" in err, err


def test_stdin_over_limit_is_refused():
    rc, out, err = run(["-"], page(LIMIT + 1))
    assert rc == 1, (rc, err)
    assert out == b""
    assert f"html2gmi: stdin: {MESSAGE}" in err, err


def test_file_at_limit_converts(tmp_path):
    at = tmp_path / "at.html"
    at.write_bytes(page(LIMIT))
    rc, out, err = run([str(at)])
    assert rc == 0, (rc, err)
    assert b"Kept text." in out


def test_site_page_over_limit_is_left_out_by_name(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "small.html").write_bytes(b"<title>Small</title><p>Small page.")
    (site / "big.html").write_bytes(page(LIMIT + 1))
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 3, (rc, err)
    assert "big.html" in err and MESSAGE in err, err
    assert (out / "small.gmi").is_file()
    assert not os.path.exists(out / "big.gmi")


def test_max_input_raises_the_limit(tmp_path):
    big = tmp_path / "big.html"
    big.write_bytes(page(LIMIT + 1))
    rc, out, err = run(["--max-input", "5", str(big)])
    assert rc == 0, (rc, err)
    assert b"Kept text." in out
    rc, out, err = run(["-m", "5", "-"], page(5 * 1024 * 1024 + 1))
    assert rc == 1, (rc, err)
    assert "larger than 5 MiB, not converted" in err, err


def test_max_input_in_the_profile_and_its_bounds(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "big.html").write_bytes(page(LIMIT + 1))
    (site / "html2gmi.conf").write_text("max-input 5\n")
    rc, _, err = run(["-o", str(tmp_path / "out"), str(site)])
    assert rc == 0, (rc, err)
    assert (tmp_path / "out" / "big.gmi").is_file()
    for bad in ("0", "65", "x"):
        rc, out, err = run(["--max-input", bad, "-"], b"<p>x")
        assert rc != 0 and out == b"", (bad, rc)
        assert f'max-input wants MiB from 1 to 64, not "{bad}"' in err, err
