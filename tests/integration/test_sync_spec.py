"""The shared API spec (spec_api.py), run by the async, the sync and the trio driver against
the `websockets` server and Node's `ws` server."""

from __future__ import annotations

import threading
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


# Failures of a front end that the spec found and that belong to another part of omniws;
# strict: once fixed, the test fails until the entry is removed.
KNOWN_BUGS: dict[tuple[str, str], str] = {}  # (driver, spec) -> why it fails, as strict xfail


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.__name__.removeprefix("spec_"))
def test_spec(
    spec: Callable[[Driver, str], None],
    driver: Driver,
    server_url: str,
    request: pytest.FixtureRequest,
) -> None:
    bug = KNOWN_BUGS.get((driver.name, spec.__name__.removeprefix("spec_")))
    if bug is not None:
        request.applymarker(pytest.mark.xfail(reason=bug, strict=True))
    spec(driver, server_url)


def test_iteration_ends_on_1005(driver: Driver, request: pytest.FixtureRequest) -> None:
    """A close frame without a code (1005, "no status") ends iteration like 1000."""
    bug = KNOWN_BUGS.get((driver.name, "iteration_ends_on_1005"))
    if bug is not None:
        request.applymarker(pytest.mark.xfail(reason=bug, strict=True))
    server = NoCodeCloseServer()
    try:
        ws = driver.connect(server.url, close_timeout=2)
        assert ws.drain() == ["bye"]
        assert ws.close_code == 1005
        ws.close()
    finally:
        server.stop()


def test_close_against_a_silent_peer_is_bounded(
    driver: Driver, request: pytest.FixtureRequest
) -> None:
    """A peer that never answers the close frame: close() gives up after close_timeout
    (1006) instead of waiting for the peer."""
    bug = KNOWN_BUGS.get((driver.name, "close_against_a_silent_peer_is_bounded"))
    if bug is not None:
        request.applymarker(pytest.mark.xfail(reason=bug, strict=True))
    server = SilentServer()
    try:
        ws = driver.connect(server.url, close_timeout=0.5)
        waited: list[float] = []

        def close() -> None:
            started = time.monotonic()
            ws.close()
            waited.append(time.monotonic() - started)

        closer = threading.Thread(target=close, daemon=True)  # a hung close() fails the test
        closer.start()
        closer.join(60)  # close_timeout x 120
        assert waited, "close() did not return within 60 s (close_timeout is 0.5 s)"
        assert ws.close_code == 1006
        assert waited[0] >= 0.4, f"close() returned after {waited[0]:.2f} s, before close_timeout"
    finally:
        server.stop()
