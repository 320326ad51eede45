"""The TLS 1.3 session ticket waits for the answer (src/tls_hold.c).

OpenSSL writes the ticket as soon as it reads the client's Finished; lumbar
holds it and sends it with a small answer and its close_notify, in one
write and one TCP segment.  These tests check, over real TLS, that nothing
comes before the request, that the ticket still comes (and resumes), and
that the handshakes where holding would deadlock (a HelloRetryRequest,
TLS 1.2) and the answers too large to hold still work.
"""
import os
import select
import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import CAPSULE, client_ctx, read_all


def big_capsule(tmp_path):
    root = tmp_path / "capsule"
    shutil.copytree(CAPSULE, root)
    data = os.urandom(200 * 1024)
    (root / "big.bin").write_bytes(data)
    return root, data


def test_nothing_before_the_request_then_ticket_and_answer(server_factory,
                                                            tmp_path):
    root, _ = big_capsule(tmp_path)
    srv = server_factory(root=root)
    ctx = client_ctx(tls_min=ssl.TLSVersion.TLSv1_3)

    def connect(session=None):
        raw = socket.create_connection((srv.host, srv.port), 10)
        return ctx.wrap_socket(raw, server_hostname="localhost",
                               session=session, suppress_ragged_eofs=False)

    with connect() as s:
        assert s.version() == "TLSv1.3"
        # The client's Finished is sent: before the held ticket, a
        # server would have sent it by now.
        ready, _, _ = select.select([s], [], [], 0.5)
        assert not ready, "the server sent something before the request"
        s.sendall(srv.url("/").encode() + b"\r\n")
        data, clean = read_all(s)
        session = s.session
    assert data.startswith(b"20 text/gemini"), data[:80]
    assert clean
    with open(os.path.join(root, "index.gmi"), "rb") as f:
        assert data.split(b"\r\n", 1)[1] == f.read()
    # The ticket came with the answer: it resumes.
    assert session is not None and session.has_ticket
    with connect(session) as s:
        s.sendall(srv.url("/").encode() + b"\r\n")
        again, clean = read_all(s)
        assert s.session_reused
    assert again == data and clean


def test_large_answer_after_the_held_ticket(server_factory, tmp_path):
    """An answer too large to hold lets the ticket go first: all of it
    arrives, byte for byte, and the ticket too."""
    root, data = big_capsule(tmp_path)
    srv = server_factory(root=root)
    with srv.tls(tls_min=ssl.TLSVersion.TLSv1_3) as s:
        s.sendall(srv.url("/big.bin").encode() + b"\r\n")
        got, clean = read_all(s)
        assert s.session is not None and s.session.has_ticket
    head, _, body = got.partition(b"\r\n")
    assert head.startswith(b"20 "), head
    assert body == data and clean


def test_tls12_is_not_held(server_factory):
    """A TLS 1.2 client needs the server's last flight before it may ask:
    holding it would hang the handshake."""
    srv = server_factory()
    r = srv.get("/", tls_max=ssl.TLSVersion.TLSv1_2, timeout=10)
    assert r.version == "TLSv1.2"
    assert r.header.startswith("20 ") and r.clean


def test_hello_retry_request_is_not_held(server_factory):
    """After a HelloRetryRequest the server waits for a second ClientHello:
    its flight must go out, not be held.  The client offers a key share for
    a group lumbar does not take (ffdhe2048) and X25519 besides."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command (apt-get install openssl)")
    srv = server_factory()
    p = subprocess.run(
        ["openssl", "s_client", "-quiet", "-tls1_3", "-msg",
         "-groups", "ffdhe2048:X25519", "-servername", "localhost",
         "-connect", f"{srv.host}:{srv.port}"],
        input=srv.url("/").encode() + b"\r\n", capture_output=True,
        timeout=20)
    # -msg shows the client's messages: two ClientHellos, the retry made.
    hellos = p.stdout.count(b">>> TLS 1.3, Handshake") and \
        p.stdout.count(b"ClientHello")
    assert hellos == 2, p.stdout[-2000:]
    assert b"\n20 text/gemini" in p.stdout, (p.stdout[-500:], p.stderr[-500:])
