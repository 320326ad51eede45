#!/usr/bin/env python3
"""make soak: a bounded soak test of one lumbar (not part of make test).

Many concurrent clients send thousands of mixed valid and malformed Gemini
and Gopher requests to one server on loopback.  It checks that every valid
request got exactly the right answer, every malformed one its error, that
resident memory and open descriptors are flat at the end, and that neither
the parent nor a worker ever restarted.  Bounded in requests and seconds.

    tests/tools/soak.py [--requests N] [--clients C] [--seconds S]
"""
import argparse
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from conftest import LUMBAR, CAPSULE, free_port, recv_all  # noqa: E402

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def gemini(port, raw):
    with socket.create_connection(("127.0.0.1", port), 15) as s:
        with CTX.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(raw)
            return recv_all(t)


def gopher(port, raw):
    with socket.create_connection(("127.0.0.1", port), 15) as s:
        s.sendall(raw)
        return recv_all(s)


def processes(parent):
    """The parent and its workers, with RSS (kB) and open descriptors."""
    out = {}
    pids = [parent] + [int(p) for p in os.listdir("/proc") if p.isdigit()
                       and _ppid(int(p)) == parent]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f
                           if l.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            continue
        out[pid] = (rss, fds)
    return out


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=240)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="lumbar-soak-")
    port, gport = free_port(), free_port()
    cmd = [LUMBAR, "--root", CAPSULE, "--certs", os.path.join(tmp, "certs"),
           "--listen", "127.0.0.1", "--port", str(port), "--gopher-port",
           str(gport), "--max-per-client", "0", "--rate", "0",
           "--timeout", "5", "-q"]
    if os.geteuid() == 0:
        cmd += ["--user", "nobody"]
    log = open(os.path.join(tmp, "lumbar.log"), "wb")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if gemini(port, b"\r\n").startswith(b"59"):
                    break
            except OSError:
                time.sleep(0.05)
        base = f"gemini://localhost:{port}"
        # What each valid request must get, fetched once before the soak.
        valid = [
            ("gemini", f"{base}/\r\n"),
            ("gemini", f"{base}/articles/\r\n"),
            ("gemini", f"{base}/articles/inversion-therapy.gmi\r\n"),
            ("gemini", f"{base}/disclaimer.gmi\r\n"),
            ("gemini", f"{base}/nothing-here.gmi\r\n"),
            ("gemini", f"{base}/articles\r\n"),
            ("gopher", "/\r\n"),
            ("gopher", "/articles/\r\n"),
            ("gopher", "/articles/inversion-therapy.txt\r\n"),
            ("gopher", "/caps.txt\n"),
        ]
        expected = {}
        for proto, req in valid:
            fn = gemini if proto == "gemini" else gopher
            expected[(proto, req)] = fn(port if proto == "gemini" else gport,
                                        req.encode())
        assert expected[("gemini", f"{base}/\r\n")].startswith(b"20 ")
        malformed = [
            ("gemini", b"\r\n", b"59 "),
            ("gemini", b"x" * 3000, b"59 "),
            ("gemini", f"{base}/../../etc/passwd\r\n".encode(), b"59 "),
            ("gemini", f"{base}/%2e%2e/x\r\n".encode(), b"59 "),
            ("gemini", b"gemini://localhost/\x00\r\n", b"59 "),
            ("gemini", f"https://localhost:{port}/\r\n".encode(), b"53 "),
            ("gemini", f"{base}/#frag\r\n".encode(), b"59 "),
            ("gopher", b"/../../etc/passwd\r\n", b"3"),
            ("gopher", b"/" + b"a" * 400 + b"\r\n", b"3"),
            ("gopher", b"/\x01\r\n", b"3"),
            ("gopher", b"/.hidden\r\n", b"3"),
        ]
        counter = {"sent": 0, "bad": 0, "errors": [], "limit": 0}
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def client(seed):
            rnd = random.Random(seed)
            while time.monotonic() < deadline:
                with lock:
                    if counter["sent"] >= counter["limit"]:
                        return
                    counter["sent"] += 1
                try:
                    if rnd.random() < 0.7:
                        proto, req = rnd.choice(valid)
                        fn = gemini if proto == "gemini" else gopher
                        got = fn(port if proto == "gemini" else gport,
                                 req.encode())
                        ok = got == expected[(proto, req)]
                        what = req
                    else:
                        proto, raw, prefix = rnd.choice(malformed)
                        fn = gemini if proto == "gemini" else gopher
                        got = fn(port if proto == "gemini" else gport, raw)
                        ok = got.startswith(prefix)
                        what = repr(raw[:40])
                except (OSError, ssl.SSLError) as e:
                    ok, what, got = False, "connection", repr(e).encode()
                if not ok:
                    with lock:
                        counter["bad"] += 1
                        if len(counter["errors"]) < 10:
                            counter["errors"].append((proto, what, got[:80]))

        def run(limit, seed):
            counter["limit"] = limit
            threads = [threading.Thread(target=client, args=(seed + i,))
                       for i in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        # A warm-up first, so that the workers' caches and allocator
        # arenas are filled before memory is measured.
        run(min(2000, args.requests // 5), 0)
        time.sleep(1.0)
        before = processes(server.pid)
        warm = counter["sent"]
        start = time.monotonic()
        run(args.requests, 1000)
        elapsed = time.monotonic() - start
        time.sleep(1.0)     # let lingering connections close
        after = processes(server.pid)

        failures = []
        if counter["bad"]:
            failures.append(f"{counter['bad']} wrong answers, e.g. "
                            f"{counter['errors'][:3]}")
        if set(before) != set(after):
            failures.append(f"processes changed: {sorted(before)} -> "
                            f"{sorted(after)} (a restart)")
        for pid, (rss0, fds0) in before.items():
            if pid not in after:
                continue
            rss1, fds1 = after[pid]
            if fds1 != fds0:
                failures.append(f"pid {pid}: descriptors {fds0} -> {fds1}")
            if rss1 - rss0 > 2 * 1024:     # 2 MB of slack after warm-up
                failures.append(f"pid {pid}: RSS {rss0} -> {rss1} kB")
        if server.poll() is not None:
            failures.append(f"lumbar exited with {server.returncode}")
        main_phase = counter["sent"] - warm
        print(f"soak: {warm} warm-up requests, then {main_phase} from "
              f"{args.clients} clients in {elapsed:.1f} s "
              f"({main_phase / elapsed:.0f}/s)")
        for pid in sorted(after):
            print(f"soak: pid {pid}: RSS {before.get(pid, (0, 0))[0]} -> "
                  f"{after[pid][0]} kB, fds {before.get(pid, (0, 0))[1]} -> "
                  f"{after[pid][1]}")
        for f in failures:
            print("soak: FAIL:", f)
        passed = 0 if failures else 1
        print(f"{passed} passed, {1 - passed} failed")
        return 0 if passed else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
