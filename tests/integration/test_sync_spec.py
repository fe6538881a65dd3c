"""The shared API spec (spec_api.py), run by the async, the sync and the trio driver against
the `websockets` server and Node's `ws` server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from .spec_api import SPECS
from .spec_drivers import AsyncDriver, Driver, SyncDriver
from .spec_servers import NoCodeCloseServer, SilentServer
from .spec_trio_driver import TrioDriver

DRIVERS: dict[str, Callable[[], Driver]] = {
    "async": AsyncDriver,
    "sync": SyncDriver,
    "trio": TrioDriver,
}


@pytest.fixture(params=list(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    made = DRIVERS[request.param]()
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.__name__.removeprefix("spec_"))
def test_spec(
    spec: Callable[[Driver, str], None],
    driver: Driver,
    server_url: str,
) -> None:
    spec(driver, server_url)


def test_iteration_ends_on_1005(driver: Driver) -> None:
    """A close frame without a code (1005, "no status") ends iteration like 1000."""
    server = NoCodeCloseServer()
    try:
        ws = driver.connect(server.url, close_timeout=2)
        assert ws.drain() == ["bye"]
        assert ws.close_code == 1005
        ws.close()
    finally:
        server.stop()


@pytest.mark.timeout(120)  # close_timeout x 240: a hung close() fails the test
def test_close_against_a_silent_peer_is_bounded(driver: Driver) -> None:
    """A peer that never answers the close frame: close() gives up after close_timeout
    (1006) instead of waiting for the peer."""
    server = SilentServer()
    try:
        ws = driver.connect(server.url, close_timeout=0.5)
        started = time.monotonic()
        ws.close()  # in the driver's own thread: an asyncio loop belongs to one thread
        waited = time.monotonic() - started
        assert ws.close_code == 1006
        assert waited >= 0.4, f"close() returned after {waited:.2f} s, before close_timeout"
    finally:
        server.stop()
