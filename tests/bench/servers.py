#!/usr/bin/python3
"""make bench: lumbar beside molly-brown (Gemini) and gophernicus (Gopher),
in one run, on the same page, measured with gemload; prints the table and
writes bench/results.md.

Everything runs inside a private network namespace (`unshare -n`, then
`ip link set lo up`) when we are root, because molly-brown listens on every
address: there, the only address is loopback.  Timings live here and never
in `make test`.

Environment: BENCH_SECS (seconds per measurement, default 4), BENCH_N
(request cap per measurement, default 40000), BENCH_HOLD (idle connection
counts, default "1000,10000"; empty to skip).
"""
import datetime
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
LUMBAR = os.path.join(BUILD, "lumbar")
GEMLOAD = os.path.join(BUILD, "gemload")
TLSFLOOR = os.path.join(BUILD, "tlsfloor")
ARTICLE = "articles/inversion-therapy.gmi"
RESULTS = os.path.join(ROOT, "bench", "results.md")
NS_MARK = "LUMBAR_BENCH_NETNS"

SECS = float(os.environ.get("BENCH_SECS", "4"))
NREQ = int(os.environ.get("BENCH_N", "40000"))
HOLD = [int(x) for x in os.environ.get("BENCH_HOLD", "1000,10000").split(",")
        if x.strip()]
CONCURRENCY = (1, 16, 64)
UNPRIV = "nobody"
TICK = os.sysconf("SC_CLK_TCK")

notes = []          # printed under the table: what was skipped and why
started = []        # every Popen we made, stopped in finally


def say(*a):
    print(*a, flush=True)


# --- peers ---------------------------------------------------------------

def ensure_peers():
    """Install molly-brown and gophernicus from Debian when root and
    missing; this has to happen before the namespace cuts the network."""
    want = []
    if not shutil.which("molly-brown"):
        want.append("molly-brown")
    if not os.path.exists("/usr/sbin/gophernicus"):
        want.append("gophernicus")
    if not want:
        return
    if os.geteuid() != 0:
        notes.append("not root: cannot install " + " ".join(want))
        return
    say("installing " + " ".join(want) + " from Debian ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        r = subprocess.run(["apt-get", "install", "-y"] + want, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300)
        if r.returncode:
            notes.append("apt-get install %s failed: %s" % (
                " ".join(want), r.stdout.decode(errors="replace")[-300:]))
    except (OSError, subprocess.TimeoutExpired) as e:
        notes.append("apt-get install %s failed: %s" % (" ".join(want), e))


def enter_namespace():
    """Re-run this script in a private network namespace when possible."""
    if os.environ.get(NS_MARK):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return True
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    if subprocess.run(["unshare", "-n", "true"],
                      stderr=subprocess.DEVNULL).returncode:
        return False
    env = dict(os.environ, **{NS_MARK: "1"})
    sys.stdout.flush()
    os.execvpe("unshare", ["unshare", "-n", "--", sys.executable,
                           os.path.abspath(__file__)] + sys.argv[1:], env)
    return False  # not reached


def raise_nofile():
    """10,000 held connections need more descriptors than 1024, in
    gemload and in the server; children inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() == 0 and hard < 65536:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
            return
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- processes: CPU and memory from /proc ----------------------------------

def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """The server's process and all its descendants (workers, or the
    per-connection children of a socket activator)."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pid):
    """utime+stime of every live process of the server, plus cutime+cstime:
    children that exited and were reaped (a worker that died, or each
    gophernicus that served one request) are counted in their parent."""
    total = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime is field 14 -> index 11.
        total += sum(int(x) for x in fields[11:15])
    return total


def memory(pid):
    """Sums over the server's processes, in KiB: private (clean+dirty),
    private dirty, PSS (shared pages split between their users, the fair
    total of a multi-process server), and peak RSS (VmHWM; shared pages count once per
    process, so this over-states a multi-process server a little)."""
    priv = dirty = pss = hwm = n = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("Private_Clean", "Private_Dirty"):
                        priv += int(v.split()[0])
                    if k == "Private_Dirty":
                        dirty += int(v.split()[0])
                    if k == "Pss":
                        pss += int(v.split()[0])
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            n += 1
        except OSError:
            continue
    return {"priv": priv, "dirty": dirty, "pss": pss, "hwm": hwm,
            "procs": n}


# --- servers --------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def spawn(cmd, log, **kw):
    f = open(log, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, **kw)
    f.close()
    started.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def as_unpriv():
    """Popen arguments to run as nobody when root (gophernicus refuses
    root; molly-brown should not have it either)."""
    if os.geteuid() != 0:
        return {}
    return {"user": UNPRIV, "group": "nogroup", "extra_groups": []}


def lumbar_help():
    try:
        return subprocess.run([LUMBAR, "--help"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def start_lumbar(tmp, content, tag):
    port, gport = free_port(), free_port()
    certs = os.path.join(tmp, "lumbar-certs")
    os.makedirs(certs, exist_ok=True)
    helptext = lumbar_help()
    cmd = [LUMBAR, "--root", content, "--certs", certs, "--port", str(port),
           "--gopher-port", str(gport), "--listen", "127.0.0.1",
           "--hostname", "localhost", "--timeout", "60",
           # Like molly-brown's, its access log goes to /dev/null: both
           # format and write a line per request.
           "--log", "/dev/null"]
    # One address sends every request here; the per-client limit is a
    # defence against one abuser, not something to measure.
    if "--max-per-client" in helptext:
        cmd += ["--max-per-client", "100000", "--max-conns", "20000"]
    if "--rate" in helptext:
        cmd += ["--rate", "0"]
    if os.geteuid() == 0 and "--user" in helptext:
        cmd += ["--user", UNPRIV]
    p = spawn(cmd, os.path.join(tmp, "lumbar-%s.log" % tag))
    if not wait_port(port, p) or not wait_port(gport, p):
        raise SystemExit("lumbar did not start: " + " ".join(cmd))
    return p, port, gport


def start_molly(tmp, content):
    exe = shutil.which("molly-brown")
    if not exe:
        notes.append("molly-brown is not installed: Gemini measured for "
                     "lumbar only")
        return None, 0
    if not os.environ.get(NS_MARK):
        notes.append("molly-brown skipped: it listens on every address and "
                     "there is no private network namespace (needs root)")
        return None, 0
    port = free_port()
    # The same kind of certificate lumbar makes: EC P-256, self-signed.
    crt, key = os.path.join(tmp, "mb.crt"), os.path.join(tmp, "mb.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "30", "-subj", "/CN=localhost"],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)  # a throw-away key, read by nobody
    logs = os.path.join(tmp, "mb-logs")
    os.makedirs(logs, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(logs, UNPRIV)
    conf = os.path.join(tmp, "molly-brown.conf")
    with open(conf, "w") as f:
        f.write('Port = %d\nHostname = "localhost"\nCertPath = "%s"\n'
                'KeyPath = "%s"\nDocBase = "%s"\nAccessLog = "/dev/null"\n'
                'ErrorLog = "%s/error.log"\n'
                % (port, crt, key, content, logs))
    p = spawn([exe, "-c", conf], os.path.join(tmp, "molly-brown.out"),
              **as_unpriv())
    if not wait_port(port, p):
        notes.append("molly-brown did not start (see its error.log)")
        stop(p)
        return None, 0
    return p, port


def start_gophernicus(tmp, content):
    exe = "/usr/sbin/gophernicus"
    act = shutil.which("systemd-socket-activate")
    if not os.path.exists(exe):
        notes.append("gophernicus is not installed: Gopher measured for "
                     "lumbar only")
        return None, 0
    if not act:
        notes.append("systemd-socket-activate missing: gophernicus skipped")
        return None, 0
    port = free_port()
    # As Debian ships it (gophernicus.socket, Accept=yes): one process per
    # connection, here spawned by systemd's own socket activator.
    # Its per-client throttle (after 4096 hits in a 30-minute session it
    # answers slowly) would measure the throttle, since every request comes
    # from one address: raised, as lumbar's per-client limit is.
    cmd = [act, "--accept", "--inetd", "-l", "127.0.0.1:%d" % port,
           exe, "-h", "localhost", "-p", str(port), "-r", content,
           "-i", "1000000000", "-k", "1000000000"]
    p = spawn(cmd, os.devnull, **as_unpriv())
    if not wait_port(port, p):
        notes.append("gophernicus did not start")
        stop(p)
        return None, 0
    return p, port


# --- measuring ------------------------------------------------------------

def gemload(args, timeout):
    r = subprocess.run([GEMLOAD, "-q"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    kv = {}
    for line in r.stdout.decode().splitlines():
        if line.startswith("gemload:"):
            for tok in line.split()[1:]:
                k, _, v = tok.partition("=")
                kv[k] = v
    if not kv:
        raise SystemExit("gemload failed: " + r.stderr.decode())
    kv["stderr"] = r.stderr.decode().strip()
    return kv


def measure(server, proto, pid, url, conns, resume):
    args = ["-n", str(NREQ), "-c", str(conns), "-d", str(SECS)]
    if resume:
        args.append("-r")
    before = cpu_ticks(pid)
    kv = gemload(args + [url], SECS + 60)
    time.sleep(0.2)  # let the activator reap its last children
    after = cpu_ticks(pid)
    done = int(kv["requests"])
    row = {
        "server": server, "proto": proto,
        "hs": ("resumed" if resume else "full") if proto == "gemini" else "-",
        "c": conns, "rps": float(kv["rps"]), "p50": float(kv["p50_ms"]),
        "p99": float(kv["p99_ms"]), "errors": int(kv["errors"]),
        "requests": done,
        "cpu_us": (after - before) * 1e6 / TICK / done if done else 0.0,
        "client_us": float(kv["client_cpu_us"]),
        "resumed": int(kv.get("resumed", 0)),
    }
    if kv["stderr"]:
        notes.append("%s %s c=%d: %s" % (server, row["hs"], conns,
                                          kv["stderr"].splitlines()[0]))
    say("  %-11s %-6s %-7s c=%-3d %8.0f req/s  p99 %7.2f ms  server %6.0f "
        "us/req  client %4.0f us/req  errors %d%s" % (
            server, proto, row["hs"], conns, row["rps"], row["p99"],
            row["cpu_us"], row["client_us"], row["errors"],
            "  resumed %d/%d" % (row["resumed"], done) if resume else ""))
    return row


def bench_server(name, proto, proc, url, rows, mems):
    gemload(["-n", "300", "-c", "8", "-d", "3"] + url.split(), 60)  # warm up
    for resume in (False, True) if proto == "gemini" else (False,):
        for c in CONCURRENCY:
            rows.append(measure(name, proto, proc.pid, url, c, resume))
    # lumbar serves both protocols: its entry is after both runs.  A
    # second of quiet first, the same for every server: lumbar gives free
    # heap pages back when idle, Go's collector runs in the background.
    time.sleep(1)
    mems[name] = (memory(proc.pid), mems.get(name, (None, []))[1] + [proto])


def hold_test(tmp, content):
    """lumbar's memory idle and with N idle TLS connections held."""
    out = []
    p, port, _ = start_lumbar(tmp, content, "hold")
    try:
        url = "gemini://localhost:%d/%s" % (port, ARTICLE)
        fresh = memory(p.pid)
        gemload(["-n", "200", "-c", "8", url], 60)
        time.sleep(0.5)
        idle = memory(p.pid)
        out.append(("idle, just started", fresh, None, None))
        out.append(("idle, after 200 requests", idle, None, None))
        for n in HOLD:
            g = subprocess.Popen([GEMLOAD, "-q", "--hold", "120", "-c",
                                  str(n), "--timeout", "30", url],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            started.append(g)
            held, line = 0, b""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and b"\n" not in line:
                r, _, _ = select.select([g.stdout], [], [], 1)
                if r:
                    ch = os.read(g.stdout.fileno(), 256)
                    if not ch:
                        break
                    line += ch
            for tok in line.split():
                if tok.startswith(b"held="):
                    held = int(tok[5:])
            time.sleep(0.5)  # let the workers settle after the handshakes
            m = memory(p.pid)
            g.send_signal(signal.SIGTERM)
            rest, err = g.communicate(timeout=60)
            dropped = 0
            for tok in rest.split():
                if tok.startswith(b"dropped="):
                    dropped = int(tok[8:])
            if err.strip():
                notes.append("hold %d: %s" % (
                    n, err.decode(errors="replace").splitlines()[0]))
            per = ((m["priv"] - idle["priv"]) / held) if held else None
            out.append(("%d idle TLS connections (held %d, dropped %d)"
                        % (n, held, dropped), m, per, held))
            say("  lumbar holding %d/%d idle TLS connections: private %d KiB"
                " (%s KiB per connection)" % (
                    held, n, m["priv"],
                    "%.1f" % per if per is not None else "?"))
            time.sleep(1)
    finally:
        stop(p)
    return out


# --- report ---------------------------------------------------------------

def tls_floor(tmp):
    """What one handshake costs inside this OpenSSL, with lumbar's own
    certificate and settings but no server around it: tests/bench/tlsfloor.c.
    None when the tool is missing or fails."""
    certs = os.path.join(tmp, "lumbar-certs")
    cmd = [TLSFLOOR, os.path.join(certs, "localhost.crt"),
           os.path.join(certs, "localhost.key"), "3000"]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        notes.append("tlsfloor did not run: %s" % e)
        return None
    out = r.stdout.decode()
    if r.returncode != 0 or "tlsfloor:" not in out:
        notes.append("tlsfloor failed: %s" % r.stderr.decode().strip())
        return None
    kv = dict(m.group(1, 2) for m in re.finditer(r'(\w+)=("[^"]*"|\S+)',
                                                 out))
    return {"openssl": kv["openssl"].strip('"'),
            "full": float(kv["full_us"]), "resumed": float(kv["resumed_us"]),
            "x25519": float(kv["x25519_us"]), "sign": float(kv["sign_us"]),
            "n": int(kv["handshakes"])}


def fmt_ratio(a, b):
    return "%.2f" % (a / b) if b else "-"


def targets(rows, mems, holds, floor):
    """Issue 8's targets against this run; informational, never a test."""
    def row(server, proto, hs, c):
        for r in rows:
            if (r["server"], r["proto"], r["hs"], r["c"]) == (server, proto,
                                                             hs, c):
                return r
        return None

    def mark(ok):
        return "met" if ok else "**missed**"
    out = []
    full = [r["cpu_us"] for r in rows
            if r["server"] == "lumbar" and r["hs"] == "full"]
    res = [r["cpu_us"] for r in rows
           if r["server"] == "lumbar" and r["hs"] == "resumed"]
    mbfull = [r["cpu_us"] for r in rows
              if r["server"] == "molly-brown" and r["hs"] == "full"]
    if full:
        worst = max(full)
        half = min(mbfull) / 2 if mbfull else 120
        out.append("server CPU per full-handshake request <= 120 us and <= "
                   "half molly-brown's (%.0f): lumbar %.0f-%.0f us: %s" % (
                       half, min(full), worst,
                       mark(worst <= min(120, half))))
        if floor:
            out.append("(the OpenSSL floor above is %.0f us per full "
                       "handshake with no server around it, %.1fx the "
                       "target)" % (floor["full"], floor["full"] / 120))
    pairs = [(row("lumbar", "gemini", "full", c),
              row("lumbar", "gemini", "resumed", c)) for c in CONCURRENCY]
    pairs = [(f["cpu_us"], r["cpu_us"]) for f, r in pairs if f and r]
    if pairs:
        out.append("resumed below full at each c: %s: %s" % (
            ", ".join("%.0f < %.0f" % (r, f) for f, r in pairs),
            mark(all(r < f for f, r in pairs))))
    behind = []
    for hs in ("full", "resumed"):
        for c in CONCURRENCY:
            a, b = row("lumbar", "gemini", hs, c), row("molly-brown",
                                                       "gemini", hs, c)
            if a and b and a["rps"] < b["rps"]:
                behind.append("%s c=%d %.2fx" % (hs, c, a["rps"] / b["rps"]))
    a, b = row("lumbar", "gemini", "full", 64), row("molly-brown", "gemini",
                                                    "full", 64)
    if a and b:
        out.append("req/s at c=64 >= 1.1x molly-brown: %.2fx: %s" % (
            a["rps"] / b["rps"], mark(a["rps"] >= 1.1 * b["rps"])))
        out.append("never behind molly-brown at c=1/16/64: %s" % (
            "met" if not behind else "**missed** (" + ", ".join(behind) +
            ")"))
        out.append("p99 at c=64 <= 0.8x molly-brown's: %.2fx: %s" % (
            a["p99"] / b["p99"], mark(a["p99"] <= 0.8 * b["p99"])))
    if "lumbar" in mems and "molly-brown" in mems:
        lg, mb = mems["lumbar"][0], mems["molly-brown"][0]
        out.append("private dirty memory <= half molly-brown's: %.2fx: %s" % (
            lg["dirty"] / mb["dirty"], mark(lg["dirty"] <= mb["dirty"] / 2)))
    for what, _, per, held in holds:
        if per is not None:
            out.append("%s: %.1f KiB per idle TLS connection (<= 40 KB = "
                       "39.1 KiB): %s" % (what, per, mark(per <= 39.0625)))
    big = [h for h in holds if h[3] is not None and h[3] >= 10000]
    if big:
        out.append("10,000 concurrent connections held: %s" % mark(
            big[0][3] >= 10000 and "dropped 0" in big[0][0]))
    a, b = row("lumbar", "gopher", "-", 16), row("gophernicus", "gopher",
                                                 "-", 16)
    if a and b:
        out.append("Gopher req/s at c=16 >= 10x gophernicus: %.1fx: %s" % (
            a["rps"] / b["rps"], mark(a["rps"] >= 10 * b["rps"])))
    g = [r["cpu_us"] for r in rows
         if r["server"] == "lumbar" and r["proto"] == "gopher"]
    if g:
        out.append("Gopher server CPU <= 60 us per request: %.0f-%.0f us: %s"
                   % (min(g), max(g), mark(max(g) <= 60)))
    return out


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(pkg):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return r.stdout.decode() or "not installed"
    return ("%d cores (%s), Linux %s, %s; molly-brown %s, gophernicus %s" % (
        os.cpu_count(), model, platform.release(),
        openssl_version(), ver("molly-brown"), ver("gophernicus")))


def openssl_version():
    """The OpenSSL this run used: Debian 12 has 3.0, Debian 13 3.5, and
    the TLS figures depend on it.  The library line is the libssl that
    lumbar, tlsfloor and the command share."""
    r = subprocess.run(["openssl", "version"], stdout=subprocess.PIPE)
    return r.stdout.decode().strip() or "OpenSSL unknown"


def report(rows, mems, holds, floor, content_note):
    L = []
    L.append("# lumbar benchmark")
    L.append("")
    L.append("Run %s by `make bench` (tests/bench/servers.py) on %s." % (
        datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), machine()))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    L.append("Load average at the end: %s (anything above the benchmark's "
             "own ~2 means other work shared the cores and the figures are "
             "noisier)." % load)
    L.append("Network: %s. Content: %s. Each row: gemload, up to %d "
             "requests or %g s, every request a new connection." % (
                 "private namespace, loopback only" if os.environ.get(NS_MARK)
                 else "host loopback", content_note, NREQ, SECS))
    L.append("")
    L.append("Server CPU is utime+stime of all the server's processes from "
             "/proc/PID/stat before and after (for gophernicus the socket "
             "activator plus the reaped per-connection children, via "
             "cutime+cstime), divided by the requests. Client CPU is "
             "gemload's own; on 2 cores both share the machine, so req/s "
             "is bounded by the client and server CPU is the capacity "
             "figure.")
    L.append("")
    L.append("| server | proto | handshake | c | req/s | p50 ms | p99 ms | "
             "server CPU µs/req | client CPU µs/req | errors | resumed |")
    L.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        L.append("| %s | %s | %s | %d | %.0f | %.2f | %.2f | %.0f | %.0f | "
                 "%d | %s |" % (r["server"], r["proto"], r["hs"], r["c"],
                                r["rps"], r["p50"], r["p99"], r["cpu_us"],
                                r["client_us"], r["errors"],
                                "%d/%d" % (r["resumed"], r["requests"])
                                if r["hs"] == "resumed" else "-"))
    ratios = []
    for r in rows:
        if r["server"] != "lumbar":
            continue
        for q in rows:
            if (q["server"] != "lumbar" and q["proto"] == r["proto"] and
                    q["hs"] == r["hs"] and q["c"] == r["c"]):
                ratios.append("| %s | %s | %s | %d | %s | %s | %s |" % (
                    q["server"], r["proto"], r["hs"], r["c"],
                    fmt_ratio(r["rps"], q["rps"]),
                    fmt_ratio(r["p99"], q["p99"]),
                    fmt_ratio(r["cpu_us"], q["cpu_us"])))
    if ratios:
        L.append("")
        L.append("Ratio lumbar / peer (req/s: higher is better for lumbar; "
                 "p99 and CPU: lower is better):")
        L.append("")
        L.append("| peer | proto | handshake | c | req/s | p99 | "
                 "server CPU |")
        L.append("|---|---|---|--:|--:|--:|--:|")
        L.extend(ratios)
    L.append("")
    L.append("Memory after the runs above (KiB, summed over the server's "
             "processes; gophernicus: the activator only, its "
             "per-connection processes are gone):")
    L.append("")
    L.append("| server | after | processes | private (clean+dirty) | "
             "private dirty | PSS | peak RSS (ΣVmHWM) |")
    L.append("|---|---|--:|--:|--:|--:|--:|")
    for name, (m, protos) in mems.items():
        L.append("| %s | %s | %d | %d | %d | %d | %d |" % (
            name, "+".join(protos), m["procs"], m["priv"], m["dirty"],
            m["pss"], m["hwm"]))
    mb = mems.get("molly-brown")
    lg = mems.get("lumbar")
    if mb and lg:
        mb, lg = mb[0], lg[0]
        L.append("")
        L.append("lumbar/molly-brown private dirty: %s; private: %s; PSS: %s;"
                 " peak RSS: %s." % (fmt_ratio(lg["dirty"], mb["dirty"]),
                                     fmt_ratio(lg["priv"], mb["priv"]),
                                     fmt_ratio(lg["pss"], mb["pss"]),
                                     fmt_ratio(lg["hwm"], mb["hwm"])))
    if holds:
        L.append("")
        L.append("lumbar idle and holding idle TLS connections (handshake "
                 "done, no request sent; a fresh instance):")
        L.append("")
        L.append("| state | private KiB | private dirty KiB | peak RSS KiB |"
                 " KiB per connection |")
        L.append("|---|--:|--:|--:|--:|")
        for what, m, per, _ in holds:
            L.append("| %s | %d | %d | %d | %s |" % (
                what, m["priv"], m["dirty"], m["hwm"],
                "%.1f" % per if per is not None else "-"))
    if floor:
        L.append("")
        L.append("The OpenSSL floor (tests/bench/tlsfloor.c, %d handshakes "
                 "each): %s, lumbar's certificate and TLS settings, client "
                 "and server in one process over a BIO pair, no sockets; "
                 "only the server's calls timed." % (floor["n"],
                                                    floor["openssl"]))
        L.append("")
        L.append("| what | server CPU µs |")
        L.append("|---|--:|")
        L.append("| full handshake, ticket and close | %.0f |" % floor["full"])
        L.append("| resumed handshake, ticket and close | %.0f |"
                 % floor["resumed"])
        L.append("| of which X25519 key pair and shared secret (EVP) | %.0f |"
                 % floor["x25519"])
        L.append("| of which one ECDSA P-256 signature (EVP) | %.0f |"
                 % floor["sign"])
        L.append("")
        L.append("What lumbar spends per request above the floor is its "
                 "sockets, the kernel's TCP and its own work.")
    tl = targets(rows, mems, holds, floor)
    if tl:
        L.append("")
        L.append("Issue 8 targets, this run:")
        L.append("")
        L.extend("- " + t for t in tl)
    if notes:
        L.append("")
        L.append("Notes:")
        L.append("")
        for n in notes:
            L.append("- " + n)
    L.append("")
    return "\n".join(L)


def prepare_content(tmp):
    """One directory served by all three servers: the capsule's article
    page if it exists, else a stand-in of similar size."""
    content = os.path.join(tmp, "capsule")
    os.makedirs(os.path.join(content, "articles"))
    src = os.path.join(ROOT, "capsule", ARTICLE)
    dst = os.path.join(content, ARTICLE)
    if os.path.exists(src):
        shutil.copyfile(src, dst)
        note = "capsule/%s (%d bytes)" % (ARTICLE, os.path.getsize(src))
    else:
        with open(dst, "w") as f:
            f.write("# Inversion therapy\n\n")
            for i in range(60):
                f.write("Paragraph %d: hanging upside down on an inversion "
                        "table stretches the spine; evidence for lasting "
                        "relief of back pain is thin.\n\n" % i)
            f.write("=> /articles/ More articles\n")
        note = ("a stand-in page (%d bytes; capsule/%s did not exist yet)"
                % (os.path.getsize(dst), ARTICLE))
    # Readable by nobody: lumbar's workers, molly-brown and gophernicus.
    for d, _, files in os.walk(tmp):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return content, note


def main():
    for exe in (LUMBAR, GEMLOAD, TLSFLOOR):
        if not os.access(exe, os.X_OK):
            raise SystemExit("missing %s: run make first" % exe)
    if not os.environ.get(NS_MARK):
        ensure_peers()
        if not enter_namespace():
            notes.append("no private network namespace (not root, or "
                         "unshare refused): loopback of the host")
    else:
        enter_namespace()
    raise_nofile()
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="lumbar-bench-")
    rows, mems = [], {}
    try:
        content, content_note = prepare_content(tmp)
        say("benchmark: %s, %g s or %d requests per row; %s" % (
            content_note, SECS, NREQ, openssl_version()))

        p, port, gport = start_lumbar(tmp, content, "bench")
        bench_server("lumbar", "gemini", p,
                     "gemini://localhost:%d/%s" % (port, ARTICLE), rows, mems)
        bench_server("lumbar", "gopher", p,
                     "gopher://127.0.0.1:%d/1/%s" % (gport, ARTICLE),
                     rows, mems)
        stop(p)
        floor = tls_floor(tmp)

        p, port = start_molly(tmp, content)
        if p:
            bench_server("molly-brown", "gemini", p,
                         "gemini://localhost:%d/%s" % (port, ARTICLE),
                         rows, mems)
            stop(p)

        p, port = start_gophernicus(tmp, content)
        if p:
            # gophernicus serves the .gmi as a plain file (type 0); lumbar
            # renders it to a Gopher menu, more work per request.
            bench_server("gophernicus", "gopher", p,
                         "gopher://127.0.0.1:%d/0/%s" % (port, ARTICLE),
                         rows, mems)
            stop(p)

        holds = hold_test(tmp, content) if HOLD else []
        # Gemini rows of all servers first, then Gopher: easier to compare.
        rows.sort(key=lambda r: (r["proto"], r["hs"], r["c"],
                                 r["server"] != "lumbar"))
        text = report(rows, mems, holds, floor, content_note)
        say("")
        say(text)
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as f:
            f.write(text)
        say("wrote %s in %.0f s" % (os.path.relpath(RESULTS, ROOT),
                                    time.monotonic() - t0))
    finally:
        for p in started:
            try:
                stop(p)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
