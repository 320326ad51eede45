"""Golden tests of the gemtext to Gopher renderers (src/render_gopher.c).

Each tests/golden/gopher/NAME.gmi is rendered as the page /dir/NAME.gmi
by build/tests/render_gopher and compared byte for byte with NAME.menu
and NAME.txt.  LUMBAR_UPDATE_GOLDEN=1 rewrites the expected files that
differ, and fails for each (read the diff before committing them).
Structural rules (four fields, CRLF, the final ".", the wrap width) are
checked on every output as well, so a wrong golden file cannot hide a
malformed menu.
"""
import glob
import os
import subprocess
import unicodedata

import pytest

from conftest import BUILD, ROOT

GOLDEN = os.path.join(ROOT, "tests", "golden", "gopher")
TOOL = os.path.join(BUILD, "tests", "render_gopher")
CASES = sorted(os.path.splitext(os.path.basename(p))[0]
               for p in glob.glob(os.path.join(GOLDEN, "*.gmi")))
WRAP = 70


def render(mode, name, wrap=None):
    if not os.path.exists(TOOL):
        pytest.skip(f"SKIP: {TOOL} not built (make {TOOL})")
    args = [TOOL, mode, f"/dir/{name}.gmi"] + ([str(wrap)] if wrap else [])
    with open(os.path.join(GOLDEN, name + ".gmi"), "rb") as f:
        return subprocess.run(args, stdin=f, capture_output=True, check=True,
                              timeout=10).stdout


def width(s):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)


def check_menu(data, wrap=WRAP, verbatim=()):
    assert data.endswith(b".\r\n")
    lines = data[:-3].split(b"\r\n")
    assert lines.pop() == b""
    for line in lines:
        assert b"\n" not in line and b"\r" not in line, line
        fields = line.split(b"\t")
        assert len(fields) == 4, line
        assert fields[3].isdigit(), line
        text = fields[0][1:].decode("utf-8")
        if fields[0][:1] == b"i" and text not in verbatim:
            assert width(text) <= wrap, text


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("mode,ext", [("menu", ".menu"), ("text", ".txt")])
def test_golden(name, mode, ext):
    got = render(mode, name)
    path = os.path.join(GOLDEN, name + ext)
    try:
        with open(path, "rb") as f:
            want = f.read()
    except FileNotFoundError:
        want = None         # a new golden file: written below, reviewed
    if got != want and os.environ.get("LUMBAR_UPDATE_GOLDEN"):
        # Rewrite, but never pass: a changed output is a failure until
        # the new file has been reviewed and the suite runs without this.
        with open(path, "wb") as f:
            f.write(got)
        pytest.fail(f"{path} rewritten: review `git diff`, then run again "
                    "without LUMBAR_UPDATE_GOLDEN")
    assert got == want


def preformatted(name):
    """The lines of the page's preformatted blocks, which are not wrapped."""
    out, pre = set(), False
    with open(os.path.join(GOLDEN, name + ".gmi"), encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("```"):
                pre = not pre
            elif pre:
                out.add(line.expandtabs(8))
    return out


@pytest.mark.parametrize("name", CASES)
def test_menu_is_well_formed(name):
    check_menu(render("menu", name), verbatim=preformatted(name))


@pytest.mark.parametrize("name", CASES)
def test_text_is_wrapped(name):
    text = render("text", name).decode("utf-8")
    assert "\t" not in text
    verbatim = preformatted(name)
    for line in text.split("\r\n"):
        if not line.startswith("[") and line not in verbatim:
            assert width(line) <= WRAP, line


@pytest.mark.parametrize("wrap", [10, 20, 40])
def test_other_widths(wrap):
    for name in ("wrap", "utf8"):
        check_menu(render("menu", name, wrap), wrap=max(wrap, 10))


def test_every_link_kind():
    lines = render("menu", "links").decode().split("\r\n")
    items = {l.split("\t")[0][1:]: l for l in lines if "\t" in l}
    assert items["A sibling page"] == \
        "1A sibling page\t/dir/other.gmi\texample.org\t70"
    assert items["The parent directory"].startswith("1The parent directory\t/\t")
    assert items["A directory without its slash"].split("\t")[1] == "/dir/sub/"
    assert items["A text file"][0] == "0"
    assert items["A GIF"][0] == "g"
    assert items["A PNG"][0] == "I"
    assert items["A binary file"][0] == "9"
    assert items["HTTPS"] == \
        "hHTTPS\tURL:https://example.com/?a=1&b=2\texample.org\t70"
    assert items["Mail"].split("\t")[1] == "URL:mailto:someone@example.com"
    assert items["Gemini on this host"].split("\t")[1] == \
        "URL:gemini://example.org/"
    assert items["A Gopher text on port 7070"] == \
        "0A Gopher text on port 7070\t/file.txt\tgopher.example\t7070"
    assert items["A Gopher IPv6 host"] == \
        "9A Gopher IPv6 host\t/bin\t2001:db8::1\t71"
    assert items["Too many dot segments"].split("\t")[1] == "/etc/passwd.txt"
    assert items["This page as plain text"].split("\t")[1] == "/dir/links.txt"
