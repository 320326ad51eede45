#!/usr/bin/python3
"""make bench: lumbar beside molly-brown (Gemini) and gophernicus (Gopher),
in one run, on the same page, measured with gemload; prints the table and
writes bench/results.md.

Everything runs inside a private network namespace (`unshare -n`, then
`ip link set lo up`) when we are root, because molly-brown listens on every
address: there, the only address is loopback.  Timings live here and never
in `make test`.

Two layouts, the same for every server: pinned (the main table), the
server under test on one core and gemload on another, as on a small VPS
where the server has its core; and unpinned, everything free to run
anywhere.  A peer that cannot be measured is reported as skipped, with
why, and makes the run exit 1: never a silent gap in the table.

Environment: BENCH_SECS (seconds per measurement, default 4), BENCH_N
(request cap per measurement, default 40000), BENCH_HOLD (idle connection
counts, default "1000,10000"; empty to skip), BENCH_LAYOUTS ("pinned,free"
by default; "pinned" alone halves the run).
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
LAYOUTS = [x for x in os.environ.get("BENCH_LAYOUTS", "pinned,free").split(",")
           if x.strip() in ("pinned", "free")]
UNPRIV = "nobody"
TICK = os.sysconf("SC_CLK_TCK")

notes = []          # printed under the table: what was skipped and why
skipped = []        # peers not measured, and why: the run exits 1
started = []        # every Popen we made, stopped in finally

# The layout being measured: "pinned" puts the server on SERVER_CPU and
# gemload (and tlsfloor's client) on CLIENT_CPU; "free" pins nothing.
layout = {"name": "free"}


def cpus():
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    return allowed[0], allowed[1]


def pin_to(cpu):
    """preexec_fn pinning a child (and all it forks) to one core."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def server_cpu():
    return layout.get("server")


def client_cpu():
    return layout.get("client")


def skip_peer(name, why):
    skipped.append("%s (%s): %s" % (name, layout["name"], why))
    say("SKIPPED %s: %s" % (name, why))


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
    """A server under test, on the server's core when pinned."""
    f = open(log, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL,
                         preexec_fn=pin_to(server_cpu()), **kw)
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
        skip_peer("molly-brown", "not installed (apt-get install "
                  "molly-brown)")
        return None, 0
    if not os.environ.get(NS_MARK):
        skip_peer("molly-brown", "it listens on every address and there is "
                  "no private network namespace (needs root)")
        return None, 0
    port = free_port()
    # The same kind of certificate lumbar makes: EC P-256, self-signed,
    # the name in subjectAltName (Debian 13's molly-brown, built with a
    # newer Go, refuses a certificate whose name is only in the CN).
    crt, key = os.path.join(tmp, "mb.crt"), os.path.join(tmp, "mb.key")
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "30",
                        "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost"],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    # Readable by its owner alone, as Debian 13's molly-brown demands; the
    # owner is the user it runs as.
    os.chmod(key, 0o600)
    logs = os.path.join(tmp, "mb-logs")
    os.makedirs(logs, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(key, UNPRIV)
        shutil.chown(logs, UNPRIV)
    conf = os.path.join(tmp, "molly-brown.conf")
    with open(conf, "w") as f:
        f.write('Port = %d\nHostname = "localhost"\nCertPath = "%s"\n'
                'KeyPath = "%s"\nDocBase = "%s"\nAccessLog = "/dev/null"\n'
                'ErrorLog = "%s/error.log"\n'
                % (port, crt, key, content, logs))
    out = os.path.join(tmp, "molly-brown.out")
    p = spawn([exe, "-c", conf], out, **as_unpriv())
    if not wait_port(port, p):
        stop(p)
        why = ""
        for log in (os.path.join(logs, "error.log"), out):
            try:
                with open(log, errors="replace") as f:
                    why += f.read()[-400:].strip() + " "
            except OSError:
                pass
        skip_peer("molly-brown", "did not start: " + (why.strip() or
                                                      "no message"))
        return None, 0
    return p, port


def start_gophernicus(tmp, content):
    exe = "/usr/sbin/gophernicus"
    act = shutil.which("systemd-socket-activate")
    if not os.path.exists(exe):
        skip_peer("gophernicus", "not installed (apt-get install "
                  "gophernicus)")
        return None, 0
    if not act:
        skip_peer("gophernicus", "systemd-socket-activate is missing")
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
        skip_peer("gophernicus", "did not start")
        stop(p)
        return None, 0
    return p, port


# --- measuring ------------------------------------------------------------

def gemload(args, timeout):
    r = subprocess.run([GEMLOAD, "-q"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       preexec_fn=pin_to(client_cpu()))
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
        "server": server, "proto": proto, "layout": layout["name"],
        "hs": ("resumed" if resume else "full") if proto == "gemini" else "-",
        "c": conns, "rps": float(kv["rps"]), "p50": float(kv["p50_ms"]),
        "p99": float(kv["p99_ms"]), "errors": int(kv["errors"]),
        "requests": done,
        "cpu_us": (after - before) * 1e6 / TICK / done if done else 0.0,
        "client_us": float(kv["client_cpu_us"]),
        "resumed": int(kv.get("resumed", 0)),
    }
    if kv["stderr"]:
        notes.append("%s %s %s c=%d: %s" % (layout["name"], server,
                                             row["hs"], conns,
                                             kv["stderr"].splitlines()[0]))
    say("  %-6s %-11s %-6s %-7s c=%-3d %8.0f req/s  p99 %7.2f ms  server %6.0f "
        "us/req  client %4.0f us/req  errors %d%s" % (
            layout["name"], server, proto, row["hs"], conns, row["rps"], row["p99"],
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
                                 stderr=subprocess.PIPE,
                                 preexec_fn=pin_to(client_cpu()))
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
                           stderr=subprocess.PIPE, timeout=300,
                           preexec_fn=pin_to(server_cpu()))
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
    """Issue 18's targets against this run's main (pinned) rows and the
    floor measured in the same layout; informational, never a test."""
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
    if full and floor:
        worst = max(full)
        out.append("full handshake <= 1.4x the floor (%.0f us): lumbar "
                   "%.0f-%.0f us, %.2f-%.2fx: %s" % (
                       floor["full"], min(full), worst,
                       min(full) / floor["full"], worst / floor["full"],
                       mark(worst <= 1.4 * floor["full"])))
    vs = []
    for c in CONCURRENCY:
        a, b = row("lumbar", "gemini", "full", c), row("molly-brown",
                                                       "gemini", "full", c)
        if a and b:
            vs.append((c, a["cpu_us"] / b["cpu_us"]))
    if vs:
        out.append("full handshake <= 0.7x molly-brown's server CPU: %s: %s"
                   % (", ".join("c=%d %.2fx" % cv for cv in vs),
                      mark(all(v <= 0.7 for _, v in vs))))
    pairs = [(row("lumbar", "gemini", "full", c),
              row("lumbar", "gemini", "resumed", c)) for c in CONCURRENCY]
    pairs = [(f["cpu_us"], r["cpu_us"]) for f, r in pairs if f and r]
    if pairs:
        out.append("resumed <= 0.8x lumbar's full: %s: %s" % (
            ", ".join("%.2fx" % (r / f) for f, r in pairs),
            mark(all(r <= 0.8 * f for f, r in pairs))))
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
        out.append("p99 at c=64 <= 0.8x molly-brown's: %.2fx: %s" % (
            a["p99"] / b["p99"], mark(a["p99"] <= 0.8 * b["p99"])))
        out.append("req/s never below molly-brown's: %s" % (
            "met" if not behind else "**missed** (" + ", ".join(behind) +
            ")"))
    a, b = row("lumbar", "gopher", "-", 16), row("gophernicus", "gopher",
                                                 "-", 16)
    if a and b:
        out.append("Gopher req/s at c=16 >= 10x gophernicus: %.1fx: %s" % (
            a["rps"] / b["rps"], mark(a["rps"] >= 10 * b["rps"])))
    if "lumbar" in mems and "molly-brown" in mems:
        lg, mb = mems["lumbar"][0], mems["molly-brown"][0]
        out.append("private memory <= half molly-brown's: %.2fx: %s" % (
            lg["priv"] / mb["priv"], mark(lg["priv"] <= mb["priv"] / 2)))
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
    return ("%s, %d cores (%s), Linux %s, %s; molly-brown %s, gophernicus %s"
            % (os_release(), os.cpu_count(), model, platform.release(),
               openssl_version(), ver("molly-brown"), ver("gophernicus")))


def os_release():
    """The system's name and release, e.g. "Debian GNU/Linux 13 (trixie)":
    its OpenSSL and peers come with it (tests/distro.sh RELEASE bench runs
    this on each)."""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k == "PRETTY_NAME":
                    return v.strip('"') + (" " + debian_version()
                                           if v.startswith('"Debian') else "")
    except OSError:
        pass
    return "unknown system"


def debian_version():
    """The point release (12.12, 13.2) from /etc/debian_version, in
    brackets, or nothing."""
    try:
        with open("/etc/debian_version") as f:
            return "[%s]" % f.read().strip()
    except OSError:
        return ""


def openssl_version():
    """The OpenSSL this run used: Debian 12 has 3.0, Debian 13 3.5, and
    the TLS figures depend on it.  The library line is the libssl that
    lumbar, tlsfloor and the command share."""
    r = subprocess.run(["openssl", "version"], stdout=subprocess.PIPE)
    return r.stdout.decode().strip() or "OpenSSL unknown"


def rows_table(L, rows):
    """The table of one layout and its ratios lumbar / peer."""
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


def floor_table(L, floor, rows):
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
    per = ["%s c=%d %.2fx" % (r["hs"], r["c"], r["cpu_us"] / floor[r["hs"]])
           for r in rows if r["server"] == "lumbar" and r["proto"] == "gemini"
           and floor.get(r["hs"])]
    if per:
        L.append("")
        L.append("lumbar / floor (server CPU per request over the floor of "
                 "the same handshake): " + ", ".join(per) + ".")


def report(rows, mems, holds, floors, content_note):
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
    main = LAYOUTS[0] if LAYOUTS else "free"
    for lay in LAYOUTS:
        lrows = [r for r in rows if r["layout"] == lay]
        if not lrows:
            continue
        L.append("")
        if lay == "pinned":
            L.append("## %s: pinned, as on a small VPS" % (
                "Main table" if lay == main else "Second table"))
            L.append("")
            L.append("The server under test (all its processes) on core %d, "
                     "gemload on core %d, the same for every server; lumbar "
                     "then runs one worker (one per core it may use)." % cpus())
        else:
            L.append("## %s: unpinned" % ("Main table" if lay == main else
                                          "Second table"))
            L.append("")
            L.append("Nothing pinned: server and gemload share both cores as "
                     "the scheduler places them (the layout of runs before "
                     "issue 18).")
        L.append("")
        rows_table(L, lrows)
        if floors.get(lay):
            floor_table(L, floors[lay], lrows)
    L.append("")
    L.append("## Memory")
    L.append("")
    L.append("After the runs of the main table (KiB, summed over the "
             "server's processes; gophernicus: the activator only, its "
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
                 "done, no request sent; a fresh instance, unpinned):")
        L.append("")
        L.append("| state | private KiB | private dirty KiB | peak RSS KiB |"
                 " KiB per connection |")
        L.append("|---|--:|--:|--:|--:|")
        for what, m, per, _ in holds:
            L.append("| %s | %d | %d | %d | %s |" % (
                what, m["priv"], m["dirty"], m["hwm"],
                "%.1f" % per if per is not None else "-"))
    tl = targets([r for r in rows if r["layout"] == main], mems, holds,
                 floors.get(main))
    if tl:
        L.append("")
        L.append("Issue 18 targets, main table of this run:")
        L.append("")
        L.extend("- " + t for t in tl)
    if skipped:
        L.append("")
        L.append("**Skipped, not measured** (make bench exits 1):")
        L.append("")
        for n in skipped:
            L.append("- " + n)
    if notes:
        L.append("")
        L.append("Notes:")
        L.append("")
        for n in notes:
            L.append("- " + n)
    L.append("")
    return "\n".join(L)


def measure_layout(lay, tmp, content, rows, mems, floors):
    """Every server, one after the other, in one layout."""
    layout.clear()
    layout["name"] = lay
    if lay == "pinned":
        if cpus() is None:
            notes.append("pinned layout skipped: fewer than 2 cores")
            return
        layout["server"], layout["client"] = cpus()
    say("layout: %s" % lay)
    p, port, gport = start_lumbar(tmp, content, "bench-" + lay)
    bench_server("lumbar", "gemini", p,
                 "gemini://localhost:%d/%s" % (port, ARTICLE), rows, mems)
    bench_server("lumbar", "gopher", p,
                 "gopher://127.0.0.1:%d/1/%s" % (gport, ARTICLE), rows, mems)
    stop(p)
    floors[lay] = tls_floor(tmp)

    p, port = start_molly(tmp, content)
    if p:
        bench_server("molly-brown", "gemini", p,
                     "gemini://localhost:%d/%s" % (port, ARTICLE), rows, mems)
        stop(p)

    p, port = start_gophernicus(tmp, content)
    if p:
        # gophernicus serves the .gmi as a plain file (type 0); lumbar
        # renders it to a Gopher menu, more work per request.
        bench_server("gophernicus", "gopher", p,
                     "gopher://127.0.0.1:%d/0/%s" % (port, ARTICLE), rows, mems)
        stop(p)


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


# The headings report() writes; any other "## " section of the results
# file is another benchmark's (make bench-html2gmi-large's) and is kept.
OWN_SECTIONS = re.compile(r"^## (Main table|Second table|Memory)\b")


def other_sections(path):
    """The "## " sections of the results file at path that this script
    does not write, to keep after its own: a run replaces its tables only
    (a table of a layout not measured this time goes too: it is stale)."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        return ""
    kept = []
    for part in re.split(r"^(?=## )", old, flags=re.M)[1:]:
        if not OWN_SECTIONS.match(part):
            kept.append(part.rstrip("\n") + "\n")
    return "".join("\n" + k for k in kept)


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
    failed = False
    try:
        content, content_note = prepare_content(tmp)
        say("benchmark: %s, %g s or %d requests per row; %s; %s" % (
            content_note, SECS, NREQ, os_release(), openssl_version()))

        floors = {}
        for i, lay in enumerate(LAYOUTS):
            measure_layout(lay, tmp, content, rows, mems if i == 0 else {},
                           floors)
        # Held idle connections measure memory, not CPU: unpinned, as
        # before, so that lumbar runs a worker per core and 10,000
        # handshakes finish within its 5 s handshake deadline.
        layout.clear()
        layout.update(name="free")
        holds = hold_test(tmp, content) if HOLD else []
        # Gemini rows of all servers first, then Gopher: easier to compare.
        rows.sort(key=lambda r: (r["proto"], r["hs"], r["c"],
                                 r["server"] != "lumbar"))
        text = report(rows, mems, holds, floors, content_note)
        say("")
        say(text)
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        text += other_sections(RESULTS)
        with open(RESULTS, "w") as f:
            f.write(text)
        say("wrote %s in %.0f s" % (os.path.relpath(RESULTS, ROOT),
                                    time.monotonic() - t0))
        if skipped:
            say("make bench: peers SKIPPED, not measured:")
            for n in skipped:
                say("  " + n)
            failed = True
    finally:
        for p in started:
            try:
                stop(p)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
