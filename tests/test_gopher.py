"""The Gopher listener against the running server: menus, text forms, raw
files, caps.txt, URL: redirects, the Gopher+ probe, every bad input, and
real clients from Debian (curl, lynx, the UMN gopher client) when they are
installed.  A crawl from the root checks every menu line on this host."""
import os
import pty
import select
import shutil
import socket
import subprocess
import time

import pytest

from conftest import CAPSULE, recv_all

LONG_PARA = ("This paragraph is long enough to be wrapped by the Gopher "
             "renderer at seventy columns, and it has a wide word: "
             "日本語のテキストは空白がないので折り返す必要があります。")


@pytest.fixture
def site(tmp_path):
    """A small capsule with every kind of entry the listener treats apart."""
    root = tmp_path / "capsule"
    (root / "articles").mkdir(parents=True)
    (root / "plain").mkdir()
    (root / "real").mkdir()
    (root / ".hidden").mkdir()
    (root / "index.gmi").write_text(
        "# Home\n" + LONG_PARA + "\n=> articles/ Articles\n"
        "=> plain/ A directory without index\n=> real/ Real text files\n"
        "=> https://example.com/?a=1&b=<2> The web\n"
        "=> gopher://gopher.example/1/ Elsewhere in Gopherspace\n",
        encoding="utf-8")
    (root / "articles" / "index.gmi").write_text(
        "# Articles\n=> first.gmi The first article\n=> ../ Home\n")
    (root / "articles" / "first.gmi").write_text(
        "# The first article\n\nSome text.\n* an item\n> a quote\n"
        "```\ncode\tmore\n```\n=> /plain/notes.txt Notes\n"
        "=> /plain/pic.gif A picture\n")
    (root / "plain" / "notes.txt").write_bytes(b"line one\r\n.\r\n..dots\n")
    (root / "plain" / "pic.gif").write_bytes(b"GIF89a\x01\x00\x01\x00\x00\x00;")
    (root / "real" / "page.gmi").write_text("# Page\n")
    (root / "real" / "page.txt").write_text("I am a real file.\n")
    (root / "real" / "caps.txt").write_text("not the root\n")
    (root / ".hidden" / "secret.gmi").write_text("# Secret\n")
    (root / ".secret.gmi").write_text("# Secret\n")
    return root


# conftest's Server serves as nobody when the tests run as root.
AS_ROOT = []


@pytest.fixture
def srv(server_factory, site):
    return server_factory(root=site, args=["--timeout", "2"] + AS_ROOT)


@pytest.fixture
def real(server_factory):
    if not os.path.exists(os.path.join(CAPSULE, "index.gmi")):
        pytest.skip("SKIP: capsule/ has no index.gmi yet (make capsule)")
    return server_factory(args=AS_ROOT)


def menu_lines(data):
    """Check a menu's shape and return its lines split into fields."""
    assert data.endswith(b"\r\n.\r\n"), data[-40:]
    out = []
    for line in data[:-3].split(b"\r\n")[:-1]:
        assert b"\n" not in line and b"\r" not in line, line
        fields = line.split(b"\t")
        assert len(fields) == 4, line
        assert fields[3].isdigit(), line
        out.append([f.decode("utf-8") for f in fields])
    return out


def assert_error(data):
    assert data.startswith(b"3"), data[:80]
    assert data.endswith(b"\terror.host\t1\r\n.\r\n"), data
    assert data.count(b"\r\n") == 2


def assert_serving(srv):
    lines = menu_lines(srv.gopher(b"\r\n"))
    assert any(l[0].startswith("1") for l in lines)


def test_home_menu(srv):
    lines = menu_lines(srv.gopher(b"\r\n"))
    assert lines[0][0] == "iHome"
    assert lines[1][0] == "i===="
    texts = [l[0][1:] for l in lines if l[0].startswith("i")]
    assert any("日本語" in t for t in texts)
    items = {l[0][1:]: l for l in lines if not l[0].startswith("i")}
    assert items["Articles"] == ["1Articles", "/articles/", "localhost",
                                 str(srv.gopher_port)]
    assert items["The web"][1] == "URL:https://example.com/?a=1&b=<2>"
    assert items["Elsewhere in Gopherspace"][2:] == ["gopher.example", "70"]
    assert items["This page as plain text"][1] == "/index.txt"
    assert srv.gopher(b"/\r\n") == srv.gopher(b"\r\n")


@pytest.mark.parametrize("opt", ["-H", "--gopher-host"])
def test_menu_host_is_ascii(server_factory, site, opt):
    """Gopher clients look the menu's host up in DNS: an internationalised
    name given to lumbar is written as its A-labels."""
    s = server_factory(root=site, args=[opt, "b\u00fccher.example"] + AS_ROOT)
    items = {l[0][1:]: l for l in menu_lines(s.gopher(b"\r\n"))
             if not l[0].startswith("i")}
    assert items["Articles"][2] == "xn--bcher-kva.example"


def test_lf_only_request(srv):
    assert srv.gopher(b"\n") == srv.gopher(b"\r\n")
    assert srv.gopher(b"/articles/\n") == srv.gopher(b"/articles/\r\n")


def test_article_and_its_text_form(srv):
    lines = menu_lines(srv.gopher(b"/articles/first.gmi\r\n"))
    texts = [l[0] for l in lines]
    assert "icode    more" in texts
    assert "i* an item" in texts and "i> a quote" in texts
    kinds = {l[0][1:]: l[0][0] for l in lines}
    assert kinds["Notes"] == "0" and kinds["A picture"] == "g"
    text = srv.gopher(b"/articles/first.txt\r\n").decode()
    assert text.startswith("The first article\r\n=================\r\n")
    assert "Notes [1]" in text
    assert f"[1] gopher://localhost:{srv.gopher_port}/0/plain/notes.txt" \
        in text
    assert "\t" not in text


def test_directory_without_slash_and_listing(srv):
    assert srv.gopher(b"/articles\r\n") == srv.gopher(b"/articles/\r\n")
    lines = menu_lines(srv.gopher(b"/plain/\r\n"))
    names = {l[0][1:]: l for l in lines}
    assert names["notes.txt"][0][0] == "0"
    assert names["pic.gif"][0][0] == "g"
    assert names["This page as plain text"][1] == "/plain/index.txt"
    text = srv.gopher(b"/plain/index.txt\r\n").decode()
    assert "Index of /plain/" in text and "notes.txt [" in text


def test_raw_files_are_sent_as_they_are(srv, site):
    # No "." terminator and no dot doubling: the close ends a file.
    assert srv.gopher(b"/plain/notes.txt\r\n") == \
        (site / "plain" / "notes.txt").read_bytes()
    assert srv.gopher(b"/plain/pic.gif\r\n") == \
        (site / "plain" / "pic.gif").read_bytes()


def test_real_text_file_wins(srv):
    assert srv.gopher(b"/real/page.txt\r\n") == b"I am a real file.\n"
    lines = menu_lines(srv.gopher(b"/real/page.gmi\r\n"))
    assert not any("plain text" in l[0] for l in lines)


def test_caps_txt(srv, server_factory, site):
    caps = srv.gopher(b"/caps.txt\r\n").decode()
    assert caps.startswith("CAPS\r\n")
    assert "CapsVersion=1\r\n" in caps and "PathDelimeter=/\r\n" in caps
    assert srv.gopher(b"caps.txt\r\n").decode() == caps
    (site / "caps.txt").write_text("CAPS\nmine\n")
    assert srv.gopher(b"/caps.txt\r\n") == b"CAPS\nmine\n"


def test_url_redirect(srv):
    page = srv.gopher(b"URL:https://example.com/?a=1&b=<2>\"'\r\n").decode()
    assert '<meta http-equiv="refresh" content="0; url=' \
        'https://example.com/?a=1&amp;b=&lt;2&gt;&quot;&#39;">' in page
    assert "<2>" not in page
    for url in (b"gemini://example.org/", b"gopher://example.org/",
                b"mailto:a@example.org", b"HTTP://example.org/"):
        assert b"http-equiv" in srv.gopher(b"URL:" + url + b"\r\n")


@pytest.mark.parametrize("url", [
    b"javascript:alert(1)", b"data:text/html,<script>x</script>",
    b"file:///etc/passwd", b"", b"vbscript:x", b"http:",
])
def test_url_unsafe_scheme_refused(srv, url):
    assert_error(srv.gopher(b"URL:" + url + b"\r\n"))
    assert_serving(srv)


@pytest.mark.parametrize("request_line", [
    b"/" + b"a" * 255 + b"\r\n",                 # selector over 255 bytes
    b"x" * 2000 + b"\r\n",                       # longer than any line
    b"/index.gmi\x00\r\n",                       # NUL
    b"/ind\x01ex.gmi\r\n",                       # control byte
    b"/ind\x1bex.gmi\r\n",                       # escape
    b"/\xff\xfe.gmi\r\n",                        # not UTF-8
    b"/../../etc/passwd\r\n",                    # outside the capsule
    b"../\r\n",
    b"/articles/../../index.gmi\r\n",
    b"/articles/./first.gmi\r\n",
    b"/.secret.gmi\r\n",                          # dotfiles
    b"/.hidden/secret.gmi\r\n",
    b"/.hidden/\r\n",
    b"/no/such/page.gmi\r\n",                    # missing
    b"/nothing.txt\r\n",
])
def test_bad_input(srv, request_line):
    assert_error(srv.gopher(request_line))
    assert_serving(srv)


def test_no_line_end_before_deadline(srv):
    # The server's deadline is 2 s (--timeout 2); the socket time-out
    # only bounds how long this may hang, and is no measurement.
    with socket.create_connection((srv.host, srv.gopher_port), 10) as s:
        s.sendall(b"/index.gmi")
        try:
            data = recv_all(s)
        except socket.timeout:
            pytest.fail("no answer: the request deadline was not kept")
    assert data.startswith(b"3No request in time\t"), data
    assert data.endswith(b".\r\n")
    assert_serving(srv)


def test_idle_client_does_not_block_others(server_factory, site):
    # One worker (another would hide a blocked one) and a deadline far
    # beyond the test's own time-outs: the idle client is still held
    # while the other is served.
    srv = server_factory(root=site, args=["--timeout", "120",
                                          "--workers", "1"] + AS_ROOT)
    with socket.create_connection((srv.host, srv.gopher_port), 10) as idle:
        idle.sendall(b"/arti")                     # no line end yet
        assert_serving(srv)
        idle.setblocking(False)
        with pytest.raises(BlockingIOError):       # not answered, not closed
            idle.recv(1, socket.MSG_PEEK)


def test_gopher_plus_probe(srv):
    data = srv.gopher(b"\t$\r\n")
    assert data.startswith(b"+-1\r\n+INFO: 1")
    assert data.endswith(b".\r\n")
    plus = srv.gopher(b"/articles/\t+\r\n")
    assert plus.startswith(b"+-1\r\n")
    menu_lines(plus[5:])
    assert srv.gopher(b"/plain/notes.txt\t+\r\n").startswith(b"+-2\r\n")


def test_search_hook(srv):
    assert_error(srv.gopher(b"/\twords\r\n"))
    assert_serving(srv)


def crawl(srv):
    """Visit every menu and text item on this host from the root."""
    seen, todo, errors = set(), [("1", "")], []
    here = {("localhost", str(srv.gopher_port)),
            ("127.0.0.1", str(srv.gopher_port))}
    while todo:
        kind, sel = todo.pop()
        if (kind, sel) in seen:
            continue
        seen.add((kind, sel))
        data = srv.gopher(sel.encode() + b"\r\n")
        if kind == "1":
            for fields in menu_lines(data):
                t, s = fields[0][:1], fields[1]
                if t == "3":
                    errors.append((sel, fields))
                if t in "01" and (fields[2], fields[3]) in here:
                    todo.append((t, s))
        elif data.startswith(b"3") and data.endswith(b"error.host\t1\r\n.\r\n"):
            errors.append((sel, data))
    return seen, errors


def test_crawl_finds_no_error(srv):
    seen, errors = crawl(srv)
    assert not errors
    assert ("1", "/articles/first.gmi") in seen
    assert ("0", "/articles/first.txt") in seen


def test_crawl_real_capsule(real):
    seen, errors = crawl(real)
    assert not errors
    assert len(seen) > 2


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"SKIP: {name} not installed (apt-get install {name})")
    return path


def run(cmd, timeout=20):
    return subprocess.run(cmd, capture_output=True, timeout=timeout,
                          check=True).stdout.decode("utf-8", "replace")


def test_curl(srv):
    curl = tool("curl")
    base = f"gopher://127.0.0.1:{srv.gopher_port}"
    assert "iHome" in run([curl, "-s", base + "/1/"])
    assert "The first article" in run([curl, "-s", base + "/1/articles/"])
    assert "Some text." in run([curl, "-s", base + "/1/articles/first.gmi"])
    assert "Some text." in run([curl, "-s", base + "/0/articles/first.txt"])


def test_lynx(srv):
    lynx = tool("lynx")
    base = f"gopher://127.0.0.1:{srv.gopher_port}"
    home = run([lynx, "-dump", base + "/1/"])
    assert "Home" in home and "(DIR)" in home and "Articles" in home
    index = run([lynx, "-dump", base + "/1/articles/"])
    assert "The first article" in index
    article = run([lynx, "-dump", base + "/1/articles/first.gmi"])
    assert "Some text." in article and "a quote" in article
    text = run([lynx, "-dump", base + "/0/articles/first.txt"])
    assert "Some text." in text


def test_curl_and_lynx_real_capsule(real):
    curl, lynx = tool("curl"), tool("lynx")
    base = f"gopher://127.0.0.1:{real.gopher_port}"
    for sel in ("/1/", "/1/articles/"):
        menu_lines(subprocess.run([curl, "-s", base + sel],
                                  capture_output=True, timeout=20).stdout)
        assert run([lynx, "-dump", base + sel]).strip()


def test_umn_gopher_client(srv, tmp_path):
    """The UMN client probes with <TAB>$ first; it must reach the menu."""
    gopher = tool("gopher")
    pid, fd = pty.fork()
    if pid == 0:
        # A home of its own: no .gopherrc from an earlier run.
        os.environ.update(TERM="vt100", HOME=str(tmp_path))
        os.execv(gopher, [gopher, "127.0.0.1", str(srv.gopher_port)])
    out = b""

    def pump(seconds):
        nonlocal out
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return

    try:
        # RETURN past the welcome screen (3.0.17 asks for it), then on the
        # client's own "Home Gopher server" list, whose one item ("Main
        # menu") is the server's home; each key once its screen is drawn.
        deadline = time.monotonic() + 20
        keyed = 0           # how much output there was at the last key
        while b"Articles" not in out and time.monotonic() < deadline:
            pump(0.1)
            fresh = out[keyed:]
            menu = fresh.rpartition(b"Main menu/")[2]
            if b"Press RETURN to continue" in fresh or b"Page: " in menu \
                    and b"Main menu/" in fresh:
                os.write(fd, b"\r")
                keyed = len(out)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"Articles" in out


def test_rendered_forms_are_cached_and_follow_the_file(srv, site):
    """A menu comes from the cache the second time, byte for byte, for a
    Gopher+ request too, and a changed page is rendered again."""
    first = srv.gopher(b"/articles/first.gmi\r\n")
    assert srv.gopher(b"/articles/first.gmi\r\n") == first
    plus = srv.gopher(b"/articles/first.gmi\t+\r\n")
    assert plus == b"+-1\r\n" + first
    text = srv.gopher(b"/articles/first.txt\r\n")
    assert srv.gopher(b"/articles/first.txt\r\n") == text
    page = site / "articles" / "first.gmi"
    page.write_text("# Rewritten\n\nNew words.\n")
    os.utime(page, (time.time() + 5, time.time() + 5))
    again = srv.gopher(b"/articles/first.gmi\r\n")
    assert again != first
    assert b"iNew words.\t" in again and b"Some text" not in again


def test_no_listing_hides_directories_over_gopher(server_factory, site):
    """--no-listing holds for Gopher as for Gemini: no generated menu or
    text form of a directory without index.gmi."""
    s = server_factory(root=site, args=["--no-listing"] + AS_ROOT)
    for sel in (b"/plain/", b"/plain", b"/plain/index.txt"):
        data = s.gopher(sel + b"\r\n")
        assert_error(data)
        assert b"notes.txt" not in data
    # Directories with an index, and the files themselves, still serve.
    assert any(l[0] == "1The first article"
               for l in menu_lines(s.gopher(b"/articles/\r\n")))
    assert s.gopher(b"/plain/notes.txt\r\n") == \
        (site / "plain" / "notes.txt").read_bytes()


def test_repeated_slashes_are_one(srv):
    assert srv.gopher(b"//articles//first.gmi\r\n") == \
        srv.gopher(b"/articles/first.gmi\r\n")
    assert srv.gopher(b"///\r\n") == srv.gopher(b"/\r\n")
    assert_error(srv.gopher(b"//.hidden//secret.gmi\r\n"))


def test_selector_ended_by_closing(srv):
    """printf /articles/ | nc -N: no CRLF, the client's close ends it."""
    with socket.create_connection((srv.host, srv.gopher_port), 10) as s:
        s.sendall(b"/articles/")
        s.shutdown(socket.SHUT_WR)
        data = recv_all(s)
    assert data == srv.gopher(b"/articles/\r\n")


def test_bytes_after_the_line_end_are_not_read(srv):
    assert srv.gopher(b"/articles/\r\n\x00junk") == \
        srv.gopher(b"/articles/\r\n")


def test_listing_of_a_name_with_a_colon(server_factory, tmp_path):
    """notes:draft.gmi in a listing is a file, not a URL of scheme
    "notes" (RFC 3986, 4.2): ./notes:draft.gmi over Gemini, and a type 1
    selector over Gopher."""
    root = tmp_path / "colon"
    (root / "d").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> d/ D\n")
    (root / "d" / "notes:draft.gmi").write_text("# Draft notes\n")
    for d in (root, root / "d"):
        os.chmod(d, 0o755)
    s = server_factory(root=root, args=AS_ROOT)
    head, body, _ = s.get("/d/")
    assert head.startswith("20 ")
    assert "=> ./notes:draft.gmi Draft notes" in body.decode().splitlines()
    head, body, _ = s.get("/d/notes:draft.gmi")
    assert head.startswith("20 ") and body == b"# Draft notes\n"
    items = [l for l in menu_lines(s.gopher(b"/d/\r\n"))
             if l[0] == "1Draft notes"]
    assert items == [["1Draft notes", "/d/notes:draft.gmi", "localhost",
                      str(s.gopher_port)]]


def test_gopher_plus_errors_and_search(srv):
    """Gopher+ answers: an error is "--1", its code and reason, then ".";
    a search asked with "<TAB>+" gets the "+-1" length line too."""
    assert srv.gopher(b"/no/such.gmi\t+\r\n") == \
        b"--1\r\n1 not found\r\n.\r\n"
    plus = srv.gopher(b"/search\tfirst\t+\r\n")
    assert plus.startswith(b"+-1\r\n")
    assert plus[5:] == srv.gopher(b"/search\tfirst\r\n")


@pytest.mark.parametrize("mark", [b"$", b"!", b"+"])
def test_search_words_starting_like_gopher_plus(srv, mark):
    """A type 7 query is the words, whatever their first character: "$5",
    "!important" and "+1" get results, not a Gopher+ answer; the mark
    alone is still Gopher+."""
    got = srv.gopher(b"/search\t" + mark + b"first\r\n")
    assert not got.startswith((b"+", b"--")), got[:80]
    assert b"\t/articles/first.gmi\t" in got, got[:300]
    assert got.endswith(b".\r\n")
    assert srv.gopher(b"/search\t" + mark + b"\r\n").startswith(b"+")


def test_double_slash_link_keeps_its_item_type(server_factory, tmp_path):
    """A page's link "a//sub" is the directory a/sub/: a type 1 item
    whose selector has one slash, not a type 9 file."""
    root = tmp_path / "dbl"
    (root / "a" / "sub").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> a//sub double\n")
    (root / "a" / "sub" / "index.gmi").write_text("# Sub\n")
    for d in (root, root / "a", root / "a" / "sub"):
        os.chmod(d, 0o755)
    s = server_factory(root=root, args=AS_ROOT)
    items = [l for l in menu_lines(s.gopher(b"/\r\n")) if l[0] == "1double"]
    assert items and items[0][1] == "/a/sub/", menu_lines(s.gopher(b"/\r\n"))


def test_selector_ended_by_closing_keeps_the_length_limit(srv):
    long_line = b"/\t" + b"x" * 1023          # 1025 bytes, one too many
    with socket.create_connection((srv.host, srv.gopher_port), 10) as s:
        s.sendall(long_line)
        s.shutdown(socket.SHUT_WR)
        data = recv_all(s)
    assert data.startswith(b"3request too long"), data[:80]
    assert_error(srv.gopher(long_line + b"\r\n"))
