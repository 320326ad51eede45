"""The server under hostile traffic: out of descriptors, a flood of
stalled handshakes under a memory limit, many connections from one
address.  Every test runs the real lumbar on loopback.
"""
import os
import resource
import socket
import time

import pytest


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n\nHello.\n")
    os.chmod(root, 0o755)
    return root


def low_nofile(n):
    """A preexec_fn that gives lumbar n descriptors, soft and hard, so
    that it cannot raise the limit itself."""
    def setup():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return setup


def wait_for(cond, bound=20.0, what="condition"):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_out_of_descriptors_backs_off_and_recovers(server_factory, capsule):
    """With few descriptors and many clients the worker runs out of them:
    it says so in a few lines (not one per attempt), answers every client
    it accepted, and serves again once descriptors are free."""
    srv = server_factory(root=capsule, args=["--workers", "1"],
                         preexec_fn=low_nofile(100))
    clients = []
    try:
        for _ in range(300):
            clients.append(socket.create_connection(
                (srv.host, srv.gopher_port), 10))
        wait_for(lambda: "Too many open files" in srv.output(),
                 what="the worker to run out of descriptors")
        # Every client asks; each is answered, a page or a refusal.
        for s in clients:
            s.sendall(b"/\r\n")
        for s in clients:
            s.settimeout(30)
            answer = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            # a page, a refusal, or an error (a file it could not open)
            assert answer.startswith((b"iHome", b"3")), answer
    finally:
        for s in clients:
            s.close()
    wait_for(lambda: srv.gopher("/\r\n").startswith(b"iHome"),
             what="the server to serve again")
    out = srv.output()
    emfile = [l for l in out.splitlines() if "Too many open files" in l]
    assert 1 <= len(emfile) <= 5, f"{len(emfile)} lines: {emfile[:3]}"
    # the start banner said how few connections the descriptors allow
    assert "at most 18 connections at once" in out, out[:2000]


def test_soft_descriptor_limit_is_raised(server_factory, capsule):
    """A soft limit below the hard one is raised to it at start, and the
    banner says what the connection limit is."""
    def setup():
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 4096))
    srv = server_factory(root=capsule, args=["--workers", "1",
                                             "--max-conns", "1000"],
                         preexec_fn=setup)
    assert srv.get("/")[0].startswith("20")
    assert "at most 1000 connections at once (4096 file descriptors)" \
        in srv.output()
