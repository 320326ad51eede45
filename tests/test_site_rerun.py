"""html2gmi's site mode run again and again on a capsule being served:
a page that does not convert is left out (and said), the capsule is
replaced whole or not at all, what html2gmi did not make is kept, and
the capsule's public address is a setting.  All through the real binary.
"""
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import BUILD, HTML2GMI, LUMBAR, ROOT
from helpers.html2gmi import (SITE, TIMEOUT, as_nobody, makefile_public_url,
                              public_tmp, run, tree)  # noqa: F401


def write_site(root, pages):
    for rel, html in pages.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(html)


def test_bad_pages_are_left_out(tmp_path):
    site = tmp_path / "site"
    write_site(site, {
        "index.html": b"<title>Home</title><h1>Home</h1><p>See "
                      b"<a href='good.html'>the good page</a> and "
                      b"<a href='broken.html'>the broken one</a>.",
        "good.html": b"<title>Good</title><p>Fine text.",
        "broken.html": b"\0\0\0binary",
        "sub/empty.html": b"",
    })
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 3, err
    assert err == (f"html2gmi: {site}/broken.html: binary data, not an "
                   "HTML document; left out\n"
                   f"html2gmi: {site}/sub/empty.html: empty input, not an "
                   "HTML document; left out\n")
    got = tree(out)
    assert "good.gmi" in got and "index.gmi" in got
    assert "broken.gmi" not in got and "sub/empty.gmi" not in got
    # Converted again without them: no link to a page the capsule lacks.
    assert b"=> good.gmi" in got["index.gmi"]
    assert b"broken.gmi" not in got["index.gmi"]


def test_no_page_converts(tmp_path):
    site = tmp_path / "site"
    write_site(site, {"a.html": b"", "b.html": b"\0\0binary"})
    out = tmp_path / "out"
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1
    assert err.endswith(f"html2gmi: {site}: no page converted; {out} is "
                        "left as it was\n"), err
    assert not out.exists()


# --- The capsule replaced whole, or not at all. ---

def big_site(root, n, version, size=1):
    """n articles of about size KB each; version changes every page."""
    para = (f"<p>Version {version} of this page, with a sentence that "
            "takes some room, and another clause, and one more.</p>\n")
    pages = {"index.html": f"<title>Home</title><h1>Home v{version}</h1>"
             "<p><a href='articles/index.html'>Articles</a>".encode()}
    for i in range(n):
        pages[f"articles/a{i:05d}.html"] = (
            f"<title>Article {i}</title><h1>Article {i}</h1>" +
            para * (8 * size)).encode()
    write_site(root, pages)


def builds(parent, name="out"):
    return sorted(e for e in os.listdir(parent)
                  if e.startswith(f".{name}.html2gmi-new-"))


MADE_LIST = ".html2gmi-made"     # what a run wrote, kept in the capsule


def hidden_in(root):
    """Dotfiles other than html2gmi's list: temporary files left over."""
    return [os.path.join(d, f) for d, ds, fs in os.walk(root)
            for f in fs + ds if f.startswith(".") and f != MADE_LIST]


def snapshot(root):
    """Every file's bytes, mode and owner, by path."""
    files = {}
    for d, ds, fs in os.walk(root):
        for f in fs + ds:
            p = os.path.join(d, f)
            st = os.lstat(p)
            data = b""
            if os.path.isfile(p):
                with open(p, "rb") as fh:
                    data = fh.read()
            files[os.path.relpath(p, root)] = (data, st.st_mode, st.st_uid,
                                               st.st_gid)
    return files


def inodes(root):
    return {os.path.join(d, f): os.lstat(os.path.join(d, f)).st_ino
            for d, _, fs in os.walk(root) for f in fs}


def test_kill_mid_run_leaves_the_old_capsule(tmp_path):
    site, out = tmp_path / "site", tmp_path / "out"
    big_site(site, 3000, 1)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    old = snapshot(out)
    old_inodes = inodes(out)
    shutil.rmtree(site)
    big_site(site, 3000, 2)
    want = tmp_path / "want"
    rc, _, err = run(["-o", str(want), str(site)])
    assert rc == 0, err
    new = snapshot(want)

    # Kill as soon as the run has written anything: a build beside the
    # capsule with a file in it, or any file of the capsule replaced.
    proc = subprocess.Popen([HTML2GMI, "-o", str(out), str(site)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if any(os.listdir(os.path.join(tmp_path, b))
                   for b in builds(tmp_path)):
                break
            if inodes(out) != old_inodes:
                break
            time.sleep(0.001)
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, \
        "the run ended before anything was seen written"
    after = snapshot(out)
    # Killed before the switch (nearly always) or just after it.
    assert after == old or after == new, "a mix of old and new pages"
    assert hidden_in(out) == []

    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert snapshot(out) == new
    assert builds(tmp_path) == [] and hidden_in(out) == []


def fsize_limit(n):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
    return limit


def test_file_size_limit_leaves_the_old_capsule(tmp_path):
    # Past RLIMIT_FSIZE a write fails as on a full disk (html2gmi ignores
    # SIGXFSZ for that); pages of about 4 KB pass a 2 KB limit half way.
    site, out = tmp_path / "site", tmp_path / "out"
    big_site(site, 50, 1, size=0)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    old = snapshot(out)
    for i in range(25, 50):
        (site / f"articles/a{i:05d}.html").write_bytes(
            b"<title>Long</title><p>" + b"word " * 1000)
    proc = subprocess.run([HTML2GMI, "-o", str(out), str(site)],
                          capture_output=True, timeout=TIMEOUT,
                          preexec_fn=fsize_limit(2048))
    err = proc.stderr.decode()
    assert proc.returncode == 1, (proc.returncode, err)
    assert f"{out}/articles/a00025.gmi: cannot write: File too large; " \
        f"{out} is left as it was\n" in err
    assert snapshot(out) == old
    assert builds(tmp_path) == [] and hidden_in(out) == []


def tmpfs_usable():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            "mount -t tmpfs -o size=64k none /mnt"],
                           capture_output=True, timeout=TIMEOUT)
    return probe.returncode == 0


FULL_DISK = r"""
import json, os, subprocess, sys
html2gmi, mnt, site1, site2 = sys.argv[1:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "none", mnt],
               check=True)
out = os.path.join(mnt, "out")
def run(site):
    p = subprocess.run([html2gmi, "-o", out, site], capture_output=True)
    return p.returncode, p.stderr.decode()
def snap():
    s = {}
    for d, ds, fs in os.walk(out):
        for f in fs:
            with open(os.path.join(d, f), "rb") as fh:
                s[os.path.relpath(os.path.join(d, f), out)] = fh.read().hex()
    return s
first = run(site1)
old = snap()
second = run(site2)
print(json.dumps({"first": first, "second": second, "same": snap() == old,
                  "mnt": sorted(os.listdir(mnt)),
                  "hidden": [f for d, ds, fs in os.walk(out) for f in fs
                             if f.startswith(".") and f != ".html2gmi-made"]}))
"""


@pytest.mark.skipif(not tmpfs_usable(),
                    reason="needs root to mount a tmpfs in a namespace")
def test_full_disk_leaves_the_old_capsule(tmp_path):
    # A 1 MiB tmpfs: the first capsule (~0.5 MiB) fits, the second, with
    # pages three times larger, does not, even written in place.
    site1, site2 = tmp_path / "site1", tmp_path / "site2"
    big_site(site1, 60, 1, size=8)
    big_site(site2, 60, 2, size=24)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["unshare", "-m", sys.executable, "-c", FULL_DISK,
                           HTML2GMI, str(mnt), str(site1), str(site2)],
                          capture_output=True, timeout=TIMEOUT * 2)
    assert proc.returncode == 0, proc.stderr.decode()
    r = json.loads(proc.stdout)
    assert r["first"] == [0, ""]
    rc, err = r["second"]
    assert rc == 1 and "No space left on device" in err, err
    assert "is left as it was" in err
    assert r["same"], "a mix of old and new pages"
    assert r["mnt"] == ["out"] and r["hidden"] == []


def small(tmp_path):
    site, out = tmp_path / "site", tmp_path / "out"
    big_site(site, 3, 1, size=0)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    return site, out


def test_read_only_output_file_is_not_replaced(tmp_path):
    site, out = small(tmp_path)
    (site / "index.html").write_bytes(b"<title>Home</title><p>Changed.")
    (out / "index.gmi").chmod(0o444)
    old = snapshot(out)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1
    assert err == (f"html2gmi: {out}/index.gmi: read-only, so not replaced; "
                   f"{out} is left as it was (chmod u+w to let html2gmi "
                   "rewrite it)\n")
    assert snapshot(out) == old
    assert builds(tmp_path) == []
    (out / "index.gmi").chmod(0o644)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0 and b"Changed." in (out / "index.gmi").read_bytes()


def test_mode_and_owner_are_kept(tmp_path):
    site, out = small(tmp_path)
    (out / "index.gmi").chmod(0o640)
    out.chmod(0o750)
    if os.geteuid() == 0:
        os.chown(out / "articles" / "a00001.gmi", 65534, 65534)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert stat.S_IMODE(os.stat(out / "index.gmi").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(out / "articles").st_mode) == 0o755
    if os.geteuid() == 0:
        st = os.stat(out / "articles" / "a00001.gmi")
        assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_new_capsule_directory_mode(tmp_path):
    # Built under a private temporary name, but readable as any other.
    site, out = small(tmp_path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o777 & ~mask


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_owner_that_cannot_be_kept_stops_the_run(public_tmp):
    site, out = public_tmp / "site", public_tmp / "out"
    big_site(site, 3, 1, size=0)
    os.chmod(public_tmp, 0o777)     # nobody builds beside out
    rc, _, err = run(["-o", str(out), str(site)], prefix=as_nobody())
    assert rc == 0, err
    os.chown(out / "index.gmi", 0, 0)
    old = snapshot(out)
    rc, _, err = run(["-o", str(out), str(site)], prefix=as_nobody())
    assert rc == 1
    assert err == (f"html2gmi: {out}/index.gmi: owned by uid 0 gid 0, which "
                   f"html2gmi cannot give its new version; {out} is left as "
                   "it was (run html2gmi as that user, or as root)\n")
    assert snapshot(out) == old and builds(public_tmp) == []


def test_files_html2gmi_did_not_make_are_kept(tmp_path):
    site, out = small(tmp_path)
    (out / "robots.txt").write_text("User-agent: *\n")
    (out / "img").mkdir()
    (out / "img" / "pic.png").write_bytes(b"\x89PNG")
    (out / "links").symlink_to("img")
    (out / "old.gmi").write_text("# A page no HTML makes\n")
    (site / "articles" / "a00002.html").unlink()
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0
    assert err == (f"html2gmi: {out}/articles/a00002.gmi: no page of the "
                   "site makes it any more; left out\n"
                   f"html2gmi: {out}/old.gmi: no page of the site makes it "
                   "any more; left out\n")
    assert (out / "robots.txt").read_text() == "User-agent: *\n"
    assert (out / "img" / "pic.png").read_bytes() == b"\x89PNG"
    assert os.readlink(out / "links") == "img"
    assert not (out / "old.gmi").exists()
    assert not (out / "articles" / "a00002.gmi").exists()


def test_user_file_in_the_way_stops_the_run(tmp_path):
    site, out = small(tmp_path)
    shutil.rmtree(out / "articles")
    (out / "articles").write_text("a file where a directory must go")
    old = snapshot(out)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 1
    assert err == (f"html2gmi: {out}/articles: in the way of the directory "
                   f"html2gmi makes there; {out} is left as it was (move "
                   "it)\n")
    assert snapshot(out) == old and builds(tmp_path) == []


def test_previous_capsule_kept_until_next_run(tmp_path):
    # A server holding the old directory open (lumbar until SIGHUP) still
    # finds its files; the run after removes it.
    site, out = small(tmp_path)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        rc, _, err = run(["-o", str(out), str(site)])
        assert rc == 0, err
        assert os.path.exists(f"/proc/self/fd/{fd}/index.gmi")
        assert sorted(os.listdir(tmp_path)) == [".out.html2gmi-old", "out",
                                                "site"]
        rc, _, err = run(["-o", str(out), str(site)])
        assert rc == 0, err
        assert not os.path.exists(f"/proc/self/fd/{fd}/index.gmi")
    finally:
        os.close(fd)


# --- The capsule's public address. ---

def test_public_address_is_a_make_setting(tmp_path):
    # The profile describes the site; where it is served is not in it.
    with open(os.path.join(SITE, "html2gmi.conf")) as f:
        assert not any(line.startswith("feed-url") for line in f)
    assert makefile_public_url() == "gemini://localhost/"   # the demo
    out = tmp_path / "pub"
    proc = subprocess.run(
        ["make", "-s", "-o", HTML2GMI, "capsule", f"BUILD={BUILD}",
         "PUBLIC_URL=gemini://example.org/", f"CAPSULE_DIR={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    atom = (out / "atom.xml").read_text()
    assert "<id>gemini://example.org/articles/index.gmi</id>" in atom
    assert "localhost" not in atom
    for d, _, fs in os.walk(out):
        for f in fs:
            with open(os.path.join(d, f), "rb") as fh:
                assert b"localhost" not in fh.read(), f


def check(root, *hosts):
    args = [LUMBAR, "--check", "--root", str(root), "--certs",
            str(root.parent / "no-certs")]
    for h in hosts:
        args += ["-H", h]
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_check_names_a_feed_for_another_host(tmp_path):
    out = tmp_path / "capsule"
    rc, _, err = run(["--feed-url", "gemini://localhost/", "-o", str(out),
                      SITE])
    assert rc == 0, err
    p = check(out, "example.org")
    assert p.returncode == 1
    assert (f"lumbar: {out}/atom.xml: 5 gemini:// links to localhost, a "
            "host this server does not serve: rebuild the capsule for its "
            "address (make capsule PUBLIC_URL=gemini://example.org/, or "
            "html2gmi --feed-url), or serve localhost too (-H)\n") \
        in p.stderr, p.stderr
    assert "lumbar: 1 problem\n" in p.stderr
    # Served under that name, or built for the right one: no problem.
    assert check(out, "localhost").returncode == 0
    rc, _, err = run(["--feed-url", "gemini://example.org/", "-o", str(out),
                      SITE])
    assert rc == 0, err
    p = check(out, "example.org")
    assert p.returncode == 0, p.stderr


def test_check_names_links_to_this_machine(tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text(
        "# Home\n"
        "=> gemini://localhost/page.gmi only here\n"
        "=> gemini://127.0.0.1:1965/ also only here\n"
        "=> gemini://[::1]/ and here\n"
        "=> gemini://other.example/ another capsule: fine\n"
        "=> gemini://example.org/page.gmi served: fine\n"
        "=> feed.xml the feed\n"
        "=> page.gmi a page\n")
    (root / "page.gmi").write_text("# Page\n")
    (root / "feed.xml").write_text(
        '<feed><id>gemini://old.example/</id>'
        '<link href="gemini://example.org/page.gmi"/></feed>\n')
    p = check(root, "example.org")
    assert p.returncode == 1
    err = p.stderr
    for url, host in (("gemini://localhost/page.gmi", "localhost"),
                      ("gemini://127.0.0.1:1965/", "127.0.0.1"),
                      ("gemini://[::1]/", "::1")):
        assert (f'lumbar: {root}/index.gmi: link "{url}" leads to {host}, '
                "which only this machine reaches, and this server does not "
                "serve it (-H)\n") in err, err
    assert f"lumbar: {root}/feed.xml: 1 gemini:// link to old.example" \
        in err
    assert "other.example" not in err
    assert "lumbar: 4 problems\n" in err


# --- Local images copied into the capsule. ---

def test_local_images_are_copied(tmp_path):
    site, out = tmp_path / "site", tmp_path / "out"
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"not the site's")
    write_site(site, {
        "index.html": b"<title>Home</title><p>A picture: "
                      b"<img src='img/pic.png' alt='The picture'>.</p>"
                      b"<p><a href='sub/Big%20One.JPG'>a photo</a>, "
                      b"<a href='img/out.png'>out</a>, "
                      b"<a href='.hidden/h.png'>hidden</a>, "
                      b"<a href='img/missing.png'>missing</a>, "
                      b"<a href='html2gmi.conf'>not an image</a>, "
                      b"<a href='../../secret.png'>up</a>.</p>",
        "sub/page.html": b"<title>Sub</title><p>Again: "
                         b"<img src='../img/pic.png' alt='Same picture'>",
        "bad.html": b"\0\0binary <img src='img/only-bad.png' alt='x'>",
        "img/pic.png": b"\x89PNG pic",
        "img/only-bad.png": b"\x89PNG bad",
        "sub/Big One.JPG": b"\xff\xd8 jpeg",
        ".hidden/h.png": b"\x89PNG hidden",
        "html2gmi.conf": b"articles articles\n",
    })
    (site / "img" / "out.png").symlink_to(outside)
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 3, err       # bad.html is left out
    got = tree(out)
    assert got["img/pic.png"] == b"\x89PNG pic"
    assert got["sub/Big One.JPG"] == b"\xff\xd8 jpeg"
    for name in ("img/out.png", "img/only-bad.png", ".hidden/h.png",
                 "img/missing.png", "html2gmi.conf", "secret.png"):
        assert name not in got, name
    assert b"=> img/pic.png The picture\n" in got["index.gmi"]
    assert b"=> sub/Big%20One.JPG a photo\n" in got["index.gmi"]
    assert b"=> ../img/pic.png Same picture\n" in got["sub/page.gmi"]
    assert not os.path.islink(out / "img" / "pic.png")


def test_images_no_page_links_any_more_are_left_out(tmp_path):
    """An image an earlier run copied goes when no page links to it; one
    the author put into the capsule by hand stays, and so does an image
    still linked."""
    site, out = tmp_path / "site", tmp_path / "out"
    write_site(site, {
        "index.html": b"<title>Home</title><p><img src='img/a.png' alt='A'>"
                      b"<img src='img/b.png' alt='B'></p>",
        "img/a.png": b"\x89PNG a",
        "img/b.png": b"\x89PNG b",
    })
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert tree(out)["img/a.png"] == b"\x89PNG a"
    (out / "img" / "mine.png").write_bytes(b"\x89PNG by hand")
    (out / "logo.png").write_bytes(b"\x89PNG logo")
    write_site(site, {"index.html": b"<title>Home</title>"
                                    b"<p><img src='img/b.png' alt='B'></p>"})
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0, err
    assert err == (f"html2gmi: {out}/img/a.png: copied from the site by an "
                   "earlier run, and no page links to it any more; left "
                   "out\n")
    got = tree(out)
    assert "img/a.png" not in got
    assert got["img/b.png"] == b"\x89PNG b"
    assert got["img/mine.png"] == b"\x89PNG by hand"
    assert got["logo.png"] == b"\x89PNG logo"
    # The list of what html2gmi wrote (a dotfile: lumbar never serves it).
    made = (out / MADE_LIST).read_text().splitlines()
    assert "img/b.png" in made and "index.gmi" in made
    assert "img/a.png" not in made and "img/mine.png" not in made
    # A run with nothing changed carries nothing away.
    rc, _, err = run(["-o", str(out), str(site)])
    assert rc == 0 and err == "", err
    assert tree(out) == got
