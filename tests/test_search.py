"""Search and subscriptions against the running server over real TLS and
TCP: the Gemini input flow (10, then the results), no-result and bad-query
answers, the Gopher type 7 flow through a raw socket and curl, the search
item on the home menu, a rebuild on SIGHUP.  The subscription page and
the Atom feed are test_subscriptions.py's."""
import os
import shutil
import signal
import subprocess
import urllib.parse

import pytest

from conftest import wait_until

# Tests run as root in CI containers; lumbar refuses that without a word,
# and nobody cannot read pytest's private temporary directories.
AS_ROOT = ["--allow-root"] if os.getuid() == 0 else []


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "capsule"
    (root / "articles").mkdir(parents=True)
    (root / ".drafts").mkdir()
    (root / "index.gmi").write_text(
        "# Home\nWelcome.\n=> /search Search the articles\n"
        "=> articles/ Articles\n")
    (root / "articles" / "index.gmi").write_text(
        "# Articles\n=> inversion.gmi 2024-03-01 Inversion tables\n"
        "=> walking.gmi 2023-05-02 Walking\n")
    (root / "articles" / "inversion.gmi").write_text(
        "# Inversion tables\n\nHanging upside down on an inversion table "
        "stretches the back. Many readers ask whether inversion helps.\n"
        "## How long\nA few minutes of inversion at a time.\n")
    (root / "articles" / "walking.gmi").write_text(
        "# Walking\n\nWalking every day keeps the back moving; some "
        "readers pair it with inversion.\n")
    (root / "articles" / "seance.gmi").write_text(
        "# Une S\u00e9ance\n\nLa S\u00c9ANCE de stretching, \u00e0 "
        "l'\u00e9cole.\n", encoding="utf-8")
    # A file named like the search: the search wins, on both protocols.
    (root / "search").write_text("not the search\n")
    (root / ".drafts" / "secret.gmi").write_text("# Draft\nzanzibar\n")
    (root / ".hidden.gmi").write_text("# Hidden\nzanzibar\n")
    return root


@pytest.fixture
def srv(server_factory, site):
    return server_factory(root=site, args=AS_ROOT)


def links(body):
    return [l[3:].split(" ", 1) for l in body.decode().splitlines()
            if l.startswith("=> ")]


def search(srv, query):
    return srv.get("/search?" + urllib.parse.quote(query, safe=""))


def test_input_then_results(srv):
    assert srv.get("/search")[0] == "10 Search the articles"
    assert srv.get("/search?")[0] == "10 Search the articles"
    head, body, clean = search(srv, "inversion")
    assert clean
    assert head == "20 text/gemini; charset=utf-8; lang=en"
    text = body.decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Search: inversion"
    assert lines[1] == "2 pages have all these words, best first."
    # Title match first; each result a link and a snippet line.
    assert links(body)[:2] == [
        ["/articles/inversion.gmi", "Inversion tables"],
        ["/articles/walking.gmi", "Walking"]]
    i = lines.index("=> /articles/inversion.gmi Inversion tables")
    assert "inversion" in lines[i + 1].lower()
    assert not lines[i + 1].startswith(("=>", "#", "*", ">", "```"))
    assert ["/search", "Search again"] in links(body)


def test_and_semantics_and_ranking(srv):
    body = search(srv, "inversion readers")[1]
    assert [l[0] for l in links(body)][:2] == [
        "/articles/inversion.gmi", "/articles/walking.gmi"]
    body = search(srv, "inversion walking")[1]
    assert [l[0] for l in links(body)][0] == "/articles/walking.gmi"
    assert "1 page has all these words." in body.decode()


def test_plus_and_percent_encoding(srv):
    # "+" is not a space in Gemini, but it is punctuation between words.
    a = srv.get("/search?inversion+walking")[1]
    b = srv.get("/search?inversion%20walking")[1]
    assert a.replace(b"inversion+walking", b"inversion walking") == b


def test_folding_over_the_wire(srv):
    for q in ("seance", "S\u00c9ANCE", "e\u0301cole", "ECOLE"):
        head, body, _ = search(srv, q)
        assert head.startswith("20 "), (q, head)
        assert ["/articles/seance.gmi", "Une S\u00e9ance"] in links(body), q


def test_no_results_is_a_page(srv):
    head, body, clean = search(srv, "xylophone inversion")
    assert head.startswith("20 text/gemini")
    assert clean
    assert "No page has all these words" in body.decode()
    assert [l[0] for l in links(body)] == ["/search", "/"]


def test_dotfiles_not_indexed(srv):
    assert "No page has" in search(srv, "zanzibar")[1].decode()


def test_bad_queries(srv):
    head = srv.get("/search?" + "a" * 257)[0]
    assert head.startswith("10 The query is too long"), head
    assert srv.get("/search?" + "%C3%A9" * 128)[0].startswith("20 ")
    assert srv.get("/search?" + "%C3%A9" * 129)[0].startswith("10 ")
    head = srv.get("/search?%21%3F%20...")[0]
    assert head.startswith("10 The query has no words"), head
    head = srv.get("/search?" + "%20".join(f"w{i}" for i in range(17)))[0]
    assert head.startswith("10 The query has too many words"), head
    assert srv.get("/search?caf%FF")[0] == "59 The query is not valid UTF-8"
    head = srv.get("/search?a%1B%5B2Jb")[0]
    assert head == "59 The query contains control characters"
    assert srv.get("/search?a%00b")[0].startswith("59 ")
    assert srv.get("/search?a%zz")[0].startswith("59 ")


def menu(data):
    assert data.endswith(b"\r\n.\r\n"), data[-40:]
    out = []
    for line in data[:-3].split(b"\r\n")[:-1]:
        fields = line.split(b"\t")
        assert len(fields) == 4, line
        out.append([f.decode("utf-8") for f in fields])
    return out


def test_gopher_search(srv):
    items = menu(srv.gopher("/search\tinversion\r\n"))
    links_ = [(i[0][0], i[0][1:], i[1]) for i in items if i[0][0] != "i"]
    assert links_[:2] == [("1", "Inversion tables", "/articles/inversion.gmi"),
                          ("1", "Walking", "/articles/walking.gmi")]
    assert ("7", "Search again", "/search") in links_
    info = [i[0][1:] for i in items if i[0][0] == "i"]
    assert "2 pages have all these words, best first." in info
    assert any("inversion" in l.lower() and "\u2026" in l for l in info)
    # The same results as on Gemini, in the same order.
    gem = [l[0] for l in links(search(srv, "inversion")[1])]
    assert [s for _, _, s in links_] == gem
    # Selectors without the leading slash are the same search.
    assert srv.gopher("search\tinversion\r\n") == \
        srv.gopher("/search\tinversion\r\n")


def test_gopher_search_answers(srv):
    items = menu(srv.gopher("/search\txylophone\r\n"))
    assert any("No page has all these words" in i[0] for i in items)
    items = menu(srv.gopher("/search\t?!?\r\n"))
    assert items[0][0].startswith("3The query has no words"), items
    data = srv.gopher(b"/search\tcaf\xff\r\n")
    assert data.startswith(b"3"), data
    # Without words: a menu holding the search item, not the file.
    items = menu(srv.gopher("/search\r\n"))
    assert ["7Search the articles", "/search"] in [i[:2] for i in items]
    # Other selectors are no search.
    assert srv.gopher("/articles/\tinversion\r\n").startswith(
        b"3no search here")


def test_gopher_home_has_search_item(srv):
    items = menu(srv.gopher("\r\n"))
    assert ["7Search the articles", "/search"] in [i[:2] for i in items]
    text = srv.gopher("/index.txt\r\n").decode()
    assert "/7/search" in text


def test_curl_type_7(srv):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("SKIP: curl not installed (apt-get install curl)")
    url = f"gopher://127.0.0.1:{srv.gopher_port}/7/search%09inversion"
    out = subprocess.run([curl, "-s", url], capture_output=True, timeout=20,
                         check=True).stdout
    assert b"1Inversion tables\t/articles/inversion.gmi\t" in out
    assert out.endswith(b".\r\n")


def test_gemini_search_wins_over_file(srv):
    assert srv.get("/search")[0] == "10 Search the articles"


def test_sighup_rebuilds_index(srv, site):
    assert "No page has" in search(srv, "quokka")[1].decode()
    (site / "articles" / "quokka.gmi").write_text("# Quokkas\nA quokka.\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: ["/articles/quokka.gmi", "Quokkas"] in
               links(search(srv, "quokka")[1]),
               "the index is rebuilt on SIGHUP", timeout=15,
               detail=srv.output, interval=0.1)


def test_shipped_capsule_home_menu_has_search(server_factory):
    """The generated footer links /search: a 7 item on the Gopher home
    menu, and its results over both protocols."""
    srv = server_factory()
    items = menu(srv.gopher("/\r\n"))
    assert ["7Search the articles", "/search"] in [i[:2] for i in items]
    items = menu(srv.gopher("/search\tinversion therapy\r\n"))
    assert ["1Is Inversion Therapy Good For your Spine?",
            "/articles/inversion-therapy.gmi"] in [i[:2] for i in items]
    body = search(srv, "inversion therapy")[1]
    assert links(body)[0] == ["/articles/inversion-therapy.gmi",
                              "Is Inversion Therapy Good For your Spine?"]


def test_doubled_slashes_still_reach_the_search(srv):
    """//search is /search: a capsule file named search stays unserved."""
    assert srv.get("//search")[0] == "10 Search the articles"
    assert srv.get("///search?inversion")[1] == \
        search(srv, "inversion")[1]
    assert srv.gopher("//search\r\n") == srv.gopher("/search\r\n")
    assert b"not the search" not in srv.gopher("//search\r\n")
