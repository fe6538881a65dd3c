"""From the parsed command line to what a run needs: the client's
:class:`~omniws.WebSocketConfig` (headers, reconnection, TLS) and the messages to send."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from .. import ReconnectConfig, WebSocketConfig
from .args import UsageError
from .output import Output

__all__ = ["client_config", "messages_to_send", "ssl_context"]


def ssl_context(args: argparse.Namespace, url: str, out: Output) -> ssl.SSLContext | None:
    """The TLS context for ``--cafile`` / ``--insecure`` (None: the client's default)."""
    if not (args.cafile or args.insecure):
        return None
    if not url.lower().startswith("wss://"):
        raise UsageError("--cafile and --insecure apply to wss:// URLs only")
    try:
        context = ssl.create_default_context(cafile=args.cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--cafile {args.cafile}: cannot load it: {exc}") from None
    if args.insecure:
        out.warning(
            "--insecure: the server's certificate is NOT verified. Anyone on the network path "
            "can read and change this connection. Use it for local testing only."
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def client_config(args: argparse.Namespace, url: str, out: Output) -> WebSocketConfig:
    """The client's configuration; raises :class:`UsageError` or :class:`~omniws.ConfigError`."""
    headers: dict[str, str] = {}
    for item in args.header:
        name, colon, value = item.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"--header needs 'NAME: VALUE', got {item!r}")
        headers[name.strip()] = value.strip()
    reconnect = None
    if not args.no_reconnect:
        initial = min(0.5, args.max_delay)
        reset_after = 3.0 if args.demo else 10.0
        reconnect = ReconnectConfig(
            max_attempts=args.retries,
            initial_delay=initial,
            max_delay=args.max_delay,
            reset_after=reset_after,
        )
    return WebSocketConfig(
        url=url,
        protocols=args.protocols,
        headers=headers,
        origin=args.origin,
        compression=not args.no_compression,
        max_message_size=args.max_size or None,
        heartbeat_interval=args.heartbeat or None,
        heartbeat_message=args.heartbeat_message,
        proxy=args.proxy,
        proxy_from_env=not args.no_proxy_env,
        connect_timeout=args.connect_timeout or None,
        reconnect=reconnect,
        ssl=ssl_context(args, url, out),
    )


def messages_to_send(args: argparse.Namespace) -> list[str] | None:
    """``--send`` texts, then the lines of ``--file``; None: read standard input instead."""
    if not args.send and args.file is None:
        return None  # standard input
    messages = list(args.send)
    if args.file is not None:
        try:
            messages += Path(args.file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--file {args.file}: cannot read it: {exc}") from None
    return messages
