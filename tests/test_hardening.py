"""Ready for a VPS: privilege drop, limits, deadlines, reload and stop.

Every test runs the real lumbar (parent and workers) on loopback."""
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import LUMBAR, SANITIZED, workers_of


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].split()
    return None


def tls_client(srv, sni="localhost"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((srv.host, srv.port), 10)
    return ctx.wrap_socket(raw, server_hostname=sni)


def fingerprint(srv):
    with tls_client(srv) as s:
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n\nHello.\n")
    (root / "big.bin").write_bytes(os.urandom(1024) * (24 * 1024))  # 24 MiB
    os.chmod(root, 0o755)
    return root


def test_refuses_root_without_user(tmp_path):
    if os.geteuid() != 0:
        proc = subprocess.run([LUMBAR, "--user", "nobody", "-p", "1"],
                              capture_output=True, text=True, timeout=10)
        assert proc.returncode == 1
        assert "only root can change user" in proc.stderr
        return
    proc = subprocess.run([LUMBAR, "--root", str(tmp_path), "--certs",
                           str(tmp_path / "c"), "--port", "1"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode == 1
    assert "refusing to serve as root" in proc.stderr
    assert "--user" in proc.stderr


def test_workers_are_confined(server_factory, capsule):
    if os.geteuid() != 0:
        pytest.skip("SKIP: the privilege drop needs the tests to run as root")
    if SANITIZED:
        pytest.skip("SKIP: sanitizer builds run unconfined (LeakSanitizer "
                    "needs /proc and ptrace)")
    srv = server_factory(root=capsule, args=["--workers", "2"])
    assert srv.get("/")[0].startswith("20")
    kids = workers_of(srv.proc.pid)
    assert len(kids) == 2
    nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True,
                            text=True).stdout.strip()
    for pid in kids:
        assert status_field(pid, "Uid") == [nobody] * 4
        assert status_field(pid, "Seccomp") == ["2"]
        assert status_field(pid, "NoNewPrivs") == ["1"]
        # chrooted into the capsule: "/" of the worker is the capsule
        assert os.readlink(f"/proc/{pid}/root") == os.path.realpath(capsule)


def test_per_client_limit_gemini_44(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--max-per-client", "2",
                                             "--workers", "1"])
    held = [tls_client(srv), tls_client(srv)]
    try:
        head, _, clean = srv.get("/")
        assert head == "44 5"
        assert clean
    finally:
        for s in held:
            s.close()
    # the slots are given back: a new client is served again
    for _ in range(50):
        if srv.get("/")[0].startswith("20"):
            break
        time.sleep(0.1)
    else:
        pytest.fail("connections were not released")


def test_total_limit_gopher_error(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--max-conns", "2",
                                             "--workers", "1"])
    held = [socket.create_connection((srv.host, srv.gopher_port), 10)
            for _ in range(2)]
    try:
        time.sleep(0.3)
        answer = srv.gopher("/\r\n")
        assert answer.startswith(b"3Too many connections"), answer
        assert answer.endswith(b".\r\n")
    finally:
        for s in held:
            s.close()


def test_client_that_stops_reading_is_dropped(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--timeout", "1"])
    s = tls_client(srv)
    s.sendall(f"gemini://localhost:{srv.port}/big.bin\r\n".encode())
    time.sleep(4)    # read nothing: the write deadline passes
    got = 0
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
    except (ssl.SSLError, OSError):
        pass
    s.close()
    assert got < 24 * 1024 * 1024, "a stalled client was never dropped"
    assert srv.get("/")[0].startswith("20")


def test_sighup_reloads_certificate_and_keeps_transfers(server_factory,
                                                        capsule, tmp_path):
    srv = server_factory(root=capsule)
    before = fingerprint(srv)
    # a transfer in progress across the reload
    slow = tls_client(srv)
    slow.sendall(f"gemini://localhost:{srv.port}/big.bin\r\n".encode())
    first = slow.recv(4096)
    crt = os.path.join(srv.certs, "localhost.crt")
    key = os.path.join(srv.certs, "localhost.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-days", "20", "-nodes",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    os.kill(srv.proc.pid, signal.SIGHUP)
    for _ in range(100):
        if fingerprint(srv) != before:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the new certificate was never served")
    new = fingerprint(srv)
    # the old transfer completes in full
    got = len(first) - len(first.partition(b"\r\n")[0]) - 2
    while True:
        chunk = slow.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    slow.close()
    assert got == 24 * 1024 * 1024
    # a broken certificate keeps the current one, and says why
    with open(crt, "w") as f:
        f.write("not a certificate\n")
    os.kill(srv.proc.pid, signal.SIGHUP)
    for _ in range(50):
        if "still serving the old certificates" in srv.output():
            break
        time.sleep(0.1)
    assert "still serving the old certificates" in srv.output()
    assert fingerprint(srv) == new
    assert srv.get("/")[0].startswith("20")
    # a certificate that expires within 30 days is warned about
    assert "expires in" in srv.output()


def test_sighup_without_certificate_keeps_the_old_one(server_factory,
                                                     capsule):
    """Clients pinned the certificate being served: a reload that finds
    the pair gone keeps it and says so, rather than make a new identity.
    A restart makes a new one."""
    srv = server_factory(root=capsule)
    before = fingerprint(srv)
    for name in ("localhost.crt", "localhost.key"):
        os.unlink(os.path.join(srv.certs, name))
    os.kill(srv.proc.pid, signal.SIGHUP)
    for _ in range(50):
        if "still serving the old certificates" in srv.output():
            break
        time.sleep(0.1)
    out = srv.output()
    assert "and its key are gone; restore them" in out, out[-2000:]
    assert "still serving the old certificates" in out
    assert fingerprint(srv) == before
    assert not os.path.exists(os.path.join(srv.certs, "localhost.crt"))
    assert srv.get("/")[0].startswith("20")


def test_sigterm_finishes_answers_in_flight(server_factory, capsule):
    srv = server_factory(root=capsule)
    s = tls_client(srv)
    s.sendall(f"gemini://localhost:{srv.port}/big.bin\r\n".encode())
    data = s.recv(4096)
    srv.proc.send_signal(signal.SIGTERM)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    assert len(data.partition(b"\r\n")[2]) == 24 * 1024 * 1024
    assert srv.proc.wait(15) == 0


def test_dead_worker_is_replaced(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--workers", "1"])
    (kid,) = workers_of(srv.proc.pid)
    os.kill(kid, signal.SIGKILL)
    for _ in range(100):
        kids = workers_of(srv.proc.pid)
        if kids and kids != [kid]:
            break
        time.sleep(0.05)
    assert kids and kids != [kid]
    assert srv.get("/")[0].startswith("20")
    assert "killed by signal 9" in srv.output()


def test_unprivileged_start_like_the_systemd_unit(tmp_path, capsule):
    """As contrib/lumbar.service runs it: an ordinary user with the ambient
    capabilities CAP_NET_BIND_SERVICE and CAP_SYS_CHROOT binds a port below
    1024, and each worker chroots into the capsule and keeps no
    capability."""
    import shutil as _shutil
    from conftest import Server
    setpriv = _shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("SKIP: needs root and setpriv(1) to start as a user "
                    "with ambient capabilities")
    if SANITIZED:
        pytest.skip("SKIP: sanitizer builds run unconfined")
    low = None
    for port in range(700 + os.getpid() % 200, 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        low = port
        break
    assert low is not None
    # pytest's own temporary tree is private to root: use a public one
    import tempfile
    top = tempfile.mkdtemp(prefix="lumbar-unpriv-")
    os.chmod(top, 0o755)
    _shutil.copytree(capsule, os.path.join(top, "capsule"))
    capsule = os.path.join(top, "capsule")
    certs = os.path.join(top, "certs")
    os.mkdir(certs)
    os.chown(certs, 65534, 65534)
    log = open(tmp_path / "unpriv.log", "wb")
    proc = subprocess.Popen(
        [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         "--inh-caps=+net_bind_service,+sys_chroot",
         "--ambient-caps=+net_bind_service,+sys_chroot",
         LUMBAR, "--root", str(capsule), "--certs", str(certs),
         "--listen", "127.0.0.1", "--port", str(free_port()),
         "--gopher-port", str(low), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        answer = b""
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", low), 1) as s:
                    s.sendall(b"/\r\n")
                    answer = s.recv(4096)
                    break
            except OSError:
                time.sleep(0.05)
        assert answer.startswith(b"iHome"), answer
        (kid,) = workers_of(proc.pid)
        assert os.readlink(f"/proc/{kid}/root") == os.path.realpath(capsule)
        assert status_field(kid, "CapEff") == ["0000000000000000"]
        assert status_field(kid, "CapAmb") == ["0000000000000000"]
        assert status_field(kid, "Uid")[0] == "65534"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        log.close()
        _shutil.rmtree(top)
        assert code == 0, (tmp_path / "unpriv.log").read_text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_descriptor_leaks_on_large_pages(server_factory, tmp_path):
    """Pages larger than the cache come as descriptors: listing them,
    serving them over Gemini and Gopher and checking them for links must
    close every one."""
    root = tmp_path / "big"
    (root / "dir").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> dir/ Dir\n")
    (root / "dir" / "large.gmi").write_text(
        "# Large\n" + ("word " * 20 + "\n") * 4000)     # ~400 KB
    srv = server_factory(root=root, args=["--workers", "1"])
    (kid,) = workers_of(srv.proc.pid)

    def fds():
        return len(os.listdir(f"/proc/{kid}/fd"))

    assert srv.get("/dir/")[0].startswith("20")
    time.sleep(0.5)     # connections of the start-up probe are gone
    before = fds()
    for _ in range(30):
        head, body, _ = srv.get("/dir/")
        assert head.startswith("20") and b"=> large.gmi Large" in body
        assert srv.get("/dir/large.gmi")[1].startswith(b"# Large")
        assert srv.gopher("/dir/large.gmi\r\n").startswith(b"iLarge")
    time.sleep(0.5)
    assert fds() <= before, "descriptors leaked"
