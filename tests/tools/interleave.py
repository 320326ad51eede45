#!/usr/bin/env python3
"""make interleave: a deterministic, seeded interleaver of several
connections' events through ONE real lumbar worker.

One thread drives K non-blocking connections (Gemini over real TLS, Gopher
over TCP) through a schedule drawn only from the seed: at each step it
picks a connection and an action: open it with a request from the pool,
send the next few bytes of its request (requests are split at any byte, in
the middle of a UTF-8 sequence or of the CRLF), read the next N bytes of
its answer, stop reading for a number of steps (slow connections have a
small receive buffer, so the worker's writes block), close it (FIN, or
the kernel's RST when unread bytes wait) or abort it (RST) in the middle
of the answer, or send SIGHUP to the parent (a reload) or to the worker
(a cache flush).  After the last step every connection still
open reads to its end.  Each answer read to its end is compared byte for
byte with the one fetched alone before the schedule; the server must not
die, hang (steps and seconds are bounded) or log a sanitizer report.

tests/tools/stress.py is the random, timed counterpart: threads and sleeps make
its failures unrepeatable.  Here the same seed gives the same schedule
(the steps and their arguments never depend on what the sockets did), and
each step finishes what it does before the next (a connect, a handshake,
a send, a read of N bytes or to the end, each bounded in time), so
`--seed N` replays a failure: the same steps with the same results at the
client; on one, the seed, the step and the last steps are printed.  Only
the server's order among events that arrive together, and when a reloaded
worker exits, are left to the kernel.

    tests/tools/interleave.py [--seeds N] [--first N] [--seed N] [--steps S]
                        [--conns K] [--trace]
"""
import argparse
import errno
import os
import random
import select
import signal
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from conftest import (SANITIZER_MARKS, Server, client_ctx,  # noqa: E402
                      read_all, workers_of)
from tools.stress import HOST, make_capsule  # noqa: E402

SEND_SIZES = (1, 1, 2, 3, 5, 8, 13, 64, 4096)
READ_SIZES = (1, 7, 100, 1500, 16384, 65536)
SLOW_RCVBUF = 4096
WAIT_SECONDS = 20       # for the bytes of one step: longer is a hang
SEED_SECONDS = 300      # for a whole schedule, its end included
DRAIN_READ = 65536      # at the end, a round reads this from each
LINGER_RST = b"\x01\x00\x00\x00\x00\x00\x00\x00"    # on, 0 s: a reset
# Names of the large menu's page: rendering one replaces the menu the
# cache holds for the page, which another connection may be sending.
ALIASES = {"/d/", "/d/index.gmi", "//d//index.gmi", "d/", "/d", "/e/",
           "/e/index.gmi"}


class Failure(Exception):
    pass


def add_pages(root):
    """What make_capsule lacks: a UTF-8 name, to split inside it."""
    (root / "caf\u00e9.gmi").write_text("# Caf\u00e9 \u00e9clair\n"
                                        "zebrafish \u00e0 la carte\n")


def pool(port):
    """(protocol, request) of every request a connection may make."""
    base = f"gemini://localhost:{port}"
    gmax = 1024 + 2     # the server reads a line of at most this
    gopher = [s + "\r\n" for s in (
        "/d/", "/d/index.gmi", "//d//index.gmi", "d/", "/d", "/e/",
        "/e/index.gmi", "/d/index.txt", "/e/index.txt", "/d/more.gmi",
        "/d/more.txt", "/big.bin", "/mid.bin", "/list/", "/list/index.txt",
        "/search\tzebrafish", "/search\tpage words",
        "/search\tz\u00e9bra caf\u00e9", "/caf\u00e9.gmi", "/caf\u00e9.txt",
        "", "/", "/../etc/passwd", "/nowhere")]
    gopher = [s.encode() for s in gopher] + [
        b"/\xc3\r\n",                       # cut UTF-8
        b"/d/x\x00",   # refused at the NUL: nothing left unread
        b"/" + b"a" * (gmax - 1),           # over-long: no line end
        b"/" + b"b" * 1022 + b"\r\n"]       # the longest allowed
    gemini = [(base + p + "\r\n").encode() for p in (
        "/", "/d/", "/d/index.gmi", "//d//index.gmi", "/e/", "/big.bin",
        "/mid.bin", "/list/", "/search?zebrafish", "/search?page%20words",
        "/search?z%C3%A9bra", "/caf%C3%A9.gmi", "/caf\u00e9.gmi",
        "/../../etc/passwd", "/nowhere")] + [
        f"{base}/\n".encode(),              # LF alone
        b"\r\n", b"http://localhost/\r\n", b"gemini://\xff\xfe/\r\n",
        f"gemini://localhost:{port}/x\x00".encode(),
        (base + "/").encode().ljust(gmax, b"a"),            # over-long
        (base + "/").encode().ljust(1024, b"c") + b"\r\n"]  # the longest
    return ([("gopher", r) for r in gopher] +
            [("gemini", r) for r in gemini])


def fetch_alone(srv, proto, req):
    """The answer to req sent whole on a connection of its own."""
    if proto == "gopher":
        return srv.gopher(req, timeout=60)
    with socket.create_connection((srv.host, srv.port), 60) as raw:
        with client_ctx().wrap_socket(raw, server_hostname="localhost",
                                      suppress_ragged_eofs=False) as s:
            s.sendall(req)
            data, clean = read_all(s)
    if not clean:
        raise Failure(f"alone, {req[:60]!r} ended without close_notify")
    return data


class Conn:
    """One client connection, non-blocking, and where it is."""

    def __init__(self, n, opened, proto, req, slow, srv, ctx):
        self.n, self.opened, self.proto, self.req = n, opened, proto, req
        self.slow = slow
        self.sent, self.got = 0, bytearray()
        self.paused_until = 0
        self.done = False
        port = srv.gopher_port if proto == "gopher" else srv.port
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if slow:
            self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                SLOW_RCVBUF)
        self.raw.setblocking(False)
        err = self.raw.connect_ex((srv.host, port))
        if err not in (0, errno.EINPROGRESS):
            raise Failure(f"conn {n}: connect: {os.strerror(err)}")
        self.connected = err == 0
        self.s = self.raw
        self.tls = None
        if proto == "gemini":
            self.tls = ctx.wrap_socket(self.raw, server_hostname="localhost",
                                       do_handshake_on_connect=False,
                                       suppress_ragged_eofs=False)
            # wrap_socket detached raw: the TLS socket is the socket
            self.raw = self.s = self.tls
        self.shaken = proto == "gopher"

    def what(self):
        return (f"conn {self.n} ({self.proto}{' slow' if self.slow else ''}"
                f", opened at step {self.opened}) {self.req[:70]!r}")

    def wait(self, deadline, what, write=False):
        """Until the socket is readable (writable), at most until
        deadline: a server that answers nothing is hung."""
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([] if write else [self.s],
                                          [self.s] if write else [], [],
                                          left)[1 if write else 0]:
            raise Failure(f"{self.what()}: hung: no {what} in "
                          f"{WAIT_SECONDS} s ({len(self.got)} bytes read)")

    def ready(self):
        """Finish the TCP connect and the TLS handshake (bounded): done
        on the connection's first step after its opening, whatever the
        kernel's timing, so that the schedule's effect stays the same."""
        deadline = time.monotonic() + WAIT_SECONDS
        if not self.connected:
            self.wait(deadline, "connection", write=True)
            err = self.raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise Failure(f"{self.what()}: connect: {os.strerror(err)}")
            self.connected = True
        while not self.shaken:
            try:
                self.tls.do_handshake()
                self.shaken = True
            except ssl.SSLWantReadError:
                self.wait(deadline, "handshake")
            except ssl.SSLWantWriteError:
                self.wait(deadline, "handshake", write=True)

    def send(self, n):
        """Send the next n bytes of the request (fewer when it ends)."""
        self.ready()
        chunk = self.req[self.sent:self.sent + n]
        deadline = time.monotonic() + WAIT_SECONDS
        while chunk:
            try:
                # A TLS write is retried with the same bytes.
                k = self.s.send(chunk)
            except (BlockingIOError, ssl.SSLWantWriteError):
                self.wait(deadline, "room to send", write=True)
                continue
            except ssl.SSLWantReadError:
                self.wait(deadline, "room to send")
                continue
            self.sent += k
            return k
        return 0

    def read(self, n):
        """Read n bytes, or to the end of the answer when it ends first;
        True at its end.  Nothing is waited for while the request is not
        all sent: the server has no line to answer yet."""
        self.ready()
        want = len(self.got) + n
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.got) < want:
            try:
                chunk = self.s.recv(want - len(self.got))
            except (BlockingIOError, ssl.SSLWantReadError):
                if self.sent < len(self.req):
                    return False
                self.wait(deadline, "answer")
                continue
            except ssl.SSLWantWriteError:
                self.wait(deadline, "answer", write=True)
                continue
            except (ConnectionResetError, ssl.SSLEOFError) as e:
                raise Failure(f"{self.what()}: cut after {len(self.got)} "
                              f"bytes: {e!r}")
            except ssl.SSLError as e:
                if e.reason == "UNEXPECTED_EOF_WHILE_READING":
                    raise Failure(f"{self.what()}: no close_notify after "
                                  f"{len(self.got)} bytes")
                raise
            if not chunk:
                return True
            self.got += chunk
        return False

    def close(self, reset):
        if reset:
            self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                LINGER_RST)
        self.s.close()
        self.done = True


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check(c, expected):
    want = expected[(c.proto, c.req)]
    if bytes(c.got) != want:
        raise Failure(f"{c.what()}: {len(c.got)} bytes, expected "
                      f"{len(want)}, first difference at byte "
                      f"{first_diff(c.got, want)}")


def server_report(srv, seen):
    """Fail at the step where the server's log first holds a sanitizer
    report or a worker's death (it is read only when it grew past seen);
    returns its size."""
    size = os.path.getsize(srv.log)
    if size != seen:
        out = srv.output()
        if "killed by signal" in out or any(m in out
                                            for m in SANITIZER_MARKS):
            raise Failure("the server's log holds a report (below)")
    return size


def schedule(seed, steps, conns, reqs):
    """The steps of seed: (connection, action, request and kind of a
    connection opened there, bytes to send or read, steps to pause),
    drawn before anything is sent so that no outcome can change them."""
    rnd = random.Random(seed)
    aliases = [r for r in reqs if r[1].split(b"\r")[0].decode(
        "utf-8", "replace") in ALIASES]
    out = []
    for _ in range(steps):
        i = rnd.randrange(conns)
        a = rnd.choices(("send", "read", "pause", "close", "abort",
                         "reload", "flush"), (30, 45, 5, 1, 1, 0.4, 0.4))[0]
        # Drawn every step, used or not: the stream stays the same.
        req = rnd.choice(aliases) if rnd.random() < 0.4 else rnd.choice(reqs)
        slow = rnd.random() < 0.5
        size = rnd.choice(READ_SIZES if a == "read" else SEND_SIZES)
        pause = rnd.randrange(5, 80)
        out.append((i, a, req, slow, size, pause))
    return out


def run_seed(seed, steps, conns, tmp, trace=False):
    """One seed on a server of its own.  Returns (counts, None) or
    (counts, failure message)."""
    tmp = Path(tmp)
    root = tmp / "capsule"
    make_capsule(root)
    add_pages(root)
    srv = Server(tmp, root=root, args=["--workers", "1", "--gopher-host",
                                       HOST, "-q", "--max-per-client", "0",
                                       "--rate", "0"])
    counts = {}
    history = []
    step = -1
    failure = None
    live = []
    cur = None          # the connection being driven
    log_size = 0
    try:
        reqs = pool(srv.port)
        expected = {r: fetch_alone(srv, *r) for r in reqs}
        ctx = client_ctx()
        deadline = time.monotonic() + SEED_SECONDS
        slots = [None] * conns
        opened = 0

        def finish(c):
            check(c, expected)
            c.close(False)
            counts["whole"] = counts.get("whole", 0) + 1

        for step, (i, a, req, slow, size, pause) in enumerate(
                schedule(seed, steps, conns, reqs)):
            if srv.proc.poll() is not None:
                raise Failure(f"lumbar exited {srv.proc.returncode}")
            if time.monotonic() > deadline:
                raise Failure(f"hung: over {SEED_SECONDS} s")
            c = cur = slots[i]
            if c is not None and c.done:
                c = slots[i] = None
            if a in ("reload", "flush"):
                cur = None
                pids = [srv.proc.pid] if a == "reload" else \
                    workers_of(srv.proc.pid)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGHUP)
                    except ProcessLookupError:  # a reloaded one ended
                        pass
                note = f"step {step}: SIGHUP {a}"
            elif c is None:         # any action opens an empty slot
                a = "open"
                c = cur = slots[i] = Conn(opened, step, *req, slow, srv,
                                          ctx)
                opened += 1
                live.append(c)
                note = f"step {step}: open {c.what()}"
            elif a == "send":
                k = c.send(size)
                note = f"step {step}: conn {c.n} sent {k} of {size}"
            elif a == "read":
                if step < c.paused_until:
                    a = "paused"
                    note = f"step {step}: conn {c.n} not reading"
                else:
                    if c.read(size):
                        finish(c)
                    note = (f"step {step}: conn {c.n} read up to {size}, "
                            f"has {len(c.got)}{' (end)' if c.done else ''}")
            elif a == "pause":
                c.paused_until = step + pause
                note = f"step {step}: conn {c.n} stops reading {pause} steps"
            else:
                note = (f"step {step}: conn {c.n} {a} after sending "
                        f"{c.sent}, reading {len(c.got)}")
                c.close(a == "abort")
            counts[a] = counts.get(a, 0) + 1
            history.append(note)
            if trace:
                print(note, flush=True)
            log_size = server_report(srv, log_size)
        step = "end"
        # Every connection still open sends the rest and reads to the
        # end, in rounds: each one's answer keeps moving, as the server's
        # per-write deadline wants.
        rest = [c for c in live if not c.done]
        while rest:
            if time.monotonic() > deadline:
                raise Failure(f"hung: over {SEED_SECONDS} s; open: " +
                              "; ".join(c.what() for c in rest))
            for c in rest:
                cur = c
                c.send(len(c.req))
                if c.read(DRAIN_READ):
                    finish(c)
            rest = [c for c in rest if not c.done]
            log_size = server_report(srv, log_size)
    except Failure as e:
        failure = f"seed {seed} failed at step {step}: {e}"
    except (OSError, ssl.SSLError) as e:    # e.g. the worker died
        failure = f"seed {seed} failed at step {step}: " + \
            (f"{cur.what()}: " if cur else "") + repr(e)
    finally:
        for c in live:
            if not c.done:
                c.close(False)
        try:
            srv.stop()
        except AssertionError as e:     # a sanitizer report, an exit code
            failure = failure or f"seed {seed}: the server failed"
            out = str(e)
            at = min([out.find(m) for m in SANITIZER_MARKS if m in out] or
                     [max(0, len(out) - 3000)])
            failure += "\n" + out[at:at + 3000]
        if failure is None and "killed by signal" in srv.output():
            failure = f"seed {seed}: a worker died:\n{srv.output()[-3000:]}"
    if failure:
        failure += "\nlast steps:\n  " + "\n  ".join(history[-25:])
    return counts, failure


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200,
                    help="how many seeds to run (default 200)")
    ap.add_argument("--first", type=int, default=1,
                    help="the first of them (default 1)")
    ap.add_argument("--seed", type=int, help="replay this seed alone")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--conns", type=int, default=6)
    ap.add_argument("--trace", action="store_true",
                    help="print every step")
    args = ap.parse_args()
    seeds = [args.seed] if args.seed is not None else \
        range(args.first, args.first + args.seeds)
    total, start = {}, time.monotonic()
    for seed in seeds:
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="lumbar-interleave-") as tmp:
            os.chmod(tmp, 0o755)    # read by the workers' user when root
            counts, failure = run_seed(seed, args.steps, args.conns, tmp,
                                       args.trace)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        print(f"seed {seed}: {'FAIL' if failure else 'ok'} in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        if failure:
            print("FAIL:", failure)
            print(f"replay: tests/tools/interleave.py --seed {seed} "
                  f"--steps {args.steps} --conns {args.conns} --trace")
            return 1
    print(f"interleave: {len(seeds)} seeds of {args.steps} steps, " +
          ", ".join(f"{v} {k}" for k, v in sorted(total.items())) +
          f", in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
