"""The RFC 6455 protocol state machine, sans-I/O.

:class:`WebSocketProtocol` is fed the bytes that arrive with :meth:`receive_data` and
reports what they mean through callbacks (a message, a ping, a pong, a close). Bytes to
send go to the ``write`` callable it was given. It never touches a socket or an event
loop, so the same code serves the asyncio connection, the tests and the demo server.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConnectionClosed, MessageTooLarge, ProtocolError
from ..messages import CloseFrame, Data, Message
from .control import (
    check_close_code,
    check_control_payload,
    encode_text,
    is_valid_close_code,
    parse_close,
)
from .frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    FrameDecoder,
    MaskingKeys,
    encode_frame,
)

if TYPE_CHECKING:
    from .deflate import PerMessageDeflate

__all__ = [
    "WebSocketProtocol",
    "check_close_code",
    "check_control_payload",
    "is_valid_close_code",
]

_utf8_decoder = codecs.getincrementaldecoder("utf-8")
_PONGS_PER_READ = 32  # enough for any honest peer (Autobahn 2.10 sends 10 pings at once)


def _ignore(_: object) -> None:
    return None


class WebSocketProtocol:
    """One WebSocket connection's framing, fragmentation, UTF-8 and close handshake.

    ``client=True`` masks what it sends and refuses masked frames; ``client=False`` is the
    server role (used by the embedded demo server and the tests). ``max_message_size``
    (None: unlimited) bounds every data message before its payload is buffered.
    ``frame_budget`` (None: unlimited) bounds the frames one ``receive_data`` call handles.
    """

    def __init__(
        self,
        write: Callable[[bytes], object],
        *,
        client: bool = True,
        max_message_size: int | None = None,
        deflate: PerMessageDeflate | None = None,
        on_message: Callable[[Message], object] = _ignore,
        on_ping: Callable[[bytes], object] = _ignore,
        on_pong: Callable[[bytes], object] = _ignore,
        on_close: Callable[[CloseFrame], object] = _ignore,
        frame_budget: int | None = None,
    ) -> None:
        if frame_budget is not None and (type(frame_budget) is not int or frame_budget < 1):
            raise ValueError(f"frame_budget must be None or an int >= 1, got {frame_budget!r}")
        self.write = write
        self.on_message = on_message
        self.on_ping = on_ping
        self.on_pong = on_pong
        self.on_close = on_close
        self.max_message_size = max_message_size
        self.deflate = deflate
        self._keys: MaskingKeys | None = MaskingKeys() if client else None
        self._decoder = FrameDecoder(
            self._on_frame,
            max_payload=max_message_size,
            allow_rsv1=deflate is not None,
            expect_masked=not client,
            frame_budget=frame_budget,
        )
        self.close_sent: CloseFrame | None = None
        self.close_received: CloseFrame | None = None
        self._input_closed = False
        self._pongs_left = _PONGS_PER_READ
        self._pending_pong: bytes | None = None
        # the message being reassembled from fragments, if any
        self._fragment_opcode = 0
        self._fragments: list[bytes] | list[str] = []
        self._fragment_size = 0
        self._fragment_compressed = False
        self._text_decoder: codecs.IncrementalDecoder | None = None

    @property
    def closing(self) -> bool:
        """True once either side has sent a close frame."""
        return self.close_sent is not None or self.close_received is not None

    # ---- outbound -------------------------------------------------------------------
    def send(self, message: Data) -> None:
        """Send one message: ``str`` as text, anything bytes-like as binary."""
        if type(message) is str:
            try:
                payload = message.encode()
            except UnicodeEncodeError:
                payload = encode_text(message, "text message")  # raises the clear error
            self._send_data(OP_TEXT, payload)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self._send_data(OP_BINARY, message)
        else:
            raise TypeError(
                f"send() takes str (text) or bytes-like (binary), not {type(message).__name__}; "
                "serialize it first, e.g. json.dumps(obj)"
            )

    def send_text(self, text: str) -> None:
        """Send one text message."""
        self._send_data(OP_TEXT, encode_text(text, "text message"))

    def send_binary(self, data: bytes | bytearray | memoryview) -> None:
        """Send one binary message."""
        self._send_data(OP_BINARY, data)

    def _send_data(self, opcode: int, payload: bytes | bytearray | memoryview) -> None:
        if self.close_sent is not None:
            raise ConnectionClosed(
                self.close_sent.code,
                self.close_sent.reason,
                detail="cannot send after close() was called",
            )
        key = self._key()
        deflate = self.deflate
        if deflate is not None and len(payload) >= deflate.threshold:
            self.write(encode_frame(opcode, deflate.compress(payload), key, rsv1=True))
        else:
            self.write(encode_frame(opcode, payload, key))

    def _key(self) -> bytes | None:
        return self._keys.next() if self._keys is not None else None

    def send_ping(self, payload: bytes = b"") -> None:
        """Send a ping; its pong arrives through ``on_pong``."""
        self._send_control(OP_PING, payload)

    def send_pong(self, payload: bytes = b"") -> None:
        """Send an unsolicited pong (pings are answered automatically)."""
        self._send_control(OP_PONG, payload)

    def _send_control(self, opcode: int, payload: bytes) -> None:
        payload = check_control_payload(payload)
        if self.close_sent is None:
            self.write(encode_frame(opcode, payload, self._key()))

    def send_close(self, code: int | None = 1000, reason: str = "") -> None:
        """Start (or answer) the close handshake; ``code=None`` sends an empty close frame."""
        if self.close_sent is not None:
            return
        if code is None:
            payload = b""
            self.close_sent = CloseFrame(1005, "")
        else:
            encoded = check_close_code(code, reason)  # before code.to_bytes: a clear error
            payload = code.to_bytes(2, "big") + encoded
            self.close_sent = CloseFrame(code, reason)
        self.write(encode_frame(OP_CLOSE, payload, self._key()))

    # ---- inbound --------------------------------------------------------------------
    def receive_data(self, data: bytes) -> bool:
        """Process bytes from the peer. Raises ProtocolError after failing the connection
        (a close frame with the error's code has been written); later data is ignored.

        Returns True when ``frame_budget`` frames were handled and bytes are left over:
        call ``receive_data(b"")`` (e.g. on the next event-loop iteration) to go on.
        """
        if self._input_closed:
            return False
        if data:  # a fresh read: a new allowance of pongs (not per budgeted slice)
            self._pongs_left = _PONGS_PER_READ
        try:
            more = self._decoder.feed(data)
        except ProtocolError as exc:
            if self.close_received is not None:
                return False  # bytes after the peer's close frame do not count (RFC 6455 5.5.1)
            self._input_closed = True
            limit = self.max_message_size
            if isinstance(exc, MessageTooLarge) and limit is not None and exc.max_size != limit:
                # the decoder saw only the remaining allowance of a fragmented message
                exc = MessageTooLarge(exc.size + self._fragment_size, limit)
            if self.close_sent is None:
                self.send_close(exc.close_code, "")
            raise exc from None
        if self._pending_pong is not None:
            payload, self._pending_pong = self._pending_pong, None
            if self.close_received is None:
                self._send_control(OP_PONG, payload)
        return more and not self._input_closed

    def _on_frame(self, first: int, payload: bytes) -> None:
        if self._input_closed:
            return  # nothing counts after the peer's close frame
        opcode = first & 0x0F
        if opcode in (OP_TEXT, OP_BINARY):
            if self._fragment_opcode:
                raise ProtocolError("a new message started before the fragmented one ended")
            if first & 0x80 and not first & RSV1:
                if opcode == OP_TEXT:
                    try:
                        self.on_message(payload.decode())
                    except UnicodeDecodeError:
                        raise ProtocolError(
                            "text message is not valid UTF-8", close_code=1007
                        ) from None
                else:
                    self.on_message(payload)
                return
            self._start_message(first, opcode)
            self._add_fragment(first, payload)
        elif opcode == OP_CONTINUATION:
            if not self._fragment_opcode:
                raise ProtocolError("continuation frame without a message to continue")
            if first & RSV1:
                raise ProtocolError("RSV1 set on a continuation frame (RFC 7692 6.1)")
            self._add_fragment(first, payload)
        elif opcode == OP_PING:
            if self.close_received is None:
                # a flood of pings gets one pong per ping up to a limit per read, then one
                # pong for the last of them (RFC 6455 5.5.3 allows answering only the last)
                if self._pongs_left > 0:
                    self._pongs_left -= 1
                    self._send_control(OP_PONG, payload)
                else:
                    self._pending_pong = payload
                self.on_ping(payload)
        elif opcode == OP_PONG:
            self.on_pong(payload)
        else:
            self._on_close_frame(payload)

    def _start_message(self, first: int, opcode: int) -> None:
        self._fragment_opcode = opcode
        self._fragments = []
        self._fragment_size = 0
        self._fragment_compressed = bool(first & RSV1)
        self._text_decoder = _utf8_decoder() if opcode == OP_TEXT else None

    def _add_fragment(self, first: int, payload: bytes) -> None:
        final = bool(first & 0x80)
        if self._fragment_compressed:
            assert self.deflate is not None  # noqa: S101 - for mypy: RSV1 is refused without deflate
            payload = self.deflate.decompress(payload, final, self.max_message_size)
        self._fragment_size += len(payload)
        limit = self.max_message_size
        if limit is not None:
            if self._fragment_size > limit:
                raise MessageTooLarge(self._fragment_size, limit)
            if not self._fragment_compressed:
                self._decoder.max_payload = limit - self._fragment_size
        text_decoder = self._text_decoder
        if text_decoder is not None:
            try:
                text = text_decoder.decode(payload, final)
            except UnicodeDecodeError:
                raise ProtocolError("text message is not valid UTF-8", close_code=1007) from None
            self._fragments.append(text)  # type: ignore[arg-type]
        else:
            self._fragments.append(payload)  # type: ignore[arg-type]
        if final:
            parts = self._fragments
            message: Message = "".join(parts) if text_decoder is not None else b"".join(parts)  # type: ignore[arg-type]
            self._fragment_opcode = 0
            self._fragments = []
            self._fragment_size = 0
            self._text_decoder = None
            self._decoder.max_payload = limit
            self.on_message(message)

    def _on_close_frame(self, payload: bytes) -> None:
        frame = parse_close(payload)
        self.close_received = frame
        self._input_closed = True
        if self.close_sent is None:
            self.send_close(None if frame.code == 1005 else frame.code, "")
        self.on_close(frame)
