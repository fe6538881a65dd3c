"""Byte-level fuzz targets for atheris (libFuzzer); one per parser a server can feed.

Run one: ``python -m fuzz.atheris_targets frames -max_total_time=60``. Each target may
raise only the omniws errors that a hostile input deserves; anything else is a crash.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports():
    from omniws.config import parse_proxy_url, parse_url
    from omniws.errors import ConfigError, ConnectionFailed, ProtocolError, WebSocketError
    from omniws.protocol import deflate as _deflate
    from omniws.protocol.connection import WebSocketProtocol
    from omniws.protocol.deflate import DeflateParams
    from omniws.protocol.frames import FrameDecoder
    from omniws.protocol.handshake import ResponseReader, redirect_url, validate_response

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _pieces(data: bytes) -> list[bytes]:
    """The first byte says where to split the rest: the parsers must not care."""
    if not data:
        return [b""]
    cut = data[0] * max(1, len(data) // 256)
    rest = data[1:]
    return [rest[:cut], rest[cut:]]


def frames(data: bytes) -> None:
    decoder = FrameDecoder(lambda first, payload: None, max_payload=4096)
    try:
        for piece in _pieces(data):
            decoder.feed(piece)
    except ProtocolError:
        pass


def protocol(data: bytes) -> None:
    compressed = bool(data[:1]) and data[0] & 1 == 1
    deflate = _deflate.accept(["permessage-deflate"], DeflateParams()) if compressed else None
    written = bytearray()
    proto = WebSocketProtocol(written.extend, max_message_size=4096, deflate=deflate)
    try:
        for piece in _pieces(data):
            proto.receive_data(piece)
    except ProtocolError:
        pass


def handshake(data: bytes) -> None:
    reader = ResponseReader()
    try:
        parsed = None
        for piece in _pieces(data):
            parsed = parsed or reader.feed(piece)
    except ProtocolError:
        return
    if parsed is None:
        return
    response, _ = parsed
    with contextlib.suppress(WebSocketError):
        validate_response(response, KEY, ["chat"], True)
    try:
        target = redirect_url(response, "wss://example.org/a/b")
    except ConnectionFailed:
        return
    assert parse_url(target).secure, target


def urls(data: bytes) -> None:
    text = data.decode("latin-1")
    with contextlib.suppress(ConfigError):
        parse_proxy_url(text)
    with contextlib.suppress(ConfigError):
        parse_url(text)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "frames": frames,
    "protocol": protocol,
    "handshake": handshake,
    "urls": urls,
}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
