"""Gopher+ answers ("<TAB>+") framed by what the answer is, not by its
last bytes: a menu behind "+-1" (its "." line ends it), text and files
behind "+-2" (the close ends them), a refusal as "--1"."""
import pytest


@pytest.fixture
def srv(server_factory, tmp_path):
    root = tmp_path / "capsule"
    root.mkdir()
    (root / "index.gmi").write_text("# Home\n=> dot.gmi A page\n")
    # A page whose last line is a lone ".": its text form ends with the
    # bytes that end a menu.
    (root / "dot.gmi").write_text("# Dots\n\nThe end comes next.\n.\n")
    (root / "raw.txt").write_text("a file\r\n.\r\n")
    return server_factory(root=root)


def test_text_ending_in_a_dot_line_is_not_a_menu(srv):
    plain = srv.gopher(b"/dot.txt\r\n")
    assert plain.endswith(b"\r\n.\r\n"), plain     # the case in question
    for _ in range(2):      # rendered, then from the cache
        plus = srv.gopher(b"/dot.txt\t+\r\n")
        assert plus == b"+-2\r\n" + plain, plus[:40]


def test_menu_and_file_and_refusal(srv):
    menu = srv.gopher(b"/\r\n")
    assert srv.gopher(b"/\t+\r\n") == b"+-1\r\n" + menu
    assert srv.gopher(b"/raw.txt\t+\r\n") == b"+-2\r\na file\r\n.\r\n"
    assert srv.gopher(b"/nothing\t+\r\n") == b"--1\r\n1 not found\r\n.\r\n"
