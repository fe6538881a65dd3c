"""The `omniws` command on a pseudo-terminal, as a person uses it: typing, colours, Ctrl-C,
Ctrl-D, and reconnection when the server restarts or the demo server misbehaves."""

from __future__ import annotations

import uuid
from pathlib import Path

from integration.support import free_port, server_report

from .conftest import COLOUR, PtyProcess, environment, start_py_server


def test_demo_typed_lines_are_echoed_in_colour(pty_command: type[PtyProcess]) -> None:
    term = pty_command(["demo"])
    term.expect(r"connected to ws://127\.0\.0\.1:\d+/")
    term.expect(r"type a message and press Enter")
    term.send_line("hello from a terminal")
    term.expect(r"> hello from a terminal")
    term.expect(r"< hello from a terminal")
    assert "\x1b[32m<" in term.raw, "received messages are green on a terminal"
    term.send_eof()
    assert term.wait() == 0
    assert "connection closed: 1000" in term.text


def test_no_color_is_respected(pty_command: type[PtyProcess]) -> None:
    term = pty_command(["demo"], env=environment(NO_COLOR="1"))
    term.expect(r"connected to")
    term.send_line("plain")
    term.expect(r"< plain")
    term.send_eof()
    assert term.wait() == 0
    assert not COLOUR.search(term.raw)


def test_ctrl_c_closes_with_1000(pty_command: type[PtyProcess], py_server: str) -> None:
    record = uuid.uuid4().hex
    term = pty_command([f"{py_server}/record?id={record}"])
    term.expect(r"connected to")
    term.send_line("before Ctrl-C")
    term.expect(r"< before Ctrl-C")
    term.interrupt()
    assert term.wait() == 130
    assert "interrupted: closing the connection with 1000" in term.text
    report = _report(py_server, record)
    assert report["code"] == 1000


def _report(base: str, record: str) -> dict[str, object]:
    import asyncio

    return asyncio.run(server_report(base, record))


def test_reconnect_is_shown_after_the_server_restarts(
    pty_command: type[PtyProcess], tmp_path: Path
) -> None:
    port = free_port()
    server = start_py_server(tmp_path, port, "restarting")
    try:
        term = pty_command([f"{server.url}/echo", "--max-delay", "1"])
        term.expect(r"connected to")
        term.send_line("first")
        term.expect(r"< first")
        server.stop()
        term.expect(r"connection closed: 100[16]")
        term.expect(
            r"connection (closed by the server with 1001 \(GOING_AWAY\)"
            r"|dropped without a close frame) "
            r"after \d+\.\d s: reconnecting in \d+\.\d s \(attempt 1\)"
        )
        server = start_py_server(tmp_path, port, "restarting")
        term.expect(r"connecting to .* \(attempt \d+\)")
        term.expect(r"connected to")
        term.send_line("second")
        term.expect(r"< second")
        term.interrupt()
        assert term.wait() == 130
    finally:
        server.stop()


def test_demo_chaos_drops_and_the_client_comes_back(pty_command: type[PtyProcess]) -> None:
    term = pty_command(["demo", "--chaos", "--chaos-interval", "0.6", "--max-delay", "0.5"])
    term.expect(r"connected to")
    term.expect(r"chaos: the demo server (dropped|goes away)")
    # says why it reconnects, and why the attempt number grows after short connections
    term.expect(r"connection dropped without a close frame after \d+\.\d s: reconnecting in ")
    term.expect(r"\(attempt (1|\d+; the delay grows until a connection stays up \d+(\.\d+)? s)\)")
    term.expect(r"connected to")
    term.send_line("still here")  # sent as soon as the client is connected again
    term.expect(r"< still here", timeout=30)
    term.interrupt()
    assert term.wait() == 130
