"""Control frames, sans-I/O: which close codes may be sent, what a peer's close frame says,
and what a ping or pong may carry."""

from __future__ import annotations

from ..errors import ProtocolError
from ..messages import CloseFrame

__all__ = [
    "check_close_code",
    "check_control_payload",
    "encode_text",
    "is_valid_close_code",
    "parse_close",
]

_RULE = "1000 (normal), 1001 (going away), 1002-1003, 1007-1014, or 3000-4999"


def encode_text(text: str, what: str) -> bytes:
    """``text`` as UTF-8, or ValueError naming ``what`` when it holds a lone surrogate."""
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} is not valid Unicode: {exc.object[exc.start : exc.end]!r} at index "
            f"{exc.start} is a lone surrogate, which UTF-8 cannot encode; fix the text or send "
            "bytes"
        ) from None


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame (RFC 6455 7.4 and the IANA registry)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_close_code(code: object, reason: object) -> bytes:
    """Validate a close code and reason we are about to send; return the reason as UTF-8.

    TypeError when ``code`` is not an int or ``reason`` not a str; ValueError naming the rule
    when the code may not be sent or the reason is over 123 UTF-8 bytes.
    """
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"close code must be an int such as 1000, got {code!r}")
    if not isinstance(reason, str):
        raise TypeError(f"close reason must be a str, got {type(reason).__name__}")
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} cannot be sent: use {_RULE}")
    encoded = encode_text(reason, "close reason")
    if len(encoded) > 123:
        raise ValueError(
            f"close reason is {len(encoded)} bytes in UTF-8; the limit is 123 UTF-8 bytes "
            "(RFC 6455 5.5): shorten it"
        )
    return encoded


def parse_close(payload: bytes) -> CloseFrame:
    """The code and reason of a peer's close frame; ProtocolError when it is malformed."""
    if not payload:
        return CloseFrame(1005, "")
    if len(payload) < 2:
        raise ProtocolError("close frame with a 1-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise ProtocolError(f"peer sent invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolError("close reason is not valid UTF-8", close_code=1007) from None
    return CloseFrame(code, reason)


def check_control_payload(payload: object) -> bytes:
    """Validate a ping or pong payload before anything is sent or registered: bytes-like,
    at most 125 bytes (RFC 6455 5.5). Returns it as bytes."""
    if isinstance(payload, str) or not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"a ping or pong payload must be bytes, not {type(payload).__name__}; "
            "encode text first, e.g. payload.encode()"
        )
    data = bytes(payload)
    if len(data) > 125:
        raise ValueError(
            f"a ping or pong payload is at most 125 bytes (RFC 6455 5.5), got {len(data)}"
        )
    return data
