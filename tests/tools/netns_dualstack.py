"""Run by test_scaleout.py inside a private network namespace (unshare -n),
where loopback is the only network: lumbar on its default listener, one
socket for IPv6 and IPv4, on which an IPv4 peer arrives as ::ffff:a.b.c.d.

usage: netns_dualstack.py LUMBAR ROOT WORKDIR [lumbar options...]
Prints "dualstack: ok" and exits 0, or names what failed and exits 1."""
import os
import signal
import socket
import subprocess
import sys
import time

GEMINI_PORT, GOPHER_PORT = 1965, 7070


def gopher(src, data, timeout=5):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", GOPHER_PORT))
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except ConnectionResetError:
            pass
        return out, s.getsockname()[1]


def main():
    lumbar, root, work = sys.argv[1:4]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    log = os.path.join(work, "lumbar.log")
    cmd = [lumbar, "--root", root, "--certs", os.path.join(work, "certs"),
           "--port", str(GEMINI_PORT), "--gopher-port", str(GOPHER_PORT),
           "--proxy-protocol", "--proxy-from", "127.0.0.1",
           "--log", log] + sys.argv[4:]
    os.makedirs(os.path.join(work, "certs"), exist_ok=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    problems = []
    try:
        deadline = time.monotonic() + 20
        while True:     # ready when a worker answers from 127.0.0.2
            try:
                if gopher("127.0.0.2", b"/\r\n")[0].startswith(b"i"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("dualstack: lumbar did not start: %s"
                                 % " ".join(cmd))
            time.sleep(0.1)
        header = b"PROXY TCP4 203.0.113.7 127.0.0.1 5555 7070\r\n"
        menu, _ = gopher("127.0.0.1", header + b"/\r\n")
        if not menu.startswith(b"i"):
            problems.append("the PROXY header from 127.0.0.1, the "
                            "--proxy-from address, got %r" % menu[:80])
        forged, _ = gopher("127.0.0.2", header + b"/\r\n")
        if forged.startswith(b"i"):
            problems.append("a PROXY header from 127.0.0.2 was obeyed")
        plain, port = gopher("127.0.0.2", b"/\r\n")
        if not plain.startswith(b"i"):
            problems.append("a plain request from 127.0.0.2 got %r"
                            % plain[:80])
        # The log line is written after the close: wait for both, bounded.
        deadline = time.monotonic() + 10
        while True:
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if ("203.0.113.7:5555" in text and "127.0.0.2:%d " % port in
                    text) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if "203.0.113.7:5555" not in text:
            problems.append("the proxied client is not in the log")
        if "127.0.0.2:%d " % port not in text:
            problems.append("127.0.0.2:%d is not logged as IPv4" % port)
        if "::ffff:" in text:
            problems.append("an IPv4 client logged as ::ffff:")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if problems:
        print("dualstack: " + "; ".join(problems))
        with open(log, encoding="utf-8", errors="replace") as f:
            print(f.read()[-3000:])
        sys.exit(1)
    print("dualstack: ok")


if __name__ == "__main__":
    main()
