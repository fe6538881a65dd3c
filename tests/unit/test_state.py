"""The client states: frozen, comparable, and usable with ``match``."""

from __future__ import annotations

import dataclasses

import pytest

from omniws.errors import ConnectionFailed
from omniws.messages import CloseFrame
from omniws.state import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
)


def describe(state: ConnectionState) -> str:
    match state:
        case Disconnected():
            return "disconnected"
        case Connecting(attempt):
            return f"connecting #{attempt}"
        case Connected():
            return "connected"
        case Reconnecting(attempt, next_retry):
            return f"retry {attempt} at {next_retry}"
        case Failed(error, recoverable):
            return f"failed {error} {recoverable}"
        case Closing():
            return "closing"
    raise AssertionError(state)


def test_match_works_on_every_state() -> None:
    error = ConnectionFailed("refused")
    assert describe(Disconnected()) == "disconnected"
    assert describe(Connecting()) == "connecting #0"
    assert describe(Connecting(3)) == "connecting #3"
    assert describe(Connected()) == "connected"
    assert describe(Reconnecting(2, 105.5, 5.5)) == "retry 2 at 105.5"
    assert describe(Failed(error, False)) == "failed refused False"
    assert describe(Closing()) == "closing"


def test_states_are_frozen_and_compare_by_value() -> None:
    assert Connected() == Connected()
    assert Connecting(1) != Connecting(2)
    cause = CloseFrame(1006)
    assert Reconnecting(1, 10.0, 0.5, cause) == Reconnecting(1, 10.0, 0.5)  # cause ignored
    error = ConnectionFailed("x")
    assert Failed(error, True) == Failed(error, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Reconnecting(1, 1.0).attempt = 2  # type: ignore[misc]
    assert hash(Connecting(1)) == hash(Connecting(1))


def test_reconnecting_fields() -> None:
    state = Reconnecting(attempt=3, next_retry=50.0, delay=2.0, cause=CloseFrame(1012))
    assert state.attempt == 3 and state.next_retry == 50.0 and state.delay == 2.0
    assert state.cause == CloseFrame(1012)


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (Disconnected(), "Disconnected"),
        (Connecting(), "Connecting"),
        (Connecting(2), "Connecting(attempt 2)"),
        (Connected(), "Connected"),
        (
            Reconnecting(1, 354.7432943371915, 0.5086876391915194, CloseFrame(1006)),
            "Reconnecting(attempt 1, retry in 0.51 s, after close 1006)",
        ),
        (
            Reconnecting(3, 10.0, 2.0, ConnectionFailed("refused")),
            "Reconnecting(attempt 3, retry in 2.00 s, after ConnectionFailed)",
        ),
        (Reconnecting(1, 10.0), "Reconnecting(attempt 1, retry in 0.00 s)"),
        (
            Reconnecting(1, float("inf"), float("inf"), CloseFrame(1000, "pagehide")),
            "Reconnecting(attempt 1, no retry scheduled, after close 1000)",
        ),
        (
            Failed(ConnectionFailed("refused"), False),
            "Failed(ConnectionFailed: refused; final)",
        ),
        (Failed(ConnectionFailed("x"), True), "Failed(ConnectionFailed: x; recoverable)"),
        (Closing(), "Closing"),
    ],
)
def test_states_read_well(state: ConnectionState, text: str) -> None:
    assert repr(state) == text and str(state) == text


def test_readable_repr_keeps_the_exact_fields() -> None:
    state = Reconnecting(1, 354.7432943371915, 0.5086876391915194)
    assert state.next_retry == 354.7432943371915 and state.delay == 0.5086876391915194
