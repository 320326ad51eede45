"""A stop (SIGTERM) lets the answers in flight finish (issue 14, defect
2): the workers keep sending for --grace (300 s by default), and the
parent waits that long (and 10 s more) before it kills them.  The reload
counterpart is test_hardening's test_sighup_lets_slow_readers_finish."""
import os
import signal
import socket

from conftest import wait_until, workers_of
from test_hardening import SlowReader, slow_capsule  # noqa: F401 (fixture)


def test_sigterm_lets_slow_readers_finish(server_factory, slow_capsule):
    """Slow readers of a 16 MiB file (about 10 s each) get every byte and
    a clean end after a SIGTERM: a parent that killed its workers a few
    seconds after it (5 s before issue 14) would cut them."""
    srv = server_factory(root=slow_capsule, args=["--workers", "1"])
    expect = (slow_capsule / "slow.bin").read_bytes()
    readers = [SlowReader(srv, "gemini"), SlowReader(srv, "gopher")]
    for r in readers:
        r.start()
    for r in readers:
        assert r.started.wait(30), "no byte of the answer came"
    srv.proc.send_signal(signal.SIGTERM)
    for r in readers:
        r.join(120)
        assert not r.is_alive()
        assert r.end == "clean", (r.proto, r.end, len(r.data))
        assert r.body() == expect, (r.proto, len(r.body()))
    assert srv.proc.wait(60) == 0
    out = srv.output()
    assert " cut (" not in out and "killed by signal" not in out, out[-2000:]


def test_stalled_reader_does_not_hold_a_reload(server_factory,
                                               slow_capsule):
    """During the grace period the per-write deadline (--timeout) still
    holds: a client that stops reading is dropped, logged as cut, and the
    old worker ends long before the 300 s of --grace."""
    srv = server_factory(root=slow_capsule, args=["--workers", "1",
                                                  "--timeout", "2"])
    old = workers_of(srv.proc.pid)
    s = socket.create_connection((srv.host, srv.gopher_port), 30)
    try:
        s.sendall(b"/slow.bin\r\n")
        assert s.recv(4096)             # the answer started; read no more
        os.kill(srv.proc.pid, signal.SIGHUP)
        wait_until(lambda: not set(old) & set(workers_of(srv.proc.pid)),
                   "the old worker ends", timeout=30,
                   detail=lambda: srv.output()[-2000:])
    finally:
        s.close()
    wait_until(lambda: '"/slow.bin" 20 ' in srv.output(),
               "the dropped answer is logged")
    line = [l for l in srv.output().splitlines() if '"/slow.bin"' in l]
    assert len(line) == 1 and line[0].endswith(
        "cut (the client stopped reading)"), line
