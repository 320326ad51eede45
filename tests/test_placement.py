"""Where lumbar's workers run: by default one per core it may run on."""
import os

import pytest

from conftest import wait_until, workers_of


def test_one_worker_per_allowed_core(server_factory):
    """Started on one core of several (taskset, CPUAffinity=), lumbar runs
    one worker, not one per core of the machine."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("SKIP: needs a machine with 2 cores or more")
    srv = server_factory(
        preexec_fn=lambda: os.sched_setaffinity(0, {cores[-1]}))
    assert srv.get("/")[0].startswith("20")
    wait_until(lambda: len(workers_of(srv.proc.pid)) >= 1, "a worker")
    assert len(workers_of(srv.proc.pid)) == 1
    for w in workers_of(srv.proc.pid):
        assert os.sched_getaffinity(w) == {cores[-1]}
