"""Several capsules on one server (lumbar.conf(5), host blocks): each host
name serves its own root with its own certificate, settings, redirects and
search index, over real TLS and TCP; Gopher serves the host chosen for it;
a reload changes a host while a transfer finishes; a bad file is refused
with its line named and the old configuration keeps serving."""
import os
import re
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import LUMBAR, client_ctx, read_all, wait_until

BIG = 16 * 1024 * 1024      # more than the socket buffers hold


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def roots(tmp_path):
    """Two capsules that share a word and each have one of their own."""
    a = tmp_path / "capsules" / "alpha"
    b = tmp_path / "capsules" / "beta"
    for root, name, word in ((a, "Alpha", "zebra"), (b, "Beta", "yak")):
        (root / "dir").mkdir(parents=True)
        (root / "index.gmi").write_text(f"# {name} home\n=> /dir/ dir\n")
        (root / "page.gmi").write_text(f"# {name} page\nshared {word}\n")
        (root / "dir" / "x.gmi").write_text("# X\n")
    (a / "only-alpha.gmi").write_text("# Alpha only\n")
    (b / "only-beta.gmi").write_text("# Beta only\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "capsules", 0o755)
    return a, b


def hosts_conf(tmp_path, a, b, extra_alpha="", extra_beta="", top=""):
    return write(tmp_path / "lumbar.conf",
                 "workers 1\n" + top +
                 f"host alpha.test\n  root {a}\n  alias www.alpha.test\n"
                 f"  lang fr\n{extra_alpha}"
                 f"host beta.test\n  root {b}\n  lang de\n{extra_beta}")


def fetch(srv, host, path, sni=None):
    """(header, body, DER certificate) of gemini://host:port/path."""
    ctx = client_ctx()
    with socket.create_connection((srv.host, srv.port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni or host,
                             suppress_ragged_eofs=False) as s:
            der = s.getpeercert(binary_form=True)
            s.sendall(f"gemini://{host}:{srv.port}{path}\r\n".encode())
            data, _ = read_all(s)
    head, _, body = data.partition(b"\r\n")
    return head.decode(), body.decode("utf-8", "replace"), der


def cert_der(srv, name):
    with open(os.path.join(srv.certs, name + ".crt")) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def cert_names(srv, name):
    p = subprocess.run(["openssl", "x509", "-noout", "-ext",
                        "subjectAltName", "-in",
                        os.path.join(srv.certs, name + ".crt")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return re.findall(r"DNS:([^,\s]+)", p.stdout)


def sighup(srv):
    os.kill(srv.proc.pid, signal.SIGHUP)


def test_two_hosts_two_roots_two_certificates(server_factory, roots,
                                              tmp_path):
    a, b = roots
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    head, body, der_a = fetch(s, "alpha.test", "/")
    assert head == "20 text/gemini; charset=utf-8; lang=fr", head
    assert "# Alpha home" in body
    head, body, der_b = fetch(s, "beta.test", "/")
    assert head == "20 text/gemini; charset=utf-8; lang=de", head
    assert "# Beta home" in body
    # Each host's pages only.
    assert fetch(s, "alpha.test", "/only-alpha.gmi")[0].startswith("20")
    assert fetch(s, "alpha.test", "/only-beta.gmi")[0].startswith("51")
    assert fetch(s, "beta.test", "/only-beta.gmi")[0].startswith("20")
    assert fetch(s, "beta.test", "/only-alpha.gmi")[0].startswith("51")
    # Each its own certificate, chosen by SNI, naming it.
    assert der_a != der_b
    assert der_a == cert_der(s, "alpha.test")
    assert der_b == cert_der(s, "beta.test")
    assert cert_names(s, "alpha.test") == ["alpha.test"]
    assert cert_names(s, "beta.test") == ["beta.test"]
    # SNI and URL must name the same host; an unknown one is not served.
    assert fetch(s, "beta.test", "/", sni="alpha.test")[0].startswith("53")
    assert fetch(s, "other.test", "/")[0].startswith("53")
    assert "serving %s on gemini://beta.test:" % b in s.output()


def test_alias_is_served_as_its_host(server_factory, roots, tmp_path):
    a, b = roots
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    head, body, der = fetch(s, "www.alpha.test", "/only-alpha.gmi")
    assert head == "20 text/gemini; charset=utf-8; lang=fr", head
    assert "# Alpha only" in body
    # An alias has its own certificate, as a second --hostname has.
    assert der == cert_der(s, "www.alpha.test")
    assert cert_names(s, "www.alpha.test") == ["www.alpha.test"]


def test_search_stays_inside_one_host(server_factory, roots, tmp_path):
    a, b = roots
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    head, body, _ = fetch(s, "alpha.test", "/search?zebra")
    assert head.startswith("20") and "=> /page.gmi Alpha page" in body, body
    head, body, _ = fetch(s, "beta.test", "/search?zebra")
    assert head.startswith("20") and "No page has all these words" in body
    # A word of both: each host lists its own page only.
    body = fetch(s, "beta.test", "/search?shared")[1]
    assert "Beta page" in body and "Alpha page" not in body, body
    body = fetch(s, "alpha.test", "/search?shared")[1]
    assert "Alpha page" in body and "Beta page" not in body, body
    # Over Gopher too: it serves the first host.
    menu = s.gopher("/search\tyak\r\n").decode()
    assert "No page has all these words" in menu, menu


def test_gopher_serves_the_chosen_host(server_factory, roots, tmp_path):
    a, b = roots
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    menu = s.gopher("/\r\n").decode()
    assert "Alpha home" in menu and "\talpha.test\t" in menu, menu
    s.stop()
    # gopher-host naming one of the hosts chooses it, and is in menus.
    conf = hosts_conf(tmp_path, a, b, top="gopher-host beta.test\n")
    s = server_factory(args=["-f", conf])
    menu = s.gopher("/\r\n").decode()
    assert "Beta home" in menu and "\tbeta.test\t" in menu, menu
    assert b"Beta only" in s.gopher("/only-beta.gmi\r\n")
    assert "serving %s on gopher://beta.test:" % b in s.output()
    s.stop()
    # A name that is no host's (an address) is written, the first served.
    conf = hosts_conf(tmp_path, a, b, top="gopher-host 127.0.0.1\n")
    s = server_factory(args=["-f", conf])
    menu = s.gopher("/\r\n").decode()
    assert "Alpha home" in menu and "\t127.0.0.1\t" in menu, menu


def test_per_host_redirects(server_factory, roots, tmp_path):
    a, b = roots
    conf = hosts_conf(tmp_path, a, b,
                      top="redirect /everywhere.gmi /page.gmi\n",
                      extra_alpha="  redirect /old.gmi /page.gmi\n"
                                  "  redirect-temporary /tmp/* /dir/*\n",
                      extra_beta="  gone /old.gmi\n")
    s = server_factory(args=["-f", conf, "--gopher-host", "alpha.test"])
    assert fetch(s, "alpha.test", "/old.gmi")[0] == "31 /page.gmi"
    assert fetch(s, "www.alpha.test", "/old.gmi")[0] == "31 /page.gmi"
    assert fetch(s, "alpha.test", "/tmp/x.gmi")[0] == "30 /dir/x.gmi"
    assert fetch(s, "beta.test", "/old.gmi")[0].startswith("52")
    assert fetch(s, "beta.test", "/tmp/x.gmi")[0].startswith("51")
    # The global list is every host's, after its own.
    assert fetch(s, "alpha.test", "/everywhere.gmi")[0] == "31 /page.gmi"
    assert fetch(s, "beta.test", "/everywhere.gmi")[0] == "31 /page.gmi"
    # Gopher: the alpha host's rules, as a menu to the new selector.
    menu = s.gopher("/old.gmi\r\n").decode()
    assert "moved to /page.gmi" in menu and "\t/page.gmi\t" in menu, menu
    s.stop()
    s = server_factory(args=["-f", conf, "--gopher-host", "beta.test"])
    assert s.gopher("/old.gmi\r\n").startswith(b"3gone")


def test_per_host_listing(server_factory, roots, tmp_path):
    a, b = roots
    conf = hosts_conf(tmp_path, a, b, extra_alpha="  listing off\n")
    s = server_factory(args=["-f", conf])
    assert fetch(s, "alpha.test", "/dir/")[0].startswith("51")
    head, body, _ = fetch(s, "beta.test", "/dir/")
    assert head.startswith("20") and "x.gmi" in body
    assert s.gopher("/dir/\r\n").startswith(b"3")     # alpha's, off
    s.stop()
    # The global setting is the default a block keeps or overrides.
    conf = hosts_conf(tmp_path, a, b, top="listing off\n",
                      extra_beta="  listing on\n")
    s = server_factory(args=["-f", conf])
    assert fetch(s, "alpha.test", "/dir/")[0].startswith("51")
    assert fetch(s, "beta.test", "/dir/")[0].startswith("20")


def test_reload_changes_a_root_and_a_limit_mid_transfer(server_factory,
                                                        roots, tmp_path):
    a, b = roots
    (a / "big.bin").write_bytes(b"x" * BIG)
    a2 = tmp_path / "capsules" / "alpha2"
    a2.mkdir()
    (a2 / "index.gmi").write_text("# Alpha moved\n")
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    raw = socket.create_connection((s.host, s.port), 10)
    slow = client_ctx().wrap_socket(raw, server_hostname="alpha.test")
    slow.sendall(f"gemini://alpha.test:{s.port}/big.bin\r\n".encode())
    first = slow.recv(4096)
    assert first.startswith(b"20 ")
    hosts_conf(tmp_path, a2, b, top="max-per-client 2\n",
               extra_beta="  root %s\n" % a)
    sighup(s)
    wait_until(lambda: "# Alpha moved" in fetch(s, "alpha.test", "/")[1],
               "the new root of alpha.test served")
    # The old generation finishes the transfer, every byte.
    got = len(first) - len(first.partition(b"\r\n")[0]) - 2
    while chunk := slow.recv(1 << 20):
        got += len(chunk)
    assert got == BIG
    slow.close()
    # beta.test now serves alpha's old root (the last root line wins).
    assert "# Alpha home" in fetch(s, "beta.test", "/")[1]
    assert fetch(s, "alpha.test", "/big.bin")[0].startswith("51")
    # The search index follows the root.
    assert "No page has all" in fetch(s, "alpha.test", "/search?zebra")[1]
    assert "needs a restart" not in s.output()
    # The new limit: two connections held, a third from here is refused.
    with socket.create_connection((s.host, s.port), 10), \
            socket.create_connection((s.host, s.port), 10):
        wait_until(lambda: fetch(s, "alpha.test", "/")[0].startswith("44"),
                   "max-per-client 2 refuses a third connection")


def test_reload_adds_a_host_with_a_new_certificate(server_factory, roots,
                                                   tmp_path):
    a, b = roots
    conf = tmp_path / "lumbar.conf"
    write(conf, f"workers 1\nhost alpha.test\n  root {a}\n")
    s = server_factory(args=["-f", str(conf)])
    assert fetch(s, "beta.test", "/")[0].startswith("53")
    hosts_conf(tmp_path, a, b)
    sighup(s)
    wait_until(lambda: fetch(s, "beta.test", "/")[0].startswith("20"),
               "the new host served")
    assert fetch(s, "beta.test", "/")[2] == cert_der(s, "beta.test")
    assert "# Alpha home" in fetch(s, "alpha.test", "/")[1]


def check(args):
    return subprocess.run([os.path.abspath(LUMBAR), "-n"] + args,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("block, line, said", [
    ("  port 1966\n", 3, "port is not a setting of a host block"),
    ("  root /nonexistent/lumbar-test\n", 3,
     "root /nonexistent/lumbar-test: No such file or directory"),
    ("  alias beta.test\n", 4, "host beta.test: that name is already"),
    ("  lang a;b\n", 3, 'lang: "a;b" is not a language tag'),
    ("  gone nowhere\n", 3, "FROM is a path"),
])
def test_bad_host_block_names_the_line(roots, tmp_path, block, line, said):
    a, b = roots
    conf = write(tmp_path / "bad.conf",
                 f"host alpha.test\n  root {a}\n{block}"
                 f"host beta.test\n  root {b}\n")
    r = check(["-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1, r.stderr
    assert f"{conf}:{line}: " in r.stderr and said in r.stderr, r.stderr


def test_bad_host_lines(roots, tmp_path):
    a, b = roots
    for text, said in (
            ("alias www.test\n", ":1: alias belongs in a host block"),
            ("host not_a/host\n", ':1: host: "not_a/host" is not a host'),
            ("host\n", ":1: host needs a host name"),
            ("host a.test\nhost A.TEST\n", ":2: host A.TEST: that name "
                                           "is already a host's"),
            (f"hostname x.test\nhost a.test\n  root {a}\n",
             "hostname: the configuration has host blocks")):
        conf = write(tmp_path / "bad.conf", text)
        r = check(["-c", str(tmp_path / "c"), "-f", conf])
        assert r.returncode == 1 and said in r.stderr, (text, r.stderr)


def test_check_looks_at_every_host(roots, tmp_path):
    a, b = roots
    conf = hosts_conf(tmp_path, a, b)
    r = check(["-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 0, r.stderr
    assert "the 2 capsules and the certificates are fine" in r.stderr
    (b / "index.gmi").write_text("# Beta\n=> /missing.gmi gone\n")
    r = check(["-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1 and f"{b}/index.gmi" in r.stderr, r.stderr


def test_bad_reload_keeps_the_old_hosts(server_factory, roots, tmp_path):
    a, b = roots
    conf = hosts_conf(tmp_path, a, b)
    s = server_factory(args=["-f", conf])
    good = open(conf).read()
    write(tmp_path / "lumbar.conf", good + "  root /nonexistent/lumbar-x\n")
    sighup(s)
    wait_until(lambda: "still serving the old configuration" in s.output(),
               "the error logged")
    assert (f"SIGHUP: {conf}:9: root /nonexistent/lumbar-x: No such file "
            "or directory") in s.output(), s.output()
    assert "# Beta home" in fetch(s, "beta.test", "/")[1]
    assert "# Alpha home" in fetch(s, "www.alpha.test", "/")[1]


def test_per_host_access_log(server_factory, roots, tmp_path):
    a, b = roots
    alpha_log = tmp_path / "alpha.log"
    conf = hosts_conf(tmp_path, a, b, extra_alpha=f"  log {alpha_log}\n")
    s = server_factory(args=["-f", conf])
    fetch(s, "alpha.test", "/only-alpha.gmi")
    fetch(s, "beta.test", "/only-beta.gmi")
    s.gopher("/page.gmi\r\n")           # Gopher serves alpha.test
    wait_until(lambda: "only-beta.gmi" in s.output(),
               "beta's request in the server's log")
    wait_until(lambda: alpha_log.exists() and
               "/page.gmi" in alpha_log.read_text(),
               "alpha's Gopher request in its own log")
    own = alpha_log.read_text()
    assert re.search(r'^\S+Z gemini 127\.0\.0\.1:\d+ "gemini://alpha\.test:'
                     r'\d+/only-alpha\.gmi" 20 ', own, re.M), own
    assert "only-beta" not in own, own
    assert "only-alpha" not in s.output(), s.output()
    # The log file is a secret like the server's: never served.
    os.chmod(alpha_log, 0o644)        # readable: only the rule hides it
    os.link(alpha_log, a / "alpha.log")
    assert fetch(s, "alpha.test", "/alpha.log")[0].startswith("51")


def test_host_log_inside_a_root_is_refused(roots, tmp_path):
    a, b = roots
    conf = hosts_conf(tmp_path, a, b, extra_beta=f"  log {a}/x.log\n")
    r = check(["-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1, r.stderr
    assert not (a / "x.log").exists(), "--check makes nothing"
    assert (f"{a}/x.log: the access log of beta.test lies inside the "
            f"capsule {a}") in r.stderr, r.stderr
    conf = hosts_conf(tmp_path, a, b, extra_beta="  log syslog\n")
    r = check(["-c", str(tmp_path / "c"), "-f", conf])
    assert r.returncode == 1 and ":9: log: a host's access log is a file" \
        in r.stderr, r.stderr


def test_no_link_leads_into_another_host(server_factory, roots, tmp_path):
    """The workers' chroot holds both roots; each host's paths are still
    resolved beneath its own root, so no link reaches the other's files."""
    a, b = roots
    (a / "to-beta.gmi").symlink_to("../beta/only-beta.gmi")
    (a / "beta-dir").symlink_to("../beta")
    (a / "abs.gmi").symlink_to(b / "only-beta.gmi")
    (a / "inside.gmi").symlink_to("page.gmi")
    s = server_factory(args=["-f", hosts_conf(tmp_path, a, b)])
    for path in ("/to-beta.gmi", "/beta-dir/only-beta.gmi", "/abs.gmi",
                 "/../beta/only-beta.gmi", "/%2e%2e/beta/only-beta.gmi"):
        head, body, _ = fetch(s, "alpha.test", path)
        assert head[:1] == "5" and "Beta" not in body, (path, head)
        assert b"Beta" not in s.gopher(path + "\r\n"), path
    assert "# Alpha page" in fetch(s, "alpha.test", "/inside.gmi")[1]
    # Nor a listing or the search index shows what such links lead to.
    (a / "links").mkdir()
    (a / "links" / "to-beta.gmi").symlink_to("../../beta/only-beta.gmi")
    (a / "links" / "beta-dir").symlink_to("../../beta")
    (a / "links" / "here.gmi").symlink_to("../page.gmi")
    head, listing, _ = fetch(s, "alpha.test", "/links/")
    assert head.startswith("20") and "here.gmi" in listing, listing
    assert "to-beta" not in listing and "beta-dir" not in listing, listing
    body = fetch(s, "alpha.test", "/search?yak")[1]
    assert "No page has all these words" in body, body


def test_host_max_conns(server_factory, roots, tmp_path):
    """A host's max-conns counts its own answers across the workers: one
    capsule at its limit is answered 44, over Gemini and Gopher, while
    the other is served; the answer given back frees the place."""
    a, b = roots
    (b / "big.bin").write_bytes(b"x" * BIG)
    conf = hosts_conf(tmp_path, a, b, top="gopher-host beta.test\n",
                      extra_beta="  max-conns 1\n")
    s = server_factory(args=["-f", conf, "--workers", "2"])
    raw = socket.create_connection((s.host, s.port), 10)
    slow = client_ctx().wrap_socket(raw, server_hostname="beta.test")
    slow.sendall(f"gemini://beta.test:{s.port}/big.bin\r\n".encode())
    assert slow.recv(4096).startswith(b"20 ")
    # Whichever worker takes them, beta.test is at its limit.
    for _ in range(4):
        assert fetch(s, "beta.test", "/")[0] == "44 5"
        assert fetch(s, "alpha.test", "/")[0].startswith("20")
    menu = s.gopher("/\r\n").decode()
    assert menu.startswith("3host at its max-conns, try again in 5 "
                           "seconds\t"), menu
    slow.close()
    wait_until(lambda: fetch(s, "beta.test", "/")[0].startswith("20"),
               "beta.test serves again once its answer ended")
    assert s.gopher("/\r\n").decode().startswith("i")
