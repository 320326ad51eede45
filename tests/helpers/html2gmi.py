"""Running the real html2gmi in tests: run() with a time limit, a memory
limit (but under ASan) and a check for sanitizer reports; as_nobody() and
public_tmp for the permission tests as root; tree() to compare outputs;
the contrib/site/ sources and the Makefile's PUBLIC_URL.  Used by
test_html2gmi.py and test_site_rerun.py."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import HTML2GMI, ROOT, SANITIZER_MARKS

SITE = os.path.join(ROOT, "contrib", "site")
TIMEOUT = 60        # seconds; ASan builds are several times slower


def asan_build():
    with open(HTML2GMI, "rb") as f:
        return b"__asan_init" in f.read()


def limit_memory():
    # 1 GiB of address space: a runaway allocation fails instead of
    # swapping.  ASan reserves terabytes of shadow, so not under ASan.
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run(args, data=None, cwd=ROOT, prefix=()):
    proc = subprocess.run(list(prefix) + [HTML2GMI] + list(args), input=data,
                          capture_output=True, timeout=TIMEOUT, cwd=cwd,
                          preexec_fn=None if asan_build() else limit_memory)
    err = proc.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    assert proc.returncode in (0, 1, 2, 3), (proc.returncode, err)
    return proc.returncode, proc.stdout, err


def as_nobody():
    """Root reads and writes anything: as root (in CI), the permission
    tests run html2gmi as nobody instead of skipping."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv(1) (util-linux) drops root for these tests"
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def public_tmp():
    """A directory the user nobody can reach (pytest's own is private)."""
    d = tempfile.mkdtemp(prefix="html2gmi-test-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d)


def tree(root):
    """The capsule's files by path, but for site mode's list of what it
    wrote (test_site_rerun.py checks that one)."""
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if d == str(root) and f == ".html2gmi-made":
                continue
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                files[os.path.relpath(p, root)] = fh.read()
    return files


def makefile_public_url():
    """The address `make capsule` gives html2gmi when none is said."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^PUBLIC_URL\s*\?=\s*(\S+)$", f.read(), re.M)
    assert m, "PUBLIC_URL ?= ... in the Makefile"
    return m.group(1)
