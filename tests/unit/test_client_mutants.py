"""The retry policy and the heartbeat at their edges (mutation testing, docs/MUTATION.md).

The heartbeat runs on a virtual clock (fakes.run): the times asserted are virtual seconds,
exact by construction, not wall-clock measurements.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest
from fakes import run

from omniws.client import heartbeat as heartbeat_module
from omniws.client.heartbeat import heartbeat
from omniws.client.retry import as_error, as_websocket_error, backoff_delay, is_retryable
from omniws.config import ReconnectConfig
from omniws.errors import ConnectionClosed, ConnectionFailed, WebSocketTimeout
from omniws.messages import CloseFrame

# --- retry ------------------------------------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(("draw", "factor"), [(0.75, 1.25), (0.25, 0.75), (0.5, 1.0)])
def test_jitter_spreads_short_delays_both_ways(draw: float, factor: float) -> None:
    config = ReconnectConfig(initial_delay=0.5, jitter=0.5)
    assert backoff_delay(config, 1, FixedRandom(draw)) == pytest.approx(0.5 * factor)


def test_attempt_below_one_is_named() -> None:
    with pytest.raises(ValueError, match=r"^attempt must be >= 1, got 0$"):
        backoff_delay(ReconnectConfig(), 0)


def test_normal_close_is_retried_by_default() -> None:
    assert is_retryable(CloseFrame(1000, "bye")) is True
    assert is_retryable(CloseFrame(1000, "bye"), retry_on_normal_close=False) is False


def test_close_frame_becomes_connection_closed_with_its_reason() -> None:
    error = as_error(CloseFrame(4001, "kicked"))
    assert isinstance(error, ConnectionClosed)
    assert (error.code, error.reason) == (4001, "kicked")


def test_escaped_exceptions_become_explained_errors() -> None:
    refused = as_websocket_error(ConnectionRefusedError(111, "refused"))
    assert isinstance(refused, ConnectionFailed) and refused.recoverable is True
    assert str(refused) == "could not connect: [Errno 111] refused"
    odd = as_websocket_error(KeyError("x"))
    assert odd.recoverable is False
    assert str(odd) == "unexpected error while connecting: KeyError('x')"


# --- heartbeat --------------------------------------------------------------------------------


class Conn:
    """Just what heartbeat() uses of a Connection."""

    def __init__(self, *, answer_after: float | None = None, ping_error: Exception | None = None):
        self.loop = asyncio.get_running_loop()
        self.last_received = self.loop.time()
        self.close_code: int | None = None
        self.sent: list[Any] = []
        self.aborted = False
        self.answer_after = answer_after  # seconds until the peer answers; None: never
        self.ping_error = ping_error

    def _answer(self) -> None:
        if self.answer_after is not None:
            self.loop.call_later(self.answer_after, self._received)

    def _received(self) -> None:
        self.last_received = self.loop.time()

    async def send(self, data: Any) -> None:
        self.sent.append(data)
        if self.answer_after == 0:
            self._received()
        else:
            self._answer()

    async def ping(self) -> float:
        if self.ping_error is not None:
            raise self.ping_error
        self._answer()
        await asyncio.sleep(3600)
        return 0.0

    def abort(self) -> None:
        self.aborted = True
        self.close_code = 1006


def beat(conn: Conn, behind: Any = lambda c: False, **kwargs: Any) -> Any:
    return heartbeat(conn, 10.0, 2.0, behind, lambda rtt: None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer_after", [0, 1.0])
def test_message_heartbeat_stays_up_while_answered(answer_after: float) -> None:
    async def main() -> tuple[Any, Conn, float]:
        conn = Conn(answer_after=answer_after)
        asyncio.get_running_loop().call_later(45, setattr, conn, "close_code", 1000)
        result = await beat(conn, message="hb")
        return result, conn, asyncio.get_running_loop().time()

    result, conn, now = run(main())
    assert result is None and not conn.aborted
    assert conn.sent and set(conn.sent) == {"hb"}
    assert now < 60


def test_message_heartbeat_finds_silence(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[Any, Conn, float]:
        conn = Conn()
        result = await beat(conn, message=b"hb")
        return result, conn, asyncio.get_running_loop().time()

    with caplog.at_level(logging.WARNING, logger="omniws.client"):
        error, conn, now = run(main())
    assert isinstance(error, WebSocketTimeout) and conn.aborted and conn.sent == [b"hb"]
    assert now == 12.0  # 10 s idle, then 2 s without an answer
    assert str(error).endswith(": no pong nor any other data arrived: the connection is dead")
    assert [r.getMessage() for r in caplog.records] == [f"{error}; reconnecting"]


def test_close_during_the_wait_is_not_a_timeout() -> None:
    async def main() -> tuple[Any, Conn]:
        conn = Conn()
        asyncio.get_running_loop().call_later(11, setattr, conn, "close_code", 1000)
        return await beat(conn, message="hb"), conn

    result, conn = run(main())
    assert result is None and not conn.aborted


def test_ping_timeout_waits_for_a_slow_reader() -> None:
    seen: list[object] = []

    def behind(c: object) -> bool:
        seen.append(c)
        return len(seen) == 1  # at the first check the reader is behind: wait, no ping

    async def main() -> tuple[Any, Conn, float]:
        conn = Conn(answer_after=None)
        return await beat(conn, behind), conn, asyncio.get_running_loop().time()

    error, conn, now = run(main())
    assert isinstance(error, WebSocketTimeout) and conn.aborted
    assert seen == [conn] * 3  # twice before pinging, once when the pong is late
    assert now == 22.0  # idle at 10 s but behind; pinged at 20 s; no answer by 22 s


class DataButNoPong(Conn):
    async def ping(self) -> float:
        self._received()  # data arrives as the ping goes out; the pong never does
        await asyncio.sleep(3600)
        return 0.0


def test_data_that_arrives_with_the_ping_counts_as_alive() -> None:
    async def main() -> tuple[Any, Conn, float]:
        conn = DataButNoPong()
        asyncio.get_running_loop().call_later(45, setattr, conn, "close_code", 1000)
        return await beat(conn), conn, asyncio.get_running_loop().time()

    result, conn, now = run(main())
    assert result is None and not conn.aborted
    assert now >= 45  # it kept watching until the close, not only until the first timeout


@pytest.mark.parametrize("closed", [False, True])
def test_no_ping_support_warns_once(
    closed: bool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heartbeat_module, "_warned_no_ping", False)

    async def main() -> list[Any]:
        results = []
        for _ in range(2):
            conn = Conn(ping_error=NotImplementedError("no ping() in the browser"))
            conn.close_code = None
            if closed:
                conn.ping_error = NotImplementedError("closed")
                asyncio.get_running_loop().call_later(10, setattr, conn, "close_code", 1006)
            results.append(await beat(conn))
        return results

    with caplog.at_level(logging.WARNING, logger="omniws.client"):
        assert run(main()) == [None, None]
    messages = [r.getMessage() for r in caplog.records]
    if closed:
        assert messages == []
    else:
        assert messages == [
            "heartbeat disabled: no ping() in the browser; set WebSocketConfig("
            "heartbeat_message=...) to an application message the server answers to detect "
            "dead connections"
        ]
