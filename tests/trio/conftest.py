"""Fixtures of the trio tests: the integration tests' servers (a `websockets` server, its TLS
twin with a trustme certificate), their asyncio proxies run on a loop in a thread, and
``open_ws`` to open a connection through ``omniws.trio_io`` from inside ``trio.run``.

This folder has no ``__init__.py`` on purpose: a package named ``trio`` would shadow the
library. The test modules are named ``test_trio_*`` so that they stay unique.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the integration package

from integration.conftest import client_ssl, py_server, py_server_v6, tls_ca, wss_server
from integration.proxy_support import clean_proxy_env, proxy_cert

from omniws.config import WebSocketConfig
from omniws.trio_io import Connection, open_connection

__all__ = [
    "LoopThread",
    "clean_proxy_env",
    "client_ssl",
    "loop_thread",
    "open_ws",
    "proxy_cert",
    "py_server",
    "py_server_v6",
    "tls_ca",
    "wss_server",
]

T = TypeVar("T")


async def open_ws(url: str, **options: Any) -> Connection:
    """Open a connection under trio (short timeouts: a hang fails the test)."""
    options.setdefault("connect_timeout", 10)
    options.setdefault("close_timeout", 5)
    return await open_connection(WebSocketConfig(url=url, **options))


class LoopThread:
    """An asyncio loop in a thread, for the integration tests' asyncio servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.stop()
