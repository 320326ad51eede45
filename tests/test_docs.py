"""The documentation agrees with the programs: README.md's options block is
what `lumbar --help` prints, lumbar.8 describes every option --help names
(and no other), both man pages render without a warning, README's
source map names every source file, and tests/README every test file and
directory."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import HTML2GMI, LUMBAR, ROOT


def help_of(program):
    p = subprocess.run([program, "--help"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def long_options(text):
    return set(re.findall(r"--([a-z][a-z-]+)", text))


def test_readme_options_block_is_the_help():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    m = re.search(r"^## Options\n\n```\n(.*?)^```$", readme, re.S | re.M)
    assert m, "README.md has no ## Options block"
    assert m.group(1) == help_of(LUMBAR)


def test_lumbar_8_lists_every_option():
    with open(os.path.join(ROOT, "lumbar.8"), encoding="utf-8") as f:
        man = f.read()
    items = set(re.findall(r"^\.It (?:Fl \w , )?Fl Fl ([a-z-]+)", man, re.M))
    synopsis = man[man.index(".Sh SYNOPSIS"):man.index(".Sh DESCRIPTION")]
    said = set(re.findall(r"Fl Fl ([a-z-]+)", synopsis))
    helped = long_options(help_of(LUMBAR))
    assert items == helped
    # the synopsis names the long-only options (the others by letter)
    long_only = set(re.findall(r"^      --([a-z-]+)", help_of(LUMBAR), re.M))
    assert said == long_only


def test_html2gmi_1_lists_every_option():
    with open(os.path.join(ROOT, "html2gmi.1"), encoding="utf-8") as f:
        man = f.read()
    items = set(re.findall(r'^\.BR \\-\w ", " \\-\\-([a-z\\-]+)', man, re.M))
    assert {i.replace("\\-", "-") for i in items} == \
        long_options(help_of(HTML2GMI))


@pytest.mark.parametrize("page", ["lumbar.8", "html2gmi.1"])
def test_man_page_renders_without_warnings(page):
    if not shutil.which("groff"):
        pytest.skip("SKIP: groff not installed (apt-get install groff-base)")
    p = subprocess.run(["groff", "-ww", "-mandoc", "-z",
                        os.path.join(ROOT, page)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_source_map_names_every_source_file():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    smap = readme[readme.index("## Source map"):]
    named = set(re.findall(r"`([\w.]+\.c)`", smap))
    for sub in ("src", os.path.join("src", "html2gmi")):
        files = {f for f in os.listdir(os.path.join(ROOT, sub))
                 if f.endswith(".c")}
        missing = files - named
        assert not missing, f"README's source map lacks {sub}/: {missing}"


def test_tests_readme_names_every_test_file_and_directory():
    """tests/README is the map of tests/: a new suite or directory gets
    its line there."""
    tests = os.path.join(ROOT, "tests")
    with open(os.path.join(tests, "README"), encoding="utf-8") as f:
        named = set(re.findall(r"^([\w.]+/?)\s", f.read(), re.M))
    want = {n for n in os.listdir(tests)
            if n.startswith("test_") and n.endswith(".py")}
    want |= {n + "/" for n in os.listdir(tests)
             if os.path.isdir(os.path.join(tests, n)) and
             not n.startswith((".", "__"))}
    missing = want - named
    assert not missing, f"tests/README lacks {sorted(missing)}"
