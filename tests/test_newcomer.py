"""What a newcomer meets first (issue 15): `make run` on ports of one's
choosing, the report `make test` prints, and lumbar started by an
ordinary user on the Gopher port 70."""
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from conftest import (BUILD, LUMBAR, ROOT, SANITIZED, free_port, read_all,
                      recv_all, tls_connect, wait_until)
from helpers.html2gmi import public_tmp  # noqa: F401 (a fixture)

RUN_PY = os.path.join(ROOT, "tests", "run.py")


def test_make_run_on_other_ports(tmp_path):
    """The README's way out when 1965 or 7070 is taken: make run
    RUN_PORT=N RUN_GOPHER_PORT=N serves capsule/ there, its banner naming
    them, and Ctrl-C (SIGINT to make's process group) stops it.  RUN_CERTS
    keeps the test's certificate out of the repository's certs/."""
    port, gport = free_port(), free_port()
    log = tmp_path / "run.log"
    args = ["make", "--no-print-directory", "-C", ROOT, f"BUILD={BUILD}",
            f"RUN_PORT={port}", f"RUN_GOPHER_PORT={gport}",
            f"RUN_CERTS={tmp_path / 'certs'}"]
    if os.geteuid() == 0 and SANITIZED:
        # as conftest's servers: LeakSanitizer needs /proc and ptrace
        args.append("RUN_USER=--allow-root --no-seccomp")
    with open(log, "wb") as out:
        proc = subprocess.Popen(args + ["run"], stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_until(lambda: "on Gopher: " in log.read_text(),
                   "make run prints its banner", timeout=120,
                   detail=log.read_text, interval=0.05)
        text = log.read_text()
        assert (tmp_path / "certs" / "localhost.crt").exists(), text
        # Before lumbar's own lines, make's one line (apt's and the
        # compiler's go to build/deps.log, or nowhere, unless V=1).
        before = text[:text.index(" created a self-signed")]
        assert before.splitlines()[:-1] == [
            "building lumbar (V=1 shows the compiler's lines)"], text
        assert f"amfora gemini://localhost:{port}/" in text, text
        assert f"lynx gopher://localhost:{gport}/" in text, text
        with tls_connect("127.0.0.1", port) as s:
            s.sendall(f"gemini://localhost:{port}/\r\n".encode())
            data, clean = read_all(s)
        assert data.startswith(b"20 text/gemini") and clean, data[:200]
        with socket.create_connection(("127.0.0.1", gport), 10) as s:
            s.sendall(b"/\r\n")
            assert recv_all(s).startswith(b"iThe Back Pain Advisor")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError("make run ignored Ctrl-C")
    assert "stopped" in log.read_text(), log.read_text()


def test_make_test_report_is_in_order_when_redirected(tmp_path):
    """tests/run.py with its output to a pipe, as in `make test > log`:
    the unit tests' lines come before pytest's, pytest lists the slowest
    tests, and the summary line is the last.  The unit test is a stand-in
    script and pytest runs one stand-in test, so that this takes seconds."""
    build = tmp_path / "build"
    (build / "tests").mkdir(parents=True)
    unit = build / "tests" / "test_standin"
    unit.write_text("#!/bin/sh\necho 1..1\necho 'ok 1 - standin unit'\n")
    unit.chmod(0o755)
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "test_standin.py").write_text(
        "def test_standin_zz_probe():\n    pass\n")
    env = dict(os.environ, BUILD=str(build),
               PYTEST_ARGS=f"-k standin_zz_probe {probe}")
    # A newcomer's shell buffers Python's output to a pipe: this one may not.
    env.pop("PYTHONUNBUFFERED", None)
    p = subprocess.run([sys.executable, RUN_PY], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    lines = p.stdout.splitlines()
    assert p.returncode == 0, p.stdout
    unit_at = lines.index("ok 1 - standin unit")
    slowest_at = next(i for i, l in enumerate(lines) if "slowest" in l)
    assert unit_at < slowest_at, p.stdout
    assert lines[-1] == "2 passed, 0 failed", p.stdout


def low_ports_need_privilege():
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read()) > 70
    except OSError:
        return True


def test_ordinary_user_on_port_70_leaves_no_certificate(public_tmp):
    """An ordinary user cannot bind port 70: lumbar says so in one line
    and exits before it makes a certificate, so that the next start (as
    root, or under the unit) does not find a stray one."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("SKIP: needs root and setpriv(1) to start as nobody")
    if not low_ports_need_privilege():
        pytest.skip("SKIP: ordinary users may bind port 70 here "
                    "(net.ipv4.ip_unprivileged_port_start)")
    capsule = public_tmp / "capsule"
    capsule.mkdir()
    (capsule / "index.gmi").write_text("# Home\n")
    certs = public_tmp / "certs"
    certs.mkdir()
    os.chown(certs, 65534, 65534)
    p = subprocess.run(
        [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         LUMBAR, "--root", str(capsule), "--certs", str(certs),
         "--listen", "127.0.0.1", "--port", str(free_port()),
         "--gopher-port", "70", "--workers", "1"],
        capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.startswith("lumbar:")]
    assert len(lines) == 1, p.stderr
    assert "port 70" in lines[0] and "permission denied" in lines[0], \
        p.stderr
    assert os.listdir(certs) == [], "a certificate was made before the bind"
