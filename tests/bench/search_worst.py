#!/usr/bin/env python3
"""The worst search for a worker (issue 14): a word found only in the
titles of 20 pages of 1 MB each.  Prints the mean time of one query over
Gemini, TLS handshake included, from one client against one worker.
Timings only: `make bench-search-worst`, never part of `make test`.
(Before snippets took the match's place from the index: ~500 ms.)"""
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
from conftest import Server  # noqa: E402

QUERIES = 20

with tempfile.TemporaryDirectory(prefix="lumbar-search-") as tmp:
    tmp = pathlib.Path(tmp)
    tmp.chmod(0o755)
    root = tmp / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n")
    for i in range(20):
        (root / f"p{i}.gmi").write_text(
            f"# Okapi {i}\n" + "filler words here\n" * 58000)
    srv = Server(tmp, root=root, args=["--workers", "1"])
    try:
        head = srv.get("/search?okapi")[0]
        assert head.startswith("20"), head
        t = time.monotonic()
        for _ in range(QUERIES):
            srv.get("/search?okapi")
        ms = (time.monotonic() - t) / QUERIES * 1000
    finally:
        srv.stop()
print(f"search-worst: {ms:.1f} ms per query (a word only in the titles "
      f"of 20 pages of 1 MB)")
