"""Shared fixtures: start the real lumbar on free loopback ports with a
throw-away certificate directory, and talk to it over real TLS or TCP."""
import collections
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("LUMBAR_BUILD", os.path.join(ROOT, "build"))
LUMBAR = os.path.join(BUILD, "lumbar")
HTML2GMI = os.path.join(BUILD, "html2gmi")
CAPSULE = os.path.join(ROOT, "capsule")
SANITIZED = os.environ.get("LUMBAR_SANITIZED") == "1"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def recv_all(s):
    """Everything the server sends until it closes (s: a socket or an
    SSL socket)."""
    data = bytearray()      # appending to bytes would copy it every time
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk


def client_ctx(tls_min=None, tls_max=None, ciphers=None):
    """A TLS client context that trusts any certificate (each test's is
    new) and reports a missing close_notify, which Python would otherwise
    take for a plain end of file."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    if ciphers:
        ctx.set_ciphers(ciphers)
    if tls_min:
        ctx.minimum_version = tls_min
    if tls_max:
        ctx.maximum_version = tls_max
    return ctx


def read_all(s):
    """Read a TLS socket (made with suppress_ragged_eofs=False) to the end:
    (data, clean), clean False when the answer lacked its close_notify or
    the connection was reset."""
    data, clean = bytearray(), True
    while True:
        try:
            chunk = s.recv(65536)
        except (ssl.SSLEOFError, ConnectionResetError):
            clean = False
            break
        except ssl.SSLError as e:
            if e.reason != "UNEXPECTED_EOF_WHILE_READING":
                raise
            clean = False
            break
        if not chunk:
            break
        data += chunk
    return bytes(data), clean


class Reply(collections.namedtuple("Reply", "header body clean")):
    """A Gemini answer.  It unpacks as (header, body, clean), clean False
    when the answer lacked its close_notify; version, cert (DER) and lport
    say which TLS version and certificate the exchange used and from which
    local port (the one the server's log line names)."""

    def __new__(cls, header, body, clean, version=None, cert=None,
                lport=None):
        self = super().__new__(cls, header, body, clean)
        self.version, self.cert, self.lport = version, cert, lport
        return self


def tls_connect(host, port, sni="localhost", timeout=30, **tls):
    """A TLS connection with client_ctx(**tls), made with
    suppress_ragged_eofs=False so that read_all can tell a missing
    close_notify; sni None sends none (as for an IP address)."""
    raw = socket.create_connection((host, port), timeout)
    try:
        return client_ctx(**tls).wrap_socket(raw, server_hostname=sni,
                                             suppress_ragged_eofs=False)
    except BaseException:
        raw.close()
        raise


def workers_of(pid):
    """The worker processes of the lumbar parent pid."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):    # gone meanwhile
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


def slow_connect(host, port, timeout=30):
    """A client whose small receive buffer makes the server wait on it:
    an answer larger than the kernel's buffers stays in flight."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_port_for(addrs):
    """A port free on every address in addrs (IPv4 or IPv6 literals)."""
    for _ in range(50):
        port = free_port(*_family_host(addrs[0]))
        try:
            for a in addrs[1:]:
                fam, host = _family_host(a)
                with socket.socket(fam, socket.SOCK_STREAM) as s:
                    s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port on " + ", ".join(addrs))


def _family_host(addr):
    if ":" in addr:
        return socket.AF_INET6, addr
    return socket.AF_INET, addr


def tcp_sockets(port):
    """(state, accept or receive queue) of each TCP socket on this host whose
    local port is port, from /proc/net/tcp and tcp6: the server's side of
    its connections and its listener.  States are the kernel's hex codes:
    "0A" listening, "01" established, "08" closed by the peer only."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.append((fields[3], int(fields[4].split(":")[1], 16)))
    return found


def wait_until(cond, what, timeout=10.0, detail=None, interval=0.01):
    """Poll cond() every interval seconds until it is true, for at most
    timeout seconds; on time-out the failure says what, and detail() if
    given (a log, a state).  A cond that makes a TLS handshake wants a
    longer interval: each one counts against the per-address --rate."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            msg = "timed out waiting until " + what
            if detail is not None:
                msg += "\n" + str(detail())
            raise AssertionError(msg)
        time.sleep(interval)


def wait_quiet(port):
    """Until the server has accepted every connection to port and closed
    every one it is done with: its listener's queue is empty and none of
    its sockets on port is open, or half-closed by the client."""
    wait_until(lambda: all((st == "0A" and q == 0) or st not in ("0A", "01",
                                                                    "08")
                           for st, q in tcp_sockets(port)),
               f"port {port} is quiet")


def wait_accepted(port):
    """Until the server has accepted every connection queued on port."""
    wait_until(lambda: all(q == 0 for st, q in tcp_sockets(port)
                           if st == "0A"), f"port {port} accepted all")


class Server:
    """One running lumbar; `args` are extra command-line options."""

    def __init__(self, tmp_path, root=CAPSULE, args=(), gopher=True,
                 listen=("127.0.0.1",), certs=None, preexec_fn=None):
        self.root = str(root)
        # certs: a directory shared between runs (restarts reuse it)
        self.certs = str(certs) if certs else str(tmp_path / "certs")
        os.makedirs(self.certs, exist_ok=True)
        self.log = str(tmp_path / "lumbar.log")
        self.host = listen[0]
        for attempt in range(5):
            self.port = free_port_for(list(listen))
            self.gopher_port = free_port() if gopher else 0
            cmd = [LUMBAR, "--root", self.root, "--certs", self.certs,
                   "--port", str(self.port),
                   "--gopher-port", str(self.gopher_port)]
            for a in listen:
                cmd += ["--listen", a]
            if os.geteuid() == 0 and SANITIZED:
                # LeakSanitizer needs /proc and ptrace, which the chroot
                # and the seccomp filter take away: a sanitizer build runs
                # unconfined so that its leak check can run.
                cmd += ["--allow-root", "--no-seccomp"]
            elif os.geteuid() == 0:   # lumbar refuses to serve as root
                cmd += ["--user", "nobody"]
            cmd += list(args)
            self.cmd = cmd
            self.errf = open(self.log, "wb")
            # preexec_fn: set up the process as a test needs it (a low
            # ulimit -n, a memory cgroup) before lumbar starts
            self.proc = subprocess.Popen(cmd, stdout=self.errf,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=preexec_fn)
            if self._wait_ready():
                return
            self.stop(check=False)
        raise RuntimeError("lumbar did not start: " + self.output())

    def _wait_ready(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            # Ready when a worker answers a real request, not merely when
            # the kernel accepts into the listen queue.  Behind a proxy
            # (--proxy-protocol) the probe may need a PROXY header first.
            for prefix in (b"", b"PROXY UNKNOWN\r\n"):
                try:
                    if self._probe(prefix):
                        return True
                except (OSError, ssl.SSLError):
                    pass
            time.sleep(0.05)
        return False

    def _probe(self, prefix):
        ctx = client_ctx()
        with socket.create_connection((self.host, self.port), 2) as raw:
            raw.sendall(prefix)
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"\r\n")
                return s.recv(100).startswith(b"59")

    def output(self):
        if not self.errf.closed:
            self.errf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, check=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # answers in flight finish (--grace), and a client that has
                # yet to send its request has its deadline (--timeout)
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if check:
                    raise AssertionError("lumbar ignored SIGTERM")
        self.errf.close()
        if check:
            out = self.output()
            for mark in SANITIZER_MARKS:
                assert mark not in out, out
            assert self.proc.returncode == 0, \
                f"lumbar exited {self.proc.returncode}: {out[-2000:]}"

    def url(self, path="/", host="localhost"):
        return f"gemini://{host}:{self.port}{path}"

    def tls(self, host=None, sni="localhost", timeout=30, **tls):
        """A TLS connection to the Gemini port, handshake done; read it
        with read_all.  tls: client_ctx's version and cipher knobs."""
        return tls_connect(host or self.host, self.port, sni, timeout, **tls)

    # Gemini over real TLS: a Reply, (header, body bytes, closed_cleanly).
    def gemini(self, request, host=None, sni="localhost", timeout=30, **tls):
        if isinstance(request, str):
            request = request.encode()
        with self.tls(host, sni, timeout, **tls) as s:
            lport = s.getsockname()[1]
            version = s.version()
            cert = s.getpeercert(binary_form=True)
            s.sendall(request)
            data, clean = read_all(s)
        head, _, body = data.partition(b"\r\n")
        return Reply(head.decode("utf-8", "replace"), body, clean, version,
                     cert, lport)

    def get(self, path, **kw):
        return self.gemini(self.url(path) + "\r\n", **kw)

    # Gopher over plain TCP; returns the whole answer.
    def gopher(self, request, timeout=10):
        if isinstance(request, str):
            request = request.encode()
        with socket.create_connection((self.host, self.gopher_port),
                                      timeout) as s:
            s.sendall(request)
            return recv_all(s)


@pytest.fixture
def server_factory(tmp_path):
    started = []

    def make(**kw):
        d = tmp_path / f"s{len(started)}"
        d.mkdir()
        srv = Server(d, **kw)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def server(server_factory):
    return server_factory()
