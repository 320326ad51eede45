"""The configuration file (lumbar -f FILE, lumbar.conf(5)): settings named
as the long options, comments, include, the command line winning, and
errors that name the file and line, against the real server."""
import os
import re
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import LUMBAR, wait_until


BIG = 16 * 1024 * 1024      # more than the socket buffers hold


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    (root / "dir").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> /dir/ dir\n")
    (root / "dir" / "a.gmi").write_text("# A\n")
    (root / "big.bin").write_bytes(b"x" * BIG)
    os.chmod(tmp_path, 0o755)
    return root


def write(path, text):
    path.write_text(text)
    return str(path)


def check(args, cwd=None):
    return subprocess.run([os.path.abspath(LUMBAR), "-n"] + args,
                          capture_output=True, text=True, timeout=30,
                          cwd=cwd)


def test_file_settings_are_served(server_factory, capsule, tmp_path):
    conf = write(tmp_path / "lumbar.conf",
                 "# a comment\n"
                 "\n"
                 "  lang fr   # after a value\n"
                 "no-listing\n"
                 "wrap 60\n")
    s = server_factory(root=capsule, args=["-f", conf])
    head, body, _ = s.get("/")
    assert head == "20 text/gemini; charset=utf-8; lang=fr", head
    assert s.get("/dir/")[0].startswith("51"), "no-listing from the file"


def test_flag_yes_and_no(server_factory, capsule, tmp_path):
    conf = write(tmp_path / "lumbar.conf", "no-listing no\n")
    s = server_factory(root=capsule, args=["--config", conf])
    assert s.get("/dir/")[0].startswith("20"), "no-listing no: listed"
    r = check(["-r", str(capsule), "-c", str(tmp_path / "c"), "-f",
               write(tmp_path / "bad.conf", "no-listing maybe\n")])
    assert r.returncode == 1
    assert "bad.conf:1: no-listing takes no value, or yes or no" in r.stderr


def test_command_line_wins(server_factory, capsule, tmp_path):
    conf = write(tmp_path / "lumbar.conf", "lang fr\n")
    s = server_factory(root=capsule, args=["-f", conf, "--lang", "de"])
    assert s.get("/")[0] == "20 text/gemini; charset=utf-8; lang=de"


def test_command_line_verbosity_wins_over_the_files(server_factory,
                                                    capsule, tmp_path):
    """-v on the command line, quiet in the file: -v, one setting."""
    conf = write(tmp_path / "lumbar.conf", "quiet\n")
    s = server_factory(root=capsule, args=["-f", conf, "-v"])
    s.get("/dir/a.gmi")
    wait_until(lambda: '/dir/a.gmi" 20 ' in s.output(),
               "the request logged")


def test_include_relative_to_the_including_file(server_factory, capsule,
                                                 tmp_path):
    sub = tmp_path / "conf.d"
    sub.mkdir()
    write(sub / "more.conf", "lang eo\n")
    conf = write(tmp_path / "lumbar.conf", "include conf.d/more.conf\n")
    # From another directory: include names conf.d/ beside lumbar.conf.
    s = server_factory(root=capsule, args=["-f", conf])
    assert s.get("/")[0] == "20 text/gemini; charset=utf-8; lang=eo"


@pytest.mark.parametrize("text,line,why", [
    ("port 1965\nbogus 3\n", 2, '"bogus" is not a setting'),
    ("\n\nport 7x\n", 3, 'port: "7x" is not a number from 1 to 65535'),
    ("root\n", 1, "root needs a value"),
    ("check\n", 1, "check is a command-line option only"),
    ("config other.conf\n", 1, "config is a command-line option only"),
    ("hostname exa mple\n", 1, "is not a host name"),
    ("include\n", 1, "include: which file?"),
])
def test_errors_name_file_and_line(tmp_path, capsule, text, line, why):
    conf = write(tmp_path / "lumbar.conf", text)
    r = check(["-r", str(capsule), "-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1, r.stderr
    assert f"lumbar: {conf}:{line}: " in r.stderr, r.stderr
    assert why in r.stderr, r.stderr


def test_error_inside_an_include_names_that_file(tmp_path, capsule):
    write(tmp_path / "inner.conf", "# inner\nlang fr\ntimeout 0\n")
    conf = write(tmp_path / "lumbar.conf", "include inner.conf\n")
    r = check(["-r", str(capsule), "-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1
    assert f"{tmp_path}/inner.conf:3: timeout:" in r.stderr, r.stderr


def test_include_loop_is_an_error(tmp_path, capsule):
    conf = write(tmp_path / "lumbar.conf", "include lumbar.conf\n")
    r = check(["-r", str(capsule), "-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1
    assert "includes deep" in r.stderr, r.stderr


def test_missing_file(tmp_path):
    r = check(["-f", str(tmp_path / "none.conf")])
    assert r.returncode == 1
    assert "none.conf: No such file or directory" in r.stderr


def test_check_a_good_file(tmp_path, capsule):
    conf = write(tmp_path / "lumbar.conf",
                 f"root {capsule}\ncerts {tmp_path / 'c'}\nport 1966\n"
                 "gopher-port 7071\nmax-per-client 64\nverbose no\n")
    r = check(["-f", conf])
    assert r.returncode == 0, r.stderr
    assert f"{conf}: no errors" in r.stderr


def test_every_option_is_a_setting(tmp_path, capsule):
    """The file knows the names --help lists: one table for both."""
    helptext = subprocess.run([LUMBAR, "--help"], capture_output=True,
                              text=True, timeout=30).stdout
    names = {re.match(r"--([a-z-]+)", w).group(1)
             for line in helptext.splitlines()
             for w in line.split() if re.match(r"--[a-z]", w)}
    for name in sorted(names - {"config", "check", "help", "version"}):
        conf = write(tmp_path / "one.conf", f"{name} x\n")
        # In tmp_path: "log x" opens the file x.
        r = check(["-r", str(capsule), "-c", str(tmp_path / "c"), "-f",
                   conf], cwd=tmp_path)
        assert "is not a setting" not in r.stderr, (name, r.stderr)


def test_shipped_example_checks(tmp_path, capsule):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    example = os.path.join(root, "contrib", "lumbar.conf")
    # Its paths are a server's; the command line points them here.
    r = check(["-f", example, "-r", str(capsule), "-c", str(tmp_path / "c"),
               "--user", "nobody"] if os.geteuid() == 0 else
              ["-f", example, "-r", str(capsule), "-c", str(tmp_path / "c")])
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------- SIGHUP

def tls_client(srv):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((srv.host, srv.port), 10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def sighup(srv):
    os.kill(srv.proc.pid, signal.SIGHUP)


def test_sighup_rereads_the_file(server_factory, capsule, tmp_path):
    """What can change without rebinding reaches the next generation of
    workers; what cannot (workers here) is reported and kept."""
    conf = tmp_path / "lumbar.conf"
    write(conf, "lang fr\nworkers 1\n")
    s = server_factory(root=capsule, args=["-f", str(conf)])
    assert s.get("/")[0].endswith("lang=fr")
    # A transfer in progress across the reload, which lowers a limit.
    slow = tls_client(s)
    slow.sendall(f"gemini://localhost:{s.port}/big.bin\r\n".encode())
    first = slow.recv(4096)
    assert first.startswith(b"20 ")
    assert s.get("/old.gmi")[0].startswith("51")
    assert s.get("/dir/")[0].startswith("20")
    write(conf, "lang de\nworkers 2\nno-listing\n"
                "redirect /old.gmi /dir/a.gmi\n"
                "log-format combined\nmax-per-client 2\n")
    sighup(s)
    wait_until(lambda: s.get("/")[0].endswith("lang=de"), "lang de served")
    # The old generation finishes the transfer, every byte.
    got = len(first) - len(first.partition(b"\r\n")[0]) - 2
    while chunk := slow.recv(1 << 20):
        got += len(chunk)
    assert got == BIG
    assert s.get("/old.gmi")[0] == "31 /dir/a.gmi"
    assert s.get("/dir/")[0].startswith("51")
    out = s.output()
    assert f"{conf}: workers changed; that needs a restart" in out, out
    assert "SIGHUP: reloaded the configuration" in out
    # The new log format and the new limit apply: two connections held,
    # the next from the same address is refused.
    # (A worker writes request lines in batches: wait for this one.)
    wait_until(lambda: re.search(
        r'127\.0\.0\.1 - - \[[^]]+\] "GET gemini://localhost:'
        r'\d+/old\.gmi HTTP/1\.0" 301 \d+ "-" "-"', s.output()),
        "the redirect logged in the combined format")
    slow.close()
    with socket.create_connection((s.host, s.port), 10), \
            socket.create_connection((s.host, s.port), 10):
        wait_until(lambda: s.get("/")[0].startswith("44"),
                   "max-per-client 2 refuses a third connection")


def test_sighup_with_an_error_keeps_the_old_configuration(server_factory,
                                                          capsule, tmp_path):
    conf = tmp_path / "lumbar.conf"
    write(conf, "lang fr\nredirect /old.gmi /dir/a.gmi\n")
    s = server_factory(root=capsule, args=["-f", str(conf)])
    write(conf, "lang de\n\nport nope\n")
    sighup(s)
    wait_until(lambda: "still serving the old configuration" in s.output(),
               "the error logged")
    assert f'SIGHUP: {conf}:3: port: "nope" is not a number' in s.output()
    assert s.get("/")[0].endswith("lang=fr")
    assert s.get("/old.gmi")[0] == "31 /dir/a.gmi"
    # Mended, the next SIGHUP takes it.
    write(conf, "lang de\n")
    sighup(s)
    wait_until(lambda: s.get("/")[0].endswith("lang=de"), "lang de served")
    assert s.get("/old.gmi")[0].startswith("51")
