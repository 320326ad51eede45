"""A short run of tests/tools/interleave.py (make interleave runs 200 seeds):
seeded schedules of Gemini and Gopher connections' events through one
worker, every whole answer checked byte for byte, no crash, hang or
sanitizer report (check-asan runs it under ASan).  A failure names its
seed: `tests/tools/interleave.py --seed N --trace` replays it."""
import pytest

from tools.interleave import run_seed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_interleaved_schedule(tmp_path, seed):
    tmp_path.chmod(0o755)       # read by the workers' user when root
    counts, failure = run_seed(seed, steps=400, conns=6, tmp=tmp_path)
    assert failure is None, failure
    assert counts.get("whole", 0) > 0, counts
