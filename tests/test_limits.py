"""The server under hostile traffic: out of descriptors, a flood of
stalled handshakes under a memory limit, many connections from one
address.  Every test runs the real lumbar on loopback.
"""
import os
import re
import resource
import socket
import ssl
import time

import pytest

from conftest import SANITIZED, recv_all, wait_until, workers_of


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


def test_out_of_descriptors_backs_off_and_recovers(server_factory, capsule):
    """With few descriptors and many clients the worker runs out of them:
    it says so in a few lines (not one per attempt), answers every client
    it accepted, and serves again once descriptors are free."""
    srv = server_factory(root=capsule, args=["--workers", "1"],
                         preexec_fn=low_nofile(80))
    clients = []
    try:
        for _ in range(300):
            clients.append(socket.create_connection(
                (srv.host, srv.gopher_port), 10))
        wait_until(lambda: "Too many open files" in srv.output(),
                   "the worker runs out of descriptors", timeout=20)
        # Every client asks; each is answered, a page or a refusal.
        for s in clients:
            s.sendall(b"/\r\n")
        for s in clients:
            s.settimeout(30)
            answer = recv_all(s)
            # a page, a refusal, or an error (a file it could not open)
            assert answer.startswith((b"iHome", b"3")), answer
    finally:
        for s in clients:
            s.close()
    wait_until(lambda: srv.gopher("/\r\n").startswith(b"iHome"),
               "the server serves again", timeout=20)
    out = srv.output()
    emfile = [l for l in out.splitlines() if "Too many open files" in l]
    assert 1 <= len(emfile) <= 5, f"{len(emfile)} lines: {emfile[:3]}"
    # the start banner said how few connections the descriptors allow
    assert "at most 8 connections at once" in out, out[:2000]


def test_soft_descriptor_limit_is_raised(server_factory, capsule):
    """A soft limit below the hard one is raised to it at start, and the
    banner says what the connection limit is."""
    def setup():
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 4096))
    srv = server_factory(root=capsule, args=["--workers", "1",
                                             "--max-conns", "1000"],
                         preexec_fn=setup)
    assert srv.get("/")[0].startswith("20")
    assert "at most 1000 connections at once (4096 file descriptors" \
        in srv.output()


# --- A flood of stalled TLS handshakes under a memory limit. -------------

def memory_cgroup(limit):
    """A new memory cgroup under this process's own, limited to limit
    bytes: (directory, preexec_fn that moves the child into it), or a
    reason to skip.  cgroup v2 needs the memory controller enabled for
    children already; v1 (memory.limit_in_bytes) needs only root."""
    if os.geteuid() != 0:
        return None, "needs root to make a memory cgroup"
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return None, f"no /proc/self/cgroup: {e}"
    v1 = v2 = None
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            v1 = path
        elif ctrls == "":
            v2 = path
    if v1 is not None and os.path.isdir("/sys/fs/cgroup/memory"):
        parent, knob = "/sys/fs/cgroup/memory" + v1, "memory.limit_in_bytes"
    elif v2 is not None:
        parent, knob = "/sys/fs/cgroup" + v2.rstrip("/"), "memory.max"
        try:
            with open(parent + "/cgroup.subtree_control") as f:
                if "memory" not in f.read().split():
                    return None, ("the memory controller is not enabled "
                                  f"for children of {parent}")
        except OSError as e:
            return None, f"cgroup v2 at {parent}: {e}"
    else:
        return None, "no memory cgroup"
    child = os.path.join(parent, f"lumbar-test-{os.getpid()}")
    try:
        os.mkdir(child)
        with open(os.path.join(child, knob), "w") as f:
            f.write(str(limit))
    except OSError as e:
        if os.path.isdir(child):
            os.rmdir(child)
        return None, f"cannot make a memory cgroup under {parent}: {e}"

    def enter():
        with open(os.path.join(child, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    return (child, enter), None


def client_hello():
    """The first flight of a real TLS client, to replay without ever
    finishing the handshake (as a flood does: it costs the client
    nothing)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


FLOOD = 2000            # stalled handshakes
FLOOD_SOURCES = 40      # loopback addresses they come from
FLOOD_MEMORY = 64 << 20


def served(srv):
    """Whether a Gemini request is answered 20 (a refusal, 44 or a closed
    connection, is not)."""
    try:
        return srv.get("/")[0].startswith("20")
    except (OSError, ssl.SSLError):
        return False


@pytest.fixture
def flood_cgroup():
    """A memory cgroup of FLOOD_MEMORY bytes, removed after the test (and
    after its servers, which are stopped first)."""
    if SANITIZED:
        pytest.skip("SKIP: a sanitizer build's own memory (shadow, "
                    "quarantine) is not what the limit is sized for")
    made, why = memory_cgroup(FLOOD_MEMORY)
    if made is None:
        pytest.skip("SKIP: " + why)
    yield made[1]
    for _ in range(100):
        try:
            os.rmdir(made[0])
            return
        except OSError:
            time.sleep(0.05)
    os.rmdir(made[0])


def test_handshake_flood_under_memory_limit(flood_cgroup, server_factory,
                                            capsule):
    """As contrib/lumbar.service runs it, under a memory limit (here a
    quarter of the unit's, with a proportionally smaller flood): clients
    that send a ClientHello and stall must not get a worker OOM-killed.
    The default connection limit follows from the memory limit, and the
    workers keep serving through and after the flood."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < FLOOD + 100:
        pytest.skip(f"SKIP: needs {FLOOD + 100} descriptors, the hard "
                    f"limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, FLOOD + 100),
                                                hard))
    srv = server_factory(root=capsule, args=["--workers", "2"],
                         preexec_fn=flood_cgroup)
    before = sorted(workers_of(srv.proc.pid))
    assert len(before) == 2
    hello = client_hello()
    socks = []
    try:
        for i in range(FLOOD):
            s = socket.socket()
            s.bind((f"127.0.0.{2 + i % FLOOD_SOURCES}", 0))
            s.settimeout(10)
            s.connect((srv.host, srv.port))
            s.sendall(hello)
            socks.append(s)
        # Over the limit a new client is refused, until the stalled
        # handshakes time out; then it is served, by the same workers.
        wait_until(lambda: served(srv),
                   "a client is served despite the flood", timeout=60)
        assert sorted(workers_of(srv.proc.pid)) == before, \
            srv.output()[-2000:]
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: served(srv), "the server serves after the flood",
               timeout=20)
    out = srv.output()
    assert "killed by signal" not in out, out[-2000:]
    # the start log says the limit and where it comes from
    assert "memory limit 64 MiB" in out, out[:3000]


def test_handshake_gets_less_time_than_a_request(server_factory, capsule):
    """A client stalled in its TLS handshake (the costliest state) is
    dropped before one that finished it and has yet to send its request,
    though the two connected together."""
    srv = server_factory(root=capsule, args=["--workers", "1",
                                             "--timeout", "8"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    stalled = socket.create_connection((srv.host, srv.port), 30)
    idle = ctx.wrap_socket(socket.create_connection((srv.host, srv.port),
                                                    30),
                           server_hostname="localhost")
    try:
        stalled.sendall(client_hello())
        stalled.settimeout(30)
        while stalled.recv(65536):      # the server's flight, then EOF
            pass
        # the idle reader is still waiting: nothing to read yet
        idle.setblocking(False)
        with pytest.raises(ssl.SSLWantReadError):
            idle.recv(100)
        # and it is still served in full
        idle.setblocking(True)
        idle.sendall(f"gemini://localhost:{srv.port}/\r\n".encode())
        assert idle.recv(100).startswith(b"20")
    finally:
        stalled.close()
        idle.close()


# --- The rate of new connections from one address. ----------------------

def gopher_from(srv, source, request=b"/\r\n"):
    """A Gopher request from the loopback address source; the answer, or
    b"" when the server closed (or reset) without one."""
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(10)
        s.connect((srv.host, srv.gopher_port))
        try:
            s.sendall(request)
            return recv_all(s)
        except ConnectionResetError:
            return b""


def test_rate_per_address_gemini_44_with_seconds(server_factory, capsule):
    """One address opening connections faster than --rate (after its
    --burst) is answered 44 with the seconds to wait, then, while it keeps
    on, closed unanswered (no TLS handshake to pay for); another address
    is served meanwhile."""
    if not socket.has_ipv6:
        pytest.skip("SKIP: no IPv6")
    srv = server_factory(root=capsule, listen=("127.0.0.1", "::1"),
                         args=["--rate", "1", "--burst", "3"])
    for _ in range(20):
        head = srv.get("/")[0]
        if not head.startswith("20"):
            break
    assert re.fullmatch(r"44 [1-9][0-9]*", head), head
    # told once a second at most: the next one is closed unanswered
    try:
        again = srv.get("/")[0]
    except (OSError, ssl.SSLError):
        again = ""
    assert again == "", again
    # another address is not affected
    assert srv.get("/", host="::1")[0].startswith("20")
    # request lines are written in batches: when the worker is idle
    wait_until(lambda: re.search(r'gemini 127\.0\.0\.1:\d+ '
                                 r'"gemini://localhost:\d+/" 44 ',
                                 srv.output()),
               "the 44 in the request log")


def test_rate_per_address_gopher_error_and_on_by_default(server_factory,
                                                          capsule):
    """The rate limit is on by default (50 a second, 200 at once): a
    Gopher client making connections as fast as it can from one address
    gets an error line saying how long to wait, and another address is
    served."""
    srv = server_factory(root=capsule)
    answer = b""
    for _ in range(1000):
        answer = gopher_from(srv, "127.0.0.2")
        if not answer.startswith(b"iHome"):
            break
    assert re.fullmatch(rb"3Too many connections, try again in [1-9][0-9]* "
                        rb"seconds\t\terror\.host\t1\r\n\.\r\n", answer), \
        answer
    assert gopher_from(srv, "127.0.0.3").startswith(b"iHome")
