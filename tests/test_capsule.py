"""What a capsule path names, as every caller of the lookup reads it: a
file the cache keeps, a file too large to keep (streamed from its
descriptor), a directory.  All through the real lumbar binary.
"""
import subprocess

from conftest import LUMBAR

CACHE_FILE_MAX = 256 * 1024     # src/lumbar.h: larger files are streamed


def check(root, *hosts):
    args = [LUMBAR, "--check", "--root", str(root), "--certs",
            str(root.parent / "no-certs")]
    for h in hosts:
        args += ["-H", h]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_check_reads_a_feed_too_large_to_cache(tmp_path):
    """A feed over the cache's file size is read from its descriptor, as
    a small one is from the cache (--check crashed on it)."""
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n=> atom.xml the feed\n")
    entry = "<entry><title>{}</title><summary>" + "x" * 200 + \
        "</summary></entry>"
    feed = ("<feed><id>gemini://old.example/</id>" +
            "".join(entry.format(i) for i in range(1500)) + "</feed>\n")
    assert len(feed) > CACHE_FILE_MAX
    (root / "atom.xml").write_text(feed)
    p = check(root, "example.org")
    assert p.returncode == 1, p.stderr
    assert (f"lumbar: {root}/atom.xml: 1 gemini:// link to old.example, a "
            "host this server does not serve") in p.stderr, p.stderr
    assert "lumbar: 1 problem\n" in p.stderr, p.stderr
