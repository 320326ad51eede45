"""How lumbar reads a Gemini request line: hosts, ports and SNI (53 for
what it does not serve, internationalised names), malformed URLs and
bytes (59), the 1024-byte limit, over-long and endless lines."""
import os
import socket
import ssl
import subprocess

import pytest

from conftest import read_all
from helpers.gemini_capsule import FILES, check
from helpers.gemini_capsule import capsule, srv  # noqa: F401 (fixtures)


# ---------------------------------------------------------------- 53

@pytest.mark.parametrize("req", [
    "https://localhost:{port}/page.gmi",
    "gopher://localhost:{port}/",
    "titan://localhost:{port}/page.gmi",
    "http://localhost:{port}/",
    "gemini://example.org:{port}/page.gmi",
    "gemini://localhost.example:{port}/page.gmi",
    "gemini://localhost:{other}/page.gmi",
])
def test_proxy_refused(srv, req):
    other = srv.port + 1 if srv.port < 65535 else srv.port - 1
    r = srv.gemini(req.format(port=srv.port, other=other) + "\r\n")
    check(r, "53", req)


def test_sni_must_match_url_host(srv):
    check(srv.get("/page.gmi", sni="other.example"), "53", "SNI mismatch")
    check(srv.get("/page.gmi", sni="localhost"), "20", "SNI match")


def test_several_hostnames(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["-H", "localhost", "-H", "alias.test"])
    r = s.gemini(s.url("/page.gmi", host="alias.test") + "\r\n",
                 sni="alias.test")
    check(r, "20", "alias")
    assert r.body == FILES["page.gmi"]
    check(s.get("/page.gmi"), "20", "primary")
    check(s.gemini(s.url("/page.gmi", host="other.test") + "\r\n",
                   sni="other.test"), "53", "unknown host")
    check(s.gemini(s.url("/page.gmi", host="alias.test") + "\r\n",
                   sni="localhost"), "53", "SNI differs from URL host")


def test_internationalised_hostname(server_factory, capsule):
    """-H in Unicode: served under its A-labels (the only form SNI can
    carry) and under either spelling in the URL; the certificate names
    the A-labels, never raw UTF-8."""
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["-H", "b\u00fccher.example"])
    ace = "xn--bcher-kva.example"
    for host in (ace, "b\u00fccher.example", "B\u00dcCHER.example"):
        r = s.gemini(s.url("/page.gmi", host=host) + "\r\n", sni=ace)
        check(r, "20", host)
        assert r.body == FILES["page.gmi"]
    check(s.gemini(s.url("/page.gmi", host="bucher.example") + "\r\n",
                   sni=ace), "53", "another name")
    crt = os.path.join(s.certs, ace + ".crt")
    san = subprocess.run(["openssl", "x509", "-noout", "-ext",
                          "subjectAltName", "-in", crt], check=True,
                         capture_output=True, text=True).stdout
    assert "DNS:" + ace in san, san
    assert "\u00fc" not in san and "\\x" not in san, san


# ---------------------------------------------------------------- 59

MALFORMED = [
    # not absolute
    "/page.gmi", "page.gmi", "localhost/page.gmi", "//localhost:{port}/",
    "gemini:/localhost/", "gemini:localhost/page.gmi",
    # userinfo, fragment
    "gemini://user@localhost:{port}/page.gmi",
    "gemini://user:pw@localhost:{port}/",
    "gemini://localhost:{port}/page.gmi#frag",
    "gemini://localhost:{port}/#",
    # bad host or port
    "gemini://:{port}/", "gemini:///page.gmi", "gemini://[::1:{port}/",
    "gemini://localhost:99999/", "gemini://localhost:port/",
    # bad percent-encoding
    "gemini://localhost:{port}/%", "gemini://localhost:{port}/%4",
    "gemini://localhost:{port}/%zz", "gemini://localhost:{port}/a%g1",
    "gemini://localhost:{port}/?%zz",
    # decoded NUL and control characters
    "gemini://localhost:{port}/%00", "gemini://localhost:{port}/page.gmi%00",
    "gemini://localhost:{port}/page.gmi%00.txt",
    "gemini://localhost:{port}/%0a", "gemini://localhost:{port}/%0d%0a",
    "gemini://localhost:{port}/%1b", "gemini://localhost:{port}/%7f",
    # decoded invalid UTF-8
    "gemini://localhost:{port}/%ff", "gemini://localhost:{port}/%C3%28",
    "gemini://localhost:{port}/%C0%AF",
    # dot segments, literal and encoded
    "gemini://localhost:{port}/./page.gmi",
    "gemini://localhost:{port}/listed/../page.gmi",
    "gemini://localhost:{port}/listed/%2e%2e/page.gmi",
    "gemini://localhost:{port}/%2e/page.gmi",
    "gemini://localhost:{port}/%2E%2e/", "gemini://localhost:{port}/.%2e/",
    "gemini://localhost:{port}/listed/.",
]
MALFORMED_RAW = [
    b"gemini://localhost:{port}/\xff.gmi",          # invalid UTF-8
    b"gemini://localhost:{port}/\xc3(",
    b"gemini://localhost:{port}/\xc0\xaf",          # overlong '/'
    b"gemini://localhost:{port}/a b",               # space
    b"gemini://localhost:{port}/\tpage.gmi",
    b"gemini://localhost:{port}/\x01",
    b"gemini://localhost:{port}/\x1b[31m",
    b"gemini://localhost:{port}/page.gmi\x00",
    b"gemini://localhost:{port}/\x7f",
    b" gemini://localhost:{port}/page.gmi",
    b"gemini://localhost:{port}/page.gmi ",
]


@pytest.mark.parametrize("req", MALFORMED)
def test_malformed_request_59(srv, req):
    check(srv.gemini(req.format(port=srv.port) + "\r\n"), "59", req)


@pytest.mark.parametrize("req", MALFORMED_RAW)
def test_malformed_bytes_59(srv, req):
    check(srv.gemini(req.replace(b"{port}", str(srv.port).encode()) +
                     b"\r\n"), "59", repr(req))


def test_empty_request_59(srv):
    check(srv.gemini(b"\r\n"), "59", "empty request")


def test_url_of_exactly_1024_bytes_accepted(srv):
    prefix = srv.url("/")
    u = prefix + "x" * (1024 - len(prefix))
    assert len(u.encode()) == 1024
    check(srv.gemini(u + "\r\n"), "51", "1024-byte URL")
    # and such a URL to a real file is served
    name = "/page.gmi?"
    u2 = srv.url(name) + "q" * (1024 - len(srv.url(name)))
    assert len(u2) == 1024
    r = srv.gemini(u2 + "\r\n")
    check(r, "20", "1024-byte URL with query")
    assert r.body == FILES["page.gmi"]


def test_url_of_1025_bytes_refused(srv):
    prefix = srv.url("/")
    u = prefix + "x" * (1025 - len(prefix))
    check(srv.gemini(u + "\r\n"), "59", "1025-byte URL")


def test_overlong_request_without_crlf(server_factory, capsule):
    """2000 bytes and no CRLF: 59 and a closed connection, without waiting
    for more input (the read deadline is set far beyond the socket
    time-out, so a server waiting for it fails here)."""
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120"])
    with s.tls(timeout=60) as t:
        t.sendall(b"gemini://localhost/" + b"a" * (2000 - 19))
        data, clean = read_all(t)       # the write side stays open
    assert data.startswith(b"59"), data[:100]
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == 1, data
    assert clean, "no close_notify after 59"
    check(s.get("/page.gmi"), "20", "after an over-long request")


def test_endless_request_stopped(server_factory, capsule):
    """A client streaming megabytes without CRLF is cut off; the server does
    not buffer it all and goes on serving."""
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--timeout", "120"])
    got = b""
    with s.tls(timeout=60) as t:
        try:
            for _ in range(256):                 # up to 16 MiB
                t.sendall(b"b" * 65536)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass                                 # cut off while sending
        except socket.timeout:
            pytest.fail("server neither reads nor closes")
        # Whether or not the sending was cut short, the server must
        # now answer and close: a time-out here is a server still
        # reading (and dropping) an endless line.
        try:
            got, _ = read_all(t)
        except socket.timeout:
            pytest.fail("server kept reading a line without end")
        except (OSError, ssl.SSLError):
            got = b""                            # reset after its answer
    assert got == b"" or got.startswith(b"59"), got[:100]
    check(s.get("/page.gmi"), "20", "after an endless request")


def test_default_port_is_no_port(srv):
    """gemini://host:1965/ is gemini://host/ (RFC 3986, 6.2.3): served
    alike, even when lumbar listens on another port."""
    assert srv.port != 1965
    a = srv.gemini("gemini://localhost:1965/\r\n")
    b = srv.gemini("gemini://localhost/\r\n")
    assert a[0].startswith("20 ") and a[:2] == b[:2]
    assert srv.gemini("gemini://localhost:1966/\r\n")[0].startswith("53 ")
    # Leading zeros are still the same port (port = *DIGIT).
    assert srv.gemini("gemini://localhost:0%d/\r\n" % srv.port)[0] \
        .startswith("20 ")


def test_trailing_dot_in_url_and_sni(srv):
    """A client that copies "localhost." from the URL into SNI names the
    same host: served, not 53."""
    head, _, clean = srv.gemini("gemini://localhost./\r\n", sni="localhost.")
    assert head.startswith("20 ") and clean
    head, _, _ = srv.gemini("gemini://localhost/\r\n", sni="localhost.")
    assert head.startswith("20 ")
    head, _, _ = srv.gemini("gemini://localhost/\r\n", sni="otherhost")
    assert head.startswith("53 ")
