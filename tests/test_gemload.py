"""gemload, the benchmark's load generator, held to its word against the
real lumbar: a short bounded run at 200 concurrent clients gets every
answer right, its own checks catch wrong statuses and sizes, TLS session
resumption works (by gemload's count and by `openssl s_client`), and it
refuses targets off loopback.  Correctness only: no assertion is about
speed (that is `make bench`)."""
import os
import select
import signal
import subprocess

import pytest

from conftest import BUILD

GEMLOAD = os.path.join(BUILD, "gemload")
ARTICLE = "articles/inversion-therapy.gmi"
PAGE = ("# Inversion therapy\n\n" + "".join(
    "Paragraph %d: hanging upside down stretches the spine.\n\n" % i
    for i in range(80)) + "=> /articles/ More articles\n").encode()


@pytest.fixture
def gemload():
    if not os.access(GEMLOAD, os.X_OK):
        pytest.skip("%s is not built (make %s)" % (GEMLOAD, GEMLOAD))
    return GEMLOAD


@pytest.fixture
def capsule(tmp_path):
    root = tmp_path / "capsule"
    (root / "articles").mkdir(parents=True)
    (root / ARTICLE).write_bytes(PAGE)
    (root / "index.gmi").write_text("# Home\n\n=> articles/ Articles\n")
    for d in (root, root / "articles"):
        os.chmod(d, 0o755)   # the workers read it as nobody when root
    return root


@pytest.fixture
def srv(server_factory, capsule):
    # 200 clients from one address: lift the per-client limits (at once:
    # 128; new a second: 50 after 200), which would rightly answer 44 to
    # most of them.
    return server_factory(root=capsule, args=["--max-per-client", "1000",
                                              "--rate", "0"])


def run(args, timeout=120):
    """Runs gemload; returns (exit status, key=value dict, stderr)."""
    proc = subprocess.run([GEMLOAD] + args, capture_output=True, text=True,
                          timeout=timeout)
    kv = {}
    for line in proc.stdout.splitlines():
        if line.startswith("gemload:"):
            kv = dict(tok.split("=", 1) for tok in line.split()[1:])
    return proc.returncode, kv, proc.stderr


def gem_url(srv, path=ARTICLE):
    return "gemini://localhost:%d/%s" % (srv.port, path)


def test_gemini_200_clients_every_answer_right(gemload, srv):
    rc, kv, err = run(["-n", "400", "-c", "200", "-d", "60", "--timeout",
                       "30", "--expect-size", str(len(PAGE)), gem_url(srv)])
    assert rc == 0, err
    assert kv["ok"] == "400" and kv["errors"] == "0", kv
    assert kv["size"] == str(len(PAGE))
    assert kv["resumed"] == "0"          # no -r: every handshake is full
    head, body, clean = srv.get("/" + ARTICLE)
    assert head.startswith("20 ") and body == PAGE and clean


def test_gemini_host_port_form(gemload, srv):
    rc, kv, err = run(["-n", "20", "-c", "4", "127.0.0.1:%d" % srv.port,
                       gem_url(srv)])
    assert rc == 0, err
    assert kv["ok"] == "20" and kv["size"] == str(len(PAGE))


def test_resumption_reuses_sessions(gemload, srv):
    n, c = 200, 8
    rc, kv, err = run(["-r", "-n", str(n), "-c", str(c), "--timeout", "30",
                       gem_url(srv)])
    assert rc == 0, err
    # Each slot's first handshake is full; every later one offers the
    # slot's freshest ticket, whichever worker issued it.
    assert int(kv["offered"]) == n - c, kv
    assert int(kv["resumed"]) > 0, kv
    assert kv["resumed"] == kv["offered"], kv


def test_openssl_s_client_reports_reused(srv, tmp_path):
    sess = str(tmp_path / "session.pem")
    req = ("gemini://localhost:%d/\r\n" % srv.port).encode()
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
            "-servername", "localhost", "-ign_eof"]
    try:
        first = subprocess.run(base + ["-sess_out", sess], input=req,
                               capture_output=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("SKIP: openssl not installed (apt-get install openssl)")
    assert b"20 text/gemini" in first.stdout, first.stdout[-2000:]
    assert b"\nNew, " in first.stdout
    assert os.path.getsize(sess) > 0
    second = subprocess.run(base + ["-sess_in", sess], input=req,
                            capture_output=True, timeout=30)
    assert b"\nReused, " in second.stdout, second.stdout[-2000:]
    assert b"20 text/gemini" in second.stdout


def test_gopher_200_clients(gemload, srv):
    url = "gopher://127.0.0.1:%d/1/%s" % (srv.gopher_port, ARTICLE)
    rc, kv, err = run(["-n", "400", "-c", "200", "--timeout", "30", url])
    assert rc == 0, err
    assert kv["mode"] == "gopher" and kv["ok"] == "400", kv
    assert kv["size"] == str(len(srv.gopher("/" + ARTICLE + "\r\n")))


def test_checks_catch_wrong_answers(gemload, srv):
    rc, kv, _ = run(["-n", "10", "-c", "2", gem_url(srv, "missing.gmi")])
    assert rc == 1 and kv["err_status"] == "10", kv
    rc, kv, _ = run(["-n", "10", "-c", "2", "-s", "51",
                     gem_url(srv, "missing.gmi")])
    assert rc == 0 and kv["ok"] == "10", kv
    rc, kv, _ = run(["-n", "10", "-c", "2", "--expect-size",
                     str(len(PAGE) + 1), gem_url(srv)])
    assert rc == 1 and kv["err_size"] == "10", kv
    url = "gopher://127.0.0.1:%d/1/no/such/page" % srv.gopher_port
    rc, kv, _ = run(["-n", "10", "-c", "2", url])
    assert rc == 1 and kv["err_status"] == "10", kv


def test_hold_keeps_idle_tls_connections(gemload, srv):
    proc = subprocess.Popen([GEMLOAD, "-q", "--hold", "30", "-c", "200",
                             "--timeout", "30", gem_url(srv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "gemload --hold never reported"
        line = proc.stdout.readline().decode()
        assert line.split()[0] == "held=200", line
        # While 200 idle connections are held, others are still served.
        head, body, _ = srv.get("/" + ARTICLE)
        assert head.startswith("20 ") and body == PAGE
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert b"held=200 dropped=0 errors=0" in out, out


@pytest.mark.parametrize("target", [
    ["gemini://192.0.2.1/"],
    ["gemini://10.1.2.3:1965/x"],
    ["gopher://[2001:db8::1]/1/"],
    ["198.51.100.7:1965", "gemini://localhost/"],
])
def test_refuses_non_loopback(gemload, target):
    rc, kv, err = run(["-n", "1", "-c", "1"] + target, timeout=10)
    assert rc == 2 and not kv
    assert "refusing non-loopback target" in err


def test_tlsfloor_resumes_and_reports(srv):
    """tlsfloor, the benchmark's OpenSSL floor, measures what it says: with
    the certificate lumbar made, its resumed handshakes really resume (it
    exits 1 otherwise) and it prints every figure the report reads."""
    tool = os.path.join(BUILD, "tlsfloor")
    if not os.access(tool, os.X_OK):
        pytest.skip("%s is not built (make %s)" % (tool, tool))
    crt = os.path.join(srv.certs, "localhost.crt")
    key = os.path.join(srv.certs, "localhost.key")
    proc = subprocess.run([tool, crt, key, "20"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines()
            if ln.startswith("tlsfloor:")]
    assert len(line) == 1
    kv = dict(tok.split("=", 1) for tok in line[0].split()
              if "=" in tok and not tok.startswith("openssl"))
    assert kv["handshakes"] == "20" and kv["reused"] == "20"
    for k in ("full_us", "resumed_us", "x25519_us", "sign_us"):
        assert float(kv[k]) > 0


def test_tlsfloor_refuses_a_missing_key(tmp_path):
    tool = os.path.join(BUILD, "tlsfloor")
    if not os.access(tool, os.X_OK):
        pytest.skip("%s is not built (make %s)" % (tool, tool))
    proc = subprocess.run([tool, str(tmp_path / "no.crt"),
                           str(tmp_path / "no.key"), "20"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot load the certificate or key" in proc.stderr
