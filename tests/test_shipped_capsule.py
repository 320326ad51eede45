"""The shipped capsule/ served by the real lumbar: every page byte for
byte, and every link to this capsule answers 20 (crawled over Gemini)."""
import collections
import os
import urllib.parse as up

from conftest import CAPSULE
from helpers.gemini_capsule import gemtext_links, redirect_target


# ------------------------------------------------- the shipped capsule

def shipped_gemtext():
    found = []
    for d, dirs, files in os.walk(CAPSULE):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        found += [os.path.relpath(os.path.join(d, f), CAPSULE) for f in files
                  if f.endswith((".gmi", ".gemini")) and
                  not f.startswith(".")]
    return sorted(found)


def test_shipped_capsule_every_page_served(server_factory):
    pages = shipped_gemtext()
    assert pages, "capsule/ holds no gemtext page"
    s = server_factory(root=CAPSULE, gopher=False)
    bad = []
    for rel in pages:
        p = "/" + up.quote(rel)
        r = s.get(p)
        with open(os.path.join(CAPSULE, rel), "rb") as f:
            if not (r.header.startswith("20 text/gemini") and
                    r.body == f.read() and r.clean):
                bad.append((p, r.header))
    assert not bad, bad


def test_shipped_capsule_links_resolve(server_factory):
    """Crawl from / over Gemini; every link to this capsule must answer 20
    (after at most a few 31s).  External schemes and hosts are skipped."""
    assert shipped_gemtext(), "capsule/ holds no gemtext page"
    s = server_factory(root=CAPSULE, gopher=False)
    home = s.url("/")
    ours = {f"localhost:{s.port}"}
    queue = collections.deque([(home, "(start)")])
    seen, failures, pages = set(), [], 0

    def local(u):
        parts = up.urlsplit(u)
        if parts.scheme != "gemini":
            return None
        host = parts.netloc.lower()
        if host in ("localhost", "localhost:1965"):
            host = f"localhost:{s.port}"     # written for the default port
        if host not in ours:
            return None
        return up.urlunsplit(("gemini", host, parts.path or "/",
                              parts.query, ""))

    while queue and pages < 5000:
        u, ref = queue.popleft()
        if u in seen:
            continue
        seen.add(u)
        pages += 1
        cur, r = u, None
        for _ in range(5):
            r = s.gemini(cur + "\r\n")
            if not r.header.startswith("31 "):
                break
            cur = local(redirect_target(s, cur, r))
            if cur is None:
                break
        if r is not None and r.header.startswith("10 ") and r.clean and \
                up.urlsplit(cur).path == "/search":
            continue    # the search asks for words: test_search.py's
        if r is None or not r.header.startswith("20") or not r.clean:
            failures.append(f"{u} (linked from {ref}): "
                            f"{r.header if r else '?'}")
            continue
        if r.header.startswith("20 text/gemini"):
            for link, _ in gemtext_links(r.body):
                target = local(up.urljoin(cur, link))
                if target is not None and target not in seen:
                    queue.append((target, cur))
    assert not failures, "\n".join(failures)
    assert pages >= 1
