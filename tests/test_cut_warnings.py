"""An answer lumbar cuts itself is said where the operator looks (issue 14,
defect 2: "any request cut anyway is logged as cut"), also where the
request lines cannot say it: with -q (no request lines) and in Apache's
common and combined formats (no field for it).  A file that shrinks while
it is sent is a warning naming the request; the answers cut at the end of
the grace period are counted in one warning.  In lumbar's own format the
request line says "cut (...)" and no warning repeats it
(test_hardening)."""
import os
import signal

import pytest

from conftest import wait_until, workers_of
from test_hardening import (SlowReader, shrink_while_sent,  # noqa: F401
                            slow_capsule)

MODES = {"quiet": ["-q"], "common": ["--log-format", "common"],
         "combined": ["--log-format", "combined"]}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_file_shrunk_while_sent_is_a_warning(server_factory, slow_capsule,
                                             mode):
    srv = server_factory(root=slow_capsule,
                         args=["--workers", "1"] + MODES[mode])
    said = shrink_while_sent(srv, slow_capsule, "the file shrank while sent")
    assert len(said) == 1 and '"/slow.bin"' in said[0], said


@pytest.mark.parametrize("mode", ["quiet", "common"])
def test_answers_cut_at_the_end_of_the_grace_period_are_counted(
        server_factory, slow_capsule, mode):
    srv = server_factory(root=slow_capsule,
                         args=["--workers", "1", "--grace", "1"] +
                         MODES[mode])
    old = workers_of(srv.proc.pid)
    readers = [SlowReader(srv, "gemini"), SlowReader(srv, "gopher")]
    for r in readers:
        r.start()
    for r in readers:
        assert r.started.wait(30), "no byte of the answer came"
    os.kill(srv.proc.pid, signal.SIGHUP)
    for r in readers:
        r.join(120)
        assert not r.is_alive()
        assert r.end in ("reset", "eof"), (r.proto, r.end)
    wait_until(lambda: not set(old) & set(workers_of(srv.proc.pid)),
               "the old worker ends")
    wait_until(lambda: "answers cut" in srv.output(),
               "the cut answers are counted",
               detail=lambda: srv.output()[-2000:])
    assert "the grace period (--grace 1 s) is over: 2 answers cut" \
        in srv.output(), srv.output()[-2000:]
