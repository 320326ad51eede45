"""The server's own secrets (TLS keys, the session ticket key, the log)
are never served (issue 14, defect 5): one inside the capsule stops the
start and fails --check, and one reached anyway (a hard link) is not
served over Gemini or Gopher, nor listed."""
import os
import pwd
import subprocess

import pytest

from conftest import LUMBAR, free_port


def as_workers_user(*paths):
    """Readable by the workers' user: as root the tests serve as nobody,
    and the issue is a server running as the keys' owner."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for p in paths:
            os.chown(p, nobody.pw_uid, nobody.pw_gid)


def start(root, certs, *extra):
    cmd = [LUMBAR, "--root", str(root), "--certs", str(certs), "-p",
           str(free_port()), "-g", str(free_port()), "-l", "127.0.0.1"]
    if os.geteuid() == 0:
        cmd += ["--user", "nobody"]
    return subprocess.run(cmd + list(extra), capture_output=True, text=True,
                          timeout=20)


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    tmp_path.chmod(0o755)
    return root


def ticket_key(path):
    path.write_bytes(os.urandom(80))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("where", ["certs", "ticket", "log", "via-link"])
def test_secret_inside_the_capsule_stops_the_start(tmp_path, capsule, where):
    certs = tmp_path / "certs"
    root = capsule
    extra = []
    if where in ("certs", "via-link"):
        certs = capsule / "certs"
    if where == "via-link":
        # The root named through a symbolic link: compared by inode.
        root = tmp_path / "served"
        root.symlink_to(capsule)
    if where == "ticket":
        extra = ["--ticket-key", str(ticket_key(capsule / "t.key"))]
    if where == "log":
        extra = ["--log", str(capsule / "lumbar.log")]
    check = subprocess.run([LUMBAR, "--check", "--root", str(root),
                            "--certs", str(certs)] + extra,
                           capture_output=True, text=True, timeout=20)
    assert check.returncode == 1, check.stderr
    assert "inside the capsule" in check.stderr, check.stderr
    p = start(root, certs, *extra)
    assert p.returncode == 1, p.stderr
    assert "inside the capsule" in p.stderr and "move it out" in p.stderr
    assert not (capsule / "certs" / "localhost.key").exists()


def test_secrets_reached_by_a_link_are_not_served(server_factory, tmp_path,
                                                  capsule):
    certs = tmp_path / "certs"
    certs.mkdir()
    # The keys made by a first start, then readable by the workers.
    srv = server_factory(root=capsule, certs=certs)
    srv.stop()
    key = certs / "localhost.key"
    tkey = ticket_key(tmp_path / "ticket.key")
    logf = tmp_path / "lumbar.log"
    logf.write_text("")
    as_workers_user(key, tkey, logf)
    d = capsule / "d"
    d.mkdir()
    (d / "page.gmi").write_text("# Page\n")
    for src, name in ((key, "k.key"), (tkey, "t.key"), (logf, "l.txt")):
        os.link(src, d / name)
    srv = server_factory(root=capsule, certs=certs,
                         args=["--ticket-key", str(tkey), "--log", str(logf)])
    secret = key.read_bytes()
    assert b"PRIVATE KEY" in secret
    for name in ("k.key", "t.key", "l.txt"):
        head, body, _ = srv.get(f"/d/{name}")
        assert head.startswith("51"), (name, head)
        assert srv.gopher(f"/d/{name}\r\n").startswith(b"3"), name
    head, body, _ = srv.get("/d/")
    assert head.startswith("20") and b"page.gmi" in body
    for name in (b"k.key", b"t.key", b"l.txt"):
        assert name not in body
        assert name not in srv.gopher("/d/\r\n")
    # The log file, written by the server itself, is still written.
    assert logf.stat().st_size > 0


def test_key_linked_as_a_page_is_not_searchable(server_factory, tmp_path,
                                                capsule):
    """A key hard-linked into the capsule under a page's name, from an
    earlier start: the index is built before the workers start, and must
    already know the key, or a search shows its lines."""
    certs = tmp_path / "certs"
    certs.mkdir()
    srv = server_factory(root=capsule, certs=certs)
    srv.stop()
    key = certs / "localhost.key"
    as_workers_user(key)
    os.link(key, capsule / "k.gmi")
    srv = server_factory(root=capsule, certs=certs)
    head, body, _ = srv.get("/search?PRIVATE")
    assert head.startswith("20"), head
    assert b"No page has all these words" in body, body
    assert b"PRIVATE KEY" not in body and b"k.gmi" not in body
    assert srv.get("/k.gmi")[0].startswith("51")
