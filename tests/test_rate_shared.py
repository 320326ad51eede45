"""The rate of new connections from one address is one budget over every
worker (issue 14, defect 8): a client whose burst one worker spent is
refused by the other too, not given a fresh burst per worker.  Which
worker takes a connection is the kernel's choice, so the test makes it:
the worker that should not accept is stopped (SIGSTOP), and the kernel
hands the connection to the one that runs."""
import os
import signal

from conftest import wait_until, workers_of
from test_limits import capsule, gopher_from  # noqa: F401 (fixture)

BURST = 10
SOURCE = "127.0.0.5"    # not the start-up probe's address


def pause(pid):
    """SIGSTOP pid and wait until it has stopped: until then it may still
    be woken for a connection (and take it once continued)."""
    os.kill(pid, signal.SIGSTOP)

    def state():
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0]
    wait_until(lambda: state() == "T", f"worker {pid} stopped")


def test_rate_is_shared_by_the_workers(server_factory, capsule):
    srv = server_factory(root=capsule, args=["--workers", "2", "--rate", "1",
                                             "--burst", str(BURST)])
    a, b = workers_of(srv.proc.pid)
    try:
        pause(a)
        for i in range(BURST):          # the burst, all taken by b
            assert gopher_from(srv, SOURCE).startswith(b"iHome"), i
        os.kill(a, signal.SIGCONT)
        pause(b)
        # a has spent nothing itself: with a bucket of its own it would
        # serve BURST more; sharing b's, it refuses within a second's
        # worth of new tokens.
        answers = [gopher_from(srv, SOURCE) for _ in range(BURST)]
    finally:
        os.kill(a, signal.SIGCONT)
        os.kill(b, signal.SIGCONT)
    served = sum(1 for x in answers if x.startswith(b"iHome"))
    assert served < BURST, answers
    assert any(x.startswith(b"3Too many connections, try again in ")
               for x in answers), answers
