"""The dotfile rule holds for the resolved path, not only the requested
one (issue 14, defect 6): a symbolic link inside the capsule to a dotfile
or into a dot directory is not served, listed or indexed, over Gemini or
Gopher; and a page reached by a link is indexed once."""
import os

import pytest

SECRET = b"dotlink-secret-4f2a"


@pytest.fixture
def srv(server_factory, tmp_path):
    root = tmp_path / "capsule"
    (root / ".git").mkdir(parents=True)
    (root / ".ssh").mkdir()
    (root / "sub" / ".private").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n")
    (root / "page.gmi").write_text("# Page\nquetzalcoatl appears here\n")
    (root / "list").mkdir()
    (root / "list" / "shown.gmi").write_text("# Shown\n")
    (root / ".git" / "config").write_bytes(SECRET + b" git\n")
    (root / ".git" / "notes.gmi").write_bytes(b"# " + SECRET + b" zyzzyva\n")
    (root / ".ssh" / "id_ed25519").write_bytes(SECRET + b" ssh\n")
    (root / "sub" / ".private" / "p.gmi").write_bytes(b"# " + SECRET + b"\n")
    os.symlink(".git/config", root / "x.txt")
    os.symlink(".ssh", root / "sshdir")
    os.symlink("../.git/notes.gmi", root / "list" / "notes.gmi")
    os.symlink("../.ssh", root / "list" / "keys")
    os.symlink("sub/.private/p.gmi", root / "leak.gmi")
    os.symlink("sub/./.private", root / "privdir")
    os.symlink("page.gmi", root / "alias.gmi")      # inside: still served
    tmp_path.chmod(0o755)
    return server_factory(root=root)


@pytest.mark.parametrize("path", [
    "/x.txt", "/sshdir/", "/sshdir/id_ed25519", "/sshdir", "/list/notes.gmi",
    "/list/keys/", "/list/keys/id_ed25519", "/leak.gmi", "/privdir/p.gmi",
    "/privdir/"])
def test_links_to_dotfiles_are_not_served(srv, path):
    head, body, _ = srv.get(path)
    assert head.startswith("51"), (path, head)
    assert SECRET not in body
    menu = srv.gopher(path + "\r\n")
    assert menu.startswith(b"3"), (path, menu[:80])
    assert SECRET not in menu


def test_links_to_dotfiles_are_not_listed(srv):
    head, body, _ = srv.get("/list/")
    assert head.startswith("20") and b"shown.gmi" in body
    assert b"notes.gmi" not in body and b"keys" not in body
    menu = srv.gopher("/list/\r\n")
    assert b"shown.gmi" in menu
    assert b"notes.gmi" not in menu and b"keys" not in menu


def test_link_inside_is_served_and_indexed_once(srv):
    head, body, _ = srv.get("/alias.gmi")
    assert head.startswith("20") and b"quetzalcoatl" in body
    head, body, _ = srv.get("/search?quetzalcoatl")
    assert head.startswith("20"), head
    assert b"1 page has" in body or body.count(b"\n=> /") == 2, body
    assert b"=> /page.gmi" in body and b"alias.gmi" not in body
    # The page behind a link into .git is not indexed.
    head, body, _ = srv.get("/search?zyzzyva")
    assert SECRET not in body and b"notes.gmi" not in body
    assert SECRET not in srv.gopher("/search\tzyzzyva\r\n")
