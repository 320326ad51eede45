"""Gemlog mode (html2gmi -g): a capsule written by hand in gemtext gets the
article index and the Atom feed that site mode gives a converted site
(issue 17, "Feeds for capsules written by hand").  The committed example
tests/data/gemlog/ and trees made here are copied to a temporary
directory and updated by the real binary; the feed is checked with
xmllint against RFC 4287's schema and with Python's XML parser, and the
real server serves both files."""
import os
import shutil

import pytest

from conftest import ROOT
from test_clients import (amfora_at, amfora_follow, amfora_open,  # noqa
                          amfora_url, flat, need, term)
from test_html2gmi import public_tmp, run  # noqa: F401
from test_subscriptions import (NS, check_feed, check_subscription_page,
                                check_valid, entries_of)
import xml.etree.ElementTree as ET

EXAMPLE = os.path.join(ROOT, "tests", "data", "gemlog")
BASE = "gemini://notebook.example/"


@pytest.fixture
def capsule(public_tmp):  # noqa: F811
    """The committed example, copied where the user nobody can read it
    (the server's workers drop to nobody when the tests run as root)."""
    dst = public_tmp / "capsule"
    shutil.copytree(EXAMPLE, dst)
    return dst


def gemlog(capsule, *args):
    rc, out, err = run(["-g", "--feed-url", BASE] + list(args) +
                       [str(capsule)])
    assert rc == 0, err
    return err


def index_of(capsule):
    return (capsule / "articles" / "index.gmi").read_text(encoding="utf-8")


def test_index_and_feed(capsule):
    err = gemlog(capsule)
    index = str(capsule / "articles" / "index.gmi")
    entries = check_subscription_page(index)
    # Newest first; the date from the name, else from a line of its own.
    assert [(m.group(1), m.group(2), m.group(3)) for m in entries] == [
        ("2026-10-02-chairs.gmi", "2026-10-02", "Chairs & <stools>"),
        ("2026-09-14-lifting.gmi", "2026-09-14", "Lifting without a twinge"),
        ("sleeping.gmi", "2026-08-30", "Sleeping on the side"),
    ]
    # An undated page is not an entry, and the run says so.
    assert "about.gmi" not in index_of(capsule)
    assert f"{capsule}/articles/about.gmi: no date" in err
    feed = str(capsule / "atom.xml")
    check_valid(feed)
    root = check_feed(feed, index, BASE)
    assert root.findtext(NS + "id") == BASE + "articles/index.gmi"
    assert root.findtext(NS + "title") == "The notebook"
    assert root.find(NS + "author").findtext(NS + "name") == \
        "A Back Pain Notebook"
    assert root.findtext(NS + "updated") == "2026-10-02T00:00:00Z"
    first = root.find(NS + "entry")
    assert first.findtext(NS + "id") == BASE + "articles/2026-10-02-chairs.gmi"
    assert first.findtext(NS + "title") == "Chairs & <stools>"
    assert first.findtext(NS + "summary").startswith("A chair that lets")
    for e in root.findall(NS + "entry"):
        assert e.findtext(NS + "id").startswith(BASE)
        assert e.find(NS + "link").get("href").startswith(BASE)


def test_hand_written_text_survives(capsule):
    before = index_of(capsule).splitlines()
    gemlog(capsule)
    gemlog(capsule)
    after = index_of(capsule).splitlines()
    ours = {m.group(0) for m in entries_of(str(capsule / "articles" /
                                                "index.gmi"))}
    # Every line the author wrote but the old entry is there, in order,
    # and the entries stand where the author's first entry stood.
    kept = [l for l in before if not l.startswith("=> 2026-09-14")]
    assert [l for l in after if l not in ours] == kept
    at = before.index("=> 2026-09-14-lifting.gmi 2026-09-14 "
                      "Lifting without a twinge")
    assert after[:at] == before[:at]
    assert after[at:at + 3] == [l for l in after if l in ours]
    # A dated link elsewhere, or to a page that exists but is not an
    # entry, is the author's and stays.
    page = capsule / "articles" / "index.gmi"
    mine = ["=> gemini://elsewhere.example/x.gmi 2020-01-01 A friend's post",
            "=> about.gmi 2019-05-05 Why this notebook began"]
    page.write_text(page.read_text(encoding="utf-8") + "\n".join(mine) +
                    "\n", encoding="utf-8")
    gemlog(capsule)
    assert index_of(capsule).splitlines()[-2:] == mine


def test_new_page_comes_first(capsule):
    gemlog(capsule)
    (capsule / "articles" / "2026-11-28-walking.gmi").write_text(
        "# Walking after lunch\n\nTen minutes is enough.\n",
        encoding="utf-8")
    gemlog(capsule)
    entries = entries_of(str(capsule / "articles" / "index.gmi"))
    assert entries[0].group(0) == ("=> 2026-11-28-walking.gmi 2026-11-28 "
                                   "Walking after lunch")
    assert len(entries) == 4
    root = ET.parse(str(capsule / "atom.xml")).getroot()
    assert root.find(NS + "entry").findtext(NS + "id") == \
        BASE + "articles/2026-11-28-walking.gmi"
    assert root.findtext(NS + "updated") == "2026-11-28T00:00:00Z"
    # A page removed leaves the list.
    (capsule / "articles" / "2026-11-28-walking.gmi").unlink()
    gemlog(capsule)
    assert "walking" not in index_of(capsule)
    assert "walking" not in (capsule / "atom.xml").read_text()


def test_rerun_changes_no_byte(capsule):
    gemlog(capsule)
    files = [capsule / "articles" / "index.gmi", capsule / "atom.xml"]
    before = [(f.read_bytes(), f.stat()) for f in files]
    gemlog(capsule)
    for f, (data, st) in zip(files, before):
        now = f.stat()
        assert f.read_bytes() == data
        # Not even rewritten: same inode, same time stamp.
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    # No temporary left beside them.
    for d in (capsule, capsule / "articles"):
        assert not [n for n in os.listdir(d) if n.startswith(".")]


def test_written_whole_keeping_the_mode(capsule):
    page = capsule / "articles" / "index.gmi"
    page.chmod(0o640)
    ino = page.stat().st_ino
    gemlog(capsule)
    st = page.stat()
    assert st.st_mode & 0o7777 == 0o640
    assert st.st_ino != ino         # a new file renamed over the old one


def test_new_index_and_titles(public_tmp):  # noqa: F811
    """No index yet: one is made, titled for the author to change; a page
    without a heading is titled by its file name, less the date."""
    cap = public_tmp / "c"
    (cap / "log").mkdir(parents=True)
    (cap / "log" / "2026-01-02-first-steps.gmi").write_text("Just text.\n")
    (cap / "log" / "2026-01-03.gmi").write_text("## Not a title\n")
    rc, _, err = run(["-g", "-a", "log", str(cap)])
    assert rc == 0, err
    assert (cap / "log" / "index.gmi").read_text() == (
        "# Articles\n\n"
        "=> 2026-01-03.gmi 2026-01-03 2026-01-03\n"
        "=> 2026-01-02-first-steps.gmi 2026-01-02 first-steps\n")
    assert not (cap / "atom.xml").exists()      # no --feed-url, no feed


def test_usage_errors(capsule, public_tmp):  # noqa: F811
    rc, _, err = run(["-g", "-o", str(public_tmp / "x"), str(capsule)])
    assert rc == 2 and "-o and --redirects are for site mode" in err
    rc, _, err = run(["-g", "-a", "nowhere", str(capsule)])
    assert rc == 1 and "nowhere: not a directory" in err
    rc, _, err = run(["-g", "-a", "../up", str(capsule)])
    assert rc == 1 and "articles wants a directory inside" in err


def test_served(capsule, server_factory):
    gemlog(capsule)
    srv = server_factory(root=capsule)
    head, body, _ = srv.get("/articles/index.gmi")
    assert head.startswith("20 text/gemini")
    assert body == (capsule / "articles" / "index.gmi").read_bytes()
    head, body, _ = srv.get("/atom.xml")
    assert head == "20 application/atom+xml"
    assert body == (capsule / "atom.xml").read_bytes()
    # A page added and the command run again: the server, not reloaded,
    # serves the new index and feed (each file was renamed into place).
    (capsule / "articles" / "2026-11-28-walking.gmi").write_text(
        "# Walking after lunch\n\nTen minutes is enough.\n")
    gemlog(capsule)
    for path in ("/articles/index.gmi", "/atom.xml"):
        head, body, _ = srv.get(path)
        assert head.startswith("20 "), head
        assert "Walking after lunch" in body.decode()
        assert body == (capsule / path.lstrip("/")).read_bytes()


def test_amfora_subscribes_to_the_feed(capsule, server_factory,
                                       term):  # noqa: F811
    """A real client reads the feed: Amfora offers to subscribe when it
    opens atom.xml, and its subscriptions page then lists every entry,
    newest first, under the feed's title and author."""
    need("amfora")
    gemlog(capsule)
    srv = server_factory(root=capsule)
    # Opened from the index, as a reader would: given atom.xml on its
    # command line, Amfora may show the offer before it can take a key.
    t = amfora_open(term, amfora_url(srv.port, "/articles/index.gmi"))
    amfora_at(t, amfora_url(srv.port, "/articles/index.gmi"),
              "Lifting without a twinge")
    amfora_follow(t, 1)             # "The Atom feed of these notes"
    # The dialog takes keys once focused, when its frame turns double.
    t.wait(lambda s: "subscribe to this" in flat(s) and "\u2554" in s,
           "Amfora's offer to subscribe, focused")
    t.keys("Enter")                 # "Yes", where the dialog opens
    t.wait(lambda s: "subscribe to this" not in flat(s), "the dialog gone")
    t.keys("C-a")                   # about:subscriptions
    want = [f"The notebook (A Back Pain Notebook) - {title}" for title in
            ("Chairs & <stools>", "Lifting without a twinge",
             "Sleeping on the side")]
    s = flat(t.wait_text(*want))
    assert [s.index(w) for w in want] == sorted(s.index(w) for w in want)
    for bad in ("Error", "error:"):
        assert bad not in s, s


def test_failed_write_leaves_the_old_files(capsule):
    """Past the file size limit every write fails: the run says so and
    exits 1, the index stays as it was, and no temporary is left."""
    import resource
    import subprocess
    from conftest import HTML2GMI

    page = capsule / "articles" / "index.gmi"
    before = page.read_bytes()

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = subprocess.run([HTML2GMI, "-g", "--feed-url", BASE,
                           str(capsule)], capture_output=True, timeout=60,
                          preexec_fn=small_files)
    assert proc.returncode == 1, proc.stderr
    assert b"cannot write" in proc.stderr
    assert page.read_bytes() == before
    assert not (capsule / "atom.xml").exists()
    for d in (capsule, capsule / "articles"):
        assert not [n for n in os.listdir(d) if n.startswith(".")]


def test_articles_option_in_site_mode(public_tmp):  # noqa: F811
    """--articles is the profile's articles line, in site mode too."""
    site = public_tmp / "site"
    (site / "posts").mkdir(parents=True)
    (site / "index.html").write_text("<title>Home</title><h1>Home</h1>")
    (site / "posts" / "a.html").write_text(
        '<title>A</title><meta name="date" content="2024-02-03">'
        "<h1>A</h1><p>Text.")
    out = public_tmp / "out"
    rc, _, err = run(["-a", "posts", "-o", str(out), str(site)])
    assert rc == 0, err
    assert "=> a.gmi 2024-02-03 A" in (out / "posts" / "index.gmi").read_text()
    assert not (out / "articles").exists()
