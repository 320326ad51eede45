"""lumbar's command line and life cycle: SIGTERM with and without
clients, --help and --version, bad options that fail with a clear
message, the -H forms it accepts, and a capsule the --user cannot read."""
import os
import signal
import socket
import subprocess

import pytest

from conftest import LUMBAR
from helpers.gemini_capsule import check
from helpers.gemini_capsule import capsule  # noqa: F401 (a fixture)


# ------------------------------------------------------- life cycle, CLI

def test_sigterm_clean_exit(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False)
    check(s.get("/page.gmi"), "20")
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(20) == 0, s.output()
    with pytest.raises(OSError):
        socket.create_connection((s.host, s.port), 5).close()


def test_sigterm_with_clients_connected(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120"])
    idle = s.tls()
    tcp = socket.create_connection((s.host, s.port), 30)
    try:
        s.proc.send_signal(signal.SIGTERM)
        assert s.proc.wait(20) == 0, s.output()
    finally:
        idle.close()
        tcp.close()


def test_help_and_version():
    p = subprocess.run([LUMBAR, "--help"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0
    text = p.stdout + p.stderr
    for opt in ("--root", "--hostname", "--listen", "--port", "--certs",
                "--lang", "--no-listing", "--timeout", "--log"):
        assert opt in text, opt
    p = subprocess.run([LUMBAR, "--version"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and (p.stdout + p.stderr).strip()


def test_bad_options_fail_cleanly(server_factory, capsule, tmp_path):
    # The same command line starts and stops cleanly, so each failure below
    # is the bad option's doing.
    s = server_factory(root=capsule["root"], gopher=False)
    s.stop()
    base = list(s.cmd)

    def with_value(opt, value):
        cmd = list(base)
        cmd[cmd.index(opt) + 1] = value
        return cmd

    for cmd, says in (
            (with_value("--root", str(tmp_path / "missing")), "missing"),
            (with_value("--port", "notaport"), "--port"),
            (with_value("--port", "70000"), "--port"),
            (base + ["--no-such-option"], "no-such-option"),
            (base + ["-H", "example.org:1965"], '--hostname: "example.org:'
             '1965" is not a host name'),
            (base + ["-H", "bad_host!"], "is not a host name"),
            (base + ["-H", "-foo"], "is not a host name"),
            (base + ["-H", "a..b"], "is not a host name"),
            (with_value("--gopher-port", s.cmd[s.cmd.index("--port") + 1]),
             "that is also the Gemini port"),
            (with_value("--listen", "localhost"),
             "--listen localhost: not an IPv4 or IPv6 address"),
            (base + ["--ticket-key", str(tmp_path / "nokey")],
             "--ticket-key %s" % (tmp_path / "nokey"))):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{cmd[-4:]}: lumbar kept running")
        assert p.returncode != 0, cmd
        assert says in p.stderr, (cmd, p.stderr)
        assert "Sanitizer" not in p.stderr and \
            "runtime error" not in p.stderr, p.stderr


def test_hostnames_accepted(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["-H", "localhost", "-H", "my_host.lan",
                             "-H", "192.0.2.1", "-H", "::1",
                             "-H", "caf\u00e9.example"])
    assert s.get("/")[0][:2] == "20"


@pytest.mark.skipif(os.geteuid() != 0, reason="SKIP: --user needs root")
def test_capsule_the_user_cannot_read(server_factory, capsule, tmp_path):
    """Workers read the capsule as --user: one it cannot read is refused
    at start (and by --check), not answered 50 request after request."""
    root = tmp_path / "private"
    root.mkdir()
    (root / "index.gmi").write_text("# Private\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o700)
    s = server_factory(root=capsule["root"], gopher=False)
    s.stop()
    cmd = list(s.cmd)
    cmd[cmd.index("--root") + 1] = str(root)
    if "--user" not in cmd:
        cmd += ["--user", "nobody"]
    for extra in ([], ["--check"]):
        p = subprocess.run(cmd + extra, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 1, p.stderr
        assert "the user nobody cannot read it" in p.stderr, p.stderr
    # The same when started with SIGCHLD ignored (some service managers
    # and shells pass that on): the check's child is still waited for.
    p = subprocess.run(cmd + ["--check"], capture_output=True, text=True,
                       timeout=30, preexec_fn=lambda: signal.signal(
                           signal.SIGCHLD, signal.SIG_IGN))
    assert p.returncode == 1 and "cannot read it" in p.stderr, p.stderr
