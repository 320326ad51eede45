"""A short run of tests/tools/stress.py (make stress runs it long): concurrent
clients of mixed behaviour against one worker, every whole answer checked
byte for byte, no sanitizer report (check-asan runs it under ASan)."""
from tools.stress import run


def test_short_stress(tmp_path):
    tmp_path.chmod(0o755)       # read by the workers' user when root
    counts, failures = run(seconds=3, clients=8, seed=1, tmp=tmp_path)
    assert not failures, failures
    assert counts.get("fast", 0) + counts.get("slow", 0) > 0, counts
