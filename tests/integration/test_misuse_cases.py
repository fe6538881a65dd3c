"""Named misuses of the public API (issue 11), each followed by a working round trip.

The systematic, generated version is test_misuse.py; these are the cases an issue named,
kept as readable examples. They run on every front end of misuse_front.FRONT_ENDS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import omniws

from .misuse_front import FRONT_ENDS, FrontEnd, check_raised

BAD_URLS = [
    "ws://127.0.0.1:0/",
    "ws://127.0.0.1:99999/",
    "ws://127.0.0.1:-1/",
    "http://127.0.0.1:8765/",
    "ws://",
    "ws://[::1",
    "127.0.0.1:8765",
    "",
]


@pytest.fixture(scope="module", params=FRONT_ENDS, ids=lambda cls: cls.name)
def front(request: pytest.FixtureRequest, py_server_plain: str) -> Iterator[FrontEnd]:
    front_end = request.param(py_server_plain + "/echo")
    try:
        yield front_end
    finally:
        front_end.shutdown()


def _raises(front: FrontEnd, error: type[BaseException], call: Any) -> BaseException:
    with pytest.raises(error) as info:
        front.run(call())
    check_raised(info.value, repr(call))
    return info.value


def _refused(front: FrontEnd, kind: str, error: type[BaseException], call: Any, what: str) -> None:
    """``call()`` on the shared subject raises ``error``, and the subject still works.
    On failure the subject is replaced, so that one bug fails one test."""
    try:
        _raises(front, error, call)
        front.healthy(kind, what)
    except BaseException:
        front.discard(kind)
        raise


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_url_is_a_config_error_everywhere(front: FrontEnd, url: str) -> None:
    _raises(front, omniws.ConfigError, lambda: omniws.WebSocketConfig(url=url))
    _raises(front, omniws.ConfigError, lambda: front.connect(url))
    _raises(front, omniws.ConfigError, lambda: front.WebSocketClient(url))


@pytest.mark.parametrize("config", [None, 8765, b"ws://127.0.0.1/", object()])
def test_client_without_a_usable_config_is_a_config_error(front: FrontEnd, config: Any) -> None:
    error = _raises(front, omniws.ConfigError, lambda: front.WebSocketClient(config))
    assert "config" in str(error)


@pytest.mark.parametrize(
    ("code", "error"),
    [(70000, ValueError), (-1, ValueError), (0, ValueError), (1005, ValueError),
     (1006, ValueError), ("4001", TypeError), (4001.0, TypeError), (None, TypeError)],
)
@pytest.mark.parametrize("kind", ["connection", "client"])
def test_bad_close_code_is_refused_and_the_subject_stays_open(
    front: FrontEnd, kind: str, code: Any, error: type[BaseException]
) -> None:
    subject = front.subject(kind)
    _refused(front, kind, error, lambda: subject.close(code), f"close({code!r})")


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"x" * 126, ValueError), (bytearray(200), ValueError), ("text", TypeError),
     (12, TypeError), ([1, 2], TypeError)],
)
def test_bad_ping_payload_is_refused(
    front: FrontEnd, data: Any, error: type[BaseException]
) -> None:
    conn = front.subject("connection")
    _refused(front, "connection", error, lambda: conn.ping(data), f"ping({data!r})")
    assert front.run(conn.ping(b"x" * 125)) >= 0  # the largest legal payload still works


@pytest.mark.parametrize("data", [None, 12, 1.5, ["a"], {"a": 1}, object()])
@pytest.mark.parametrize("kind", ["connection", "client"])
def test_send_of_a_non_message_is_a_type_error(front: FrontEnd, kind: str, data: Any) -> None:
    subject = front.subject(kind)
    _refused(front, kind, TypeError, lambda: subject.send(data), f"send({data!r})")


def test_concurrent_recv_loses_no_message(front: FrontEnd) -> None:
    """Two recv() at once: each gets a message, or the second is refused with a clear
    RuntimeError; either way the first still receives and no message is lost."""
    if front.name != "async":
        _concurrent_recv_from_threads(front)
        return
    conn = front.subject("connection")

    async def scenario() -> tuple[list[Any], list[Any]]:
        first = asyncio.ensure_future(conn.recv())
        await asyncio.sleep(0)  # first is now waiting
        second = asyncio.ensure_future(conn.recv())
        await asyncio.sleep(0)
        await conn.send("one")
        await conn.send("two")
        done = await asyncio.gather(first, second, return_exceptions=True)
        rest: list[Any] = []
        received = [m for m in done if isinstance(m, str)]
        while len(received) + len(rest) < 2:
            rest.append(await conn.recv())
        return list(done), rest

    try:
        done, rest = front.run(scenario())
    except BaseException:
        front.discard("connection")
        raise
    for outcome in done:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, RuntimeError), outcome
            assert "recv" in str(outcome)
    assert isinstance(done[0], str), f"the first recv() lost its message: {done[0]!r}"
    received = [m for m in done if isinstance(m, str)] + rest
    assert sorted(received) == ["one", "two"]
    front.healthy("connection", "two concurrent recv()")


def _concurrent_recv_from_threads(front: FrontEnd) -> None:
    """The sync API: two threads in recv() at once each get one of two messages."""
    import threading

    conn = front.subject("connection")
    got: list[Any] = []

    def read() -> None:
        try:
            got.append(conn.recv(timeout=20))
        except BaseException as exc:  # reported below
            got.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    conn.send("one")
    conn.send("two")
    for reader in readers:
        reader.join(30)
    assert sorted(got) == ["one", "two"], got
    front.healthy("connection", "two concurrent recv() from threads")
