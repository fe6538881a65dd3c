"""omniws native client: misbehaving servers and oversized messages."""

from __future__ import annotations

import asyncio
import struct

import pytest

import omniws

from .conftest import RawServerFactory
from .support import DEFAULT_TIMEOUT, RawServer, frame, pattern, recv

MIB = 1024 * 1024

INVALID_FRAMES = [
    pytest.param(frame(0x1, b"hello", mask=b"\x01\x02\x03\x04"), 1002, id="masked-server-frame"),
    pytest.param(frame(0x1, b"hello", rsv=0b100), 1002, id="rsv1-not-negotiated"),
    pytest.param(frame(0x1, b"hello", rsv=0b010), 1002, id="rsv2"),
    pytest.param(frame(0x2, b"hello", rsv=0b001), 1002, id="rsv3"),
    pytest.param(frame(0x9, b"p" * 200), 1002, id="ping-200-bytes"),
    pytest.param(frame(0x3, b""), 1002, id="reserved-data-opcode"),
    pytest.param(frame(0xB, b""), 1002, id="reserved-control-opcode"),
    pytest.param(frame(0x9, b"", fin=False), 1002, id="fragmented-ping"),
    pytest.param(frame(0x0, b"orphan"), 1002, id="continuation-without-start"),
    pytest.param(
        frame(0x1, b"he", fin=False) + frame(0x1, b"llo"), 1002, id="new-message-mid-fragment"
    ),
    pytest.param(frame(0x8, b"\x03"), 1002, id="close-1-byte-payload"),
    pytest.param(frame(0x8, struct.pack("!H", 1005)), 1002, id="close-code-1005"),
    pytest.param(frame(0x8, struct.pack("!H", 999)), 1002, id="close-code-999"),
    pytest.param(frame(0x1, b"\xff\xfe"), 1007, id="invalid-utf8-text"),
    pytest.param(
        frame(0x1, "é".encode()[:1], fin=False) + frame(0x0, b"\x41"),
        1007,
        id="invalid-utf8-across-fragments",
    ),
]


@pytest.mark.parametrize(("payload", "code"), INVALID_FRAMES)
async def test_invalid_frame_fails_connection(
    raw_server: RawServerFactory, payload: bytes, code: int
) -> None:
    server = await raw_server(RawServer.handshake_then(payload))
    async with omniws.connect(server.url, connect_timeout=5, close_timeout=2) as ws:
        with pytest.raises(omniws.ProtocolError) as info:
            await recv(ws)
        assert not isinstance(info.value, omniws.MessageTooLarge)
        assert info.value.close_code == code
        assert info.value.recoverable is True
        await asyncio.wait_for(ws.close(), DEFAULT_TIMEOUT)  # idempotent after a failure
        assert ws.close_error is info.value  # the error that ended the connection
        # RFC 6455 7.1.7: after failing the connection the client ignores the server's
        # answering close frame, so 1006 (7.1.5) is as correct as the code it sent.
        assert ws.close_code == code
    await asyncio.wait_for(server.done.wait(), DEFAULT_TIMEOUT)
    # The client failed the connection with a close frame carrying that code.
    assert [f.close_code for f in server.client_close_frames()] == [code]
    assert all(f.masked for f in server.client_frames)


async def test_valid_message_before_invalid_frame_is_delivered(
    raw_server: RawServerFactory,
) -> None:
    payload = frame(0x1, b"first") + frame(0x2, b"\x00second") + frame(0x1, b"x", rsv=0b010)
    server = await raw_server(RawServer.handshake_then(payload))
    async with omniws.connect(server.url, connect_timeout=5, close_timeout=2) as ws:
        assert await recv(ws) == "first"
        assert await recv(ws) == b"\x00second"
        with pytest.raises(omniws.ProtocolError):
            await recv(ws)


async def test_server_ping_from_raw_server_gets_pong(raw_server: RawServerFactory) -> None:
    payload = frame(0x9, b"are you there") + frame(0x1, b"after ping")
    server = await raw_server(RawServer.handshake_then(payload))
    async with omniws.connect(server.url, connect_timeout=5, close_timeout=2) as ws:
        assert await recv(ws) == "after ping"  # pings never appear as data messages
    await asyncio.wait_for(server.done.wait(), DEFAULT_TIMEOUT)
    pongs = [f for f in server.client_frames if f.opcode == 0xA]
    assert [p.payload for p in pongs] == [b"are you there"]


TOO_BIG = [
    pytest.param(frame(0x2, pattern(2 * MIB)), id="one-frame"),
    pytest.param(
        frame(0x2, pattern(512 * 1024), fin=False)
        + frame(0x0, pattern(512 * 1024), fin=False)
        + frame(0x0, pattern(512 * 1024)),
        id="fragments",
    ),
    pytest.param(frame(0x1, b"a" * 10, length=(1 << 62)), id="huge-declared-length"),
]


@pytest.mark.parametrize("payload", TOO_BIG)
async def test_message_too_large_from_raw_server(
    raw_server: RawServerFactory, payload: bytes
) -> None:
    server = await raw_server(RawServer.handshake_then(payload))
    async with omniws.connect(
        server.url, max_message_size=MIB, connect_timeout=5, close_timeout=2
    ) as ws:
        with pytest.raises(omniws.MessageTooLarge) as info:
            await recv(ws)
        assert info.value.close_code == 1009
        assert info.value.max_size == MIB
        assert info.value.size > MIB
        await asyncio.wait_for(ws.close(), DEFAULT_TIMEOUT)
        assert ws.close_error is info.value
        assert ws.close_code == 1009
    await asyncio.wait_for(server.done.wait(), DEFAULT_TIMEOUT)
    assert [f.close_code for f in server.client_close_frames()] == [1009]


@pytest.mark.parametrize("fixture", ["py_server", "py_server_plain"], ids=["deflate", "plain"])
async def test_message_too_large_from_server(fixture: str, request: pytest.FixtureRequest) -> None:
    base: str = request.getfixturevalue(fixture)
    # With deflate, 2 MiB of a byte pattern is a few KiB on the wire: the limit must
    # apply to the inflated size.
    async with omniws.connect(
        f"{base}/send?size={2 * MIB}", max_message_size=MIB, connect_timeout=5, close_timeout=2
    ) as ws:
        with pytest.raises(omniws.MessageTooLarge) as info:
            await recv(ws)
        assert info.value.close_code == 1009
        await asyncio.wait_for(ws.close(), DEFAULT_TIMEOUT)
        assert ws.close_error is info.value
        assert ws.close_code == 1009


@pytest.mark.parametrize("fixture", ["py_server", "py_server_plain"], ids=["deflate", "plain"])
async def test_message_of_exactly_max_size_passes(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    base: str = request.getfixturevalue(fixture)
    async with omniws.connect(
        f"{base}/send?size={MIB}", max_message_size=MIB, connect_timeout=5
    ) as ws:
        assert await recv(ws) == pattern(MIB)


async def test_peer_drop_without_close_reports_1006(raw_server: RawServerFactory) -> None:
    server = await raw_server(RawServer.handshake_then(frame(0x1, b"bye"), hang_up=True))
    async with omniws.connect(server.url, connect_timeout=5, close_timeout=2) as ws:
        assert await recv(ws) == "bye"  # what arrived before the drop is still delivered
        with pytest.raises(omniws.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.code == 1006
        assert ws.close_code == 1006
