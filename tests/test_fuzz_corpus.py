"""Replay every fuzz seed (and every input that once crashed) through its
fuzz target built with the ordinary compiler and tests/fuzz/replay.c, so
that `make test` and `make check-asan` keep the properties the fuzzers
check without needing clang or libFuzzer."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD, ROOT

FUZZ = os.path.join(ROOT, "tests", "fuzz")
NAMES = sorted(os.path.basename(p)[len("fuzz_"):-len(".c")]
               for p in glob.glob(os.path.join(FUZZ, "fuzz_*.c")))
MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
         "property broken")


@pytest.mark.parametrize("name", NAMES)
def test_corpus_replays(name):
    binary = os.path.join(BUILD, "fuzz", "fuzz_" + name)
    corpus = os.path.join(FUZZ, "corpus", name)
    if not os.path.exists(binary):
        pytest.skip(f"{binary} not built")
    assert os.listdir(corpus), f"no seeds in {corpus}"
    proc = subprocess.run([binary, corpus], capture_output=True, text=True,
                          errors="replace", timeout=300, cwd=ROOT)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    assert not any(m in report for m in MARKS), report
    assert f"{len(os.listdir(corpus))} inputs replayed" in proc.stdout
