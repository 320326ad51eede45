"""Interleaved requests against one worker: an answer being sent to a slow
client must not change or vanish because another request, arriving while
it is sent, rebuilt or replaced what the cache held (issue 14, defect 1).
Each answer is checked byte for byte against a fresh fetch."""
import pytest

from conftest import recv_all, slow_connect

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
