"""Configuration: plain dataclasses, validated on construction.

Every invalid value raises :class:`~omniws.errors.ConfigError` naming the field, so a
mistake shows up where the config is written, not at the first reconnect at 3 a.m.
Durations are float seconds or :class:`datetime.timedelta`.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ssl import SSLContext as _SSLContext
from typing import TYPE_CHECKING, Literal

from ._urls import Endpoint, ProxyURL, parse_proxy_url, parse_url
from ._validate import TOKEN, Duration, is_header_text, positive_int, seconds
from ._version import __version__
from .errors import ConfigError
from .messages import Message

__all__ = [
    "CompressionConfig",
    "Duration",
    "Endpoint",
    "ProxyURL",
    "ReconnectConfig",
    "WebSocketConfig",
    "parse_proxy_url",
    "parse_url",
]

DEFAULT_USER_AGENT = f"omniws/{__version__} Python/{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass(frozen=True)
class CompressionConfig:
    """permessage-deflate (RFC 7692) settings.

    ``threshold``: messages shorter than this many bytes are sent uncompressed, since
    deflate costs more CPU than it saves on them. ``level`` is the zlib level (0-9).
    The defaults (a 16 KiB window for what we send, zlib's ``memLevel`` 5) keep a connection
    at 45 KiB of zlib state after its first message (15 and 8: 100 KiB) for 2 % less
    compression on JSON; ``client_max_window_bits=15, mem_level=8`` restores zlib's own.
    """

    level: int = 6
    threshold: int = 128
    client_max_window_bits: int | None = 14
    server_max_window_bits: int | None = None
    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False
    mem_level: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.level, int) or not 0 <= self.level <= 9:
            raise ConfigError("compression.level", f"must be 0 to 9, got {self.level!r}")
        if not isinstance(self.mem_level, int) or not 1 <= self.mem_level <= 9:
            raise ConfigError("compression.mem_level", f"must be 1 to 9, got {self.mem_level!r}")
        if not isinstance(self.threshold, int) or self.threshold < 0:
            raise ConfigError(
                "compression.threshold", f"must be >= 0 bytes, got {self.threshold!r}"
            )
        for flag in ("client_no_context_takeover", "server_no_context_takeover"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"compression.{flag}", "must be True or False")
        for name in ("client_max_window_bits", "server_max_window_bits"):
            bits = getattr(self, name)
            if bits is not None and (not isinstance(bits, int) or not 8 <= bits <= 15):
                raise ConfigError(f"compression.{name}", f"must be 8 to 15 or None, got {bits!r}")


@dataclass(frozen=True)
class ReconnectConfig:
    """When and how fast a :class:`~omniws.WebSocketClient` reconnects.

    The n-th retry waits ``min(max_delay, initial_delay * multiplier**(n-1))`` seconds,
    spread by +/- ``jitter`` (a fraction) so that many clients do not return at once.
    A connection that stayed up for ``reset_after`` seconds starts the backoff over. A
    server's Retry-After is a lower bound of the next delay, honoured up to
    ``max_retry_after`` seconds (10 minutes), so a bad value cannot park the client for good.
    Durations are float seconds or ``timedelta``; they read back as float seconds.
    """

    max_attempts: int | None = None
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    reset_after: float = 10.0
    retry_on_normal_close: bool = True
    max_retry_after: float = 600.0

    if TYPE_CHECKING:  # what the constructor accepts; the fields above are what it stores

        def __init__(
            self,
            max_attempts: int | None = None,
            initial_delay: Duration = 0.5,
            max_delay: Duration = 30.0,
            multiplier: float = 2.0,
            jitter: float = 0.5,
            reset_after: Duration = 10.0,
            retry_on_normal_close: bool = True,
            max_retry_after: Duration = 600.0,
        ) -> None: ...

    def __post_init__(self) -> None:
        if self.max_attempts is not None:
            positive_int("reconnect.max_attempts", self.max_attempts)
        for name in ("initial_delay", "max_delay", "reset_after", "max_retry_after"):
            value = seconds(
                f"reconnect.{name}", getattr(self, name), allow_none=False, allow_zero=True
            )
            object.__setattr__(self, name, value)
        if self.max_delay < self.initial_delay:
            raise ConfigError("reconnect.max_delay", "must be >= initial_delay")
        if not isinstance(self.multiplier, (int, float)) or not self.multiplier >= 1:
            raise ConfigError("reconnect.multiplier", f"must be >= 1, got {self.multiplier!r}")
        if not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter <= 1:
            raise ConfigError(
                "reconnect.jitter", f"must be a fraction from 0 to 1, got {self.jitter!r}"
            )
        if not isinstance(self.retry_on_normal_close, bool):
            raise ConfigError("reconnect.retry_on_normal_close", "must be True or False")


@dataclass(frozen=True)
class WebSocketConfig:
    """Everything that shapes one WebSocket connection (and its reconnections).

    Defaults follow the original design: 30 s connect timeout, a heartbeat every 30 s,
    64 MiB messages, compression on, and reconnection with exponential backoff.
    ``proxy`` (``http://``, ``https://``, ``socks5://``, ``socks5h://``): None takes it from
    HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY unless ``proxy_from_env`` is False;
    ``proxy_ssl`` verifies an https:// proxy. ``max_redirects``: 3xx answers followed (0: none).
    ``transport``: "fast" opens TCP and TLS through aiofastnet (``omniws[fast]``), "asyncio"
    through the standard library, "auto" the former when installed (OMNIWS_TRANSPORT decides).
    ``heartbeat_message``: when set, the heartbeat sends this application message (str: text,
    bytes: binary) instead of a protocol ping and takes any inbound message as the sign of
    life; under Pyodide, where scripts cannot ping, it is the only heartbeat there is.
    ``heartbeat_reply``: the server's answer to it (a message equal to this str or bytes, or
    one for which this function returns True): such messages count as signs of life and
    are not delivered to ``recv()`` or ``on_message``. ``browser_lifecycle`` (Pyodide in a
    browser): a client follows the page's ``online``/``offline``, visibility, freeze and
    back/forward-cache events (docs of :mod:`omniws.client.environment`); False ignores them.
    Durations are float seconds or
    ``timedelta``; they read back as float seconds.
    """

    url: str
    protocols: Sequence[str] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float | None = 30.0
    heartbeat_interval: float | None = 30.0
    heartbeat_timeout: float = 20.0
    heartbeat_message: str | bytes | None = None
    heartbeat_reply: str | bytes | Callable[[Message], bool] | None = None
    close_timeout: float = 10.0
    max_message_size: int | None = 64 * 1024 * 1024
    compression: bool | CompressionConfig = True
    reconnect: ReconnectConfig | None = field(default_factory=ReconnectConfig)
    ssl: ssl.SSLContext | None = None
    origin: str | None = None
    user_agent: str | None = DEFAULT_USER_AGENT
    max_queue: int = 1024
    write_limit: int = 64 * 1024
    send_timeout: float | None = 30.0
    proxy: str | None = None
    proxy_from_env: bool = True
    proxy_ssl: _SSLContext | None = None
    max_redirects: int = 5
    browser_lifecycle: bool = True
    transport: Literal["auto", "asyncio", "fast"] = "auto"

    if TYPE_CHECKING:  # what the constructor accepts; the fields above are what it stores

        def __init__(
            self,
            url: str,
            protocols: Sequence[str] = (),
            headers: Mapping[str, str] = ...,
            connect_timeout: Duration | None = 30.0,
            heartbeat_interval: Duration | None = 30.0,
            heartbeat_timeout: Duration = 20.0,
            heartbeat_message: str | bytes | None = None,
            heartbeat_reply: str | bytes | Callable[[Message], bool] | None = None,
            close_timeout: Duration = 10.0,
            max_message_size: int | None = 64 * 1024 * 1024,
            compression: bool | CompressionConfig = True,
            reconnect: ReconnectConfig | None = ...,
            ssl: _SSLContext | None = None,
            origin: str | None = None,
            user_agent: str | None = DEFAULT_USER_AGENT,
            max_queue: int = 1024,
            write_limit: int = 64 * 1024,
            send_timeout: Duration | None = 30.0,
            proxy: str | None = None,
            proxy_from_env: bool = True,
            proxy_ssl: _SSLContext | None = None,
            max_redirects: int = 5,
            browser_lifecycle: bool = True,
            transport: Literal["auto", "asyncio", "fast"] = "auto",
        ) -> None: ...

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        endpoint = parse_url(self.url)
        set_(self, "endpoint", endpoint)
        if isinstance(self.protocols, (str, bytes)) or not isinstance(self.protocols, Sequence):
            raise ConfigError(  # a list or tuple: the order is the order of preference
                "protocols", f"must be a list of subprotocol names, got {self.protocols!r}"
            )
        protocols = tuple(self.protocols)
        for name in protocols:
            if not isinstance(name, str) or not TOKEN.match(name):
                raise ConfigError(
                    "protocols", f"{name!r} is not a valid subprotocol token (RFC 6455 4.1)"
                )
        set_(self, "protocols", protocols)
        if not isinstance(self.headers, Mapping):
            raise ConfigError(
                "headers",
                f"must be a mapping of names to values, got {type(self.headers).__name__}",
            )
        for name, value in self.headers.items():
            if not isinstance(name, str) or not TOKEN.match(name):
                raise ConfigError("headers", f"header name {name!r} is not a valid HTTP token")
            if not is_header_text(value):
                raise ConfigError(
                    "headers",
                    f"value of {name!r} must be a string without CR, LF, NUL or lone surrogates",
                )
        set_(self, "headers", dict(self.headers))
        for name in ("connect_timeout", "heartbeat_interval", "send_timeout"):
            set_(self, name, seconds(name, getattr(self, name), allow_none=True))
        for name in ("heartbeat_timeout", "close_timeout"):
            set_(self, name, seconds(name, getattr(self, name), allow_none=False))
        if isinstance(self.heartbeat_message, (bytearray, memoryview)):
            set_(self, "heartbeat_message", bytes(self.heartbeat_message))
        elif self.heartbeat_message is not None and not isinstance(
            self.heartbeat_message, (str, bytes)
        ):
            raise ConfigError(
                "heartbeat_message",
                "must be str (text), bytes (binary) or None (protocol pings), "
                f"got {type(self.heartbeat_message).__name__}",
            )
        reply = self.heartbeat_reply
        if isinstance(reply, (bytearray, memoryview)):
            set_(self, "heartbeat_reply", bytes(reply))
        elif reply is not None and not isinstance(reply, (str, bytes)) and not callable(reply):
            raise ConfigError(
                "heartbeat_reply",
                "must be the reply message (str or bytes), a function message -> bool, or "
                f"None, got {type(reply).__name__}",
            )
        if self.max_message_size is not None:
            positive_int("max_message_size", self.max_message_size)
        positive_int("max_queue", self.max_queue)
        positive_int("write_limit", self.write_limit)
        if self.compression is True:
            set_(self, "compression", CompressionConfig())
        elif not isinstance(self.compression, (bool, CompressionConfig)):
            raise ConfigError("compression", "must be True, False or a CompressionConfig")
        if self.reconnect is not None and not isinstance(self.reconnect, ReconnectConfig):
            raise ConfigError("reconnect", "must be a ReconnectConfig or None (never reconnect)")
        if self.ssl is not None and not isinstance(self.ssl, ssl.SSLContext):
            raise ConfigError(
                "ssl", "must be an ssl.SSLContext (or None for the system trust store)"
            )
        if self.ssl is not None and not endpoint.secure:
            raise ConfigError("ssl", "was given for a ws:// URL; use wss:// to connect with TLS")
        if self.proxy is not None:
            parse_proxy_url(self.proxy)
        if not isinstance(self.proxy_from_env, bool):
            raise ConfigError("proxy_from_env", "must be True or False")
        if self.proxy_ssl is not None and not isinstance(self.proxy_ssl, ssl.SSLContext):
            raise ConfigError("proxy_ssl", "must be an ssl.SSLContext for an https:// proxy")
        positive_int("max_redirects", self.max_redirects, minimum=0)
        if not isinstance(self.browser_lifecycle, bool):
            raise ConfigError("browser_lifecycle", "must be True or False")
        if self.transport not in ("auto", "asyncio", "fast"):
            raise ConfigError("transport", f"must be auto, asyncio or fast, got {self.transport!r}")
        for name in ("origin", "user_agent"):
            value = getattr(self, name)
            if value is not None and not is_header_text(value):
                raise ConfigError(
                    name, "must be a string without CR, LF, NUL or lone surrogates, or None"
                )

    endpoint: Endpoint = field(init=False, repr=False, compare=False)

    @property
    def deflate(self) -> CompressionConfig | None:
        """The compression settings, or None when compression is off."""
        return self.compression if isinstance(self.compression, CompressionConfig) else None
