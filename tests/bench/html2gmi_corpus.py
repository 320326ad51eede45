#!/usr/bin/env python3
"""make bench-html2gmi: html2gmi, lynx -dump and w3m -dump on real pages.

The corpus is HTML nobody here wrote: documentation that Debian ships,
made by several generators (Sphinx: python3-doc; DocBook: debian-reference;
gtk-doc: libglib2.0-doc; doxygen: doxygen-doc; texinfo: bash-doc;
texi2html: gettext-doc; asciidoc: git-doc), installed by
`contrib/deps.sh corpus`.  Up to
CORPUS_PAGES pages of each are taken, spread evenly over its sorted files.

For each page its content words are the words of its visible text outside
<nav>, <header>, <footer>, role=navigation/banner/contentinfo/search and
elements whose class or id is one of nav, navbar, navigation, header,
footer (and outside <head>, scripts and styles), read with Python's
html.parser.
A tool's loss on the page is the share of those words (as a multiset,
case-folded) missing from its output.  Printed per tool: the mean loss,
the pages over 10 % (and for html2gmi, which of them lynx loses too), the
pages with text whose output is empty, and MB/s of HTML with one process
per page, all three tools in the same run.  Not a test: the numbers
depend on the machine and on the packages' versions.
"""
import collections
import glob
import html.parser
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
HTML2GMI = os.path.join(BUILD, "html2gmi")
PER_SET = int(os.environ.get("CORPUS_PAGES", "40"))

SETS = [
    ("sphinx", "/usr/share/doc/python3/html", "**/*.html"),
    ("docbook", "/usr/share/debian-reference", "*.en.html"),
    ("gtk-doc", "/usr/share/gtk-doc/html", "*/*.html"),
    ("doxygen", "/usr/share/doc/doxygen/html", "*.html"),
    ("texinfo", "/usr/share/doc/bash", "*.html"),
    ("texi2html", "/usr/share/doc/gettext", "gettext_*.html"),
    ("asciidoc", "/usr/share/doc/git-doc", "*.html"),
]

TOOLS = {
    "html2gmi": lambda f: [HTML2GMI, f],
    "lynx": lambda f: ["lynx", "-dump", "-nolist", "-force_html",
                       "-display_charset=UTF-8", f],
    "w3m": lambda f: ["w3m", "-dump", "-T", "text/html", "-O", "UTF-8", f],
}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "param", "source", "track", "wbr", "keygen", "frame"}
CHROME = {"nav", "header", "footer"}
# Generators write their footer as <div class="footer">: a footer too.
CHROME_NAMES = {"nav", "header", "footer", "navbar", "navigation"}
UNSEEN = {"head", "script", "style", "template", "noscript"}
ROLES = {"navigation", "banner", "contentinfo", "search"}
WORD = re.compile(r"\w+")


class Content(html.parser.HTMLParser):
    """The visible text outside navigation, header and footer."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []         # (tag, hides)
        self.hidden = 0
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        names = set((a.get("class") or "").split()) | {a.get("id")}
        hides = (tag in CHROME or tag in UNSEEN or
                 a.get("role") in ROLES or "hidden" in a or
                 bool(names & CHROME_NAMES))
        self.stack.append((tag, hides))
        self.hidden += hides

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, h in self.stack[i:]:
                    self.hidden -= h
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.hidden == 0:
            self.text.append(data)


def words(text):
    return collections.Counter(w.casefold() for w in WORD.findall(text))


def content_words(path):
    with open(path, "rb") as f:
        raw = f.read()
    p = Content()
    p.feed(raw.decode("utf-8", "replace"))
    p.close()
    return words(" ".join(p.text)), len(raw)


def corpus():
    pages = []
    for name, top, pattern in SETS:
        files = sorted(f for f in glob.glob(os.path.join(top, pattern),
                                            recursive=True)
                       if os.path.isfile(f))
        if not files:
            print("corpus: %s: no pages under %s (run contrib/deps.sh "
                  "corpus)" % (name, top), file=sys.stderr)
            continue
        step = max(1, len(files) / PER_SET)
        pick = sorted({files[int(i * step)]
                       for i in range(min(PER_SET, len(files)))})
        pages += [(name, f) for f in pick]
    return pages


def loss(want, out):
    got = words(out)
    total = sum(want.values())
    missing = sum(max(0, n - got[w]) for w, n in want.items())
    return missing / total if total else 0.0


def main():
    pages = corpus()
    if not pages:
        return 1
    want = {}
    size = 0
    for _, f in pages:
        want[f], n = content_words(f)
        size += n
    results = {t: {} for t in TOOLS}
    secs = {t: 0.0 for t in TOOLS}
    for tool, argv in TOOLS.items():
        for _, f in pages:
            t0 = time.perf_counter()
            proc = subprocess.run(argv(f), capture_output=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
            secs[tool] += time.perf_counter() - t0
            out = proc.stdout.decode("utf-8", "replace")
            results[tool][f] = (loss(want[f], out), out.strip() == "")
    print("corpus: %d pages, %.1f MB of HTML (%s)" % (
        len(pages), size / 1e6, ", ".join(
            "%s %d" % (n, sum(1 for s, _ in pages if s == n))
            for n, _, _ in SETS)))
    print("%-9s %9s %9s %9s %8s" % ("tool", "mean loss", "over 10%",
                                    "empty", "MB/s"))
    for tool in TOOLS:
        r = results[tool]
        mean = sum(v[0] for v in r.values()) / len(r)
        over = sum(1 for v in r.values() if v[0] > 0.10)
        empty = sum(1 for f, v in r.items() if v[1] and want[f])
        print("%-9s %8.2f%% %9d %9d %8.2f" % (tool, 100 * mean, over, empty,
                                             size / 1e6 / secs[tool]))
    print("html2gmi pages over 10 % (lynx's loss on the same page):")
    worst = sorted(((v[0], f) for f, v in results["html2gmi"].items()
                    if v[0] > 0.10), reverse=True)
    for l, f in worst:
        print("  %5.1f%% (lynx %5.1f%%) %s" % (
            100 * l, 100 * results["lynx"][f][0], f))
    if not worst:
        print("  none")
    print("html2gmi's highest losses:")
    for l, f in sorted(((v[0], f) for f, v in results["html2gmi"].items()),
                       reverse=True)[:3]:
        print("  %5.1f%% (lynx %5.1f%%) %s" % (
            100 * l, 100 * results["lynx"][f][0], f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
