"""What a Gemini request for a file or directory of the capsule gets:
the 20 answers and their MIME types, 31 redirects to a directory's slash,
directory indexes and generated listings, lang=, and 51/50 for what is
missing or unreadable.  The real lumbar over real TLS, on the fixture
capsule of helpers/gemini_capsule.py."""
import hashlib
import os
import urllib.parse as up

import pytest

import conftest
from helpers.gemini_capsule import (BIG, DOT_SECRET, FILES, GEMTEXT, PNG,
                                    check, gemtext_links, redirect_target)
from helpers.gemini_capsule import capsule, srv  # noqa: F401 (fixtures)


# ------------------------------------------------------- 20 and MIME types

def test_gmi_served_as_gemtext(srv):
    r = srv.get("/page.gmi")
    check(r, "20", "page.gmi")
    assert r.header == GEMTEXT
    assert r.body == FILES["page.gmi"]


def test_gemini_extension_served_as_gemtext(srv):
    r = srv.get("/alt.gemini")
    check(r, "20")
    assert r.header == GEMTEXT
    assert r.body == FILES["alt.gemini"]


def test_txt_mime_from_libmagic(srv):
    r = srv.get("/notes.txt")
    check(r, "20")
    assert r.header == "20 text/plain; charset=us-ascii"
    assert r.body == FILES["notes.txt"]


def test_png_mime_and_bytes(srv):
    r = srv.get("/image.png")
    check(r, "20")
    assert r.header == "20 image/png"
    assert r.body == PNG


def test_large_file_streamed_intact(srv):
    r = srv.get("/big.bin")
    check(r, "20")
    assert "text/gemini" not in r.header
    assert len(r.body) == len(BIG)
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(BIG).digest()


def test_empty_file(srv):
    r = srv.get("/empty.txt")
    check(r, "20")
    assert r.body == b""


def test_scheme_and_host_case_insensitive(srv):
    r = srv.gemini(f"GEMINI://LocalHost:{srv.port}/page.gmi\r\n")
    check(r, "20")
    assert r.body == FILES["page.gmi"]


def test_utf8_and_space_in_file_name(srv):
    r = srv.get("/listed/with%20space%20%C3%A9.gmi")
    check(r, "20")
    assert r.body == FILES["listed/with space \u00e9.gmi"]
    # the same name with the UTF-8 sent as it stands
    r = srv.gemini((srv.url("/listed/with%20space%20") + "\u00e9.gmi\r\n")
                   .encode("utf-8"))
    check(r, "20")
    assert r.body == b"# Spaced heading\n"


def test_path_percent_decoded_before_lookup(srv):
    for p in ("/listed/%61lpha.gmi", "/%6c%69%73%74%65%64/alpha.gmi",
              "/listed/%61%6C%70%68%61%2E%67%6D%69"):
        r = srv.get(p)
        check(r, "20", p)
        assert r.body == FILES["listed/alpha.gmi"], p


def test_deep_path(srv):
    r = srv.get("/deep/a/b/c/page.gmi")
    check(r, "20")
    assert r.body == FILES["deep/a/b/c/page.gmi"]


# -------------------------------------------------------------- 31 redirects

@pytest.mark.parametrize("path", ["/withindex", "/listed", "/listed/sub",
                                  "/deep/a/b"])
def test_directory_without_slash_redirects(srv, path):
    u = srv.url(path)
    r = srv.gemini(u + "\r\n")
    check(r, "31", path)
    assert redirect_target(srv, u, r) == u + "/"
    r2 = srv.gemini(redirect_target(srv, u, r) + "\r\n")
    check(r2, "20", path + "/")


def test_empty_path_redirects_to_root(srv):
    u = f"gemini://localhost:{srv.port}"
    r = srv.gemini(u + "\r\n")
    check(r, "31")
    assert redirect_target(srv, u, r) == u + "/"


def test_directory_index_served(srv):
    r = srv.get("/withindex/")
    check(r, "20")
    assert r.header == GEMTEXT
    assert r.body == FILES["withindex/index.gmi"]
    r = srv.get("/")
    check(r, "20")
    assert r.body == FILES["index.gmi"]


# ---------------------------------------------------------------- listings

def test_listing_generated_sorted_with_headings(srv):
    u = srv.url("/listed/")
    r = srv.gemini(u + "\r\n")
    check(r, "20")
    assert r.header.startswith("20 text/gemini")
    links = gemtext_links(r.body)
    targets = {}
    for link, label in links:
        target = up.urljoin(u, link)
        assert up.urlsplit(target).netloc == f"localhost:{srv.port}", link
        name = up.unquote(up.urlsplit(target).path)[len("/listed/"):]
        targets[name] = (label, target, link)
    files = ["alpha.gmi", "bravo.gmi", "charlie.txt", "delta.gmi",
             "with space \u00e9.gmi"]
    for f in files:
        assert f in targets, f"{f} missing from listing: {links}"
    assert "sub/" in targets or "sub" in targets, links
    # no dotfile, not even its name
    assert not any(n.startswith(".") for n in targets), links
    assert b".hidden" not in r.body and DOT_SECRET not in r.body
    # sorted
    order = [n for n in (up.unquote(up.urlsplit(up.urljoin(u, l)).path)
                         [len("/listed/"):] for l, _ in links) if n in files]
    assert order == sorted(order) == files, order
    # labels: the first heading of each .gmi
    assert targets["alpha.gmi"][0] == "Alpha heading"
    assert targets["bravo.gmi"][0] == "Bravo heading"
    assert targets["with space \u00e9.gmi"][0] == "Spaced heading"
    assert targets["delta.gmi"][0] != ""   # some label all the same
    # a link never holds a raw space (it would end the URL)
    for f in files:
        assert " " not in targets[f][2]
    # every link resolves
    for name, (label, target, _) in targets.items():
        r2 = srv.gemini(target + "\r\n")
        if r2.header.startswith("31"):
            r2 = srv.gemini(redirect_target(srv, target, r2) + "\r\n")
        check(r2, "20", f"listing link {target}")
    assert srv.gemini(targets["alpha.gmi"][1] + "\r\n").body == \
        FILES["listed/alpha.gmi"]


def test_listing_of_nested_directory(srv):
    r = srv.get("/listed/sub/")
    check(r, "20")
    assert [up.unquote(l).rsplit("/", 1)[-1] for l, _ in
            gemtext_links(r.body)].count("x.gmi") == 1


def test_no_listing_option(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--no-listing"])
    check(s.get("/listed/"), "51", "--no-listing")
    check(s.get("/listed/sub/"), "51", "--no-listing")
    r = s.get("/withindex/")
    check(r, "20")
    assert r.body == FILES["withindex/index.gmi"]
    check(s.get("/listed/alpha.gmi"), "20")


# --------------------------------------------------------------- lang=

def test_lang_option(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--lang", "de"])
    r = s.get("/page.gmi")
    check(r, "20")
    assert r.header == "20 text/gemini; charset=utf-8; lang=de"
    assert s.get("/notes.txt").header == "20 text/plain; charset=us-ascii"


def test_lang_empty_disables(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--lang", ""])
    r = s.get("/page.gmi")
    check(r, "20")
    assert r.header == "20 text/gemini; charset=utf-8"


def test_lang_not_on_other_types(srv):
    for p in ("/notes.txt", "/image.png", "/big.bin"):
        assert "lang=" not in srv.get(p).header


# ---------------------------------------------------------------- 51

@pytest.mark.parametrize("path", [
    "/nope.gmi", "/nope/", "/nope", "/listed/nope.gmi", "/page.gmi/x",
    "/dangling.gmi", "/withindex/nope/deeper.gmi"])
def test_not_found(srv, path):
    check(srv.get(path), "51", path)


def test_symlink_inside_root_served(srv):
    r = srv.get("/link.gmi")
    check(r, "20")
    assert r.header == GEMTEXT
    assert r.body == FILES["page.gmi"]
    r = srv.get("/linkdir/")
    check(r, "20")
    assert r.body == FILES["withindex/index.gmi"]


@pytest.mark.parametrize("path", ["/fifo", "/fifo.gmi"])
def test_fifo_refused_and_server_alive(srv, path):
    check(srv.get(path, timeout=30), "51", path)
    r = srv.get("/page.gmi")
    check(r, "20")
    assert r.body == FILES["page.gmi"]


# As root the fixture makes lumbar serve as nobody (--user nobody), for whom
# mode 000 stops reads; a sanitizer build serves as root, for whom it does
# not.
@pytest.mark.skipif(os.geteuid() == 0 and conftest.SANITIZED,
                    reason="lumbar serves as root here: mode 000 does not "
                    "stop its reads")
def test_unreadable_file_is_a_server_error(server_factory, tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "locked.gmi").write_bytes(b"# locked\n")
    os.chmod(root / "locked.gmi", 0)
    s = server_factory(root=root, gopher=False)
    r = s.get("/locked.gmi")
    # 50 (permanent server failure), not 51: the file is there, and a
    # reader told "not found" would go looking for it elsewhere.
    check(r, "50", "unreadable file")
    assert r.header == "50 This file cannot be read", r.header


def test_repeated_slashes_are_one(srv):
    """//listed//alpha.gmi is /listed/alpha.gmi: one answer, one cache
    entry, not one per spelling."""
    a = srv.get("//listed//alpha.gmi")
    check(a, "20")
    assert a.body == FILES["listed/alpha.gmi"]
    u = srv.url("//listed")
    r = srv.gemini(u + "\r\n")
    check(r, "31")
    assert redirect_target(srv, u, r) == srv.url("/listed/")
