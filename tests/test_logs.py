"""The request log's formats (log-format: lumbar, common, combined) and
how much of the client it keeps (log-client: full, anonymized, none),
against the real server; the Apache formats are read by goaccess, a real
log analyser, when it is installed (contrib/deps.sh clients), and by a
strict pattern always."""
import json
import os
import re
import shutil
import subprocess

import pytest

CAPSULE_FILES = {"index.gmi": "# Home\n", "a.gmi": "# A\n"}

LUMBAR_LINE = re.compile(
    r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (gemini|gopher) (\S+) "(.*)" '
    r'(\d\d) (\d+) \d+\.\dms$')
APACHE_LINE = re.compile(
    r'^(\S+) - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
    r'"GET (\S+) HTTP/1\.0" ([1-5]\d\d) (\d+)( "-" "-")?$')


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    for name, text in CAPSULE_FILES.items():
        (root / name).write_text(text)
    os.chmod(tmp_path, 0o755)
    return root


def requests(srv):
    """Gemini 20, 51, 31 (a redirect) and 59, Gopher 20 and a search
    with a space; returns how many."""
    base = f"gemini://localhost:{srv.port}"
    assert srv.gemini(f"{base}/a.gmi\r\n")[0].startswith("20")
    assert srv.gemini(f"{base}/missing.gmi\r\n")[0].startswith("51")
    assert srv.gemini(f"{base}/old.gmi\r\n")[0].startswith("31")
    assert srv.gemini("not a url\r\n")[0].startswith("59")
    assert srv.gopher("/a.gmi\r\n").endswith(b".\r\n")
    srv.gopher("/search\tback pain\r\n")
    return 6


def run(server_factory, capsule, tmp_path, fmt, client, listen="127.0.0.1"):
    logdir = tmp_path / "log"
    logdir.mkdir(exist_ok=True)
    os.chmod(logdir, 0o777)
    log = logdir / f"{fmt}-{client}.log"
    srv = server_factory(root=capsule, listen=(listen,), args=[
        "--log", str(log), "--log-format", fmt, "--log-client", client,
        "--redirect", "/old.gmi /a.gmi"])
    n = requests(srv)
    srv.stop()
    lines = [l for l in log.read_text().splitlines() if l]
    # Not the fixture's readiness probe (an empty request, 59).
    lines = [l for l in lines if '"" 59 ' not in l and '"GET - HTTP' not in l]
    return srv, log, lines, n


def test_lumbar_format_full(server_factory, capsule, tmp_path):
    _, _, lines, n = run(server_factory, capsule, tmp_path, "lumbar", "full")
    reqs = [m for m in map(LUMBAR_LINE.match, lines) if m and m.group(3)]
    assert len(reqs) == n, lines
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", m.group(2)) for m in reqs)
    # Workers log when they close: in any order.
    assert sorted(m.group(4) for m in reqs) == ["20", "20", "20", "31", "51",
                                                "59"]


@pytest.mark.parametrize("client,who", [
    ("anonymized", "127.0.0.0"), ("none", "-")])
def test_lumbar_format_client(server_factory, capsule, tmp_path, client, who):
    _, _, lines, n = run(server_factory, capsule, tmp_path, "lumbar", client)
    reqs = [m for m in map(LUMBAR_LINE.match, lines) if m and m.group(3)]
    assert len(reqs) == n, lines
    assert {m.group(2) for m in reqs} == {who}, lines
    assert "127.0.0.1" not in "\n".join(lines)


def test_anonymized_ipv6_keeps_the_48(server_factory, capsule, tmp_path):
    if not socket_has_ipv6():
        pytest.skip("SKIP: no IPv6 loopback")
    _, _, lines, n = run(server_factory, capsule, tmp_path, "common",
                         "anonymized", listen="::1")
    hosts = {APACHE_LINE.match(l).group(1) for l in lines}
    assert hosts == {"::"}, lines      # ::1, its /48 kept


def socket_has_ipv6():
    import socket
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("fmt", ["common", "combined"])
@pytest.mark.parametrize("client,host", [
    ("full", "127.0.0.1"), ("anonymized", "127.0.0.0"), ("none", "0.0.0.0")])
def test_apache_formats(server_factory, capsule, tmp_path, fmt, client, host):
    srv, log, lines, n = run(server_factory, capsule, tmp_path, fmt, client)
    # Only requests in the file: the start banner went to stderr.
    assert len(lines) == n, lines
    ms = [APACHE_LINE.match(l) for l in lines]
    assert all(ms), lines
    assert all((m.group(5) is not None) == (fmt == "combined") for m in ms)
    assert {m.group(1) for m in ms} == {host}
    # Workers log when they close: in any order.
    assert sorted(m.group(3) for m in ms) == ["200", "200", "200", "301",
                                              "400", "404"]
    base = f"gemini://localhost:{srv.port}"
    assert sorted(m.group(2) for m in ms) == sorted([
        f"{base}/a.gmi", f"{base}/missing.gmi", f"{base}/old.gmi",
        r"not\x20a\x20url", "/a.gmi", r"/search\x09back\x20pain"])
    assert "serving" in srv.output()        # the banner, on stderr
    goaccess(log, fmt, len(log.read_text().splitlines()))


def goaccess(log, fmt, n):
    exe = shutil.which("goaccess")
    if exe is None:
        pytest.skip("SKIP: goaccess not installed (apt-get install "
                    "goaccess; contrib/deps.sh clients)")
    report = log.parent / "report.json"
    subprocess.run([exe, f"--log-format={fmt.upper()}", "-o", str(report),
                    str(log)], check=True, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)
    data = json.loads(report.read_text())
    general = data["general"]
    assert general["valid_requests"] == n, general
    assert general["failed_requests"] == 0, general
    paths = {d["data"] for d in data["requests"]["data"]}
    paths |= {d["data"] for d in data["not_found"]["data"]}
    assert any(p.endswith("/a.gmi") for p in paths), paths
    codes = {d["data"] for d in data["status_codes"]["data"]}
    assert codes >= {"2xx Success", "3xx Redirection",
                     "4xx Client Errors"}, codes
