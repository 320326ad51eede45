"""Subscriptions: the article index follows the Gemini subscription
convention and html2gmi's site mode writes an Atom feed of the same
entries.  The shipped capsule and a generated site are both checked; the
feeds with xmllint (well-formed, then tests/data/atom.rng, RFC 4287's schema)
and with Python's XML parser for what a schema cannot say."""
import datetime
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import CAPSULE, HTML2GMI, ROOT

DATED = re.compile(r"^=> (\S+) (\d{4}-\d{2}-\d{2}) (.+)$")
NS = "{http://www.w3.org/2005/Atom}"
SCHEMA = os.path.join(ROOT, "tests", "data", "atom.rng")
ATOM = os.path.join(CAPSULE, "atom.xml")


def entries_of(index):
    with open(index, encoding="utf-8") as f:
        return [m for m in map(DATED.match, f.read().splitlines()) if m]


def check_subscription_page(index):
    """Gemini subscription convention: a heading names the feed; each
    entry is "=> path YYYY-MM-DD Title", newest first."""
    with open(index, encoding="utf-8") as f:
        assert any(l.startswith("# ") for l in f.read().splitlines())
    entries = entries_of(index)
    assert entries, f"no dated entry in {index}"
    dates = []
    for m in entries:
        dates.append(datetime.date.fromisoformat(m.group(2)))
        assert os.path.isfile(os.path.join(os.path.dirname(index),
                                           m.group(1))), m.group(1)
        assert m.group(3).strip() == m.group(3)
    assert dates == sorted(dates, reverse=True)
    return entries


def xmllint():
    path = shutil.which("xmllint")
    if path is None:
        pytest.skip("SKIP: xmllint not installed (apt-get install "
                    "libxml2-utils)")
    return path


def check_valid(feed):
    lint = xmllint()
    proc = subprocess.run([lint, "--noout", feed], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([lint, "--noout", "--relaxng", SCHEMA, feed],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def check_feed(feed, index, base):
    """The feed holds the index's entries, in its order, as gemini:// URLs
    under base; the RFC's rules beyond the schema hold."""
    root = ET.parse(feed).getroot()
    assert root.tag == NS + "feed"
    for tag in ("id", "title", "updated"):
        assert (root.findtext(NS + tag) or "").strip(), tag
    assert root.findtext(NS + "id").startswith(base)
    links = {l.get("rel", "alternate"): l.get("href")
             for l in root.findall(NS + "link")}
    rel_index = os.path.relpath(index, os.path.dirname(feed))
    assert links["alternate"] == base + rel_index
    assert links["self"] == base + os.path.relpath(feed,
                                                   os.path.dirname(feed))
    # RFC 4287 4.1.1: a feed has an author unless every entry has one.
    entries = root.findall(NS + "entry")
    assert root.find(NS + "author") is not None or all(
        e.find(NS + "author") is not None for e in entries)
    want = entries_of(index)
    assert len(entries) == len(want)
    ids = set()
    prefix = base + os.path.dirname(rel_index)
    for e, m in zip(entries, want):
        assert e.findtext(NS + "title") == m.group(3)
        assert e.findtext(NS + "updated") == m.group(2) + "T00:00:00Z"
        link = e.find(NS + "link")
        assert link.get("rel", "alternate") == "alternate"
        assert link.get("href") == prefix + "/" + m.group(1)
        ids.add(e.findtext(NS + "id"))
    assert len(ids) == len(entries)
    newest = max((m.group(2) for m in want), default=None)
    assert root.findtext(NS + "updated") == newest + "T00:00:00Z"
    return root


# The shipped capsule.

def test_capsule_subscription_page():
    check_subscription_page(os.path.join(CAPSULE, "articles", "index.gmi"))


def test_capsule_pages_link_to_search():
    for page in ("index.gmi", os.path.join("articles", "index.gmi")):
        with open(os.path.join(CAPSULE, page), encoding="utf-8") as f:
            assert re.search(r"^=> /search \S", f.read(), re.M), page


def test_capsule_atom_valid():
    check_valid(ATOM)


def test_capsule_atom_matches_index():
    root = ET.parse(ATOM).getroot()
    base = root.findtext(NS + "id").split("articles/")[0]
    check_feed(ATOM, os.path.join(CAPSULE, "articles", "index.gmi"), base)


def test_capsule_atom_served_as_atom(server):
    head, body, _ = server.get("/atom.xml")
    assert head == "20 application/atom+xml"
    with open(ATOM, "rb") as f:
        assert body == f.read()


def test_schema_rejects_a_broken_feed(tmp_path):
    """The schema check is live: a feed without an entry id fails."""
    with open(ATOM, encoding="utf-8") as f:
        text = f.read()
    broken = tmp_path / "broken.xml"
    broken.write_text(re.sub(r"(<entry>\s*)<id>[^<]*</id>", r"\1", text,
                             count=1), encoding="utf-8")
    lint = xmllint()
    proc = subprocess.run([lint, "--noout", "--relaxng", SCHEMA,
                           str(broken)], capture_output=True, text=True)
    assert proc.returncode != 0


# A generated site: ordering, escaping, the option and the profile key.

ARTICLE = """<!DOCTYPE html><html><head><title>{title}</title>
<meta name="date" content="{date}"></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "articles").mkdir(parents=True)
    (root / "index.html").write_text(
        "<html><head><title>A Site &amp; Co</title></head><body>"
        "<h1>A Site &amp; Co</h1><p>Welcome.</p></body></html>")
    (root / "articles" / "index.html").write_text(
        "<html><head><title>All the articles</title></head><body>"
        "<h1>All the articles</h1><p>Every one.</p></body></html>")
    for name, title, date in (
            ("alpha", "Alpha &amp; &lt;Omega&gt;", "2020-01-01"),
            ("beta", "Beta \u00e9t\u00e9", "2022-06-01"),
            ("gamma", "Gamma", "2021-03-03")):
        (root / "articles" / f"{name}.html").write_text(
            ARTICLE.format(title=title, date=date,
                           text=f"The {name} text, with a \"quote\"."),
            encoding="utf-8")
    (root / "html2gmi.conf").write_text("articles articles\n")
    return root


def html2gmi(args):
    proc = subprocess.run([HTML2GMI] + args, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_site_feed(site, tmp_path):
    out = tmp_path / "capsule"
    html2gmi(["--feed-url", "gemini://example.org/", "-o", str(out),
              str(site)])
    index = str(out / "articles" / "index.gmi")
    entries = check_subscription_page(index)
    assert [m.group(1) for m in entries] == ["beta.gmi", "gamma.gmi",
                                             "alpha.gmi"]
    feed = str(out / "atom.xml")
    check_valid(feed)
    root = check_feed(feed, index, "gemini://example.org/")
    titles = [e.findtext(NS + "title") for e in root.findall(NS + "entry")]
    assert titles == ["Beta \u00e9t\u00e9", "Gamma", "Alpha & <Omega>"]
    assert root.findtext(NS + "title") == "All the articles"
    assert root.find(NS + "author").findtext(NS + "name") == "A Site & Co"
    assert "The beta text" in root.find(NS + "entry").findtext(
        NS + "summary")


def test_site_feed_from_profile(site, tmp_path):
    (site / "html2gmi.conf").write_text(
        "articles articles\nfeed-url gemini://example.net:1966/cap/\n")
    out = tmp_path / "capsule"
    html2gmi(["-o", str(out), str(site)])
    check_feed(str(out / "atom.xml"), str(out / "articles" / "index.gmi"),
               "gemini://example.net:1966/cap/")


def test_site_without_feed_url(site, tmp_path):
    out = tmp_path / "capsule"
    html2gmi(["-o", str(out), str(site)])
    assert not (out / "atom.xml").exists()
    check_subscription_page(str(out / "articles" / "index.gmi"))


def test_feed_url_must_be_gemini(site, tmp_path):
    proc = subprocess.run([HTML2GMI, "--feed-url", "https://example.org/",
                           "-o", str(tmp_path / "c"), str(site)],
                          capture_output=True, timeout=60)
    assert proc.returncode != 0
    assert b"--feed-url" in proc.stderr
