"""make install and make uninstall, into a staging directory (DESTDIR)."""
import os
import re
import shutil
import subprocess

from conftest import HTML2GMI, LUMBAR, ROOT

FILES = ["usr/bin/lumbar", "usr/bin/html2gmi",
         "usr/share/man/man8/lumbar.8", "usr/share/man/man1/html2gmi.1"]


def make(*args):
    build = os.environ.get("LUMBAR_BUILD", os.path.join(ROOT, "build"))
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT,
                           f"BUILD={build}"] + list(args),
                          capture_output=True, text=True, timeout=300)


def test_install_and_uninstall_honour_prefix_and_destdir(tmp_path):
    dest = tmp_path / "stage"
    p = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert p.returncode == 0, p.stderr
    for f in FILES:
        assert (dest / f).is_file(), f
    assert os.access(dest / "usr/bin/lumbar", os.X_OK)
    v = subprocess.run([str(dest / "usr/bin/lumbar"), "--version"],
                       capture_output=True, text=True)
    assert v.stdout.startswith("lumbar ")
    if shutil.which("man"):
        man = subprocess.run(["man", "-l", str(dest / FILES[2])],
                             capture_output=True, text=True,
                             env=dict(os.environ, MANWIDTH="80"))
        assert "Gemini and Gopher capsule server" in man.stdout
    p = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert p.returncode == 0, p.stderr
    for f in FILES:
        assert not (dest / f).exists(), f


def test_one_version_for_both_programs():
    """lumbar, html2gmi and the Makefile's VERSION say the same."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        version = re.search(r"^VERSION\s*=\s*(\S+)$", f.read(), re.M)[1]
    for prog, name in ((LUMBAR, "lumbar"), (HTML2GMI, "html2gmi")):
        v = subprocess.run([prog, "--version"], capture_output=True,
                           text=True, timeout=10)
        assert v.stdout == f"{name} {version}\n", v.stdout
