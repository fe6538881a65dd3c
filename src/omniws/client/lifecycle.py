"""The client's state machine, written as data (as h11 does): a transition table, one method
that changes the state, and a signal that wakes whoever waits for a change.

Every state change of a :class:`~omniws.WebSocketClient` goes through :meth:`Lifecycle.move`;
a change the table does not list is a bug in omniws and raises ``RuntimeError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import _runtime
from .._runtime import Signal
from ..errors import ConnectionClosed
from ..messages import CloseFrame
from ..state import (
    Closing,
    Connected,
    Connecting,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
)

__all__ = ["TRANSITIONS", "Lifecycle"]

logger = logging.getLogger("omniws.client")

TRANSITIONS: dict[type[ConnectionState], frozenset[type[ConnectionState]]] = {
    # connect()
    Disconnected: frozenset({Connecting}),
    Failed: frozenset({Connecting}),
    # an attempt opened, failed and is retried, failed for good, or close() interrupted it
    Connecting: frozenset({Connected, Reconnecting, Failed, Disconnected, Closing}),
    # the connection ended: retried, final (error or clean close), or close() was called
    Connected: frozenset({Reconnecting, Failed, Disconnected, Closing}),
    # the backoff delay ran out, or close() was called during it
    Reconnecting: frozenset({Connecting, Closing}),
    # close() finished
    Closing: frozenset({Disconnected}),
}
"""Which state may follow which (by state class). The fields of a state carry the details."""


class Lifecycle:
    """The current state, how the last connection ended, and the change signal.

    ``on_change(state)`` is called after every change (the client's ``on_state_change``).
    """

    def __init__(self, name: str, on_change: Callable[[ConnectionState], None]) -> None:
        self.state: ConnectionState = Disconnected()
        self.end_frame: CloseFrame | None = None
        """How the last connection ended (None before the first one ended)."""
        self.started = False
        """``connect()`` was called at least once."""
        self._name = name
        self._on_change = on_change
        self._waiters: list[Signal] = []

    def move(self, state: ConnectionState) -> None:
        """Change to ``state``, if the table allows it, and tell everyone."""
        allowed = TRANSITIONS[type(self.state)]
        if type(state) not in allowed:
            raise RuntimeError(
                f"omniws bug: illegal state change {self.state} -> {state} "
                f"(from {type(self.state).__name__} only to "
                f"{', '.join(sorted(cls.__name__ for cls in allowed))}); please report it"
            )
        if isinstance(state, Connecting):
            self.started = True
        self.state = state
        self.notify()
        logger.debug("%s: %s", self._name, state)
        self._on_change(state)

    def notify(self) -> None:
        """Wake every task waiting in :meth:`changed` (also for changes that are not states:
        a connection became usable, a message arrived)."""
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def changed(self) -> Signal:
        """A signal of the caller's own, set at the next :meth:`notify`. (Not shared:
        cancelling one waiter, e.g. by a timeout around ``recv()``, leaves the others be.)"""
        waiter = _runtime.current().signal()
        self._waiters.append(waiter)
        return waiter

    @property
    def stopped(self) -> bool:
        """Not running and not going to: closed, closing, failed, or never started."""
        return isinstance(self.state, Disconnected | Closing | Failed)

    def raise_if_stopped(self) -> None:
        """Raise what a waiter on a stopped client should see: the error of a ``Failed``
        client, or ConnectionClosed with how the last connection ended."""
        state = self.state
        if isinstance(state, Failed):
            raise state.error
        if isinstance(state, Disconnected | Closing):
            frame = self.end_frame or CloseFrame(1000)
            detail = "the client is closed" if self.started else "call connect() first"
            raise ConnectionClosed(frame.code, frame.reason, detail=detail)
