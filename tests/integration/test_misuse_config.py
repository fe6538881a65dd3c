"""The config constructors with wrong and edge arguments from their type hints.

WebSocketConfig, ReconnectConfig and CompressionConfig must refuse a bad value with a
ConfigError naming the field (DESIGN.md: "Invalid values raise ConfigError naming the
field"), refuse every value of the wrong type, and whatever they accept must work: a
WebSocketConfig connects to the echo server and carries a message both ways; a
ReconnectConfig yields finite, non-negative backoff delays.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given

import omniws
from omniws.client.retry import Backoff

from .misuse_front import FRONT_ENDS, MISUSE_SETTINGS, FrontEnd, check_raised
from .misuse_values import Misuse, arguments

pytestmark = pytest.mark.timeout(900)

CONFIGS = {
    "WebSocketConfig": omniws.WebSocketConfig,
    "ReconnectConfig": omniws.ReconnectConfig,
    "CompressionConfig": omniws.CompressionConfig,
}
# proxy: a bare word is a host name ("abc" -> http://abc:80), and check_usable connects;
# nothing may be looked up or reached beyond this machine.
SKIP = ("self", "proxy")


@pytest.fixture(scope="module")
def front(py_server_plain: str) -> Iterator[FrontEnd]:
    front_end = FRONT_ENDS[0](py_server_plain + "/echo")  # configs belong to no front end
    try:
        yield front_end
    finally:
        front_end.shutdown()


def check_refusal(name: str, misuse: Misuse, exc: BaseException | None) -> None:
    what = f"{name}({misuse.name}={misuse.value!r})"
    check_raised(exc, what)
    if exc is not None:
        assert isinstance(exc, omniws.ConfigError), f"{what} raised {exc!r}, not a ConfigError"
        assert misuse.name in str(exc), f"{what}: the error does not name {misuse.name!r}: {exc}"
    elif not misuse.type_ok:
        raise AssertionError(f"{what} accepted a value of the wrong type ({misuse.hint})")


def check_usable(front: FrontEnd, config: Any) -> None:
    """An accepted config does its job."""
    if isinstance(config, omniws.ReconnectConfig):
        backoff = Backoff(config, random.Random(1))
        for _ in range(200):
            delay = backoff.next_delay()
            assert math.isfinite(delay) and delay >= 0, f"{config}: delay {delay!r}"
    elif isinstance(config, omniws.WebSocketConfig):
        conn = None
        try:
            conn = front.run(front.connect(config=config))
            front.roundtrip(conn)
        except omniws.WebSocketError as exc:  # e.g. max_message_size=1 refuses the echo
            check_raised(exc, f"a round trip with {config}")
        finally:
            if conn is not None:
                front.run(conn.close())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_config_misuse(front: FrontEnd, name: str) -> None:
    cls = CONFIGS[name]
    required = {"url": front.url} if name == "WebSocketConfig" else {}

    @MISUSE_SETTINGS
    @given(misuse=arguments(cls, required=required, skip=SKIP))
    def check(misuse: Misuse) -> None:
        try:
            config, exc = cls(**misuse.kwargs), None
        except Exception as error:
            config, exc = None, error
        check_refusal(name, misuse, exc)
        if exc is None:
            check_usable(front, config)

    check()
