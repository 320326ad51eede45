#!/usr/bin/env python3
"""make bench-html2gmi: html2gmi against lynx -dump and w3m -dump.

Generates a corpus of 1,000 article-sized pages in the style of the
site's original (a table layout, <font> tags, windows-1252, entities,
headings, lists, a data table, links), converts every page with each
tool, one process per page as a user would run them, and prints MB/s of
HTML and pages/s side by side with the ratios.  html2gmi's site mode,
one process for the whole corpus, is shown as a further row.  Not a test:
the numbers depend on the machine.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
HTML2GMI = os.path.join(BUILD, "html2gmi")
PAGES = int(os.environ.get("BENCH_PAGES", "1000"))

WORDS = ("back spine pain muscle joint table posture lifting disc gravity "
         "stretch balance circulation relief exercise strength body weight "
         "daily tasks tension alignment height process benefit time rope "
         "twist change function research injury trauma the a of and to in "
         "is that for with as on your you will it can be this are").split()


def sentence(r):
    words = [r.choice(WORDS) for _ in range(r.randrange(8, 20))]
    words[0] = words[0].capitalize()
    return " ".join(words) + r.choice([".", ".", ".", "?"])


def paragraph(r, n):
    text = " ".join(sentence(r) for _ in range(r.randrange(3, 7)))
    words = text.split(" ")
    # Entities, curly quotes as cp1252 bytes, inline markup and links.
    for _ in range(3):
        i = r.randrange(len(words))
        words[i] = r.choice([
            "<b>%s</b>" % words[i], "<i>%s</i>" % words[i],
            "%s&nbsp;&amp;" % words[i], "don\u2019t", "caf\u00e9",
            "<a href=\"page%04d.html\">%s</a>" % (r.randrange(PAGES),
                                                  words[i]),
            "<a href=\"http://www.example.com/%s.html\">%s</a>" % (
                words[i], words[i])])
    return ("<p><font face=\"Verdana\" size=\"2\">%s</font></p>\n"
            % " ".join(words))


def page(r, n):
    parts = ["<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">"
             "\n<html><head><meta http-equiv=\"Content-Type\" "
             "content=\"text/html; charset=windows-1252\">\n<title>Article "
             "%d</title>\n<style>td { font-size: 10px }</style>\n"
             "<script>var n = %d;</script></head>\n<body>\n"
             "<table width=\"780\" border=\"0\" id=\"layout\"><tr>"
             "<td id=\"content\" valign=\"top\">\n"
             "<div class=\"breadcrumb\"><a href=\"index.html\">Home</a> &gt; "
             "Article %d</div>\n<h1>Article %d: %s</h1>\n"
             % (n, n, n, n, sentence(r))]
    for s in range(6):
        parts.append("<h2>%s</h2>\n" % sentence(r))
        for _ in range(r.randrange(3, 6)):
            parts.append(paragraph(r, n))
        if s % 2 == 0:
            parts.append("<ul>" + "".join("<li>%s</li>" % sentence(r)
                                          for _ in range(4)) + "</ul>\n")
        if s == 3:
            parts.append("<table><tr><th>Angle</th><th>Effect</th></tr>" +
                         "".join("<tr><td>%d&deg;</td><td>%s</td></tr>" %
                                 (d, sentence(r)) for d in (20, 60, 90)) +
                         "</table>\n")
    parts.append("</td><td class=\"navcol\" valign=\"top\">" +
                 "".join("<div><a href=\"page%04d.html\">Link %d</a></div>"
                         % (r.randrange(PAGES), k) for k in range(15)) +
                 "</td></tr><tr><td colspan=\"2\"><p class=\"footer\">| "
                 "<a href=\"index.html\">Homepage</a> | <a href=\"site-map."
                 "html\">Site Map</a> |</p><p>Copyright&copy; 2007-2013."
                 "</p></td></tr></table>\n</body></html>\n")
    return "".join(parts).encode("cp1252")


def make_corpus(d):
    r = random.Random(1965)
    total = 0
    paths = []
    for n in range(PAGES):
        p = os.path.join(d, "page%04d.html" % n)
        data = page(r, n)
        with open(p, "wb") as f:
            f.write(data)
        total += len(data)
        paths.append(p)
    return paths, total


def time_each(cmd, paths):
    start = time.monotonic()
    for p in paths:
        subprocess.run(cmd + [p], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - start


def main():
    if not os.access(HTML2GMI, os.X_OK):
        sys.exit(f"{HTML2GMI}: not built; run make {HTML2GMI}")
    tools = [("html2gmi", [HTML2GMI])]
    for name, cmd in (("lynx -dump", ["lynx", "-dump", "-force_html",
                                      "-nolist"]),
                      ("w3m -dump", ["w3m", "-dump", "-T", "text/html"])):
        if shutil.which(cmd[0]):
            tools.append((name, cmd))
        else:
            print(f"{cmd[0]} not installed (apt-get install {cmd[0]}); "
                  "skipped")
    with tempfile.TemporaryDirectory() as d:
        site = os.path.join(d, "site")
        os.mkdir(site)
        paths, total = make_corpus(site)
        mb = total / 1e6
        print(f"corpus: {PAGES} pages, {mb:.1f} MB of windows-1252 HTML "
              f"({total // PAGES // 1024} KiB a page)")
        results = []
        for name, cmd in tools:
            subprocess.run(cmd + [paths[0]], stdout=subprocess.DEVNULL,
                           check=True)     # warm the page cache
            results.append((name + " (a process a page)",
                            time_each(cmd, paths)))
        start = time.monotonic()
        subprocess.run([HTML2GMI, "-o", os.path.join(d, "out"), site],
                       check=True)
        results.append(("html2gmi -o (site mode)",
                        time.monotonic() - start))
    base = results[0][1]
    print(f"{'converter':34} {'seconds':>8} {'MB/s':>8} {'pages/s':>9} "
          f"{'html2gmi is':>12}")
    for name, secs in results:
        ratio = secs / base
        print(f"{name:34} {secs:8.2f} {mb / secs:8.2f} {PAGES / secs:9.0f} "
              f"{ratio:10.1f}x faster" if name.startswith(("lynx", "w3m"))
              else f"{name:34} {secs:8.2f} {mb / secs:8.2f} "
              f"{PAGES / secs:9.0f}")


if __name__ == "__main__":
    main()
