"""The HTTP/1.1 opening handshake (RFC 6455 section 4), sans-I/O, on plain values.

:func:`build_request` makes the upgrade request (with a key from :func:`new_key`);
:class:`ResponseReader` collects the server's answer from the bytes that arrive (bounded
in size and header count), and :func:`validate_response` checks it, returning the
negotiated subprotocol and extensions. Redirects are decided in :mod:`.redirects`.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import ConnectionFailed, HandshakeRejected, ProtocolError
from .redirects import REDIRECT_STATUSES, redirect_url

__all__ = [
    "MAX_HEADERS",
    "MAX_RESPONSE_HEAD",
    "REDIRECT_STATUSES",
    "Response",
    "ResponseReader",
    "accept_key",
    "build_request",
    "new_key",
    "redirect_url",
    "validate_response",
]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_RESPONSE_HEAD = 64 * 1024
MAX_HEADERS = 128


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value a server must answer to ``key``."""
    # Not a security use: RFC 6455 fixes SHA-1 here, and FIPS builds refuse it without this.
    digest = hashlib.sha1((key + GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key() -> str:
    """A random Sec-WebSocket-Key (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def build_request(
    resource: str,
    host: str,
    key: str,
    *,
    headers: Mapping[str, str] = {},
    protocols: Iterable[str] = (),
    extensions: str | None = None,
    origin: str | None = None,
    user_agent: str | None = None,
) -> bytes:
    """The upgrade request for ``resource`` (path and query) with the Host header ``host``
    and the Sec-WebSocket-Key ``key``."""
    lines = [
        f"GET {resource} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    protocols = list(protocols)
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(protocols)}")
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    user_headers = {name.lower() for name in headers}
    if user_agent is not None and "user-agent" not in user_headers:
        lines.append(f"User-Agent: {user_agent}")
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@dataclass
class Response:
    """The server's answer to the upgrade request. Header names are lower-case."""

    status: int
    reason: str
    headers: dict[str, str]
    header_lists: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""


class ResponseReader:
    """Collects the response head from arriving bytes; bounded in size and header count."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> tuple[Response, bytes] | None:
        """Add ``data``; return the parsed response and the bytes after it once complete."""
        start = max(0, len(self._buffer) - 3)  # a server that drips bytes costs O(n), not O(n^2)
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n", start)
        if end < 0:
            if len(self._buffer) > MAX_RESPONSE_HEAD:
                raise ProtocolError(
                    f"handshake response head exceeds {MAX_RESPONSE_HEAD} bytes without ending"
                )
            return None
        if end > MAX_RESPONSE_HEAD:
            raise ProtocolError(f"handshake response head exceeds {MAX_RESPONSE_HEAD} bytes")
        head = bytes(self._buffer[:end])
        rest = bytes(self._buffer[end + 4 :])
        return _parse_head(head), rest


def _parse_head(head: bytes) -> Response:
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
        raise ProtocolError("handshake response is not valid HTTP") from None
    status_line, _, header_block = text.partition("\r\n")
    parts = status_line.split(" ", 2)
    if (
        len(parts) < 2
        or not parts[0].startswith("HTTP/1.")
        or len(parts[1]) != 3
        or not parts[1].isascii()
        or not parts[1].isdigit()
    ):
        raise ProtocolError(
            f"server did not answer with HTTP/1.1: {status_line[:80]!r}; is this a WebSocket "
            "endpoint, and is the scheme (ws:// or wss://) right?"
        )
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    header_lists: dict[str, list[str]] = {}
    lines = header_block.split("\r\n") if header_block else []
    if len(lines) > MAX_HEADERS:
        raise ProtocolError(f"handshake response has more than {MAX_HEADERS} headers")
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"malformed header line in handshake response: {line[:80]!r}")
        header_lists.setdefault(name.lower(), []).append(value.strip())
    headers = {name: ", ".join(values) for name, values in header_lists.items()}
    return Response(status, reason, headers, header_lists)


def _tokens(value: str | None) -> list[str]:
    return [token.strip().lower() for token in (value or "").split(",") if token.strip()]


def validate_response(
    response: Response, key: str, protocols: Iterable[str], offered_extensions: bool
) -> tuple[str | None, list[str]]:
    """Check a 101 answer; return (subprotocol, extension header values).

    Raises HandshakeRejected for any other status and ConnectionFailed (not recoverable)
    when the server's 101 breaks RFC 6455: retrying the same server will not help.
    """
    if response.status != 101:
        raise HandshakeRejected(response.status, response.reason, response.headers, response.body)
    headers = response.headers
    if "websocket" not in _tokens(headers.get("upgrade")):
        raise _invalid(f"Upgrade header is {headers.get('upgrade')!r}, expected 'websocket'")
    if "upgrade" not in _tokens(headers.get("connection")):
        raise _invalid(f"Connection header is {headers.get('connection')!r}, expected 'Upgrade'")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise _invalid("Sec-WebSocket-Accept does not match the key we sent")
    subprotocol = headers.get("sec-websocket-protocol")
    offered = list(protocols)
    if subprotocol is not None and subprotocol not in offered:
        raise _invalid(
            f"server chose subprotocol {subprotocol!r}, which we did not offer ({offered})"
        )
    extensions = response.header_lists.get("sec-websocket-extensions", [])
    if extensions and not offered_extensions:
        raise _invalid(f"server accepted extensions we did not offer: {', '.join(extensions)}")
    return subprotocol, extensions


def _invalid(problem: str) -> ConnectionFailed:
    return ConnectionFailed(f"invalid handshake response: {problem}", recoverable=False)
