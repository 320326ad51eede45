"""What Gopher answers write of the server itself, from its settings: the
menu host and port (--gopher-host, --gopher-menu-port) in every item of
its own, caps.txt and the Gopher+ attribute block; the Gemini address
(--public-port) of a link only Gemini can follow; the width (--wrap).  The
renderer takes these as arguments, filled by gopher.c from the resolved
configuration: these tests hold each one to what the settings say."""
import pytest

from test_gopher import menu_lines

WORDS = ("one two three four five six seven eight nine ten eleven twelve "
         "thirteen fourteen fifteen sixteen seventeen eighteen nineteen")


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text(
        "# Home\n" + WORDS + "\n=> page.gmi A page\n"
        "=> page.gmi?q=1 A query only Gemini answers\n")
    (root / "page.gmi").write_text("# Page\n")
    return root


def items(menu):
    return {l[0][1:]: l for l in menu_lines(menu) if not l[0].startswith("i")}


def test_defaults(server_factory, capsule):
    s = server_factory(root=capsule, args=[])
    it = items(s.gopher(b"\r\n"))
    assert it["A page"][2:] == ["localhost", str(s.gopher_port)]
    assert it["This page as plain text"][2:] == ["localhost",
                                                 str(s.gopher_port)]
    # The public port defaults to --port, which is not 1965 here.
    assert it["A query only Gemini answers"][1] == \
        f"URL:gemini://localhost:{s.port}/page.gmi?q=1"
    caps = s.gopher(b"/caps.txt\r\n").decode()
    assert f"ServerHost=localhost\r\nServerPort={s.gopher_port}\r\n" in caps
    attrs = s.gopher(b"\t$\r\n").decode()
    assert f"+INFO: 1Main menu\t/\tlocalhost\t{s.gopher_port}\r\n" in attrs


def test_settings_written(server_factory, capsule):
    s = server_factory(root=capsule, args=[
        "--gopher-host", "gopher.example", "--gopher-menu-port", "7070",
        "--public-port", "1966", "--wrap", "20"])
    menu = s.gopher(b"\r\n")
    it = items(menu)
    assert it["A page"][2:] == ["gopher.example", "7070"]
    assert it["This page as plain text"][2:] == ["gopher.example", "7070"]
    # The Gemini host is the host Gopher serves, not --gopher-host.
    assert it["A query only Gemini answers"][1] == \
        "URL:gemini://localhost:1966/page.gmi?q=1"
    info = [l[0][1:] for l in menu_lines(menu) if l[0].startswith("i")]
    assert any(l.startswith("one two") for l in info)
    assert all(len(l) <= 20 for l in info), info
    assert len([l for l in info if l]) > 3, info    # wrapped, not cut
    caps = s.gopher(b"/caps.txt\r\n").decode()
    assert "ServerHost=gopher.example\r\nServerPort=7070\r\n" in caps
    attrs = s.gopher(b"\t$\r\n").decode()
    assert "+INFO: 1Main menu\t/\tgopher.example\t7070\r\n" in attrs
    text = s.gopher(b"/index.txt\r\n").decode()
    assert "[1] gopher://gopher.example:7070/1/page.gmi\r\n" in text


def test_default_gemini_port_is_left_out(server_factory, capsule):
    s = server_factory(root=capsule, args=["--public-port",
                                                     "1965"])
    it = items(s.gopher(b"\r\n"))
    assert it["A query only Gemini answers"][1] == \
        "URL:gemini://localhost/page.gmi?q=1"
