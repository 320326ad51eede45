"""A worker kept out of file descriptors (issue 14, defect 3) neither
spins on its listener nor floods the log: it pauses accepting and tries
again now and then, and its warning comes once per 10 s with the count
of those left out, also with -q.  The worker is held out of descriptors
for one whole window of the rated warning by clients that never send
their request; the count in the second warning is the number of accept
attempts that failed in between: a handful per second with the pause,
hundreds of thousands a second without it.
"""
import re
import socket

import pytest

from conftest import wait_until
from test_limits import capsule, low_nofile  # noqa: F401 (fixture)

CLIENTS = 150           # more than 80 descriptors hold, fewer than Python's
# Failed accepts in one 10 s window of the warning: one every 100 ms while
# paused is ~100, a spinning worker makes hundreds of thousands.
MAX_RETRIES = 1000


def emfile_lines(srv):
    return [l for l in srv.output().splitlines()
            if "Too many open files" in l]


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_out_of_descriptors_pauses_and_rates_its_warning(server_factory,
                                                         capsule, quiet):
    # --rate 0: every client is taken (none closed as over its rate);
    # --timeout 60: none is dropped for its silence within the window.
    args = ["--workers", "1", "--rate", "0", "--timeout", "60"]
    srv = server_factory(root=capsule, args=args + (["-q"] if quiet else []),
                         preexec_fn=low_nofile(80))
    clients = []
    try:
        for _ in range(CLIENTS):
            clients.append(socket.create_connection(
                (srv.host, srv.gopher_port), 10))
        wait_until(lambda: len(emfile_lines(srv)) >= 1,
                   "the worker runs out of descriptors", timeout=20)
        # The next warning is due 10 s after the first, with how many
        # were left out meanwhile.
        wait_until(lambda: len(emfile_lines(srv)) >= 2,
                   "a second warning, 10 s after the first", timeout=40,
                   detail=lambda: srv.output()[-2000:])
        lines = emfile_lines(srv)
        assert len(lines) == 2, lines[:5]
        m = re.search(r"\(and (\d+) more times since the last such line\)",
                      lines[1])
        assert m, lines
        assert int(m.group(1)) <= MAX_RETRIES, lines[1]
        if quiet:
            assert " gopher " not in srv.output()    # no request lines
    finally:
        for s in clients:
            s.close()
    wait_until(lambda: srv.gopher("/\r\n").startswith(b"iHome"),
               "the server serves again", timeout=20)
