"""Fuzzing the parsers a server feeds: frames, the protocol, the handshake, redirects.

Properties: hostile input raises only omniws errors (never IndexError, ValueError, ...),
the result never depends on how the bytes were split into reads, and every bound holds.
The CI profile keeps this file to a few seconds; ``python -m fuzz --seconds 600`` runs the
same properties for longer (profile "fuzz"), and also the atheris targets in fuzz/.
Inputs that once crashed a parser are kept at the end as regression tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omniws.config import parse_proxy_url, parse_url
from omniws.errors import (
    ConfigError,
    ConnectionFailed,
    ProtocolError,
    WebSocketError,
)
from omniws.messages import CloseFrame, Message
from omniws.protocol import deflate as _deflate
from omniws.protocol.connection import WebSocketProtocol
from omniws.protocol.deflate import DeflateParams
from omniws.protocol.frames import FrameDecoder, encode_frame
from omniws.protocol.handshake import (
    MAX_RESPONSE_HEAD,
    Response,
    ResponseReader,
    accept_key,
    redirect_url,
    validate_response,
)

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("OMNIWS_FUZZ_PROFILE", "ci"))

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MAX = 4096


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` in pieces at the (sorted, clamped) ``cuts``."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


# A server's byte stream: mostly well-formed frames with hostile twists, plus raw noise.
opcodes = st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xB])
frames = st.builds(
    lambda op, payload, fin, rsv: (
        bytes([(0x80 if fin else 0) | rsv << 4 | op]) + encode_frame(op, payload, None)[1:]
    ),
    opcodes,
    st.binary(max_size=300),
    st.booleans(),
    st.sampled_from([0, 0, 0, 4, 2, 1]),
)
hostile_headers = st.sampled_from(
    [
        b"\x81\xff" + (1 << 63).to_bytes(8, "big"),  # 64-bit length with the top bit
        b"\x82\x7f" + (10**9).to_bytes(8, "big"),  # a gigabyte announced
        b"\x89\x7e\x00\xc8",  # a 200-byte ping
        b"\x81\x85\x01\x02\x03\x04hello",  # masked by the server
        b"\x88\x01\x03",  # 1-byte close payload
        b"\x81\x02\xff\xfe",  # invalid UTF-8
    ]
)
streams = st.lists(st.one_of(frames, hostile_headers, st.binary(max_size=40)), max_size=12).map(
    b"".join
)


def decode_all(pieces: list[bytes], max_payload: int | None) -> tuple[list[tuple[int, bytes]], str]:
    got: list[tuple[int, bytes]] = []
    decoder = FrameDecoder(lambda first, payload: got.append((first, payload)))
    decoder.max_payload = max_payload
    try:
        for piece in pieces:
            decoder.feed(piece)
    except ProtocolError as exc:
        return got, type(exc).__name__
    return got, "ok"


@given(streams, st.lists(st.integers(0, 5000), max_size=8), st.sampled_from([None, 64, MAX]))
def test_frame_decoder_only_raises_protocol_errors_and_ignores_splits(
    data: bytes, cuts: list[int], max_payload: int | None
) -> None:
    whole = decode_all([data], max_payload)
    pieces = decode_all(split(data, cuts), max_payload)
    bytewise = decode_all([data[i : i + 1] for i in range(len(data))], max_payload)
    assert whole == pieces == bytewise
    for first, payload in whole[0]:
        assert max_payload is None or first & 0x08 or len(payload) <= max_payload


@given(st.lists(st.tuples(st.sampled_from([0x1, 0x2, 0x9, 0xA]), st.binary(max_size=125))))
def test_frame_round_trip(items: list[tuple[int, bytes]]) -> None:
    data = b"".join(encode_frame(op, payload, None) for op, payload in items)
    got, outcome = decode_all([data], None)
    assert outcome == "ok"
    assert [(first & 0x0F, payload) for first, payload in got] == items


class Recorder:
    def __init__(self, compressed: bool, max_size: int | None) -> None:
        self.messages: list[Message] = []
        self.closes: list[CloseFrame] = []
        self.written = bytearray()
        deflate = (
            _deflate.accept(["permessage-deflate"], DeflateParams()) if compressed else None
        )
        self.protocol = WebSocketProtocol(
            self.written.extend,
            max_message_size=max_size,
            deflate=deflate,
            on_message=self.messages.append,
            on_close=self.closes.append,
        )

    def feed(self, pieces: list[bytes]) -> str:
        try:
            for piece in pieces:
                self.protocol.receive_data(piece)
        except ProtocolError as exc:
            assert 1002 <= exc.close_code <= 1011, exc
            return f"{type(exc).__name__}:{exc.close_code}"
        return "ok"


@given(
    streams,
    st.lists(st.integers(0, 5000), max_size=6),
    st.booleans(),
    st.sampled_from([None, 64, MAX]),
)
def test_protocol_survives_any_stream(
    data: bytes, cuts: list[int], compressed: bool, max_size: int | None
) -> None:
    whole, pieces = Recorder(compressed, max_size), Recorder(compressed, max_size)
    outcome = whole.feed([data])
    split_outcome = pieces.feed(split(data, cuts))
    if not whole.closes:  # after a close frame: see test_bytes_after_the_close_frame
        assert split_outcome == outcome
    assert pieces.messages == whole.messages and pieces.closes == whole.closes
    for message in whole.messages:
        assert isinstance(message, (str, bytes))
        size = len(message.encode() if isinstance(message, str) else message)
        assert max_size is None or size <= max_size
    if outcome != "ok" or whole.closes:
        assert whole.protocol.close_sent is not None  # it answered or failed with a close


@given(st.binary(min_size=1, max_size=2000), st.booleans())
def test_compressed_garbage_is_a_protocol_error(data: bytes, final: bool) -> None:
    frame = bytes([0xC1 if final else 0x41]) + encode_frame(0x1, data, None)[1:]
    recorder = Recorder(True, MAX)
    outcome = recorder.feed([frame])
    assert outcome == "ok" or outcome.startswith(("ProtocolError", "MessageTooLarge"))


def test_deflate_bomb_is_stopped_at_the_limit() -> None:
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(b"\0" * (8 * 1024 * 1024)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    frame = bytes([0xC2]) + encode_frame(0x2, bomb[:-4], None)[1:]
    recorder = Recorder(True, 1 << 20)
    assert recorder.feed([frame]).startswith("MessageTooLarge")
    assert recorder.messages == []


# ---------------------------------------------------------------- the handshake

header_lines = st.one_of(
    st.sampled_from(
        [
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + accept_key(KEY).encode(),
            b"Sec-WebSocket-Protocol: chat",
            b"Sec-WebSocket-Extensions: permessage-deflate",
            b"Content-Length: 5",
            b"Location: /elsewhere",
            b" folded",
            b"NoColon",
            b": empty name",
        ]
    ),
    st.binary(max_size=60).filter(lambda b: b"\r\n" not in b),
)
status_lines = st.one_of(
    st.sampled_from(
        [b"HTTP/1.1 101 Switching Protocols", b"HTTP/1.1 302 Found", b"HTTP/1.0 200 OK"]
    ),
    st.binary(max_size=40).filter(lambda b: b"\r\n" not in b),
)
heads = st.builds(
    lambda status, lines, tail: b"\r\n".join([status, *lines]) + b"\r\n\r\n" + tail,
    status_lines,
    st.lists(header_lines, max_size=8),
    st.binary(max_size=20),
)


def read_response(pieces: list[bytes]) -> tuple[Response, bytes] | str | None:
    reader = ResponseReader()
    try:
        for i, piece in enumerate(pieces):
            parsed = reader.feed(piece)
            if parsed is not None:
                response, rest = parsed
                return response, rest + b"".join(pieces[i + 1 :])
    except ProtocolError as exc:
        return str(exc)
    return None


@given(st.one_of(heads, st.binary(max_size=300)), st.lists(st.integers(0, 400), max_size=6))
def test_response_reader_and_validation(data: bytes, cuts: list[int]) -> None:
    whole = read_response([data])
    assert read_response(split(data, cuts)) == whole
    if isinstance(whole, tuple):
        response, _ = whole
        assert 100 <= response.status <= 999
        with contextlib.suppress(WebSocketError):  # HandshakeRejected, or a broken 101
            validate_response(response, KEY, ["chat"], True)
        if response.status in (301, 302, 303, 307, 308):
            try:
                target = redirect_url(response, "wss://example.org/a/b?c")
            except ConnectionFailed as exc:
                assert exc.recoverable is False
            else:
                assert parse_url(target).secure  # never a downgrade


def test_response_head_is_bounded() -> None:
    reader = ResponseReader()
    with pytest.raises(ProtocolError, match="exceeds"):
        for _ in range(MAX_RESPONSE_HEAD // 1000 + 2):
            reader.feed(b"X: " + b"a" * 997)


@given(st.text(max_size=80), st.sampled_from(["ws://h/p", "wss://h:8443/x/y?q"]))
def test_redirect_location_never_crashes(location: str, base: str) -> None:
    response = Response(302, "Found", {"location": location}, {"location": [location]})
    try:
        target = redirect_url(response, base)
    except ConnectionFailed as exc:
        assert exc.recoverable is False
        return
    endpoint = parse_url(target)
    assert endpoint.secure or not parse_url(base).secure


@given(st.text(max_size=60))
def test_proxy_url_parser_raises_only_config_errors(text: str) -> None:
    try:
        proxy = parse_proxy_url(text)
    except ConfigError as exc:
        assert exc.field == "proxy"
        return
    assert proxy.scheme in ("http", "https", "socks5", "socks5h") and proxy.host
    assert proxy.password is None or proxy.password not in str(proxy)


# ---------------------------------------------------------------- regressions (found by fuzzing)


@pytest.mark.parametrize(
    "status",
    [
        b"HTTP/1.1 \xb200 OK",  # '²' is a digit to str.isdigit(), not to int()
        b"HTTP/1.1 " + b"1" * 5000 + b" Long",  # int() refuses over 4300 digits
        b"HTTP/1.1 1010 Odd",
    ],
)
def test_status_must_be_three_ascii_digits(status: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"did not answer with HTTP/1\.1"):
        ResponseReader().feed(status + b"\r\n\r\n")


@pytest.mark.parametrize(
    "location",
    ["ws://[::1/x", "http://[bad", "ws://h:99999/"],
)
def test_malformed_location_is_a_connection_failure(location: str) -> None:
    response = Response(301, "Moved", {"location": location}, {"location": [location]})
    with pytest.raises(ConnectionFailed, match="not a WebSocket URL"):
        redirect_url(response, "ws://h/")


@pytest.mark.parametrize("url", ["http://[::1:8080", "socks5://h:port", "http://h:99999"])
def test_malformed_proxy_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_proxy_url(url)


def test_bytes_after_the_close_frame_are_ignored_however_they_arrive() -> None:
    data = b"\x88\x00" + b"\x81\xff\x80" + b"\x00" * 7  # close, then a 2**63-byte frame
    whole, pieces = Recorder(False, None), Recorder(False, None)
    assert pieces.feed([data[:2], data[2:]]) == "ok"
    assert whole.feed([data]) == "ok"
    assert whole.closes == pieces.closes == [CloseFrame(1005, "")]
