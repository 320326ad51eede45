"""An error that stops lumbar (fatal) reaches the --log file as every
other error does, and stderr as before: a worker's reason to exit is
logged beside the parent's "exited with 1"."""
import os
import resource
import signal
import socket
import subprocess

from conftest import CAPSULE, LUMBAR, SANITIZED, SANITIZER_MARKS, Server, \
    workers_of

AS_ROOT = ["--user", "nobody"] if os.geteuid() == 0 and not SANITIZED else \
    ["--allow-root", "--no-seccomp"] if os.geteuid() == 0 else []


def lowest_free_fd(pid):
    used = {int(fd) for fd in os.listdir(f"/proc/{pid}/fd")}
    n = 0
    while n in used:
        n += 1
    return n


def test_worker_fatal_reaches_the_log_file(tmp_path):
    """A worker that cannot make its epoll descriptor (the parent's
    descriptor limit lowered to what it holds, then a worker restarted)
    exits through fatal(): the reason is in the --log file."""
    log = tmp_path / "server.log"
    srv = Server(tmp_path, args=["--workers", "1", "--log", str(log)])
    try:
        pid = srv.proc.pid
        _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE,
                         (lowest_free_fd(pid), hard))
        for w in workers_of(pid):
            os.kill(w, signal.SIGKILL)
        # Its successors die the same way; the parent gives up.
        srv.proc.wait(60)
        text = log.read_text(errors="replace")
        assert "epoll_create1: Too many open files" in text, text[-2000:]
        out = srv.output()
        assert "lumbar: epoll_create1: Too many open files" in out
        # (LeakSanitizer cannot check a worker without descriptors: it
        # says so, which is none of these marks.)
        for mark in SANITIZER_MARKS:
            assert mark not in out, out[-3000:]
    finally:
        srv.stop(check=False)


def test_parent_fatal_reaches_the_log_file(tmp_path):
    """Before any worker: the port is taken, lumbar exits 1 and says why
    on stderr and in its --log file."""
    log = tmp_path / "server.log"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [LUMBAR, "--root", CAPSULE, "--certs", str(tmp_path / "certs"),
             "--listen", "127.0.0.1", "--port", str(port),
             "--gopher-port", "0", "--log", str(log)] + AS_ROOT,
            capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    why = "port %d (Gemini): the port is in use" % port
    assert why in proc.stderr
    for mark in SANITIZER_MARKS:
        assert mark not in proc.stderr, proc.stderr[-3000:]
    assert why in log.read_text(), log.read_text()
