#!/usr/bin/env python3
"""make bench-html2gmi-large: html2gmi on large inputs, by CPU time.

Two tables, in Markdown:
1. Generated inputs of each kind that costs a parser most (deep nesting,
   one huge paragraph, a huge table, dense links, tiny elements, a huge
   attribute value, windows-1252 text) at 1 MiB, html2gmi's default size
   limit (4 MiB) and 10 MiB (html2gmi run with --max-input): the CPU seconds (user + system) of html2gmi, of h2g_parse
   (html2gmi's decoding, nesting cap and gumbo parse alone: the floor
   under it), of `lynx -dump` and of `w3m -dump` on the same file, and
   how many times faster html2gmi is.
2. The real pages over 250 KB of the documentation corpus that `make
   bench-html2gmi` uses (contrib/deps.sh corpus installs it), plus
   Node.js's single-page manual when the nodejs package is installed:
   html2gmi against lynx, page by page and in total.

Each figure is the least of BENCH_REPEAT runs (2); a run is stopped
after BENCH_TIMEOUT seconds (120) and shown as such.  BENCH_TOOLS (a
comma-separated subset of html2gmi,parse,lynx,w3m) limits the tools run,
e.g. to time an older html2gmi alone (BUILD=its build directory).  Not a test: the
numbers depend on the machine and on what else it runs.
"""
import glob
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
HTML2GMI = os.path.join(BUILD, "html2gmi")
PARSE = os.path.join(BUILD, "h2g_parse")
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "120"))
BIG = 250 * 1000
NODEJS = "/usr/share/doc/nodejs/api/all.html"
ONLY = os.environ.get("BENCH_TOOLS", "html2gmi,parse,lynx,w3m").split(",")

sys.path.insert(0, HERE)
from html2gmi_corpus import SETS  # noqa: E402  the same corpus


def input_max():
    """H2G_INPUT_MIB from html2gmi.h, so the sizes follow the limit."""
    with open(os.path.join(ROOT, "src", "html2gmi", "html2gmi.h")) as f:
        m = re.search(r"#define H2G_INPUT_MIB\s+(\d+)\n", f.read())
    if m is None:
        sys.exit("html2gmi.h: H2G_INPUT_MIB not found")
    return int(m.group(1)) << 20


# Each makes about n bytes; the caller cuts it to n exactly.
KINDS = {
    "nested <div>": lambda n: b"<div>x" * (n // 6 + 1),
    "nested <ul><li>": lambda n: b"<ul><li>x" * (n // 9 + 1),
    "one paragraph": lambda n: b"<p>" + b"lorem ipsum dolor sit, " *
    (n // 23 + 1),
    "table": lambda n: b"<table>" + b"<tr><td>cell</td><td>1,234</td>"
    b"<td>data x</td></tr>" * (n // 48 + 1),
    "links": lambda n: b"<p>" + b"".join(
        b'<a href="p%d.html">link %d</a> ' % (i, i)
        for i in range(n // 30 + 1)),
    "tiny elements": lambda n: b"<p>" + b"<b>a</b><i>b</i>" * (n // 16 + 1),
    "attribute value": lambda n: b'<p title="' + b"x" * n,
    "windows-1252 text": lambda n: b"<p>" + b"caf\xe9 na\xefve \x93q\x94 " *
    (n // 19 + 1),
}

TOOLS = [
    # --max-input: larger inputs than the default limit are timed too.
    ("html2gmi", lambda f: [HTML2GMI, "--max-input", "64", f]),
    ("parse", lambda f: [PARSE, f]),
    ("lynx", lambda f: ["lynx", "-dump", "-nolist", "-force_html",
                        "-display_charset=UTF-8", f]),
    ("w3m", lambda f: ["w3m", "-dump", "-T", "text/html", "-O", "UTF-8", f]),
]


def cpu(cmd):
    """Least CPU seconds of REPEAT runs, or None when one ran too long."""
    best = None
    for _ in range(REPEAT):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return None     # the child is killed and reaped by run()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = (after.ru_utime - before.ru_utime +
             after.ru_stime - before.ru_stime)
        best = t if best is None else min(best, t)
    return best


def secs(t):
    return f">{TIMEOUT:.0f}" if t is None else f"{t:.2f}"


def times(a, b):
    """How many times faster a is than b."""
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.1f}x"


def generated(tools, d):
    limit = input_max()
    sizes = sorted({1 << 20, limit, 10 << 20})
    names = [n for n, _ in tools]
    print("| input | MiB | " + " | ".join(
        n + " s" for n in names) + " | parse share | " + " | ".join(
        "vs " + n for n in names if n in ("lynx", "w3m")) + " |")
    print("|---" * (3 + len(names) + sum(n in ("lynx", "w3m")
                                        for n in names)) + "|")
    for kind, make in KINDS.items():
        for size in sizes:
            path = os.path.join(d, "page.html")
            with open(path, "wb") as f:
                f.write(make(size)[:size])
            t = {n: cpu(cmd(path)) for n, cmd in tools}
            share = ("-" if t["html2gmi"] is None or
                     t.get("parse") is None or not t["html2gmi"] else
                     f"{100 * t['parse'] / t['html2gmi']:.0f} %")
            print(f"| {kind} | {size / (1 << 20):.0f} | " + " | ".join(
                secs(t[n]) for n in names) + f" | {share} | " + " | ".join(
                times(t["html2gmi"], t[n]) for n in names
                if n in ("lynx", "w3m")) + " |", flush=True)


def real(tools):
    pages = []
    for name, top, pattern in SETS:
        pages += [(name, f) for f in sorted(glob.glob(
            os.path.join(top, pattern), recursive=True))
            if os.path.isfile(f) and os.path.getsize(f) > BIG]
    if os.path.isfile(NODEJS):
        pages.append(("nodejs", NODEJS))
    else:
        print(f"{NODEJS}: not installed (package nodejs); left out")
    use = [(n, c) for n, c in tools if n in ("html2gmi", "parse", "lynx")]
    names = [n for n, _ in use]
    print()
    print("| set | page | KB | " + " | ".join(n + " s" for n in names) +
          (" | vs lynx |" if "lynx" in names else " |"))
    print("|---" * (3 + len(names) + ("lynx" in names)) + "|")
    total = {n: 0.0 for n in names}
    for name, f in pages:
        t = {n: cpu(cmd(f)) for n, cmd in use}
        for n in names:
            total[n] += t[n] or 0.0
        print(f"| {name} | {os.path.relpath(f, '/usr/share')} | "
              f"{os.path.getsize(f) // 1000} | " +
              " | ".join(secs(t[n]) for n in names) +
              (f" | {times(t['html2gmi'], t['lynx'])} |" if "lynx" in names
               else " |"), flush=True)
    print(f"| all {len(pages)} | | | " +
          " | ".join(f"{total[n]:.2f}" for n in names) +
          (f" | {times(total['html2gmi'], total['lynx'])} |"
           if "lynx" in names else " |"))


def main():
    for p in (HTML2GMI, PARSE):
        if not os.access(p, os.X_OK):
            sys.exit(f"{p}: not built; run make {p}")
    tools = []
    for name, cmd in TOOLS:
        if name not in ONLY and name != "html2gmi":
            continue
        if shutil.which(cmd("x")[0]):
            tools.append((name, cmd))
        else:
            print(f"{name} not installed (apt-get install {name}); skipped")
    with tempfile.TemporaryDirectory() as d:
        generated(tools, d)
    real(tools)


if __name__ == "__main__":
    main()
