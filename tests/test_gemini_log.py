"""The request log line of a Gemini answer in lumbar's default format:
its fields, escaped control characters, --log FILE and -q.  The other
formats and client forms: test_logs.py."""
import re

from conftest import wait_until
from helpers.gemini_capsule import check
from helpers.gemini_capsule import capsule, srv  # noqa: F401 (fixtures)


LOG_RE = re.compile(r'^(?P<time>\S.*?) gemini (?P<addr>\S+):(?P<port>\d+) '
                    r'"(?P<url>.*)" (?P<status>\d\d) (?P<bytes>\d+) '
                    r'(?P<ms>\d+(?:\.\d+)?)ms$')


def log_line_for(out, lport):
    for line in out.splitlines():
        m = LOG_RE.match(line)
        if m and int(m.group("port")) == lport:
            return m
    return None


def test_log_line_format(srv):
    r = srv.get("/page.gmi")
    check(r, "20")
    wait_until(lambda: log_line_for(srv.output(), r.lport),
               f"a log line for client port {r.lport}", detail=srv.output)
    m = log_line_for(srv.output(), r.lport)
    assert m.group("addr") == "127.0.0.1"
    assert m.group("url") == srv.url("/page.gmi")
    assert m.group("status") == "20"
    assert int(m.group("bytes")) in (len(r.body), len(r.header) + 2 +
                                     len(r.body)), m.group(0)
    # and for an error, with an empty URL
    r = srv.gemini(b"\r\n")
    wait_until(lambda: log_line_for(srv.output(), r.lport),
               "a log line for the empty request", detail=srv.output)
    m = log_line_for(srv.output(), r.lport)
    assert m.group("status") == "59" and m.group("url") == ""


CONTROL_REQUESTS = [
    b"gemini://localhost:{port}/a\x1b[31mred\x1b[0m",
    b"gemini://localhost:{port}/bell\x07\x08\x7f",
    b"gemini://localhost:{port}/cr\rhere",
    b"gemini://localhost:{port}/nul\x00here",
    b"gemini://localhost:{port}/%1b[31m%0a%0d%00%07",
    b"gemini://localhost:{port}/x\x0bFAKE 20 0 0ms",
]


def test_log_escapes_control_characters(srv):
    ports = []
    for req in CONTROL_REQUESTS:
        r = srv.gemini(req.replace(b"{port}", str(srv.port).encode()) +
                       b"\r\n")
        check(r, "59", repr(req))
        ports.append(r.lport)
    # a bare LF inside the request must not forge a log line either
    r = srv.gemini(f"gemini://localhost:{srv.port}/x\nFAKE 20 0 0ms\r\n"
                   .encode())
    ports.append(r.lport)
    wait_until(lambda: all(log_line_for(srv.output(), p) for p in ports),
               f"a log line for each of the ports {ports}",
               detail=srv.output)
    raw = open(srv.log, "rb").read()
    bad = [c for c in raw if (c < 0x20 and c not in (0x0A,)) or c == 0x7F]
    assert not bad, f"raw control bytes {sorted(set(bad))} in log:\n{raw!r}"
    assert not any(l.startswith(b"FAKE") for l in raw.splitlines()), raw


def test_log_to_file(server_factory, capsule, tmp_path):
    logfile = tmp_path / "requests.log"
    s = server_factory(root=capsule["root"], gopher=False,
                       args=["--log", str(logfile)])
    r = s.get("/page.gmi")
    check(r, "20")

    def text():
        return logfile.read_text() if logfile.exists() else ""

    wait_until(lambda: log_line_for(text(), r.lport),
               f"a line for client port {r.lport} in {logfile}", detail=text)


def test_quiet_logs_no_requests(server_factory, capsule):
    s = server_factory(root=capsule["root"], gopher=False, args=["-q"])
    r = s.get("/page.gmi")
    check(r, "20")
    r2 = s.gemini(b"\r\n")
    s.stop()            # every line is out once it has exited
    out = s.output()
    assert not log_line_for(out, r.lport), out
    assert not log_line_for(out, r2.lport), out
