"""What lumbar's TLS settings look like to a real client over loopback:
the cipher chosen (AES-128-GCM first, the others still offered) and the
key exchange groups (--tls-groups)."""
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import LUMBAR, free_port


def handshake(srv, tls_max=None, ciphers=None):
    """(protocol, cipher name) a default Python client gets."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls_max is not None:
        ctx.maximum_version = tls_max
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    with socket.create_connection((srv.host, srv.port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            name, proto, _ = s.cipher()
            return proto, name


def test_aes128_gcm_is_preferred(server):
    # OpenSSL's clients list AES-256-GCM first; the server's order decides.
    assert handshake(server) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    assert handshake(server, tls_max=ssl.TLSVersion.TLSv1_2) == \
        ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")


def test_other_ciphers_are_still_offered(server):
    for c in ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-GCM-SHA384"):
        assert handshake(server, tls_max=ssl.TLSVersion.TLSv1_2,
                         ciphers=c) == ("TLSv1.2", c)


def s_client_group(srv, groups):
    """The key exchange group an openssl s_client offering groups gets."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("SKIP: openssl not installed (apt-get install openssl)")
    p = subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{srv.port}",
         "-servername", "localhost", "-groups", groups, "-brief"],
        input=f"gemini://localhost:{srv.port}/\r\n".encode(),
        capture_output=True, timeout=60)
    for line in p.stderr.decode("utf-8", "replace").splitlines():
        # "Server Temp Key: X25519, 253 bits" / "ECDH, prime256v1, 256 bits"
        if line.startswith(("Server Temp Key:", "Peer Temp Key:")):
            return line.split(":", 1)[1].strip()
    return "no handshake: " + p.stderr.decode("utf-8", "replace")[-500:]


def test_tls_groups_option(server_factory):
    srv = server_factory(args=["--tls-groups", "P-384:P-256"])
    # The client's first key share (X25519) is not served: it retries
    # with a group the server takes.
    assert "P-384" in s_client_group(srv, "X25519:P-384") or \
        "secp384r1" in s_client_group(srv, "X25519:P-384")
    assert s_client_group(srv, "X25519").startswith("no handshake")


def test_default_groups_serve_x25519_and_p256(server):
    assert s_client_group(server, "X25519").startswith("X25519")
    got = s_client_group(server, "P-256")
    assert "prime256v1" in got or "P-256" in got, got


def test_unknown_tls_group_is_refused_at_start(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    os.chmod(tmp_path, 0o755)   # readable by --user nobody
    os.chmod(root, 0o755)
    p = subprocess.run(
        [LUMBAR, "--root", str(root), "--certs", str(tmp_path / "c"),
         "--port", str(free_port()), "--gopher-port", "0", "--tls-groups", "X25519:nope"]
        + (["--user", "nobody"] if os.geteuid() == 0 else []),
        capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "--tls-groups X25519:nope" in p.stderr, p.stderr
