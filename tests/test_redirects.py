"""Redirects (redirect, redirect-temporary, gone; lumbar.conf(5)) against
the real server over Gemini and Gopher: they apply before the capsule is
looked at, a prefix ending in "*" carries the rest of the path, and a bad
line is refused with its file and line."""
import os
import subprocess

import pytest

from conftest import LUMBAR


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    (root / "new").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / "new" / "a.gmi").write_text("# A\n")
    (root / "still-here.gmi").write_text("# Still here\n")
    os.chmod(tmp_path, 0o755)
    return root


CONF = """\
redirect /old.gmi /new/a.gmi
redirect-temporary /soon.gmi /new/a.gmi
gone /removed.gmi
redirect /blog/* /new/*
redirect /blog/special.gmi /still-here.gmi
redirect /still-here.gmi /new/a.gmi   # wins over the file
redirect /away.gmi gemini://example.org/a.gmi
gone /private/*
"""


@pytest.fixture
def srv(server_factory, capsule, tmp_path):
    conf = tmp_path / "lumbar.conf"
    conf.write_text(CONF)
    return server_factory(root=capsule, args=[
        "-f", str(conf), "--redirect", "/cli.gmi /new/a.gmi"])


@pytest.mark.parametrize("path,head", [
    ("/old.gmi", "31 /new/a.gmi"),
    ("/soon.gmi", "30 /new/a.gmi"),
    ("/removed.gmi", "52 Gone"),
    ("/blog/a.gmi", "31 /new/a.gmi"),
    ("/blog/x y.gmi", "31 /new/x%20y.gmi"),
    ("/blog/special.gmi", "31 /still-here.gmi"),
    ("/still-here.gmi", "31 /new/a.gmi"),
    ("/away.gmi", "31 gemini://example.org/a.gmi"),
    ("/private/", "52 Gone"),
    ("/private/x/y", "52 Gone"),
    ("/cli.gmi", "31 /new/a.gmi"),
])
def test_gemini(srv, path, head):
    assert srv.get(path.replace(" ", "%20"))[0] == head


def test_gemini_untouched_paths(srv):
    assert srv.get("/new/a.gmi")[0].startswith("20 ")
    assert srv.get("/blog")[0].startswith("51"), "/blog is not under /blog/"
    assert srv.get("/")[0].startswith("20 ")


def test_log_says_the_status(srv):
    srv.get("/old.gmi")
    srv.gopher("/removed.gmi\r\n")
    srv.stop()
    out = srv.output()
    assert '"gemini://localhost:%d/old.gmi" 31 ' % srv.port in out, out
    assert '"/removed.gmi" 52 ' in out, out


def gopher_lines(srv, sel):
    data = srv.gopher(sel + "\r\n").decode()
    assert data.endswith(".\r\n"), data
    return [l.split("\t") for l in data.split("\r\n")[:-2]]


def test_gopher_moved_is_a_menu_to_the_new_selector(srv):
    lines = gopher_lines(srv, "/old.gmi")
    assert lines[0][0] == "iThis page has moved to /new/a.gmi", lines
    assert ["1/new/a.gmi", "/new/a.gmi"] == lines[1][:2], lines
    lines = gopher_lines(srv, "/blog/a.gmi")
    assert lines[1][1] == "/new/a.gmi", lines


def test_gopher_gone_is_an_error(srv):
    lines = gopher_lines(srv, "/removed.gmi")
    assert len(lines) == 1 and lines[0][0].startswith("3gone"), lines


def test_gopher_moved_to_a_url(srv):
    lines = gopher_lines(srv, "/away.gmi")
    assert lines[1][0].startswith("h"), lines
    assert lines[1][1] == "URL:gemini://example.org/a.gmi", lines


@pytest.mark.parametrize("line,why", [
    ("redirect /a", "give FROM and TO"),
    ("redirect a /b", "FROM is a path"),
    ("redirect /a /b/*", 'TO ends in "*", so FROM must too'),
    ("gone", "gone needs a value"),
    ("gone /a /b", "one path only"),
])
def test_bad_lines_name_file_and_line(tmp_path, capsule, line, why):
    conf = tmp_path / "lumbar.conf"
    conf.write_text("# ok\nredirect /x /y\n" + line + "\n")
    r = subprocess.run([LUMBAR, "-n", "-f", str(conf), "-r", str(capsule),
                        "-c", str(tmp_path / "c")], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert f"{conf}:3: " in r.stderr and why in r.stderr, r.stderr
