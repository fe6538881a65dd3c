"""WebSocket and proxy URLs: parsed once, refused with a ConfigError that names the fix.

WebSocket URLs are parsed by :mod:`omniws.protocol.uri` (the redirect decisions need the
same parser); this module re-exports it and adds the proxy URLs.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from .errors import ConfigError
from .protocol.uri import Endpoint, host_port, parse_url

__all__ = ["Endpoint", "ProxyURL", "parse_proxy_url", "parse_url"]


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
_PROXY_DEFAULTS = "80 for http://, 443 for https://, 1080 for socks5:// and socks5h://"


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
    host, port = host_port(parts, field_name, _redacted(url, parts.password), _PROXY_DEFAULTS)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    port = _PROXY_PORTS[scheme] if port is None else port
    return ProxyURL(scheme, host, port, username, password)


def _redacted(url: str, password: str | None) -> str:
    """``url`` with its password (if any) replaced by ``***``, for error messages."""
    if not password:
        return url
    userinfo, _, hostport = url.rpartition("@")
    prefix, sep, userinfo = userinfo.rpartition("://")
    return f"{prefix}{sep}{userinfo.partition(':')[0]}:***@{hostport}"
