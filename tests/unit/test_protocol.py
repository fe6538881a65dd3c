"""The sans-I/O protocol state machine: messages, fragments, UTF-8, control frames, close."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniws.errors import ConnectionClosed, MessageTooLarge, ProtocolError
from omniws.messages import CloseFrame, Message
from omniws.protocol.connection import WebSocketProtocol, check_close_code
from omniws.protocol.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameDecoder,
    encode_frame,
)


class Peer:
    """A client protocol with everything it reports recorded."""

    def __init__(self, **options: object) -> None:
        self.sent = bytearray()
        self.messages: list[Message] = []
        self.pongs: list[bytes] = []
        self.closes: list[CloseFrame] = []
        self.protocol = WebSocketProtocol(
            self.sent.extend,
            on_message=self.messages.append,
            on_pong=self.pongs.append,
            on_close=self.closes.append,
            **options,  # type: ignore[arg-type]
        )

    def feed(self, *frames: bytes) -> None:
        self.protocol.receive_data(b"".join(frames))

    def sent_frames(self) -> list[tuple[int, bytes]]:
        frames: list[tuple[int, bytes]] = []
        FrameDecoder(lambda f, p: frames.append((f, p)), expect_masked=True).feed(bytes(self.sent))
        return frames


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, None, fin=fin)


def test_text_and_binary_messages() -> None:
    peer = Peer()
    peer.feed(frame(OP_TEXT, "héllo".encode()), frame(OP_BINARY, b"\x00\xff"), frame(OP_TEXT, b""))
    assert peer.messages == ["héllo", b"\x00\xff", ""]


def test_sent_frames_are_masked_and_decode_back() -> None:
    peer = Peer()
    peer.protocol.send_text("hi")
    peer.protocol.send_binary(memoryview(b"\x01\x02"))
    assert peer.sent[1] & 0x80  # mask bit
    assert peer.sent_frames() == [(0x81, b"hi"), (0x82, b"\x01\x02")]


def test_fragmented_message_with_control_frame_in_between() -> None:
    peer = Peer()
    peer.feed(
        frame(OP_TEXT, b"fra", fin=False),
        frame(OP_PING, b"p"),
        frame(OP_CONTINUATION, b"gmen", fin=False),
        frame(OP_CONTINUATION, b"ted"),
    )
    assert peer.messages == ["fragmented"]
    assert peer.sent_frames() == [(0x80 | OP_PONG, b"p")]


def test_utf8_split_across_fragments_is_accepted() -> None:
    encoded = "€".encode()
    peer = Peer()
    peer.feed(frame(OP_TEXT, encoded[:1], fin=False), frame(OP_CONTINUATION, encoded[1:]))
    assert peer.messages == ["€"]


def test_invalid_utf8_fails_fast_before_the_message_ends() -> None:
    peer = Peer()
    with pytest.raises(ProtocolError) as info:
        peer.feed(frame(OP_TEXT, b"ok \xff", fin=False))
    assert info.value.close_code == 1007
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (1007).to_bytes(2, "big"))]


def test_incomplete_utf8_at_message_end_is_invalid() -> None:
    with pytest.raises(ProtocolError):
        Peer().feed(frame(OP_TEXT, "€".encode()[:2]))


@pytest.mark.parametrize(
    "frames",
    [
        [frame(OP_CONTINUATION, b"x")],
        [frame(OP_TEXT, b"a", fin=False), frame(OP_TEXT, b"b")],
        [frame(OP_BINARY, b"a", fin=False), frame(OP_BINARY, b"b")],
    ],
)
def test_broken_fragmentation_is_refused(frames: list[bytes]) -> None:
    with pytest.raises(ProtocolError):
        Peer().feed(*frames)


def test_max_message_size_counts_all_fragments() -> None:
    peer = Peer(max_message_size=10)
    with pytest.raises(MessageTooLarge) as info:
        peer.feed(frame(OP_BINARY, b"x" * 6, fin=False), frame(OP_CONTINUATION, b"y" * 6))
    assert (info.value.size, info.value.max_size, info.value.close_code) == (12, 10, 1009)
    assert peer.sent_frames()[-1] == (0x80 | OP_CLOSE, (1009).to_bytes(2, "big"))


def test_message_at_the_limit_is_delivered() -> None:
    peer = Peer(max_message_size=10)
    peer.feed(
        frame(OP_BINARY, b"x" * 4, fin=False),
        frame(OP_CONTINUATION, b"y" * 6),
        frame(OP_TEXT, b"z" * 10),
    )
    assert peer.messages == [b"xxxxyyyyyy", "z" * 10]


def test_server_close_is_echoed_and_reported() -> None:
    peer = Peer()
    peer.feed(frame(OP_CLOSE, (4001).to_bytes(2, "big") + b"bye"), frame(OP_TEXT, b"late"))
    assert peer.closes == [CloseFrame(4001, "bye")]
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (4001).to_bytes(2, "big"))]
    assert peer.messages == []  # nothing counts after the close frame


def test_empty_close_is_answered_with_an_empty_close() -> None:
    peer = Peer()
    peer.feed(frame(OP_CLOSE, b""))
    assert peer.closes == [CloseFrame(1005, "")]
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, b"")]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000])
def test_invalid_close_codes_from_the_peer(code: int) -> None:
    peer = Peer()
    with pytest.raises(ProtocolError):
        peer.feed(frame(OP_CLOSE, code.to_bytes(2, "big")))
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (1002).to_bytes(2, "big"))]


@pytest.mark.parametrize("payload", [b"\x03", (1000).to_bytes(2, "big") + b"\xff"])
def test_malformed_close_frames(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        Peer().feed(frame(OP_CLOSE, payload))


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 999, 2500, 5000])
def test_codes_that_are_never_sent(code: int) -> None:
    with pytest.raises(ValueError, match="cannot be sent"):
        check_close_code(code, "")


def test_close_reason_limit() -> None:
    check_close_code(1000, "x" * 123)
    with pytest.raises(ValueError, match="123"):
        check_close_code(1000, "é" * 62)


def test_no_data_after_our_close() -> None:
    peer = Peer()
    peer.protocol.send_close(1000, "done")
    with pytest.raises(ConnectionClosed):
        peer.protocol.send_text("more")
    peer.protocol.send_ping(b"ignored")
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (1000).to_bytes(2, "big") + b"done")]


def test_server_role_refuses_unmasked_frames() -> None:
    server = WebSocketProtocol(lambda data: None, client=False)
    with pytest.raises(ProtocolError, match="must be masked"):
        server.receive_data(frame(OP_TEXT, b"x"))


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400), chunk=st.integers(1, 50))
def test_arbitrary_input_only_raises_protocol_error(data: bytes, chunk: int) -> None:
    peer = Peer(max_message_size=200)
    try:
        for start in range(0, len(data), chunk):
            peer.feed(data[start : start + chunk])
    except ProtocolError:
        assert peer.protocol.close_sent is not None  # the connection was failed properly


def test_send_dispatches_on_type_and_names_the_fix_for_others() -> None:
    peer = Peer()
    peer.protocol.send("text")
    peer.protocol.send(bytearray(b"bin"))
    assert peer.sent_frames() == [(0x81, b"text"), (0x82, b"bin")]
    with pytest.raises(TypeError, match=r"json\.dumps"):
        peer.protocol.send({"not": "serialized"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "error"),
    [("4001", TypeError), (True, TypeError), (70000, ValueError), (-1, ValueError)],
)
def test_bad_close_codes_are_refused_before_anything_is_sent(code: object, error: type) -> None:
    peer = Peer()
    with pytest.raises(error, match="close code"):
        peer.protocol.send_close(code, "")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reason must be a str"):
        peer.protocol.send_close(1000, b"bytes")  # type: ignore[arg-type]
    assert peer.sent_frames() == [] and peer.protocol.close_sent is None
    peer.protocol.send_close(1000, "ok")  # still possible
    assert peer.sent_frames() == [(0x80 | OP_CLOSE, (1000).to_bytes(2, "big") + b"ok")]


@pytest.mark.parametrize("payload", ["abc", 7, None, b"p" * 126])
def test_bad_ping_payloads_are_refused(payload: object) -> None:
    peer = Peer()
    error = ValueError if isinstance(payload, bytes) else TypeError
    with pytest.raises(error, match="ping or pong payload"):
        peer.protocol.send_ping(payload)  # type: ignore[arg-type]
    assert peer.sent_frames() == []


def test_frame_budget_splits_a_read_and_keeps_the_order() -> None:
    peer = Peer(frame_budget=3)
    wire = b"".join(frame(OP_TEXT, str(i).encode()) for i in range(8))
    wire += frame(OP_PING, b"p") + frame(OP_CLOSE, (1000).to_bytes(2, "big"))
    assert peer.protocol.receive_data(wire) is True
    assert peer.messages == ["0", "1", "2"]
    assert peer.protocol.receive_data(b"") is True
    assert peer.messages == ["0", "1", "2", "3", "4", "5"]
    # new bytes while a rest is pending go after it
    assert peer.protocol.receive_data(frame(OP_TEXT, b"late")) is True
    assert peer.messages[6:] == ["6", "7"]
    assert peer.protocol.receive_data(b"") is False  # the close frame ends the input
    assert peer.messages[6:] == ["6", "7"] and peer.closes == [CloseFrame(1000, "")]
    assert [op for op, _ in peer.sent_frames()] == [0x80 | OP_PONG, 0x80 | OP_CLOSE]


def test_without_a_budget_one_call_parses_everything() -> None:
    peer = Peer()
    wire = b"".join(frame(OP_BINARY, b"x") for _ in range(5000))
    assert peer.protocol.receive_data(wire) is False
    assert len(peer.messages) == 5000


@pytest.mark.parametrize("budget", [0, -1, 1.5, "3"])
def test_frame_budget_must_be_a_positive_int(budget: object) -> None:
    with pytest.raises(ValueError, match="frame_budget"):
        Peer(frame_budget=budget)


def test_text_with_a_lone_surrogate_is_a_clear_value_error() -> None:
    from omniws.protocol.connection import WebSocketProtocol

    sent: list[bytes] = []
    protocol = WebSocketProtocol(sent.append)
    for call in (protocol.send, protocol.send_text):
        with pytest.raises(ValueError, match="lone surrogate") as info:
            call("ok \ud800")
        assert not isinstance(info.value, UnicodeError)
    with pytest.raises(ValueError, match="close reason is not valid Unicode"):
        protocol.send_close(1000, "\udfff")
    assert sent == []  # nothing went out
    protocol.send("fine")
    assert len(sent) == 1
