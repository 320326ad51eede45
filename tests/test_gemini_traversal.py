"""Nothing outside the root, and nothing hidden, is ever served over
Gemini: dotfiles, symbolic links that leave the root, absolute links,
dot segments literal and encoded, absolute paths, encoded slashes.  The
fixture capsule (helpers/gemini_capsule.py) keeps a secret beside the root
that no answer may contain."""
import urllib.parse as up

import pytest

from helpers.gemini_capsule import PASSWD, SECRET, check
from helpers.gemini_capsule import capsule, srv  # noqa: F401 (fixtures)


@pytest.mark.parametrize("path", [
    "/.secret.gmi", "/.hiddendir/inside.gmi", "/.hiddendir/",
    "/.hiddendir", "/listed/.hidden.gmi", "/%2esecret.gmi",
    "/%2Ehiddendir/inside.gmi"])
def test_dotfiles_not_served(srv, path):
    check(srv.get(path), "51", path)


@pytest.mark.parametrize("path", [
    "/escape", "/escape.gmi", "/escape-rel.txt", "/escapedir/secret.txt",
    "/escapedir/secret.gmi", "/escapedir/", "/escapedir"])
def test_symlink_outside_root_refused(srv, path):
    check(srv.get(path), "51", path)


def test_absolute_symlink_is_not_followed(srv):
    # Even pointing inside, an absolute symlink names a path of the host:
    # workers are chrooted into the capsule and resolve beneath it, so
    # such links are refused (documented in lumbar.8); relative ones work.
    r = srv.get("/abslink.gmi")
    check(r, "51")
    assert r.body == b""


# ------------------------------------------------------------ traversal

TRAVERSAL_59 = [
    "/../../../../etc/passwd", "/listed/../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2e/%2e%2E/etc/passwd",
    "/.%2e/.%2e/etc/passwd", "/%2e./etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/listed/%2e%2e%2f%2e%2e%2foutside/secret.txt",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/..%00/etc/passwd",
    "/escapedir/../escape",
]
TRAVERSAL_51 = [
    "/%252e%252e/%252e%252e/etc/passwd",      # decoded once: literal "%2e%2e"
    "/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/..\\..\\..\\..\\etc\\passwd",           # backslashes are plain bytes
    "/%5c..%5c..%5c..%5cetc%5cpasswd",
    "/....//....//etc/passwd",
    "/...",
]


@pytest.mark.parametrize("path", TRAVERSAL_59)
def test_traversal_refused_59(srv, path):
    check(srv.get(path), "59", path)


@pytest.mark.parametrize("path", TRAVERSAL_51)
def test_traversal_lookalikes_not_found(srv, path):
    check(srv.get(path), "51", path)


def test_absolute_paths_stay_in_root(srv, capsule):
    """//etc/passwd or an encoded %2f must not become an absolute path
    outside the root (openat() ignores its directory for those)."""
    secret = str(capsule["outside"] / "secret.txt")
    enc = up.quote(secret, safe="")
    for path in ["//etc/passwd", "/%2fetc%2fpasswd", "/%2Fetc/passwd",
                 "/" + secret, "/" + enc, "//" + secret.lstrip("/"),
                 "/%2f" + enc.lstrip("%2F"), "///etc/passwd"]:
        r = srv.get(path)
        check(r, r.header[:2], path)
        assert r.header[:1] == "5", f"{path}: {r.header}"
        assert SECRET not in r.body and PASSWD not in r.body, path


def test_encoded_slash_is_refused(srv):
    """%2F is data, not the delimiter (RFC 3986, 2.2): decoded into "/",
    a page's relative links would resolve against the wrong directory."""
    for path in ("/listed%2falpha.gmi", "/listed%2F", "/%2F"):
        check(srv.get(path), "59", path)
    assert srv.get("/listed%2falpha.gmi").header == \
        "59 encoded slash in path"
    # %252F is a literal "%2F" in a name: looked up as such.
    check(srv.get("/listed%252Falpha.gmi"), "51")


def test_outside_secret_never_appears(srv, capsule):
    """Sweep: every request in this file's lists; no answer leaks."""
    for p in (TRAVERSAL_59 + TRAVERSAL_51 +
              ["/escape", "/escapedir/secret.txt", "/escape-rel.txt"]):
        r = srv.get(p)
        assert SECRET not in r.body and PASSWD not in r.body, p
