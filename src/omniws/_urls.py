"""WebSocket and proxy URLs: parsed once, refused with a ConfigError that names the fix."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import ConfigError

__all__ = ["Endpoint", "ProxyURL", "parse_proxy_url", "parse_url"]


class Endpoint(NamedTuple):
    """Where a ``ws://`` or ``wss://`` URL points."""

    secure: bool
    host: str
    port: int
    resource: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"


def _host_port(parts: SplitResult, field_name: str, url: str) -> tuple[str, int | None]:
    """The URL's host and port (None: the scheme's default), or ConfigError naming the field."""
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(field_name, f"has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise ConfigError(field_name, f"has no host: {url!r}")
    return parts.hostname, port


def parse_url(url: object, field_name: str = "url") -> Endpoint:
    """Split a WebSocket URL, raising ConfigError with the fix when it is not one."""
    if not isinstance(url, str) or not url:
        raise ConfigError(field_name, f"must be a ws:// or wss:// URL string, got {url!r}")
    if any(c in url for c in "\r\n\t "):
        raise ConfigError(field_name, f"must not contain whitespace or line breaks: {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(field_name, f"is not a valid URL ({exc}): {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ws", "wss"):
        fix = " (use ws:// or wss:// instead)" if scheme in ("http", "https") else ""
        raise ConfigError(
            field_name, f"scheme must be ws or wss, got {parts.scheme or 'none'!r}{fix}"
        )
    if parts.fragment:
        raise ConfigError(field_name, "must not contain a #fragment (RFC 6455 section 3)")
    host, port = _host_port(parts, field_name, url)
    secure = scheme == "wss"
    resource = parts.path or "/"
    if parts.query:
        resource += "?" + parts.query
    return Endpoint(secure, host, port or (443 if secure else 80), resource)


class ProxyURL(NamedTuple):
    """A proxy: ``http``, ``https`` (TLS to the proxy), ``socks5`` or ``socks5h``."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    def __str__(self) -> str:  # never shows the password
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"


_PROXY_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


def parse_proxy_url(url: object, field_name: str = "proxy") -> ProxyURL:
    """Split a proxy URL (``http://user:pass@host:port``; no scheme means http)."""
    if not isinstance(url, str) or not url or any(c in url for c in "\r\n\t\0 "):
        raise ConfigError(field_name, f"must be a proxy URL string without spaces, got {url!r}")
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(field_name, f"is not a valid URL ({exc}): {url!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _PROXY_PORTS:
        raise ConfigError(
            field_name,
            f"scheme {parts.scheme!r} is not supported; use http://, https://, socks5:// "
            "(DNS resolved here) or socks5h:// (DNS resolved by the proxy)",
        )
    host, port = _host_port(parts, field_name, url)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ProxyURL(scheme, host, port or _PROXY_PORTS[scheme], username, password)
