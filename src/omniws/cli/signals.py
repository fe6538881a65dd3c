"""Ctrl-C and SIGTERM as events of the event loop, so that the command can close cleanly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

__all__ = ["catch_signals"]


def catch_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[int], object]) -> list[int]:
    """SIGINT (Ctrl-C) and SIGTERM call ``callback(signum)`` once each; a second Ctrl-C is a
    plain KeyboardInterrupt, which stops at once. Returns the signals handled (none on
    Windows or outside the main thread): remove their handlers when done."""
    handled: list[int] = []

    def fire(signum: int) -> None:
        loop.remove_signal_handler(signum)  # the next one is a plain KeyboardInterrupt
        if signum in handled:
            handled.remove(signum)
        callback(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, fire, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            continue
        handled.append(signum)
    return handled
