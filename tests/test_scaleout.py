"""More than one instance: PROXY headers, shared session tickets, HAProxy.

The real lumbar, the real HAProxy from Debian, all on 127.0.0.1."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import ROOT, free_port, recv_all, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch(host, port, path, ctx=None, session=None, prefix=b"",
          req_port=None):
    """One Gemini request; returns (header, body, session, reused, src)."""
    ctx = ctx or client_ctx()
    raw = socket.create_connection((host, port), 10)
    src = raw.getsockname()[1]
    if prefix:
        raw.sendall(prefix)
    with ctx.wrap_socket(raw, server_hostname="localhost",
                         session=session) as s:
        s.sendall(f"gemini://localhost:{req_port or port}{path}\r\n"
                  .encode())
        data = recv_all(s)
        head, _, body = data.partition(b"\r\n")
        return head.decode(), body, s.session, s.session_reused, src


def gopher(host, port, selector, prefix=b""):
    with socket.create_connection((host, port), 10) as s:
        s.sendall(prefix + selector.encode() + b"\r\n")
        return recv_all(s)


@pytest.fixture
def ticket_key(tmp_path):
    path = tmp_path / "ticket.key"
    path.write_bytes(os.urandom(80))
    path.chmod(0o600)
    return str(path)


def test_proxy_header_from_trusted_proxy(server_factory):
    srv = server_factory(args=["--proxy-protocol", "--proxy-from",
                               "127.0.0.1"])
    v1 = f"PROXY TCP4 203.0.113.9 127.0.0.1 5555 {srv.port}\r\n".encode()
    head, body, *_ = fetch(srv.host, srv.port, "/", prefix=v1)
    assert head.startswith("20 text/gemini"), head
    assert body
    # Gopher, with a version 2 header this time
    v2 = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" +
          socket.inet_aton("198.51.100.4") + socket.inet_aton("127.0.0.1") +
          (4242).to_bytes(2, "big") + srv.gopher_port.to_bytes(2, "big"))
    menu = gopher(srv.host, srv.gopher_port, "/", prefix=v2)
    assert menu.endswith(b".\r\n") and not menu.startswith(b"3"), menu
    wait_until(lambda: "198.51.100.4:4242" in srv.output(), "gopher log")
    log = srv.output()
    assert re.search(r'gemini 203\.0\.113\.9:5555 "gemini://localhost:\d+/" '
                     r'20 ', log), log
    assert re.search(r'gopher 198\.51\.100\.4:4242 "/" 20 ', log), log
    # a trusted proxy that sends no header is not served
    with socket.create_connection((srv.host, srv.gopher_port), 10) as s:
        s.sendall(b"/\r\n")
        assert s.recv(100) == b""


def test_forged_proxy_header_refused(server_factory):
    srv = server_factory(args=["--proxy-protocol", "--proxy-from",
                               "192.0.2.1"])
    forged = f"PROXY TCP4 203.0.113.66 127.0.0.1 6666 {srv.port}\r\n"
    with socket.create_connection((srv.host, srv.gopher_port), 10) as s:
        s.sendall(forged.encode() + b"/\r\n")
        assert s.recv(100) == b""
    with pytest.raises((ssl.SSLError, ConnectionError)):
        fetch(srv.host, srv.port, "/", prefix=forged.encode())
    wait_until(lambda: "not allowed by --proxy-from" in srv.output(),
             "the refusal in the log")
    assert "203.0.113.66" not in srv.output()
    # clients without a header are still served directly
    head, *_ = fetch(srv.host, srv.port, "/")
    assert head.startswith("20"), head
    assert gopher(srv.host, srv.gopher_port, "/").endswith(b".\r\n")


def test_proxy_protocol_needs_trusted_addresses():
    lumbar = os.path.join(os.environ.get("LUMBAR_BUILD",
                                         os.path.join(ROOT, "build")),
                          "lumbar")
    p = subprocess.run([lumbar, "--proxy-protocol", "-n"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "--proxy-from" in p.stderr
    # A host name would never match a peer: refused at start.
    p = subprocess.run([lumbar, "--proxy-protocol", "--proxy-from",
                        "haproxy.example", "-n"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "not an IPv4 or IPv6 address: haproxy.example" in p.stderr


def test_shared_ticket_key_resumes_across_instances(server_factory,
                                                    ticket_key, tmp_path):
    certs = tmp_path / "shared-certs"
    a = server_factory(certs=certs, args=["--ticket-key", ticket_key])
    b = server_factory(certs=certs, args=["--ticket-key", ticket_key])
    c = server_factory(certs=certs)     # its own random key
    ctx = client_ctx()
    _, _, sess, reused, _ = fetch(a.host, a.port, "/", ctx=ctx)
    assert sess is not None and not reused
    head, _, _, reused, _ = fetch(b.host, b.port, "/", ctx=ctx, session=sess)
    assert head.startswith("20") and reused, "B did not resume A's session"
    head, _, _, reused, _ = fetch(c.host, c.port, "/", ctx=ctx, session=sess)
    assert head.startswith("20") and not reused, \
        "an instance without the key resumed the session"


def ticket_periods(*servers):
    """The ticket key periods the servers' workers have used (-v log)."""
    found = set()
    for srv in servers:
        found |= {int(m) for m in re.findall(
            r"the key of period (\d+) in use", srv.output())}
    return found


def test_ticket_keys_rotate_and_the_previous_still_decrypts(
        server_factory, ticket_key, tmp_path):
    """Ticket keys change every --ticket-rotate seconds, alike on every
    instance sharing --ticket-key: a ticket of the period before still
    resumes, on either instance; an older one does not."""
    certs = tmp_path / "shared-certs"
    args = ["--ticket-key", ticket_key, "--ticket-rotate", "2",
            "--workers", "1", "-v", "--rate", "0"]
    a = server_factory(certs=certs, args=args)
    b = server_factory(certs=certs, args=args)
    ctx = client_ctx()
    _, _, sess, _, _ = fetch(a.host, a.port, "/", ctx=ctx)
    first = max(ticket_periods(a))
    resumed_later = reused = False
    deadline = time.monotonic() + 20
    n = 0
    while time.monotonic() < deadline:
        srv = (a, b)[n % 2]
        n += 1
        head, _, _, reused, _ = fetch(srv.host, srv.port, "/", ctx=ctx,
                                      session=sess)
        assert head.startswith("20"), head
        # A later period's key in use by now: this handshake was in it.
        if reused and max(ticket_periods(a, b)) > first:
            resumed_later = True
        if not reused:
            break
    assert resumed_later, "a ticket of the previous period did not resume"
    assert not reused, "a ticket two periods old still resumes"
    assert max(ticket_periods(a, b)) >= first + 2


def test_bad_ticket_key_file(tmp_path):
    key = tmp_path / "short.key"
    lumbar = os.path.join(os.environ.get("LUMBAR_BUILD",
                                         os.path.join(ROOT, "build")),
                          "lumbar")
    # Too short; then the right size, but whoever reads the key decrypts
    # every resumed session: 0644 refused.
    for content, mode, says in (
            (b"too short", 0o600, ("short.key", "80")),
            (os.urandom(80), 0o644, ("only its owner can read (chmod 600)",))):
        key.write_bytes(content)
        key.chmod(mode)
        p = subprocess.run([lumbar, "--allow-root", "--root",
                            os.path.join(ROOT, "capsule"), "--certs",
                            str(tmp_path / "c"), "--ticket-key", str(key),
                            "-p", str(free_port()), "-g", "0", "-l",
                            "127.0.0.1"], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 1
        for text in says:
            assert text in p.stderr, p.stderr


def test_serves_as_pid_1(tmp_path):
    """As a container's entry point lumbar is PID 1: its workers' parent
    is then PID 1 too, which must not read as "the parent died"."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("SKIP: needs root and unshare for a PID namespace")
    from conftest import LUMBAR, SANITIZED
    port = free_port()
    user = ["--allow-root", "--no-seccomp"] if SANITIZED else \
        ["--user", "nobody"]
    os.chmod(tmp_path, 0o755)
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child",
                          LUMBAR, "--root", os.path.join(ROOT, "capsule"),
                          "--certs", str(tmp_path / "c"), "-p", str(port),
                          "-g", "0", "-l", "127.0.0.1", "-j", "2"] + user,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        head = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and p.poll() is None:
            try:
                head = fetch("127.0.0.1", port, "/")[0]
                break
            except OSError:
                time.sleep(0.1)
        assert head.startswith("20 "), p.stdout.read1(4000) \
            if p.poll() is not None else head
    finally:
        # unshare waits on its child: stop lumbar itself, as init would.
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                for child in f.read().split():
                    os.kill(int(child), signal.SIGTERM)
        except OSError:
            p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.skipif(not os.path.exists(HAPROXY),
                    reason="SKIP: haproxy not installed "
                    "(apt-get install haproxy)")
def test_haproxy_in_front_of_two_instances(server_factory, ticket_key,
                                           tmp_path):
    certs = tmp_path / "shared-certs"
    lb_gemini, lb_gopher = free_port(), free_port()
    args = ["--proxy-protocol", "--proxy-from", "127.0.0.1",
            "--ticket-key", ticket_key, "--workers", "1",
            "--public-port", str(lb_gemini)]
    one = server_factory(certs=certs, args=args)
    two = server_factory(certs=certs, args=args)
    env = dict(os.environ, LB_ADDR="127.0.0.1",
               LB_GEMINI_PORT=str(lb_gemini), LB_GOPHER_PORT=str(lb_gopher),
               LUMBAR1=f"127.0.0.1:{one.port}", LUMBAR2=f"127.0.0.1:{two.port}",
               GOPHER1=f"127.0.0.1:{one.gopher_port}",
               GOPHER2=f"127.0.0.1:{two.gopher_port}")
    log = open(tmp_path / "haproxy.log", "wb")
    proxy = subprocess.Popen([HAPROXY, "-db", "-f",
                              os.path.join(ROOT, "contrib", "haproxy.cfg")],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", lb_gemini), 1).close()
                return True
            except OSError:
                return False
        wait_until(up, "haproxy to listen")
        ctx = client_ctx()
        sources, session, resumed = [], None, []
        for _ in range(6):
            head, body, sess, reused, src = fetch(
                "127.0.0.1", lb_gemini, "/", ctx=ctx, session=session)
            assert head.startswith("20 text/gemini"), head
            sources.append(src)
            resumed.append(reused)
            session = session or sess
        for _ in range(4):
            menu = gopher("127.0.0.1", lb_gopher, "/")
            assert menu.endswith(b".\r\n") and not menu.startswith(b"3")
        # both instances served, each logging the client's own port
        for srv in (one, two):
            wait_until(lambda: "gemini 127.0.0.1:" in srv.output(),
                     "requests on both instances")
        logged = {int(p) for p in re.findall(r"gemini 127\.0\.0\.1:(\d+) ",
                                              one.output() + two.output())}
        assert set(sources) <= logged, (sources, logged)
        assert "gopher 127.0.0.1:" in one.output() + two.output()
        # a session made through one instance resumed on the other
        assert any(resumed[1:]), resumed
    finally:
        proxy.terminate()
        proxy.wait(10)
        log.close()


def test_default_listener_proxy_from_and_log(tmp_path):
    """lumbar's default listener (every address, as the unit file runs it)
    takes IPv4 peers as ::ffff:a.b.c.d: --proxy-from 127.0.0.1 must still
    match, and IPv4 clients are logged as IPv4.  Runs in a private network
    namespace, so that "every address" is loopback only."""
    from conftest import LUMBAR, SANITIZED
    if os.geteuid() != 0 or shutil.which("unshare") is None or \
            subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("SKIP: needs root and unshare -n for a private network")
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n=> /a.gmi A\n")
    (root / "a.gmi").write_text("# A\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    user = ["--allow-root", "--no-seccomp"] if SANITIZED else \
        ["--user", "nobody"]
    r = subprocess.run(["unshare", "-n", "/usr/bin/python3",
                        os.path.join(ROOT, "tests", "tools",
                                     "netns_dualstack.py"),
                        LUMBAR, str(root), str(tmp_path)] + user,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "dualstack: ok" in r.stdout, \
        r.stdout + r.stderr
