"""Message types: data messages are plain ``str`` (text) and ``bytes`` (binary)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = ["CloseCode", "CloseFrame", "Data", "Message"]

Message = str | bytes
"""A received data message: ``str`` for a text frame, ``bytes`` for a binary frame."""

Data = str | bytes | bytearray | memoryview
"""What ``send()`` accepts: ``str`` goes out as text, anything bytes-like as binary."""


class CloseCode(IntEnum):
    """Close codes of RFC 6455 section 7.4.1 and the IANA registry."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RECEIVED = 1005  # never sent: "the close frame had no code"
    ABNORMAL_CLOSURE = 1006  # never sent: "the connection dropped without a close frame"
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # never sent: "the TLS handshake failed"


@dataclass(frozen=True)
class CloseFrame:
    """How a connection ended: the close code and reason (1006 when it just dropped)."""

    code: int
    reason: str = ""

    def __str__(self) -> str:
        try:
            name = CloseCode(self.code).name
        except ValueError:
            name = "application" if 3000 <= self.code <= 4999 else "unknown"
        text = f"{self.code} ({name})"
        return f"{text} {self.reason!r}" if self.reason else text
