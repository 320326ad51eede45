"""The request log of a worker is buffered (one write(2) for many lines)
yet complete: flushed when the worker is idle, on SIGHUP and on SIGTERM."""
import os
import signal

import pytest

from conftest import wait_until, workers_of

N = 40


def request_lines(srv, tag):
    return [ln for ln in srv.output().splitlines()
            if f'/{tag}-' in ln and ln.split()[1] == "gemini"]


def serve_n(srv, tag, n=N):
    for i in range(n):
        assert srv.get(f"/{tag}-{i}")[0].startswith("51")


def writes_of(pid):
    """write(2)-like system calls pid has made (/proc/PID/io syscw)."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    raise AssertionError("no syscw in /proc/%d/io" % pid)


def one_worker(srv):
    wait_until(lambda: len(workers_of(srv.proc.pid)) == 1, "one worker")
    return workers_of(srv.proc.pid)[0]


def test_request_lines_share_writes(server_factory):
    """A small Gemini answer costs the worker 3 writes (handshake, ticket,
    answer with its close_notify); before the log was buffered each line
    was one more."""
    srv = server_factory(args=["--workers", "1"])
    w = one_worker(srv)
    try:
        before = writes_of(w)
    except OSError:
        pytest.skip("SKIP: /proc/PID/io of the worker is not readable here")
    serve_n(srv, "batch")
    per_request = (writes_of(w) - before) / N
    assert per_request < 4.5, per_request
    # and the lines come out once the worker is idle, without a signal
    wait_until(lambda: len(request_lines(srv, "batch")) == N, "idle flush")


def test_request_log_complete_after_sigterm(server_factory):
    srv = server_factory(args=["--workers", "1"])
    serve_n(srv, "term")
    srv.stop()
    assert len(request_lines(srv, "term")) == N, srv.output()[-2000:]


def test_request_log_complete_after_sighup(server_factory):
    """A reload stops the old worker: its waiting lines are written first,
    before its stop line, in the order they were served."""
    srv = server_factory(args=["--workers", "1"])
    old = one_worker(srv)
    serve_n(srv, "hup")
    os.kill(srv.proc.pid, signal.SIGHUP)
    wait_until(lambda: old not in workers_of(srv.proc.pid), "old worker gone")
    lines = request_lines(srv, "hup")
    assert [ln.split('"')[1].rsplit("-", 1)[1] for ln in lines] == \
        [str(i) for i in range(N)], srv.output()[-2000:]
    srv.stop()
