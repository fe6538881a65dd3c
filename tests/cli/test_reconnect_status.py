"""The ``reconnecting`` status line of the command says why: a failed attempt, a drop, or a
close by the server, how long the connection was up, and why the attempt number keeps
growing after connections that did not stay up ``reset_after`` seconds."""

from __future__ import annotations

from omniws import CloseFrame, ConnectionClosed, ConnectionFailed, Reconnecting, WebSocketError
from omniws.cli.output import reconnect_reason


def state(attempt: int, delay: float, cause: WebSocketError | CloseFrame) -> Reconnecting:
    return Reconnecting(attempt, 100.0 + delay, delay, cause)


def test_a_drop_after_a_short_connection_explains_the_growing_attempt() -> None:
    line = reconnect_reason(state(3, 2.61, CloseFrame(1006, "")), uptime=0.42, reset_after=10)
    assert line == (
        "connection dropped without a close frame after 0.4 s: reconnecting in 2.6 s "
        "(attempt 3; the delay grows until a connection stays up 10 s)"
    )


def test_the_first_retry_after_a_drop_needs_no_backoff_note() -> None:
    cause = ConnectionClosed(1006, detail="reset by peer")
    line = reconnect_reason(state(1, 0.5, cause), uptime=12.0, reset_after=10)
    assert line == (
        "connection dropped without a close frame after 12.0 s: reconnecting in 0.5 s (attempt 1)"
    )


def test_a_close_by_the_server_names_the_code() -> None:
    line = reconnect_reason(state(2, 1.0, CloseFrame(1012, "restart")), uptime=3.0, reset_after=5)
    assert line.startswith("connection closed by the server with 1012 (SERVICE_RESTART) 'restart'")
    assert "after 3.0 s: reconnecting in 1.0 s (attempt 2; the delay grows" in line
    assert "stays up 5 s)" in line


def test_a_failed_attempt_says_it_could_not_connect_and_has_no_backoff_note() -> None:
    cause = ConnectionFailed("cannot connect to 127.0.0.1:9: refused")
    line = reconnect_reason(state(4, 3.04, cause), uptime=None, reset_after=10)
    assert line == (
        "could not connect: cannot connect to 127.0.0.1:9: refused: "
        "reconnecting in 3.0 s (attempt 4)"
    )


def test_another_error_is_shown_as_the_cause() -> None:
    line = reconnect_reason(state(1, 0.25, WebSocketError("no pong")), uptime=30.0, reset_after=10)
    assert line == "connection lost (no pong) after 30.0 s: reconnecting in 0.2 s (attempt 1)"
