"""Listings and search results link only to names a request can name
(issue 14, defect 9): a file name with a control character or invalid
UTF-8 would be answered 59, so it is left out, over Gemini and Gopher."""
import os

import pytest

BAD = [b"tab\there.gmi", b"bell\x07.gmi", b"latin1-caf\xe9.gmi",
       b"del\x7f.gmi"]


@pytest.fixture
def srv(server_factory, tmp_path):
    root = tmp_path / "capsule"
    (root / "d").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / "d" / "good.gmi").write_text("# Good\nmarmoset\n")
    d = os.fsencode(root / "d")
    for name in BAD:
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"# Unnameable\nmarmoset\n")
    tmp_path.chmod(0o755)
    return server_factory(root=root)


def test_unnameable_files_are_not_listed(srv):
    head, body, _ = srv.get("/d/")
    assert head.startswith("20") and b"good.gmi" in body
    assert body.count(b"=> ") == 2, body       # parent and good.gmi
    menu = srv.gopher("/d/\r\n")
    assert b"good.gmi" in menu and b"Unnameable" not in menu
    assert menu.count(b"\t/d/") == 2, menu     # good.gmi, index.txt


def test_unnameable_files_are_not_search_results(srv):
    head, body, _ = srv.get("/search?marmoset")
    assert head.startswith("20") and b"/d/good.gmi" in body
    assert b"Unnameable" not in body, body
    menu = srv.gopher("/search\tmarmoset\r\n")
    assert b"/d/good.gmi" in menu and b"Unnameable" not in menu
