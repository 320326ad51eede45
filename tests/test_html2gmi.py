"""html2gmi: golden pairs, generated pathological inputs, error handling,
site mode and the committed capsule, all through the real binary.

Golden pairs live in tests/golden/html/: NAME.html is converted (with the
arguments in NAME.args, if present) and must give NAME.gmi byte for byte.
After a deliberate change of output, regenerate a pair with
`build/html2gmi $(cat NAME.args) NAME.html > NAME.gmi` and review the diff.
Site-mode goldens live in tests/golden/site/NAME/: site/ is converted with
-o and must give capsule/ file for file (regenerate with
`build/html2gmi -o tests/golden/site/NAME/capsule tests/golden/site/NAME/site`
after removing the old capsule/).
"""
import os
import random
import re
import shutil

import pytest

from conftest import ROOT
from helpers.html2gmi import (SITE, as_nobody, makefile_public_url,
                              run, tree)
from helpers.html2gmi import public_tmp  # noqa: F401 (a fixture)

GOLDEN = os.path.join(ROOT, "tests", "golden", "html")
GOLDEN_SITES = os.path.join(ROOT, "tests", "golden", "site")
CAPSULE = os.path.join(ROOT, "capsule")
# The article's text as published: the conversion must keep every paragraph.
SEED = os.path.join(ROOT, "tests", "data", "inversion-therapy.txt")


def golden_names():
    return sorted(n[:-5] for n in os.listdir(GOLDEN) if n.endswith(".html"))


@pytest.mark.parametrize("name", golden_names())
def test_golden(name):
    args = []
    if os.path.exists(os.path.join(GOLDEN, name + ".args")):
        with open(os.path.join(GOLDEN, name + ".args")) as f:
            args = f.read().split()
    rc, out, err = run(args + [os.path.join(GOLDEN, name + ".html")])
    assert rc == 0, err
    assert err == ""
    with open(os.path.join(GOLDEN, name + ".gmi"), "rb") as f:
        assert out.decode() == f.read().decode()


def test_golden_pairs_complete():
    for name in golden_names():
        assert os.path.exists(os.path.join(GOLDEN, name + ".gmi")), name


@pytest.mark.parametrize("name", sorted(os.listdir(GOLDEN_SITES)))
def test_golden_site(name, tmp_path):
    out = tmp_path / "capsule"
    rc, _, err = run(["-o", str(out),
                      os.path.join(GOLDEN_SITES, name, "site")])
    assert rc == 0 and err == "", err
    want = tree(os.path.join(GOLDEN_SITES, name, "capsule"))
    got = tree(out)
    assert sorted(got) == sorted(want)
    for f in want:
        assert got[f].decode() == want[f].decode(), f


def test_stdin_matches_file():
    path = os.path.join(GOLDEN, "cp1252.html")
    with open(path, "rb") as f:
        data = f.read()
    _, from_file, _ = run([path])
    rc, from_stdin, err = run(["-"], data)
    assert rc == 0, err
    assert from_stdin == from_file


def test_output_is_deterministic():
    path = os.path.join(SITE, "articles", "inversion-therapy.html")
    outs = {run([path])[1] for _ in range(3)}
    assert len(outs) == 1


# --- Robustness: generated inputs that must convert or fail cleanly. ---

def deep(open_tag, close_tag, n=20000, inner=b"bottom"):
    return open_tag * n + inner + close_tag * n


def junk(n, seed):
    r = random.Random(seed)
    return bytes(r.randrange(256) for _ in range(n))


def tag_soup(seed):
    r = random.Random(seed)
    tags = [b"p", b"div", b"b", b"i", b"table", b"tr", b"td", b"ul", b"li",
            b"ol", b"a href=x", b"pre", b"blockquote", b"h1", b"h2", b"span",
            b"font", b"form", b"select", b"option", b"script", b"style",
            b"textarea", b"title", b"svg", b"math", b"template", b"frameset"]
    parts = []
    for _ in range(20000):
        t = r.choice(tags)
        k = r.randrange(4)
        if k == 0:
            parts.append(b"<" + t + b">")
        elif k == 1:
            parts.append(b"</" + t.split()[0] + b">")
        elif k == 2:
            parts.append(b"text &amp")
        else:
            parts.append(b"<" + t)     # an unclosed tag
    return b"".join(parts)


ROBUST = {
    "deep-div": deep(b"<div>", b"</div>"),
    "deep-b": deep(b"<b>", b"</b>"),
    "deep-table": deep(b"<table><tr><td>", b"</td></tr></table>"),
    "deep-list": deep(b"<ol><li>", b"</li></ol>"),
    "deep-quote": deep(b"<blockquote>", b"</blockquote>"),
    "deep-a": deep(b"<a href=x.html>", b"</a>"),
    "deep-unclosed": b"<p>" + b"<div><span><i>" * 20000 + b"end",
    "deep-pre": deep(b"<pre>", b"</pre>"),
    "misnested": b"<p>" + b"<b><i><u>x</b></i></u>" * 20000,
    "unclosed": b"<p>a<div>b<table><tr><td>c<ul><li>d<a href='e'>e<b>f",
    "tag-soup": tag_soup(1),
    "broken-entities": b"<p>" + b"&#; &#x; &#99999999999; &amp &ampx "
                       b"&unknown; &#xD800; &#0; &" * 5000,
    "nul-bytes": b"<p>a\0b\0\0c</p>\0<h1>\0</h1><a href='\0'>\0</a>",
    "junk": junk(100000, 2),
    "junk-after-tag": b"<p>" + junk(100000, 3),
    "invalid-utf8": b"<meta charset=utf-8><p>" + bytes(range(128, 256)) * 400,
    "long-line": b"<p>" + b"word " * (2 * 1024 * 1024 // 5) + b"</p>",
    "long-line-tags": b"<p>" + b"<b>x</b>" * (2 * 1024 * 1024 // 8),
    "long-pre-line": b"<pre>" + b"x" * (2 * 1024 * 1024) + b"</pre>",
    "many-links": b"<p>" + b"".join(b"<a href='https://example.org/%d'>"
                                    b"link %d</a> " % (i, i)
                                    for i in range(20000)),
    "many-same-links": b"<p>" + b"<a href='https://example.org/'>l</a>" *
                       20000,
    "many-images": b"<p>" + b"".join(b"<img src='https://example.org/%d' "
                                     b"alt='img %d'>" % (i, i)
                                     for i in range(20000)),
    "wide-table": b"<table><tr>" + b"<th>h</th>" * 5000 + b"</tr><tr>" +
                  b"<td>c</td>" * 5000 + b"</tr></table>",
    "long-table": b"<table><tr><th>a</th><th>b</th></tr>" +
                  b"<tr><td>1</td><td>2</td></tr>" * 20000 + b"</table>",
    "empty": b"",
    "blank": b" \n\t\r\n ",
    "only-doctype": b"<!DOCTYPE html>",
    "comment-unclosed": b"<!-- never closed <p>text",
    "utf16-odd": b"\xff\xfe<\x00p\x00>\x00x",
    "bom-only": b"\xef\xbb\xbf",
    "utf16-bom-only": b"\xfe\xff",
    "utf8-label-junk": b"<meta charset='utf\x13-8'><p>\xff\xfe",
    "meta-bogus": b"<meta charset='x-no-such-charset'><p>text \xe9",
}


@pytest.mark.parametrize("name", sorted(ROBUST))
def test_robust(name, tmp_path):
    path = tmp_path / (name + ".html")
    path.write_bytes(ROBUST[name])
    rc, out, err = run([str(path)])
    out.decode("utf-8")     # always valid UTF-8
    if rc == 0:
        for line in out.split(b"\n"):
            assert b"\r" not in line
    else:
        assert rc == 1
        assert err.startswith(f"html2gmi: {path}: "), err
        assert out == b""


def test_robust_expectations(tmp_path):
    def conv(name):
        p = tmp_path / (name + ".html")
        p.write_bytes(ROBUST[name])
        rc, out, err = run([str(p)])
        assert rc == 0, err
        return out.decode()

    assert "bottom" in conv("deep-div")
    assert "bottom" in conv("deep-list")
    # One paragraph of nothing but links: its link lines alone.
    lines = conv("many-links").split("\n")
    assert sum(l.startswith("=> ") for l in lines) == 20000
    assert conv("many-same-links").count("=> ") == 1
    assert max(len(l) for l in conv("long-line").split("\n")) > 2000000
    assert "x" * 2000000 in conv("long-pre-line")
    assert "\ufffd" in conv("invalid-utf8")
    assert "a" in conv("nul-bytes") and "\0" not in conv("nul-bytes")


@pytest.mark.parametrize("name,why", [
    ("empty", "empty input"), ("blank", "empty input"),
    ("junk", "binary data"), ("bom-only", "empty input")])
def test_not_html(name, why, tmp_path):
    path = tmp_path / "x.html"
    path.write_bytes(ROBUST[name])
    rc, out, err = run([str(path)])
    assert rc == 1 and out == b""
    assert err == f"html2gmi: {path}: {why}, not an HTML document\n"


# --- Errors: a clear message naming the file, non-zero exit. ---

def test_missing_file(tmp_path):
    path = tmp_path / "nope.html"
    rc, out, err = run([str(path)])
    assert rc == 1 and out == b""
    assert err == f"html2gmi: {path}: No such file or directory\n"


def test_directory_as_file(tmp_path):
    rc, out, err = run([str(tmp_path)])
    assert rc == 1 and out == b""
    assert err == f"html2gmi: {tmp_path}: is a directory\n"


def test_unreadable_file(public_tmp):
    path = public_tmp / "secret.html"
    path.write_bytes(b"<p>x")
    path.chmod(0)
    rc, out, err = run([str(path)], prefix=as_nobody())
    assert rc == 1 and out == b""
    assert err == f"html2gmi: {path}: Permission denied\n"


def test_png_is_not_html(tmp_path):
    path = tmp_path / "image.html"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + junk(500, 4))
    rc, out, err = run([str(path)])
    assert rc == 1 and out == b""
    assert err == (f"html2gmi: {path}: binary data, not an HTML "
                   "document\n")


def test_text_is_not_html(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"Just some notes.\nNo markup at all.\n")
    rc, out, err = run([str(path)])
    assert rc == 1 and out == b""
    assert "no HTML markup found" in err and str(path) in err


def test_usage():
    rc, out, err = run([])
    assert rc == 2 and "usage: html2gmi" in err
    rc, out, _ = run(["--help"])
    assert rc == 0 and b"--base-url" in out
    rc, out, _ = run(["-V"])
    assert rc == 0 and out.startswith(b"html2gmi ")
    rc, _, err = run(["--base-url", "example.com", "-"], b"<p>x")
    assert rc == 2 and "absolute URL" in err


def test_bad_profile(tmp_path):
    prof = tmp_path / "p.conf"
    prof.write_text("content #main\ncolour blue\n")
    rc, out, err = run(["--profile", str(prof), "-"], b"<p>x")
    assert rc == 1 and out == b""
    assert err == f'html2gmi: {prof}:2: unknown key "colour"\n'
    rc, _, err = run(["--profile", str(tmp_path / "none"), "-"], b"<p>x")
    assert rc == 1 and str(tmp_path / "none") in err


def test_site_mode_needs_directory(tmp_path):
    rc, _, err = run(["-o", str(tmp_path / "out"),
                      os.path.join(GOLDEN, "lists.html")])
    assert rc == 1 and "not a directory" in err


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    rc, _, err = run(["-o", str(blocker / "capsule"), SITE])
    assert rc == 1
    # The new capsule is built beside it: its parent is what fails.
    assert err == f"html2gmi: {blocker}: cannot create directory: " \
        "Not a directory\n", err


def test_read_only_output(public_tmp):
    site = public_tmp / "site"          # where nobody can read it
    shutil.copytree(SITE, site)
    out = public_tmp / "capsule"
    out.mkdir()
    out.chmod(0o555)
    try:
        rc, _, err = run(["-o", str(out), str(site)], prefix=as_nobody())
    finally:
        out.chmod(0o755)
    assert rc == 1 and "cannot" in err and str(out) in err
    assert os.listdir(out) == []


# --- Site mode and the committed capsule. ---

def test_committed_capsule_is_fresh(tmp_path):
    out = tmp_path / "capsule"
    rc, _, err = run(["--feed-url", makefile_public_url(), "-o", str(out),
                      SITE + "/"])
    assert rc == 0 and err == ""
    fresh = tree(out)
    committed = {k: v for k, v in tree(CAPSULE).items()
                 if k.endswith(".gmi") or k == "atom.xml"}
    assert sorted(fresh) == sorted(committed), \
        "run `make capsule` and commit capsule/"
    for name in fresh:
        assert fresh[name] == committed[name], name


def test_capsule_pages():
    for name in ("index.gmi", "articles/index.gmi",
                 "articles/inversion-therapy.gmi", "disclaimer.gmi"):
        assert os.path.exists(os.path.join(CAPSULE, name)), name


def gmi_links(path):
    with open(path, encoding="utf-8") as f:
        pre = False
        for line in f:
            if line.startswith("```"):
                pre = not pre
            elif not pre and line.startswith("=>"):
                yield line[2:].strip().split()[0]


def test_capsule_links_resolve():
    checked = 0
    for d, _, fs in os.walk(CAPSULE):
        for f in fs:
            if not f.endswith(".gmi"):
                continue
            for url in gmi_links(os.path.join(d, f)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", url):
                    continue
                if url == "/search":    # lumbar's search, not a file
                    continue
                target = os.path.normpath(os.path.join(d, url))
                assert target.startswith(CAPSULE + os.sep), (f, url)
                assert os.path.isfile(target), (f, url)
                checked += 1
    # 11: the four pages link each other (footers less self-links and
    # the links their text has already); a slip that drops links fails.
    assert checked >= 11


# The footer of each page: the home page, the article index, the search and
# the disclaimer, less the page itself and the places its text links.
FOOTERS = {
    "index.gmi": ["Search the articles"],
    "articles/index.gmi": ["Home page", "Search the articles", "Disclaimer"],
    "articles/inversion-therapy.gmi": ["Home page", "All articles",
                                       "Search the articles", "Disclaimer"],
    "disclaimer.gmi": ["Home page", "All articles", "Search the articles"],
}


def test_capsule_footer_and_boilerplate():
    disclaimer = "All material herein is provided for information only"
    for d, _, fs in os.walk(CAPSULE):
        for f in fs:
            if not f.endswith(".gmi"):
                continue
            rel = os.path.relpath(os.path.join(d, f), CAPSULE)
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                text = fh.read()
            footer = text.rstrip("\n").split("\n\n")[-1].split("\n")
            assert [l.split(" ", 2)[-1] for l in footer] == \
                FOOTERS[rel], rel
            # No page links to itself, none twice to the same place.
            targets = list(gmi_links(os.path.join(d, f)))
            assert len(targets) == len(set(targets)), (rel, targets)
            assert all(os.path.normpath(os.path.join(d, t)) !=
                       os.path.join(d, f) for t in targets), rel
            for junk_text in ("Return to top", "Copyright", "HONESTe",
                              "Site Map", "Privacy Policy",
                              "must know info", "information area", "}}",
                              "Home >", "Return from"):
                assert junk_text not in text, (rel, junk_text)
            if rel != "disclaimer.gmi":
                assert disclaimer not in text, rel
    with open(os.path.join(CAPSULE, "disclaimer.gmi")) as f:
        assert disclaimer in f.read()


def test_article_is_faithful():
    with open(SEED, encoding="utf-8") as f:
        seed = f.read()
    body = seed.split("Back Pain Treatments }}")[0]
    with open(os.path.join(CAPSULE, "articles",
                           "inversion-therapy.gmi")) as f:
        art = f.read().replace("\u2019", "'")
    # Headings and the bold-term list items keep every word.
    lines = set(re.sub(r"^(#+ |\* )", "", l) for l in art.split("\n"))
    for para in (p.strip() for p in body.split("\n\n")):
        if para:
            assert para in lines, para
    assert "\n* Relieves Stress - by hanging upside down" in art


def test_article_index():
    with open(os.path.join(CAPSULE, "articles", "index.gmi")) as f:
        text = f.read()
    assert re.search(r"^=> inversion-therapy\.gmi \d{4}-\d\d-\d\d Is "
                     r"Inversion Therapy Good For your Spine\?$", text, re.M)
    assert "\nYou may know that inversion therapy is basically hanging " \
        "upside down." in text


def test_site_base_url(tmp_path):
    out = tmp_path / "out"
    rc, _, err = run(["--base-url", "https://example.com/", "-o", str(out),
                      SITE])
    assert rc == 0, err
    art = (out / "articles" / "inversion-therapy.gmi").read_text()
    assert ("=> https://example.com/articles/inversion-tables.html "
            "Recommended Inversion Tables") in art
    assert "=> ../index.gmi Home page" in art


def test_site_without_profile(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    os.unlink(site / "html2gmi.conf")
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    art = (out / "articles" / "inversion-therapy.gmi").read_text()
    # The defaults drop the link-dense navigation column and footer menu.
    assert "must know info" not in art and "Site Map" not in art
    assert "Is Inversion Therapy Good For your Spine?" in art


def test_site_generates_missing_pages(tmp_path):
    site = tmp_path / "site"
    (site / "notes").mkdir(parents=True)
    (site / "notes" / "b.html").write_bytes(
        b"<h1>Beta</h1><p>Second.</p><p class=legal>Legal text.</p>")
    (site / "notes" / "a.html").write_bytes(
        b"<html><head><meta name=date content=2020-02-03></head>"
        b"<h1>Alpha</h1><p>First <a href=b.html>to beta</a>.</p>")
    (site / "html2gmi.conf").write_text("disclaimer .legal\n")
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert sorted(tree(out)) == ["articles/index.gmi", "disclaimer.gmi",
                                 "index.gmi", "notes/a.gmi", "notes/b.gmi"]
    idx = (out / "articles" / "index.gmi").read_text()
    # Newest first: b has no date, so its file's (today) is newer.
    assert idx.index("Beta") < \
        idx.index("=> ../notes/a.gmi 2020-02-03 Alpha")
    assert "Legal text." in (out / "disclaimer.gmi").read_text()
    assert "Legal text." not in (out / "notes" / "b.gmi").read_text()
    assert "=> b.gmi to beta" in (out / "notes" / "a.gmi").read_text()


def small_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_bytes(b"<h1>Home</h1><p>Welcome.</p>")
    return site


def test_profile_articles_must_stay_inside(tmp_path):
    """The profile's articles directory holds the article index: ../x or
    /x would write outside -o DIR."""
    site = small_site(tmp_path)
    out = tmp_path / "out"
    for bad in ("../escaped", "/tmp/escaped", "a/../../escaped", "/"):
        (site / "html2gmi.conf").write_text("articles %s\n" % bad)
        rc, _, err = run(["-o", str(out), str(site)])
        assert rc == 1
        assert err == ("html2gmi: %s:1: articles wants a directory inside "
                       "the site, such as articles, not \"%s\"\n"
                       % (site / "html2gmi.conf", bad)), err
        assert not (tmp_path / "escaped").exists() and not out.exists()


def test_two_pages_one_output_is_an_error(tmp_path):
    site = small_site(tmp_path)
    (site / "page.html").write_bytes(b"<title>First</title><p>one")
    (site / "page.htm").write_bytes(b"<title>Second</title><p>two")
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1 and not out.exists()
    assert "same output page.gmi as" in err
    assert "page.htm" in err and "page.html" in err


def test_symlink_loop_in_site(tmp_path):
    """A link back up ("current -> .") is not a way to convert the site
    16 times, or 3^16 times with three of them."""
    site = small_site(tmp_path)
    (site / "articles").mkdir()
    (site / "articles" / "a.html").write_bytes(b"<h1>A</h1><p>text")
    for name in ("current", "b", "c"):
        os.symlink(".", site / name)
    os.symlink("..", site / "articles" / "up")
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert sorted(tree(out)) == ["articles/a.gmi", "articles/index.gmi",
                                 "index.gmi"]


def test_too_many_pages_is_an_error(tmp_path):
    site = small_site(tmp_path)
    (site / "articles").mkdir()
    for i in range(10001):
        (site / "articles" / ("p%05d.html" % i)).write_bytes(b"<p>x")
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1 and not out.exists()
    assert "more than 10000 pages in the site, nothing converted" in err


def test_utf16_bad_unit_does_not_shift_the_rest(tmp_path):
    page = tmp_path / "u16.html"
    page.write_bytes(b"\xff\xfe" + "<p>Hello ".encode("utf-16-le") +
                     b"\x00\xd8" + " world, this text follows.</p>"
                     .encode("utf-16-le"))
    rc, out, err = run([str(page)])
    assert rc == 0, err
    assert "Hello \ufffd world, this text follows." in out.decode()


@pytest.mark.parametrize("label", ["unicode", "ucs-2", "csunicode",
                                   "iso-10646-ucs-2", "unicodefffe"])
def test_utf16_labels_in_ascii_read_as_utf8(label, tmp_path):
    rc, out, err = run(["-"], ("<meta charset=\"%s\"><title>T</title>"
                               "<p>Plain caf\u00e9 text.</p>" % label)
                       .encode())
    assert rc == 0, err
    assert "Plain caf\u00e9 text." in out.decode()


def test_ordered_list_numbers_do_not_overflow():
    rc, out, err = run(["-"], b"<ol start=9223372036854775807><li>a<li>b"
                       b"</ol>")
    assert rc == 0, err
    text = out.decode()
    assert "9223372036854775807. a" in text
    assert "-9223372036854775808" not in text


def test_root_relative_links_under_a_base_path(tmp_path):
    """With --base-url https://example.com/blog/, "/x" is the host's: inside
    the site only under /blog/, after dot segments, case counting."""
    site = small_site(tmp_path)
    (site / "about.html").write_bytes(b"<h1>About</h1><p>x")
    (site / "index.html").write_bytes(
        b"<h1>Home</h1><p><a href=/blog/about.html>in</a> "
        b"<a href=/blog/../about.html>dots</a> "
        b"<a href=/Blog/about.html>case</a> "
        b"<a href=/contact.html>root</a></p>")
    out = tmp_path / "out"
    rc, _, err = run(["-b", "https://example.com/blog/", "-o", str(out),
                      str(site)])
    assert rc == 0, err
    home = (out / "index.gmi").read_text()
    assert "=> about.gmi in" in home
    assert "=> https://example.com/about.html dots" in home
    assert "=> https://example.com/Blog/about.html case" in home
    assert "=> https://example.com/contact.html root" in home


# --- Content extraction: drop the boilerplate, never the article. ---

def menu_page(links):
    menu = "".join('<li><a href="https://example.org/%d">Menu item %d</a>'
                   % (i, i) for i in range(links))
    return ('<html><body><div class="menu"><ul>%s</ul></div>'
            '<div><h1>Title</h1><p>The article, short.</p></div>'
            '</body></html>' % menu).encode()


def test_large_drop_is_reported(tmp_path):
    """Words the defaults take for navigation are counted on stderr once
    there are 100 or more, so a user sees it and can write a rule."""
    page = tmp_path / "p.html"
    page.write_bytes(menu_page(40))     # 3 words a link: 120
    rc, out, err = run([str(page)])
    assert rc == 0
    assert "Menu item" not in out.decode()
    assert "The article, short." in out.decode()
    assert err == f"html2gmi: {page}: dropped 120 words of navigation\n"
    # A profile's own rule says it on purpose: no report.
    rc, out, err = run(["--drop", ".menu", str(page)])
    assert rc == 0 and err == ""
    # Small menus go quietly.
    page.write_bytes(menu_page(20))
    rc, out, err = run([str(page)])
    assert rc == 0 and err == "" and "Menu item" not in out.decode()


def test_large_drop_is_grouped(tmp_path):
    page = tmp_path / "p.html"
    page.write_bytes(menu_page(400))
    rc, _, err = run([str(page)])
    assert err == f"html2gmi: {page}: dropped 1,200 words of navigation\n"


# --- Depth: gumbo's tree builder is quadratic in nesting; html2gmi caps
# nesting at 256 open elements (browsers: 512), so deep input converts in
# about a second.  The timeout is a hang guard, not a timing. ---

DEEP_MB = {
    "unclosed-div": b"<div>w ",
    "unclosed-list": b"<ul><li>w ",
    "unclosed-b": b"<b>w ",
    "unclosed-table": b"<table><tr><td>w ",
    "span-div-unmatched-end": b"<span><div>w </span>",
    "custom-unmatched-end": b"<x-a>w </x-b>",
    # Markup gumbo parses although it looks like raw text, or in SVG.
    "in-noscript": b"<noscript><div>w ",
    "in-svg-title": b"<svg><title><div>w ",
    "svg-self-closed-div": b"<svg><div/>w ",
    "svg-foreign-object": b"<svg><foreignObject><div>w ",
    "in-noframes": b"<p>x</p><noframes><div>w ",   # parsed again, capped
}
# Where a rough model of the tree builder popped what gumbo keeps (found
# by a random search of repeated tag patterns); 3 MB, so that quadratic
# time shows as minutes.
DEEP_3MB = {
    "row-outside-table": b"<th></body><ol>w ",
    "select-ends-select": b"<pre><head><select>",
    "nobr-over-special": b"<ol/><desc/><nobr>w ",
    "rows-and-formatting": b"</b><b><b><tr>",
}
DEEP_MB.update(DEEP_3MB)


@pytest.mark.parametrize("name", sorted(DEEP_MB))
def test_deep_megabyte_converts_promptly(name, tmp_path):
    unit = DEEP_MB[name]
    n = (3 << 20 if name in DEEP_3MB else 1 << 20) // len(unit)
    path = tmp_path / "deep.html"
    path.write_bytes(unit * n + b"bottom")
    if name.startswith(("in-", "svg-")):    # the prefix once
        head, unit = unit.rsplit(b"<div", 1)
        unit = b"<div" + unit
        n = (1 << 20) // len(unit)
        path.write_bytes(head + unit * n + b"bottom")
    rc, out, err = run([str(path)])     # TIMEOUT: minutes before the cap
    assert rc == 0, err
    out = out.decode()
    if "svg" not in name and b"w" in unit:  # html2gmi leaves SVG out
        assert out.count("w") == n and "bottom" in out    # no text lost


def test_depth_cap_keeps_shallow_structure():
    """Nesting below the cap is untouched: 100 nested lists stay items."""
    page = b"<ul><li>a" * 100 + b"</li></ul>" * 100
    rc, out, err = run(["-"], page)
    assert rc == 0 and out.decode().count("* a") == 100
