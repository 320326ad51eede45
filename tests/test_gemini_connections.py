"""Many, idle, slow and non-reading Gemini clients: one does not block
the others, idle ones are dropped at their deadline, 100 concurrent
requests and 1000 held connections; listening on IPv4 and IPv6."""
import resource
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import client_ctx, read_all
from helpers.gemini_capsule import BIG, FILES, GEMTEXT, PNG, check
from helpers.gemini_capsule import capsule  # noqa: F401 (a fixture)


def still_open(sock):
    """True when the peer has not closed this socket (TLS or TCP)."""
    sock.setblocking(False)
    try:
        if isinstance(sock, ssl.SSLSocket):
            data = sock.recv(1)
        else:
            data = sock.recv(1, socket.MSG_PEEK)
        return data != b""
    except (ssl.SSLWantReadError, BlockingIOError):
        return True
    except (OSError, ssl.SSLError):
        return False
    finally:
        sock.setblocking(True)


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ------------------------------------------------ idle, slow, concurrent

def test_idle_client_dropped(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "1"])
    tls = s.tls()
    tcp = socket.create_connection((s.host, s.port), 30)   # no ClientHello
    partial = s.tls()
    partial.sendall(b"gemini://localhost:")                 # and no more
    try:
        for name, sock in (("TLS idle", tls), ("TCP idle", tcp),
                           ("half request", partial)):
            try:
                data = sock.recv(65536)
                while data:
                    data = sock.recv(65536)
            except socket.timeout:
                pytest.fail(f"{name} client never dropped")
            except (OSError, ssl.SSLError):
                pass
        r = s.get("/page.gmi")
        check(r, "20", "after dropping idle clients")
    finally:
        for sock in (tls, tcp, partial):
            sock.close()


# All test clients share one address, 127.0.0.1, so the tests that hold many
# connections raise the per-address limit (--max-per-client, default 32):
# they measure how many clients the server holds, not that limit.
MANY = ["--max-per-client", "2000", "--rate", "0"]


def test_idle_clients_do_not_block_others(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120"] + MANY)
    idle = []
    try:
        for i in range(60):
            if i % 3 == 0:                             # TCP only
                idle.append(socket.create_connection((s.host, s.port), 30))
                continue
            t = s.tls()
            if i % 3 == 2:
                t.sendall(b"gemini://localhost:")     # half a request
            idle.append(t)
        for _ in range(5):
            r = s.get("/page.gmi", timeout=60)
            check(r, "20", "beside idle clients")
            assert r.body == FILES["page.gmi"]
        # they were served while the idle ones were still held open
        assert all(still_open(x) for x in idle), \
            "idle clients dropped before their deadline"
    finally:
        for x in idle:
            x.close()


def test_slow_client_does_not_block_others(server_factory, capsule):
    # One worker: with more, another worker would hide a blocked one.
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120", "--workers", "1"])
    req = (s.url("/page.gmi") + "\r\n").encode()
    with s.tls(timeout=60) as slow:
        half = len(req) // 2
        for i in range(half):                  # one TLS record per byte
            slow.sendall(req[i:i + 1])
        for p in ("/notes.txt", "/image.png", "/listed/"):
            r = s.get(p, timeout=60)
            check(r, "20", f"{p} beside a slow client")
        assert still_open(slow), "slow client dropped early"
        for i in range(half, len(req)):
            slow.sendall(req[i:i + 1])
        data, clean = read_all(slow)
    head, _, body = data.partition(b"\r\n")
    assert head.decode() == GEMTEXT
    assert body == FILES["page.gmi"] and clean


def test_slow_reader_does_not_block_others(server_factory, capsule):
    # One worker: a worker stuck writing to the slow reader would leave no
    # other to answer.  The reader's small window and segments (4 KiB
    # buffer, 1 KiB MSS, both set before connecting) keep the server's
    # send buffer far smaller than the 3 MiB answer, so the server must
    # wait for this client; small segments also let it read the rest
    # quickly (a window under one loopback MSS stalls TCP for 200 ms a time).
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120", "--workers", "1"])
    ctx = client_ctx()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
        raw.settimeout(60)
        raw.connect((s.host, s.port))
        with ctx.wrap_socket(raw, server_hostname="localhost",
                             suppress_ragged_eofs=False) as slow:
            slow.sendall((s.url("/big.bin") + "\r\n").encode())
            first = slow.recv(100)            # then stop reading
            for p in ("/page.gmi", "/image.png"):
                r = s.get(p, timeout=60)
                check(r, "20", f"{p} beside a client not reading")
            rest, clean = read_all(slow)
    data = first + rest
    head, _, body = data.partition(b"\r\n")
    assert head.startswith("20 ".encode())
    assert body == BIG and clean


def test_100_concurrent_requests(server_factory, capsule):
    srv = server_factory(root=capsule["root"], gopher=False, args=MANY)
    # each answer must equal the one a lone request gets (the MIME rules
    # have their own tests) and carry the file's bytes
    bodies = {"/page.gmi": FILES["page.gmi"], "/notes.txt": FILES["notes.txt"],
              "/image.png": PNG, "/withindex/": FILES["withindex/index.gmi"]}
    expected = {}
    for p, body in bodies.items():
        r = srv.get(p)
        check(r, "20", p)
        expected[p] = (r.header, body)
    paths = list(expected) * 25
    barrier = threading.Barrier(len(paths), timeout=60)

    def one(p):
        barrier.wait()
        return p, srv.get(p, timeout=120)

    with ThreadPoolExecutor(len(paths)) as ex:
        results = list(ex.map(one, paths))
    bad = [(p, r.header, len(r.body), r.clean) for p, r in results
           if (r.header, r.body) != expected[p] or not r.clean]
    assert not bad, f"{len(bad)} of 100 wrong: {bad[:5]}"


def test_thousand_connections_held(server_factory, capsule):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want * 2:
            pytest.skip(f"open file limit {hard} too low")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want * 2, hard))
    try:
        s = server_factory(root=capsule["root"], gopher=False,
                           args=["--timeout", "120"] + MANY)
        held = []
        try:
            for _ in range(1000):
                held.append(socket.create_connection((s.host, s.port), 60))
            r = s.get("/page.gmi", timeout=60)
            check(r, "20", "with 1000 connections held")
            assert sum(still_open(x) for x in held) == 1000
        finally:
            for x in held:
                x.close()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# ---------------------------------------------------------------- IPv6

@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_listen(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       listen=("::1",))
    r = s.gemini(s.url("/page.gmi") + "\r\n", host="::1")
    check(r, "20", "over ::1")
    assert r.body == FILES["page.gmi"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), 5).close()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv4_and_ipv6_listen(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       listen=("127.0.0.1", "::1"))
    for host in ("127.0.0.1", "::1"):
        r = s.gemini(s.url("/page.gmi") + "\r\n", host=host)
        check(r, "20", f"over {host}")
    # An IP literal in the URL is served only when given with -H.
    # (No SNI: RFC 6066 allows none for an address, and clients send none.)
    r = s.gemini(s.url("/page.gmi", host="[::1]") + "\r\n", host="::1",
                 sni=None)
    check(r, "53", "[::1] without -H ::1")
    assert "does not serve that host" in r.header
    s2 = server_factory(root=capsule["root"], gopher=False,
                        listen=("::1",), args=["-H", "localhost",
                                               "-H", "::1"])
    r = s2.gemini(s2.url("/page.gmi", host="[::1]") + "\r\n", host="::1",
                  sni=None)
    check(r, "20", "[::1] with -H ::1")
