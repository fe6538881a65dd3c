"""The ``omniws`` command (also ``python -m omniws``): talk to a WebSocket server from a
terminal or a script, on :class:`~omniws.WebSocketClient`.

``omniws URL`` sends each line typed (or piped) as a text message and prints what arrives;
``omniws demo`` does the same against an embedded echo server on 127.0.0.1, and
``omniws demo --chaos`` makes that server drop connections now and then, to watch the client
reconnect. The run logic is in ``_cli_session.py``, the printing in ``_cli_output.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from ._cli_args import UsageError, build_parser
from ._cli_input import isatty
from ._cli_output import Output
from ._cli_session import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Session,
)
from ._demo_server import chaos, start_echo_server
from .config import ReconnectConfig, WebSocketConfig
from .errors import ConfigError

__all__ = ["main"]


def _ssl_context(args: argparse.Namespace, url: str, out: Output) -> ssl.SSLContext | None:
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


def _config(args: argparse.Namespace, url: str, out: Output) -> WebSocketConfig:
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
        ssl=_ssl_context(args, url, out),
    )


def _messages(args: argparse.Namespace) -> list[str] | None:
    if not args.send and args.file is None:
        return None  # standard input
    messages = list(args.send)
    if args.file is not None:
        try:
            messages += Path(args.file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--file {args.file}: cannot read it: {exc}") from None
    return messages


async def _run(args: argparse.Namespace, out: Output) -> int:
    server = None
    chaos_task: asyncio.Task[None] | None = None
    try:
        if args.demo:
            server = await start_echo_server(port=args.port)
            out.status(f"demo: an echo server is listening on {server.url}")
            url = server.url
        else:
            url = args.url
        session = Session(
            _config(args, url, out),
            out,
            messages=_messages(args),
            count=args.count,
            timeout=args.timeout,
            wait=args.wait,
            retry_first=args.retry_connect,
        )
        if server is not None and args.chaos:
            out.status(f"demo: --chaos: a drop or a restart every {args.chaos_interval:g} s or so")
            report = lambda text: out.status(text, "warn")  # noqa: E731
            chaos_task = asyncio.create_task(chaos(server, report, args.chaos_interval))
        if session.messages is None and isatty(sys.stdin):
            session.hint = "type a message and press Enter to send it; Ctrl-D or Ctrl-C to quit"
        return await session.run()
    finally:
        if chaos_task is not None:
            chaos_task.cancel()
            await asyncio.wait({chaos_task})
        if server is not None:
            await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``omniws`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    demo = bool(argv) and argv[0] == "demo"
    args = build_parser(demo).parse_args(argv[1:] if demo else argv)
    args.demo = demo
    out = Output(colour=args.color, pretty_json=args.json, raw=args.raw, quiet=args.quiet)
    try:
        return asyncio.run(_run(args, out))
    except (UsageError, ConfigError) as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C, or a platform without signal handlers
        return EXIT_INTERRUPTED
    except OSError as exc:  # e.g. the demo's --port is taken
        out.error(str(exc))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
