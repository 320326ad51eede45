"""Interleaved requests against one worker: an answer being sent to a slow
client must not change or vanish because another request, arriving while
it is sent, rebuilt or replaced what the cache held (issue 14, defect 1).
Each answer is checked byte for byte against a fresh fetch.  Also how
the cache keys and keeps what it holds (issue 14, defect 9)."""
import os
import random

import pytest

from conftest import recv_all, slow_connect, workers_of

# Short links: each becomes a menu line holding the (long) Gopher host
# name, so a page the cache keeps (under 256 KiB) gives a menu of ~8 MB,
# more than loopback's socket buffers (4 MiB at most) hold for a slow
# reader.
LINKS = 30000
HOST = ".".join(["h" * 60] * 4)


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    (root / "d").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> d/ D\n")
    (root / "d" / "index.gmi").write_text(
        "# A page with a large menu\n" + "=>/\n" * LINKS)
    return root


def read_some(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def test_alias_render_does_not_free_a_menu_being_sent(server_factory,
                                                      capsule):
    srv = server_factory(root=capsule,
                         args=["--workers", "1", "--gopher-host", HOST])
    expected = srv.gopher("/d/\r\n")    # also puts the menu in the cache
    assert expected.endswith(b".\r\n") and len(expected) > 6000000
    slow = slow_connect(srv.host, srv.gopher_port)
    try:
        slow.sendall(b"/d/\r\n")       # sent from the cached menu
        head = read_some(slow, 8192)
        assert len(head) == 8192
        # While the server waits on the slow reader, the same file under
        # its other selector is rendered, and the cache's menu replaced.
        for sel in ("/d/index.gmi", "/d/", "/d/index.gmi"):
            other = srv.gopher(sel + "\r\n")
            assert other.endswith(b".\r\n")
        rest = recv_all(slow)
    finally:
        slow.close()
    assert head + rest == expected
    assert srv.gopher("/d/\r\n") == expected


def worker_rss_kb(parent):
    """Resident memory of the one worker of parent (kB)."""
    pid, = workers_of(parent)
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_directory_link_loop_is_one_cache_entry(server_factory, tmp_path):
    """x -> . and y -> . spell one file in thousands of ways: the cache
    keeps it once (by device and inode), not once per spelling, which
    filled the 64 MiB cache with copies of one 250 KB file."""
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    data = random.Random(3).randbytes(250 * 1024)
    (root / "data.bin").write_bytes(data)
    os.symlink(".", root / "x")
    os.symlink(".", root / "y")
    tmp_path.chmod(0o755)
    # 300 connections in a burst: no per-address rate here.
    srv = server_factory(root=root, args=["--workers", "1", "--rate", "0"])
    assert srv.gopher("/data.bin\r\n") == data
    before = worker_rss_kb(srv.proc.pid)
    rnd = random.Random(5)
    for _ in range(300):
        sel = "/" + "/".join(rnd.choice("xy") for _ in range(12)) + \
            "/data.bin"
        assert srv.gopher(sel + "\r\n") == data, sel
    grown = worker_rss_kb(srv.proc.pid) - before
    assert grown < 24 * 1024, f"the worker grew by {grown} kB"


def test_large_page_forms_are_cached(server_factory, tmp_path):
    """A page over 256 KiB (streamed, not kept) still has its menu and
    text kept: the second request is not rendered again, which shows as
    a link's item type not following a change of the linked name, until
    the page itself changes."""
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    page = root / "big.gmi"
    page.write_text("# Big\n=> thing Thing\n" + "word " * 60000 + "\n")
    assert page.stat().st_size > 256 * 1024
    tmp_path.chmod(0o755)
    srv = server_factory(root=root, args=["--workers", "1"])
    first = srv.gopher("/big.gmi\r\n")
    text = srv.gopher("/big.txt\r\n")
    assert b"Thing\t/thing\t" in first and first.endswith(b".\r\n")
    (root / "thing").mkdir()           # now a directory: type 1 if rendered
    os.chmod(root / "thing", 0o755)
    assert srv.gopher("/big.gmi\r\n") == first
    assert srv.gopher("/big.txt\r\n") == text
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    again = srv.gopher("/big.gmi\r\n")
    assert again != first and b"1Thing\t/thing" in again
