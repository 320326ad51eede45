"""Session tickets of one instance (no --ticket-key) resume on every
worker and on the next generation after a reload (issue 14, defect 9:
ticket keys rotate across workers): the keys of each period are derived
from one secret the parent makes once.  Which worker takes a connection
is the kernel's choice, so the test makes it: the worker that should not
accept is stopped (SIGSTOP).  Across instances sharing --ticket-key:
test_scaleout."""
import os
import signal

from conftest import client_ctx, wait_until, workers_of
from test_rate_shared import pause
from test_scaleout import fetch


def test_session_resumes_on_the_other_worker_and_after_a_reload(
        server_factory):
    srv = server_factory(args=["--workers", "2"])
    a, b = workers_of(srv.proc.pid)
    ctx = client_ctx()
    try:
        pause(b)
        head, _, sess, reused, _ = fetch(srv.host, srv.port, "/", ctx=ctx)
        assert head.startswith("20") and sess is not None and not reused
        os.kill(b, signal.SIGCONT)
        pause(a)
        head, _, _, reused, _ = fetch(srv.host, srv.port, "/", ctx=ctx,
                                      session=sess)
        assert head.startswith("20") and reused, \
            "the other worker did not resume the session"
    finally:
        os.kill(a, signal.SIGCONT)
        os.kill(b, signal.SIGCONT)
    os.kill(srv.proc.pid, signal.SIGHUP)
    wait_until(lambda: not {a, b} & set(workers_of(srv.proc.pid)),
               "the old generation ends")
    head, _, _, reused, _ = fetch(srv.host, srv.port, "/", ctx=ctx,
                                  session=sess)
    assert head.startswith("20") and reused, \
        "the new generation did not resume the session"
