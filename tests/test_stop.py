"""A stop (SIGTERM) lets the answers in flight finish (issue 14, defect
2): the workers keep sending for --grace (300 s by default), and the
parent waits that long (and 10 s more) before it kills them.  The reload
counterpart is test_hardening's test_sighup_lets_slow_readers_finish."""
import signal

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
