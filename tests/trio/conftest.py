"""Fixtures of the trio client tests: the servers' thread (trio_support.ServerThread)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trio_support import ServerThread


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    """Start servers with ``servers.server()`` / ``servers.proxy(upstream)``; all stop after."""
    thread = ServerThread()
    try:
        yield thread
    finally:
        thread.stop()
