"""Ready for a VPS: privilege drop, limits, deadlines, reload and stop.

Every test runs the real lumbar (parent and workers) on loopback."""
import hashlib
import os
import random
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import LUMBAR, SANITIZED, client_ctx, free_port, \
    wait_accepted, wait_quiet, wait_until, workers_of


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


def narrow_tls_client(srv):
    """A client whose 4 KiB window and 1 KiB segments (set before it
    connects) keep the server's send buffer small: a 2 MiB answer is still
    being written while this reads, yet reads in a fraction of a second."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    raw.settimeout(10)
    raw.connect((srv.host, srv.port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(raw, server_hostname="localhost")


def fingerprint(srv):
    with tls_client(srv) as s:
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n\nHello.\n")
    (root / "big.bin").write_bytes(os.urandom(1024) * (24 * 1024))  # 24 MiB
    (root / "mid.bin").write_bytes(os.urandom(1024) * (2 * 1024))   # 2 MiB
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
    wait_until(lambda: srv.get("/")[0].startswith("20"),
               "the connections are released", interval=0.1)


def test_total_limit_gopher_error(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--max-conns", "2",
                                             "--workers", "1"])
    # The start-up probe (a Gemini connection) must be closed and its count
    # given back first; then the two held connections are accepted and
    # counted, and only then the third comes.
    wait_quiet(srv.port)
    held = [socket.create_connection((srv.host, srv.gopher_port), 10)
            for _ in range(2)]
    try:
        wait_accepted(srv.gopher_port)
        answer = srv.gopher("/\r\n")
        assert answer.startswith(b"3Too many connections"), answer
        assert answer.endswith(b".\r\n")
    finally:
        for s in held:
            s.close()


def test_client_that_stops_reading_is_dropped(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--timeout", "1"])
    s = tls_client(srv)
    req = f"gemini://localhost:{srv.port}/big.bin"
    s.sendall(f"{req}\r\n".encode())
    # Read nothing until the server gives up on this client: the log line
    # of the request is written when the server closes the connection.
    wait_until(lambda: f'"{req}" 20 ' in srv.output(),
               "the stalled client is dropped")
    data = b""
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, OSError):
        pass
    s.close()
    # The server did answer (and sent what the buffers held), then dropped
    # the client before the end of the 24 MiB.
    assert data.startswith(b"20 ") and b"\r\n" in data, data[:100]
    assert len(data) < 24 * 1024 * 1024, "a stalled client was never dropped"
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
    with open(crt) as f:
        new = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
    os.kill(srv.proc.pid, signal.SIGHUP)
    # Until the old generation has taken in its SIGTERM, one of its
    # workers may still take a new client (a few ms): wait for the new
    # certificate rather than for any other than the first.
    wait_until(lambda: fingerprint(srv) == new,
               "the new certificate is served", interval=0.1)
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
    wait_until(lambda: "still serving the old certificates" in srv.output(),
               "the reload says it keeps the old certificates",
               detail=lambda: srv.output()[-2000:])
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
    wait_until(lambda: "still serving the old certificates" in srv.output(),
               "the reload says it keeps the old certificates",
               detail=lambda: srv.output()[-2000:])
    out = srv.output()
    assert "and its key are gone; restore them" in out, out[-2000:]
    assert "still serving the old certificates" in out
    assert fingerprint(srv) == before
    assert not os.path.exists(os.path.join(srv.certs, "localhost.crt"))
    assert srv.get("/")[0].startswith("20")


def test_sigterm_finishes_answers_in_flight(server_factory, capsule):
    srv = server_factory(root=capsule)
    s = narrow_tls_client(srv)
    s.sendall(f"gemini://localhost:{srv.port}/mid.bin\r\n".encode())
    data = s.recv(4096)
    srv.proc.send_signal(signal.SIGTERM)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    s.close()
    assert len(data.partition(b"\r\n")[2]) == 2 * 1024 * 1024
    assert srv.proc.wait(15) == 0


def test_dead_worker_is_replaced(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--workers", "1"])
    (kid,) = workers_of(srv.proc.pid)
    os.kill(kid, signal.SIGKILL)

    def replaced():
        kids = workers_of(srv.proc.pid)
        return kids and kids != [kid]

    wait_until(replaced, "a new worker replaces the killed one")
    assert srv.get("/")[0].startswith("20")
    assert "killed by signal 9" in srv.output()


def test_unprivileged_start_like_the_systemd_unit(tmp_path, capsule):
    """As contrib/lumbar.service runs it: an ordinary user with the ambient
    capabilities CAP_NET_BIND_SERVICE and CAP_SYS_CHROOT binds a port below
    1024, and each worker chroots into the capsule and keeps no
    capability."""
    import shutil as _shutil
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
        answers = []

        def answered():
            try:
                with socket.create_connection(("127.0.0.1", low), 1) as s:
                    s.sendall(b"/\r\n")
                    answers.append(s.recv(4096))
                    return True
            except OSError:
                return False

        wait_until(answered, f"lumbar answers on port {low}",
                   detail=(tmp_path / "unpriv.log").read_text,
                   interval=0.05)
        assert answers[-1].startswith(b"iHome"), answers[-1]
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
    wait_quiet(srv.port)    # the start-up probe's connections are closed
    before = fds()
    for _ in range(30):
        head, body, _ = srv.get("/dir/")
        assert head.startswith("20") and b"=> large.gmi Large" in body
        assert srv.get("/dir/large.gmi")[1].startswith(b"# Large")
        assert srv.gopher("/dir/large.gmi\r\n").startswith(b"iLarge")
    wait_quiet(srv.port)
    wait_quiet(srv.gopher_port)
    assert fds() <= before, "descriptors leaked"


# --- Reload and stop with slow readers: finish, or say it was cut. -------

SLOW_SIZE = 16 << 20


@pytest.fixture
def slow_capsule(tmp_path):
    root = tmp_path / "slowcap"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    # Seeded: libmagic calls some random bytes a DOS executable, and the
    # readers check the answer's MIME type.
    (root / "slow.bin").write_bytes(random.Random(1).randbytes(1 << 20) * 16)
    os.chmod(root, 0o755)
    return root


class SlowReader(threading.Thread):
    """A client that asks for /slow.bin and reads it at about 1.6 MB/s
    through a small receive buffer: a reader on a slow link, whose
    transfer outlasts a reload.  It records what it got and how the
    connection ended: "clean" (FIN, or close_notify over TLS), "eof"
    (TLS without close_notify) or "reset"."""

    def __init__(self, srv, proto):
        super().__init__(daemon=True)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.settimeout(30)
        if proto == "gemini":
            raw.connect((srv.host, srv.port))
            self.sock = client_ctx().wrap_socket(
                raw, server_hostname="localhost", suppress_ragged_eofs=False)
            self.sock.sendall(
                f"gemini://localhost:{srv.port}/slow.bin\r\n".encode())
        else:
            raw.connect((srv.host, srv.gopher_port))
            self.sock = raw
            self.sock.sendall(b"/slow.bin\r\n")
        self.proto = proto
        self.data = bytearray()
        self.end = None
        self.started = threading.Event()

    def run(self):
        paced = 0
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.end = "clean"
                    break
                self.data += chunk
                self.started.set()
                paced += len(chunk)
                if paced >= 65536:
                    paced = 0
                    time.sleep(0.04)
        except ssl.SSLEOFError:
            self.end = "eof"
        except ssl.SSLError as e:
            self.end = "eof" if "EOF" in str(e) else f"error {e}"
        except ConnectionResetError:
            self.end = "reset"
        except OSError as e:
            self.end = f"error {e}"
        finally:
            self.started.set()
            self.sock.close()

    def body(self):
        if self.proto == "gemini":
            head, _, body = bytes(self.data).partition(b"\r\n")
            assert head == b"20 application/octet-stream", head
            return body
        return bytes(self.data)


def start_slow_readers(srv):
    readers = [SlowReader(srv, "gemini"), SlowReader(srv, "gopher")]
    for r in readers:
        r.start()
    for r in readers:
        assert r.started.wait(30), "no byte of the answer came"
    return readers


def new_generation(srv, old):
    """Wait until workers other than old serve, after a SIGHUP."""
    wait_until(lambda: set(workers_of(srv.proc.pid)) - set(old),
               "a new generation of workers")


def test_sighup_lets_slow_readers_finish(server_factory, slow_capsule):
    """A reload lets every transfer in flight finish, however slow the
    reader (within --grace, 300 s by default): over Gopher every byte
    then a FIN, over Gemini every byte then close_notify.  Before, the
    old workers were ended 5 s after the reload."""
    srv = server_factory(root=slow_capsule, args=["--workers", "1"])
    expect = (slow_capsule / "slow.bin").read_bytes()
    old = workers_of(srv.proc.pid)
    readers = start_slow_readers(srv)
    os.kill(srv.proc.pid, signal.SIGHUP)
    new_generation(srv, old)
    assert srv.get("/")[0].startswith("20")      # the new ones serve
    for r in readers:
        r.join(120)
        assert not r.is_alive()
        assert r.end == "clean", (r.proto, r.end, len(r.data))
        assert r.body() == expect, (r.proto, len(r.body()))
    assert " cut (" not in srv.output()


def test_grace_period_over_cut_is_logged_and_seen(server_factory,
                                                  slow_capsule):
    """With a grace period too short for a slow reader, the answer is
    cut: the log says so, and the client can tell, a Gopher one by a
    reset instead of the FIN that ends a whole file, a Gemini one by the
    missing close_notify."""
    srv = server_factory(root=slow_capsule, args=["--workers", "1",
                                                  "--grace", "1"])
    old = workers_of(srv.proc.pid)
    readers = start_slow_readers(srv)
    os.kill(srv.proc.pid, signal.SIGHUP)
    new_generation(srv, old)
    for r in readers:
        r.join(120)
        assert not r.is_alive()
        assert len(r.body()) < SLOW_SIZE
        assert r.end in ("reset", "eof"), (r.proto, r.end)

    def cut_lines():
        return [l for l in srv.output().splitlines()
                if "cut (stopped at the end of the grace period)" in l]

    wait_until(lambda: len(cut_lines()) == 2, "both cut answers are logged",
               detail=lambda: srv.output()[-2000:])
    cut = cut_lines()
    assert any(l.split()[1] == "gemini" and '/slow.bin" 20 ' in l
               for l in cut)
    assert any(l.split()[1] == "gopher" and '"/slow.bin" 20 ' in l
               for l in cut)


def shrink_while_sent(srv, capsule, said):
    """Truncate slow.bin while a slow Gopher reader gets it: the reader
    must see a reset, not the FIN that would say the file ended there.
    Returns the log lines holding said, once there is one."""
    r = SlowReader(srv, "gopher")
    r.start()
    assert r.started.wait(30)
    os.truncate(capsule / "slow.bin", 1 << 20)
    r.join(120)
    assert not r.is_alive()
    assert r.end == "reset", r.end
    wait_until(lambda: said in srv.output(), f"{said!r} in the log",
               detail=lambda: srv.output()[-2000:])
    return [l for l in srv.output().splitlines() if said in l]


def test_file_shrunk_while_sent_is_logged_as_cut(server_factory,
                                                 slow_capsule):
    """A file truncated while it is being sent is not logged as a whole
    answer."""
    srv = server_factory(root=slow_capsule, args=["--workers", "1"])
    shrink_while_sent(srv, slow_capsule, "cut (the file shrank while sent)")
    line = [l for l in srv.output().splitlines() if "/slow.bin" in l]
    assert len(line) == 1 and line[0].endswith(
        "cut (the file shrank while sent)"), line
