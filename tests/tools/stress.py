#!/usr/bin/env python3
"""make stress: many concurrent clients of mixed behaviour against ONE
worker, so that their requests interleave in one event loop and one cache.

Clients read whole answers fast, read them slowly through a small receive
buffer (so the worker holds each answer for a long time), or hang up in
the middle of one.  They ask for large Gopher menus and large files, for
the same page under each of its names (a directory, its index.gmi, a
symlinked directory), its text form, searches and listings, over both
protocols, while a thread sends SIGHUP to the parent (a reload) and to the
worker (a cache flush).  Every answer read to its end is compared byte for
byte with the one fetched alone before the run.  Bounded in seconds and
clients; the server's log must hold no sanitizer report.

    tests/tools/stress.py [--seconds S] [--clients C] [--seed N]
"""
import argparse
import os
import random
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from conftest import Server, recv_all, slow_connect, workers_of  # noqa: E402

HOST = ".".join(["h" * 60] * 4)     # long: menus many times their page
TIMEOUT = 30                        # seconds a client waits on a read
ALIASES = (b"/d/", b"/d/index.gmi", b"d/", b"/d", b"/e/", b"/e/index.gmi")
CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def make_capsule(root):
    """Pages whose menus are large, a streamed file, a cached file,
    aliases of one page and searchable words."""
    rnd = random.Random(7)
    (root / "d").mkdir(parents=True)
    (root / "list").mkdir()
    (root / "index.gmi").write_text(
        "# Home\n=> d/ Large menu\n=> list/ A listing\n"
        "=> search Search\n")
    (root / "d" / "index.gmi").write_text(
        "# Stress menu\nA page with the word zebrafish.\n" +
        "=>/z\n" * 20000)
    (root / "d" / "more.gmi").write_text(
        "# More zebrafish\n" + "=>/d/\n" * 2000)
    (root / "e").symlink_to("d")
    (root / "big.bin").write_bytes(rnd.randbytes(600 * 1024))
    (root / "mid.bin").write_bytes(rnd.randbytes(100 * 1024))
    for i in range(20):
        (root / "list" / f"p{i:02}.gmi").write_text(
            f"# Page {i} about zebrafish\n" + "words and more words\n" * i)


def requests(port):
    base = f"gemini://localhost:{port}"
    gopher = ["/d/", "/d/index.gmi", "d/", "/d", "/e/", "/e/index.gmi",
              "/d/index.txt", "/e/index.txt", "/d/more.gmi", "/d/more.txt",
              "/big.bin", "/mid.bin", "/list/", "/list/index.txt",
              "/search\tzebrafish", "/search\tpage words", "/"]
    gemini = ["/", "/d/", "/d/index.gmi", "/e/", "/big.bin", "/mid.bin",
              "/list/", "/search?zebrafish", "/search?page%20words"]
    return ([("gopher", (s + "\r\n").encode()) for s in gopher] +
            [("gemini", f"{base}{p}\r\n".encode()) for p in gemini])


def connect(srv, proto, slow):
    port = srv.gopher_port if proto == "gopher" else srv.port
    if slow:
        s = slow_connect(srv.host, port, TIMEOUT)
    else:
        s = socket.create_connection((srv.host, port), TIMEOUT)
    if proto == "gemini":
        s = CTX.wrap_socket(s, server_hostname="localhost")
    return s


def read_slowly(s, rnd):
    """Read in small pieces with short pauses: the worker keeps the
    answer in flight for a while, but well within its deadline."""
    data = bytearray(s.recv(512))
    time.sleep(rnd.uniform(0, 0.3))     # the worker's buffers fill up
    while True:
        chunk = s.recv(rnd.choice((512, 4096, 16384)))
        if not chunk:
            return bytes(data)
        data += chunk
        if rnd.random() < 0.05:
            time.sleep(0.002)


def one(srv, rnd, proto, req):
    """One request; the answer read whole, or None when hung up on."""
    kind = rnd.choices(("fast", "slow", "abort"), (5, 3, 2))[0]
    s = connect(srv, proto, kind == "slow")
    try:
        s.sendall(req)
        if kind == "abort":
            s.recv(rnd.choice((1, 100, 5000)))
            if rnd.random() < 0.5:      # a reset rather than a close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return kind, None
        return kind, (recv_all(s) if kind == "fast" else read_slowly(s, rnd))
    finally:
        s.close()


def run(seconds, clients, seed, tmp):
    """Returns (counts, failures): failures empty when every answer read
    whole matched and the server reported nothing."""
    tmp = Path(tmp)
    root = tmp / "capsule"
    make_capsule(root)
    srv = Server(tmp, root=root, args=["--workers", "1", "--gopher-host",
                                       HOST, "--timeout", "10", "-q",
                                       "--max-per-client", "0",
                                       "--rate", "0"])
    failures, counts = [], {}
    lock = threading.Lock()
    try:
        reqs = requests(srv.port)
        expected = {}
        for proto, req in reqs:
            s = connect(srv, proto, False)
            with s:
                s.sendall(req)
                expected[req] = recv_all(s)
            assert expected[req], req
        deadline = time.monotonic() + seconds

        def client(n):
            rnd = random.Random(seed * 1000 + n)
            aliases = [r for r in reqs if r[0] == "gopher" and
                       r[1].split(b"\r")[0] in ALIASES]
            while time.monotonic() < deadline:
                # Often one name of the large menu's page: its
                # names replace each other's menu in the cache.
                proto, req = rnd.choice(aliases if rnd.random() < 0.3
                                        else reqs)
                try:
                    kind, got = one(srv, rnd, proto, req)
                except (OSError, ssl.SSLError) as e:
                    kind, got = "error", repr(e).encode()
                with lock:
                    counts[kind] = counts.get(kind, 0) + 1
                    if kind != "abort" and got != expected[req] and \
                            len(failures) < 10:
                        failures.append(
                            f"{kind} {req[:60]!r}: {len(got)} bytes, "
                            f"expected {len(expected[req])}; "
                            f"first difference at byte "
                            f"{first_diff(got, expected[req])}")

        def signaller():
            rnd = random.Random(seed)
            while time.monotonic() < deadline:
                time.sleep(rnd.uniform(0.5, 1.5))
                if rnd.random() < 0.3:      # a reload: a new worker
                    srv.proc.send_signal(signal.SIGHUP)
                    counts["reload"] = counts.get("reload", 0) + 1
                else:                       # the worker's cache flushed
                    for pid in workers_of(srv.proc.pid):
                        try:
                            os.kill(pid, signal.SIGHUP)
                        except ProcessLookupError:
                            pass
                    counts["flush"] = counts.get("flush", 0) + 1

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(clients)]
        threads.append(threading.Thread(target=signaller))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        try:
            srv.stop()
        except AssertionError as e:     # a sanitizer report, an exit code
            failures.append(str(e)[-3000:])
    return counts, failures


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lumbar-stress-") as tmp:
        os.chmod(tmp, 0o755)    # read by the workers' user when root
        counts, failures = run(args.seconds, args.clients, args.seed, tmp)
    print("stress: " + ", ".join(f"{v} {k}" for k, v in sorted(
        counts.items())) + f" in {args.seconds:g} s")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
