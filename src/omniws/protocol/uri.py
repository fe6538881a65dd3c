"""WebSocket URIs (RFC 6455 section 3): ``ws://`` and ``wss://``, sans-I/O.

:func:`parse_url` splits one into an :class:`Endpoint` or raises ConfigError naming the
problem and the fix. It lives in protocol/ because the redirect decisions validate the
Location they follow with it; ``omniws._urls`` re-exports it next to the proxy URL parser.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from ..errors import ConfigError

__all__ = ["Endpoint", "host_port", "parse_url"]


class Endpoint(NamedTuple):
    """Where a ``ws://`` or ``wss://`` URL points."""

    secure: bool
    host: str
    port: int
    resource: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        """The Host header: the host, with the port unless it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[bool, str, int]:
        """Scheme, host and port: what must stay equal for credentials to follow a redirect."""
        return self.secure, self.host.lower(), self.port


def host_port(
    parts: SplitResult, field_name: str, url: str, defaults: str
) -> tuple[str, int | None]:
    """The URL's host and port (None: the scheme's default), or ConfigError naming the field.

    ``defaults`` describes the default ports, for the fix of an explicit port 0.
    """
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(
            field_name, f"has an invalid port (it must be 1 to 65535): {url!r}"
        ) from None
    if port == 0:
        raise ConfigError(
            field_name,
            f"has port 0, which cannot be connected to: {url!r}; give the real port "
            f"(host:port) or leave the port out to use the default ({defaults})",
        )
    host = parts.hostname
    if not host:
        raise ConfigError(field_name, f"has no host: {url!r}")
    if ":" not in host:  # a name or an IPv4 address (IPv6 literals need no IDNA)
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise ConfigError(
                field_name, f"host {host!r} is not a valid host name ({exc}): {url!r}"
            ) from None
    return host, port


def _type_problem(url: object) -> str:
    if isinstance(url, (bytes, bytearray)):
        return f"must be a str, got bytes {bytes(url)!r}; decode it first (url.decode())"
    if url is None:
        return "is missing; give a ws:// or wss:// URL such as 'ws://127.0.0.1:8765/'"
    if url == "":
        return "is empty; give a ws:// or wss:// URL such as 'ws://127.0.0.1:8765/'"
    return f"must be a ws:// or wss:// URL string, got {type(url).__name__} {url!r}"


def parse_url(url: object, field_name: str = "url") -> Endpoint:
    """Split a WebSocket URL, raising ConfigError with the fix when it is not one."""
    if not isinstance(url, str) or not url:
        raise ConfigError(field_name, _type_problem(url))
    if any(c in url for c in "\r\n\t\0 "):
        raise ConfigError(field_name, f"must not contain whitespace, line breaks or NUL: {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(field_name, f"is not a valid URL ({exc}): {url!r}") from None
    scheme = parts.scheme.lower()
    if "://" not in url:  # "127.0.0.1:8765" or "localhost:8765/feed": the scheme is missing
        guess = "ws://" + url + ("" if "/" in url else "/")
        problem = f"has no ws:// or wss:// scheme: {url!r}; did you mean {guess!r}?"
        raise ConfigError(field_name, problem)
    if scheme not in ("ws", "wss"):
        fix = (
            f" (use {'wss' if scheme == 'https' else 'ws'}:// instead)"
            if scheme in ("http", "https")
            else " (a WebSocket URL starts with ws:// or wss://)"
        )
        raise ConfigError(field_name, f"scheme must be ws or wss, got {parts.scheme!r}{fix}")
    if parts.fragment:
        raise ConfigError(field_name, "must not contain a #fragment (RFC 6455 section 3)")
    host, port = host_port(parts, field_name, url, "80 for ws://, 443 for wss://")
    secure = scheme == "wss"
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    return Endpoint(secure, host, (443 if secure else 80) if port is None else port, resource)
