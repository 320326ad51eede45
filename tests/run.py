#!/usr/bin/env python3
"""Run every test of lumbar and print one summary line.

The C unit tests (cmocka, one binary per module) report in TAP; the
integration and golden suites run under pytest.  Their counts are added
up into `N passed, N failed`, and the exit status is non-zero on any
failure.  BUILD names the build directory whose binaries are tested;
PYTEST_ARGS, extra pytest arguments (e.g. "-k gopher").  The pytest suites
run on two processes (python3-pytest-xdist, "-n 2"): their tests spend most
of their time waiting on servers and clients, not on the CPU, and each has
its own ports and directories.  PYTEST_ARGS="-n 0" runs them in one.
"""
import glob
import os
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))


def run_unit():
    passed = failed = 0
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    for binary in sorted(glob.glob(os.path.join(BUILD, "tests", "test_*"))):
        name = os.path.basename(binary)
        proc = subprocess.run([binary], env=env, capture_output=True,
                              text=True, timeout=120, cwd=ROOT)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        # pytest writes to the same descriptors next: without a flush, a
        # redirected run shows the unit tests' output after pytest's.
        sys.stdout.flush()
        sys.stderr.flush()
        ok = sum(1 for l in proc.stdout.splitlines() if l.startswith("ok "))
        bad = sum(1 for l in proc.stdout.splitlines()
                  if l.startswith("not ok "))
        if proc.returncode != 0 and bad == 0:
            print(f"not ok - {name} exited with {proc.returncode}")
            bad = 1
        passed += ok
        failed += bad
    return passed, failed


def parallel(args):
    """"-n 2" unless args choose, or xdist is not installed."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        return []
    try:
        import xdist  # noqa: F401
    except ImportError:
        return []
    return ["-n", "2"]


def run_pytest():
    args = shlex.split(os.environ.get("PYTEST_ARGS", ""))
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "junit.xml")
        env = dict(os.environ, LUMBAR_BUILD=BUILD)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p",
             "no:cacheprovider", "--durations=10", f"--junitxml={report}"]
            + parallel(args) + args
            + [os.path.join(ROOT, "tests")], env=env, cwd=ROOT)
        if not os.path.exists(report):
            return 0, 1, 0
        suites = ET.parse(report).getroot()
        tests = failures = skipped = 0
        for s in suites.iter("testsuite"):
            tests += int(s.get("tests", 0))
            failures += int(s.get("failures", 0)) + int(s.get("errors", 0))
            skipped += int(s.get("skipped", 0))
        if proc.returncode not in (0, 1):   # 1 is "some tests failed"
            failures = max(failures, 1)
        return tests - failures - skipped, failures, skipped


def main():
    up, uf = run_unit()
    pp, pf, ps = run_pytest()
    passed, failed = up + pp, uf + pf
    line = f"{passed} passed, {failed} failed"
    if ps:
        line += f", {ps} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
