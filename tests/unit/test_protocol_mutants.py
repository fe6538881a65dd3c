"""The protocol state machine and the frame decoder at their edges (mutation testing).

Each test pins a behaviour that a surviving mutant of connection.py or frames.py changed
(see docs/MUTATION.md): boundaries, the state kept between reads and messages, exact
error details. Frames sent by the client are read by hand, not with our own decoder.
"""

from __future__ import annotations

import pytest
from test_protocol_survivors import naive_mask, parse_wire

from omniws.errors import ConnectionClosed, MessageTooLarge, ProtocolError
from omniws.messages import CloseFrame, Message
from omniws.protocol.connection import WebSocketProtocol, check_close_code, is_valid_close_code
from omniws.protocol.deflate import PerMessageDeflate
from omniws.protocol.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    encode_frame,
)


class Peer:
    def __init__(self, **options: object) -> None:
        self.sent = bytearray()
        self.messages: list[Message] = []
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.closes: list[CloseFrame] = []
        self.protocol = WebSocketProtocol(
            self.sent.extend,
            on_message=self.messages.append,
            on_ping=self.pings.append,
            on_pong=self.pongs.append,
            on_close=self.closes.append,
            **options,  # type: ignore[arg-type]
        )

    def feed(self, *frames: bytes) -> None:
        self.protocol.receive_data(b"".join(frames))

    def sent_frames(self) -> list[tuple[int, bytes]]:
        """``(first_byte, unmasked payload)`` of everything sent."""
        out = []
        for first, key, payload in parse_wire(bytes(self.sent)):
            out.append((first, naive_mask(payload, key) if key is not None else payload))
        return out


def frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    return encode_frame(opcode, payload, None, fin=fin, rsv1=rsv1)


# --- close codes --------------------------------------------------------------------------

VALID = [1000, 1001, 1002, 1003, 1007, 1010, 1014, 3000, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]


@pytest.mark.parametrize("code", VALID + INVALID)
def test_close_code_validity_at_every_boundary(code: int) -> None:
    assert is_valid_close_code(code) is (code in VALID)


def test_close_code_error_lists_the_allowed_ranges() -> None:
    with pytest.raises(ValueError, match=r"1002-1003, 1007-1014, or 3000-4999$"):
        check_close_code(1005, "")


# --- sending ------------------------------------------------------------------------------


def test_server_role_sends_unmasked_frames() -> None:
    sent = bytearray()
    WebSocketProtocol(sent.extend, client=False).send_text("hi")
    assert bytes(sent) == b"\x81\x02hi"


def test_send_after_close_names_the_close() -> None:
    peer = Peer()
    peer.protocol.send_close(3001, "done")
    with pytest.raises(ConnectionClosed) as info:
        peer.protocol.send_text("late")
    assert (info.value.code, info.value.reason) == (3001, "done")
    assert str(info.value).endswith(": cannot send after close() was called")


def test_send_refuses_other_types_naming_them_and_the_fix() -> None:
    with pytest.raises(TypeError, match=r"not int; serialize it first, e\.g\. json\.dumps\(obj\)$"):
        Peer().protocol.send(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0, 5, 100])
def test_compression_starts_exactly_at_the_threshold(threshold: int) -> None:
    peer = Peer(deflate=PerMessageDeflate(threshold=threshold))
    peer.protocol.send_binary(b"a" * threshold)
    if threshold:
        peer.protocol.send_binary(b"b" * (threshold - 1))
    frames = peer.sent_frames()
    first, payload = frames[0]
    assert first == 0x80 | 0x40 | OP_BINARY
    assert PerMessageDeflate().decompress(payload, True, None) == b"a" * threshold
    if threshold:
        assert frames[1] == (0x80 | OP_BINARY, b"b" * (threshold - 1))


def test_control_frames_defaults_and_limit() -> None:
    peer = Peer()
    peer.protocol.send_ping()
    peer.protocol.send_pong()
    peer.protocol.send_ping(b"p" * 125)
    peer.protocol.send_pong(b"q")
    with pytest.raises(
        ValueError,
        match=r"^a ping or pong payload is at most 125 bytes \(RFC 6455 5\.5\), got 126$",
    ):
        peer.protocol.send_ping(b"x" * 126)
    peer.protocol.send_close()
    assert peer.sent_frames() == [
        (0x80 | OP_PING, b""),
        (0x80 | OP_PONG, b""),
        (0x80 | OP_PING, b"p" * 125),
        (0x80 | OP_PONG, b"q"),
        (0x80 | OP_CLOSE, b"\x03\xe8"),
    ]
    assert peer.protocol.close_sent == CloseFrame(1000, "")


def test_close_without_a_code_and_with_a_reason() -> None:
    empty, coded = Peer(), Peer()
    empty.protocol.send_close(None)
    coded.protocol.send_close(4001, "ré")
    assert empty.sent_frames() == [(0x80 | OP_CLOSE, b"")]
    assert empty.protocol.close_sent == CloseFrame(1005, "")
    assert coded.sent_frames() == [(0x80 | OP_CLOSE, b"\x0f\xa1" + "ré".encode())]
    assert coded.protocol.close_sent == CloseFrame(4001, "ré")


# --- receiving ----------------------------------------------------------------------------


def test_input_after_a_protocol_error_is_ignored() -> None:
    peer = Peer()
    with pytest.raises(ProtocolError):
        peer.feed(frame(OP_CONTINUATION, b"x"))
    peer.feed(frame(OP_TEXT, b"after"), frame(OP_PING, b"p"))
    assert peer.messages == [] and peer.pings == []
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (1002).to_bytes(2, "big"))]


def test_ping_flood_gets_32_pongs_then_one_for_the_last() -> None:
    peer = Peer()
    peer.feed(*(frame(OP_PING, b"%d" % i) for i in range(40)))
    pongs = [payload for first, payload in peer.sent_frames() if first == 0x80 | OP_PONG]
    assert pongs == [b"%d" % i for i in range(32)] + [b"39"]
    assert peer.pings == [b"%d" % i for i in range(40)]
    peer.sent.clear()
    peer.feed(frame(OP_PING, b"next read"))  # the allowance is per read
    assert peer.sent_frames() == [(0x80 | OP_PONG, b"next read")]


def test_no_pending_pong_after_the_peer_closed() -> None:
    peer = Peer()
    peer.feed(*(frame(OP_PING, b"x") for i in range(33)), frame(OP_CLOSE, b"\x03\xe8"))
    kinds = [first for first, _ in peer.sent_frames()]
    assert kinds == [0x80 | OP_PONG] * 32 + [0x80 | OP_CLOSE]


def test_pong_payload_reaches_the_callback() -> None:
    peer = Peer()
    peer.feed(frame(OP_PONG, b"beat"))
    assert peer.pongs == [b"beat"]


@pytest.mark.parametrize(
    ("frames", "message", "code"),
    [
        ([frame(OP_TEXT, b"a", fin=False), frame(OP_BINARY, b"b")], "a new message started", 1002),
        ([frame(OP_CONTINUATION, b"x")], "continuation frame without a message", 1002),
        ([frame(OP_TEXT, b"\xff")], "text message is not valid UTF-8", 1007),
        ([frame(OP_TEXT, b"\xff", fin=False)], "text message is not valid UTF-8", 1007),
        ([frame(OP_CLOSE, b"\x03\xec")], "peer sent invalid close code 1004", 1002),
        ([frame(OP_CLOSE, b"\x03\xe8\xff")], "close reason is not valid UTF-8", 1007),
        ([frame(OP_CLOSE, b"\x03")], "close frame with a 1-byte payload", 1002),
    ],
)
def test_protocol_errors_name_the_problem(frames: list[bytes], message: str, code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        Peer().feed(*frames)
    assert str(info.value).startswith(message)
    assert info.value.close_code == code


def test_rsv1_on_a_continuation_is_refused() -> None:
    peer = Peer(deflate=PerMessageDeflate())
    with pytest.raises(ProtocolError, match=r"^RSV1 set on a continuation frame \(RFC 7692 6\.1\)"):
        peer.feed(
            frame(OP_BINARY, b"", fin=False, rsv1=True), frame(OP_CONTINUATION, b"", rsv1=True)
        )


def test_close_frame_with_only_a_code() -> None:
    peer = Peer()
    peer.feed(frame(OP_CLOSE, b"\x0b\xb8"))
    assert peer.closes == [CloseFrame(3000, "")]
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, b"\x0b\xb8")]


def test_frame_header_over_the_remaining_allowance_fails_before_its_payload() -> None:
    peer = Peer(max_message_size=10)
    peer.feed(frame(OP_BINARY, b"x" * 6, fin=False))
    with pytest.raises(MessageTooLarge) as info:
        peer.feed(frame(OP_CONTINUATION, b"y" * 6)[:2])  # the header only
    assert (info.value.size, info.value.max_size) == (12, 10)


def test_single_frame_over_the_limit_fails_on_its_header() -> None:
    peer = Peer(max_message_size=10)
    with pytest.raises(MessageTooLarge) as info:
        peer.feed(frame(OP_BINARY, b"x" * 11)[:2])
    assert (info.value.size, info.value.max_size) == (11, 10)


def test_limit_counts_every_fragment_and_resets_per_message() -> None:
    peer = Peer(max_message_size=10)
    peer.feed(frame(OP_TEXT, b"aaaa", fin=False), frame(OP_CONTINUATION, b"bbbb", fin=False))
    peer.feed(frame(OP_CONTINUATION, b"cc"), frame(OP_BINARY, b"z" * 10))
    assert peer.messages == ["aaaabbbbcc", b"z" * 10]
    with pytest.raises(MessageTooLarge):  # a whole message after a fragmented one
        peer.feed(frame(OP_BINARY, b"z" * 11)[:2])
    other = Peer(max_message_size=10)
    other.feed(frame(OP_TEXT, b"aaaa", fin=False), frame(OP_CONTINUATION, b"bbbb", fin=False))
    with pytest.raises(MessageTooLarge) as info:
        other.feed(frame(OP_CONTINUATION, b"cccc"))
    assert (info.value.size, info.value.max_size) == (12, 10)


def test_compressed_messages_each_get_the_whole_allowance() -> None:
    sender = PerMessageDeflate(threshold=0)
    peer = Peer(deflate=PerMessageDeflate(), max_message_size=1000)
    for i in range(3):
        peer.feed(frame(OP_BINARY, sender.compress(bytes([i]) * 600), rsv1=True))
    assert peer.messages == [bytes([i]) * 600 for i in range(3)]


def test_bad_close_and_control_arguments_name_the_fix() -> None:
    from omniws.protocol.control import check_close_code, check_control_payload, encode_text

    with pytest.raises(TypeError, match=r"^close reason must be a str, got bytes$"):
        check_close_code(1000, b"x")
    with pytest.raises(ValueError, match=r"^close reason is 124 bytes in UTF-8; .* shorten it$"):
        check_close_code(1000, "r" * 124)
    with pytest.raises(TypeError, match=r"not str; encode text first, e\.g\. payload\.encode\(\)$"):
        check_control_payload("text")
    with pytest.raises(ValueError, match=r"fix the text or send bytes$"):
        encode_text("\ud800", "message")
