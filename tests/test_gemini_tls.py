"""Gemini's TLS as a client sees it: close_notify after every answer,
TLS 1.3 and 1.2 but not 1.1, clients that are not TLS or go away early,
openssl s_client, and the certificates lumbar makes, keeps and reads."""
import datetime
import hashlib
import os
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import threading

import pytest

from conftest import tls_connect
from helpers.gemini_capsule import FILES, GEMTEXT, HEADER_RE, check
from helpers.gemini_capsule import capsule, srv  # noqa: F401 (fixtures)


# --------------------------------------------------------- close_notify

@pytest.mark.parametrize("req", [
    "{u}/page.gmi", "{u}/notes.txt", "{u}/image.png", "{u}/big.bin",
    "{u}/listed/", "{u}/withindex", "{u}/nope.gmi", "{u}/.secret.gmi",
    "https://localhost/", "{u}/%2e%2e/", "{u}/%zz", "",
    "gemini://localhost/" + "x" * 1100])
def test_close_notify_on_every_response(srv, req):
    r = srv.gemini(req.format(u=srv.url("")) + "\r\n")
    assert HEADER_RE.match(r.header), r.header
    assert r.clean, f"no close_notify after {r.header!r} for {req!r}"


# ----------------------------------------------------------------- TLS

def test_tls13_negotiated_by_default(srv):
    r = srv.get("/page.gmi")
    check(r, "20")
    assert r.version == "TLSv1.3"


def test_tls12_accepted(srv):
    r = srv.get("/page.gmi", tls_max=ssl.TLSVersion.TLSv1_2)
    check(r, "20")
    assert r.version == "TLSv1.2"


def test_tls11_refused(srv, tmp_path):
    # First prove this client can speak TLS 1.1 at all, against a Python
    # server that allows it with lumbar's own certificate; otherwise a
    # refusal would prove nothing.
    crt = os.path.join(srv.certs, "localhost.crt")
    key = os.path.join(srv.certs, "localhost.key")
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)
    sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    sctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen()
    result = {}

    def serve():
        c, _ = ls.accept()
        try:
            with sctx.wrap_socket(c, server_side=True) as t:
                result["v"] = t.version()
        except (OSError, ssl.SSLError) as e:
            result["e"] = e

    th = threading.Thread(target=serve)
    th.start()
    try:
        with tls_connect(*ls.getsockname(), timeout=10,
                         tls_min=ssl.TLSVersion.TLSv1_1,
                         tls_max=ssl.TLSVersion.TLSv1_1,
                         ciphers="DEFAULT:@SECLEVEL=0") as t:
            control = t.version()
    except (OSError, ssl.SSLError):
        control = None
    th.join(10)
    ls.close()
    if control != "TLSv1.1":
        pytest.skip("this OpenSSL client cannot speak TLS 1.1 at all")
    with pytest.raises(ssl.SSLError):
        srv.gemini(srv.url("/page.gmi") + "\r\n",
                   tls_min=ssl.TLSVersion.TLSv1_1,
                   tls_max=ssl.TLSVersion.TLSv1_1,
                   ciphers="DEFAULT:@SECLEVEL=0")
    check(srv.get("/page.gmi"), "20", "after a refused TLS 1.1 client")


def test_non_tls_client_gets_no_plaintext_answer(srv):
    with socket.create_connection((srv.host, srv.port), 30) as s:
        s.sendall(srv.url("/page.gmi").encode() + b"\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    assert b"20 text/gemini" not in data and FILES["page.gmi"] not in data
    check(srv.get("/page.gmi"), "20", "after a plaintext client")


def test_clients_that_go_away_early(srv):
    # TCP connect and close
    socket.create_connection((srv.host, srv.port), 10).close()
    # garbage instead of a ClientHello
    with socket.create_connection((srv.host, srv.port), 10) as s:
        s.sendall(bytes(range(256)) * 4)
    # handshake, then close without a request
    srv.tls(timeout=10).close()
    # half a request, then a reset
    t = srv.tls(timeout=10)
    t.sendall(b"gemini://localh")
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()
    # a request and a close before reading the (large) answer
    t = srv.tls(timeout=10)
    t.sendall((srv.url("/big.bin") + "\r\n").encode())
    t.recv(10)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()
    for _ in range(3):
        r = srv.get("/page.gmi")
        check(r, "20", "after clients that went away")
        assert r.body == FILES["page.gmi"]


def test_openssl_s_client(srv):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("SKIP: openssl not installed (apt-get install openssl)")
    p = subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{srv.port}",
         "-servername", "localhost", "-quiet"],
        input=(srv.url("/page.gmi") + "\r\n").encode(),
        capture_output=True, timeout=60)
    head, _, body = p.stdout.partition(b"\r\n")
    assert head.decode() == GEMTEXT, p.stdout[:200] + p.stderr[-500:]
    assert body == FILES["page.gmi"]
    p = subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{srv.port}",
         "-servername", "localhost", "-brief", "-ign_eof"],
        input=(srv.url("/notes.txt") + "\r\n").encode(),
        capture_output=True, timeout=60)
    assert b"20 text/plain; charset=us-ascii\r\n" in p.stdout, p.stdout
    assert b"TLSv1.3" in p.stderr, p.stderr


# ---------------------------------------------------------- certificates

def load_cert(pem_path):
    try:
        from cryptography import x509
    except ImportError:
        return None
    with open(pem_path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def test_certificate_created_ec_p256_mode_0600(server_factory, capsule,
                                               tmp_path):
    certs = tmp_path / "fresh-certs"
    old = os.umask(0)      # the key must be 0600 whatever the umask
    try:
        s = server_factory(root=capsule["root"], gopher=False, certs=certs)
    finally:
        os.umask(old)
    crt, key = certs / "localhost.crt", certs / "localhost.key"
    assert crt.is_file() and key.is_file(), os.listdir(certs)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, \
        oct(key.stat().st_mode)
    assert not stat.S_IMODE(crt.stat().st_mode) & 0o022
    r = s.get("/page.gmi")
    check(r, "20")
    pem = crt.read_bytes()
    assert r.cert == ssl.PEM_cert_to_DER_cert(
        pem.decode().split("-----END CERTIFICATE-----")[0] +
        "-----END CERTIFICATE-----\n"), "served certificate is not the file"
    c = load_cert(crt)
    if c is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID, ExtensionOID
        pub = c.public_key()
        assert isinstance(pub, ec.EllipticCurvePublicKey), type(pub)
        assert pub.curve.name == "secp256r1"
        now = datetime.datetime.now(datetime.timezone.utc)
        nb = c.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        na = c.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        assert nb <= now + datetime.timedelta(minutes=5)
        assert na - now > datetime.timedelta(days=365 * 5), \
            f"validity ends {na}: too short for trust on first use"
        names = [a.value for a in
                 c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        try:
            names += c.extensions.get_extension_for_oid(
                ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value \
                .get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            pass
        assert "localhost" in names, names
        priv = serialization.load_pem_private_key(key.read_bytes(), None)
        assert priv.public_key().public_numbers() == pub.public_numbers()
    else:
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in",
                               str(crt)], capture_output=True,
                              text=True).stdout
        assert "id-ecPublicKey" in text and "prime256v1" in text, text


def test_certificate_reused_on_restart(server_factory, capsule, tmp_path):
    certs = tmp_path / "kept-certs"
    s1 = server_factory(root=capsule["root"], gopher=False, certs=certs)
    fp1 = hashlib.sha256(s1.get("/page.gmi").cert).hexdigest()
    files = {p: (certs / p).read_bytes() for p in os.listdir(certs)}
    s1.stop()
    s2 = server_factory(root=capsule["root"], gopher=False, certs=certs)
    fp2 = hashlib.sha256(s2.get("/page.gmi").cert).hexdigest()
    assert fp1 == fp2, "a new certificate was made on restart"
    assert {p: (certs / p).read_bytes() for p in os.listdir(certs)} == files


def test_own_certificate_used(server_factory, capsule, tmp_path):
    certs = tmp_path / "own"
    certs.mkdir()
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(certs / "localhost.key"),
         "-out", str(certs / "localhost.crt"), "-days", "30",
         "-subj", "/CN=localhost"], capture_output=True)
    if p.returncode != 0:
        pytest.skip("openssl req failed: " + p.stderr.decode())
    os.chmod(certs / "localhost.key", 0o600)
    der = ssl.PEM_cert_to_DER_cert((certs / "localhost.crt").read_text())
    s = server_factory(root=capsule["root"], gopher=False, certs=certs)
    r = s.get("/page.gmi")
    check(r, "20")
    assert r.cert == der
