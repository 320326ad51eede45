"""The first five minutes: the start banner, lumbar --check, and start-up
errors that say what is wrong in one line."""
import hashlib
import os
import re
import socket
import ssl
import subprocess

import pytest

from conftest import LUMBAR, CAPSULE, free_port


def run(*args, timeout=20):
    cmd = [LUMBAR] + list(args)
    if os.geteuid() == 0 and "--check" not in args and "-n" not in args:
        cmd += ["--user", "nobody"]
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout)


def make_cert(certs, host, days=365, cn=None):
    os.makedirs(certs, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-days", str(days),
                    "-nodes", "-subj", f"/CN={cn or host}", "-addext",
                    f"subjectAltName=DNS:{cn or host}",
                    "-keyout", os.path.join(certs, host + ".key"),
                    "-out", os.path.join(certs, host + ".crt")],
                   check=True, capture_output=True)


def make_expired_cert(certs, work, host):
    """A self-signed certificate valid for one day in 2020.  openssl ca is
    the one command that sets both dates in OpenSSL 3.0 (Debian 12) and
    3.5 (Debian 13); `x509 -days -1` is refused by 3.5."""
    os.makedirs(certs, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    key, csr = os.path.join(certs, host + ".key"), os.path.join(work, "csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host}",
                    "-keyout", key, "-out", csr],
                   check=True, capture_output=True)
    with open(os.path.join(work, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = x\n[x]\ndatabase = index.txt\n"
                "new_certs_dir = .\nserial = serial\ndefault_md = sha256\n"
                "policy = p\ncopy_extensions = copy\n[p]\n"
                "commonName = supplied\n")
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("01\n")
    subprocess.run(["openssl", "ca", "-batch", "-config", "ca.cnf",
                    "-selfsign", "-keyfile", key, "-in", csr, "-notext",
                    "-startdate", "20200101000000Z",
                    "-enddate", "20200102000000Z",
                    "-out", os.path.join(certs, host + ".crt")],
                   check=True, capture_output=True, cwd=work)


def test_banner_names_urls_and_fingerprint(server):
    out = server.output()
    assert f"serving {server.root} on gemini://localhost:{server.port}/" \
        in out
    assert f"gopher://localhost:{server.gopher_port}/" in out
    assert f"amfora gemini://localhost:{server.port}/" in out
    m = re.search(r"certificate of localhost: SHA-256 ([0-9A-F:]{95}), "
                  r"valid until (\d{4})-\d\d-\d\d", out)
    assert m, out
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((server.host, server.port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    fp = hashlib.sha256(der).hexdigest().upper()
    assert m.group(1).replace(":", "") == fp
    assert int(m.group(2)) >= 2050


def test_check_passes_on_the_shipped_capsule(tmp_path):
    p = run("--check", "--root", CAPSULE, "--certs", str(tmp_path / "c"))
    assert p.returncode == 0, p.stderr
    assert "are fine" in p.stderr
    assert not (tmp_path / "c").exists(), "--check must create nothing"
    # No certificate yet is no problem, but said: a restored backup in the
    # wrong place would otherwise look fine.
    assert ("no certificate for localhost in %s: a new one will be made "
            "at start" % (tmp_path / "c")) in p.stderr


def test_check_refuses_an_encoded_slash_link(tmp_path):
    """The server answers 59 to a%2Fb.gmi: --check must not call the link
    fine because a/b.gmi exists."""
    root = tmp_path / "capsule"
    (root / "a").mkdir(parents=True)
    (root / "index.gmi").write_text("# Home\n=> a%2Fb.gmi B\n")
    (root / "a" / "b.gmi").write_text("# B\n")
    p = run("--check", "--root", str(root), "--certs", str(tmp_path / "c"))
    assert p.returncode == 1, p.stderr
    assert 'link "a%2Fb.gmi" is not a valid URL' in p.stderr


def test_check_names_every_problem(tmp_path):
    root = tmp_path / "capsule"
    (root / "sub").mkdir(parents=True)
    (root / "page.gmi").write_text("# Page\n=> missing.gmi gone\n"
                                   "=> sub/ a directory\n"
                                   "=> gemini://localhost/also-missing.gmi x\n"
                                   "=> gemini://elsewhere.example/ fine\n"
                                   "=> https://example.org/ fine\n")
    (root / "bad.gmi").write_bytes(b"# Bad \xff bytes\n")
    certs = tmp_path / "certs"
    make_cert(str(certs), "localhost", cn="other.example")
    p = run("--check", "--root", str(root), "--certs", str(certs),
            "--no-listing")
    assert p.returncode == 1
    err = p.stderr
    assert "no index.gmi" in err
    assert 'page.gmi: link "missing.gmi" leads nowhere' in err
    assert 'link "gemini://localhost/also-missing.gmi" leads nowhere' in err
    assert 'link "sub/" leads to a directory without index.gmi' in err
    assert "bad.gmi: not valid UTF-8" in err
    assert "the certificate is not for localhost" in err
    assert "elsewhere.example" not in err and "https://" not in err
    assert re.search(r"lumbar: 6 problems", err), err


def test_check_expired_certificate_and_broken_key(tmp_path):
    certs = tmp_path / "certs"
    make_expired_cert(certs, tmp_path / "ca", "localhost")
    p = run("--check", "--root", CAPSULE, "--certs", str(certs))
    assert p.returncode == 1 and "has expired" in p.stderr, p.stderr
    (certs / "localhost.key").write_text("not a key\n")
    p = run("--check", "--root", CAPSULE, "--certs", str(certs))
    assert p.returncode == 1
    assert "localhost.key: cannot load the key" in p.stderr, p.stderr


def test_startup_errors_are_one_clear_line(tmp_path):
    # the port is in use
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        p = run("--root", CAPSULE, "--certs", str(tmp_path / "c"),
                "--listen", "127.0.0.1", "--port", str(port),
                "--gopher-port", "0")
    assert p.returncode == 1
    lines = [l for l in p.stderr.splitlines() if l.startswith("lumbar:")]
    assert len(lines) == 1, p.stderr
    assert f"port {port}" in lines[0] and "the port is in use" in lines[0]
    # it binds before it makes a certificate: none is left behind
    assert not os.path.exists(tmp_path / "c" / "localhost.crt")
    # the capsule is missing
    p = run("--root", str(tmp_path / "nowhere"), "--certs",
            str(tmp_path / "c"), "--port", str(free_port()))
    assert p.returncode == 1
    assert p.stderr.strip().endswith(
        f"capsule {tmp_path / 'nowhere'}: No such file or directory"), \
        p.stderr
    # the key is unreadable
    certs = tmp_path / "certs"
    make_cert(str(certs), "localhost")
    (certs / "localhost.key").write_text("garbage\n")
    p = run("--root", CAPSULE, "--certs", str(certs), "--listen",
            "127.0.0.1", "--port", str(free_port()), "--gopher-port", "0")
    assert p.returncode == 1
    assert "localhost.key: cannot load the key" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    # a bad option value
    p = run("--port", "99999")
    assert p.returncode == 1
    assert '--port: "99999" is not a number from 1 to 65535' in p.stderr
