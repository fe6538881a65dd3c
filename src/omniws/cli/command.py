"""The ``omniws`` command's entry point: parse the command line, start the demo server when
asked, run a :class:`~.session.Session` and turn what happened into an exit status
(``omniws serve`` is handed to :mod:`.serve`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .. import ConfigError
from .args import UsageError, build_parser
from .demo_server import EchoServer, chaos, start_echo_server
from .input import isatty
from .options import client_config, messages_to_send
from .output import Output
from .serve import serve_main
from .session import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Session

__all__ = ["main"]


async def _run(args: argparse.Namespace, out: Output) -> int:
    server: EchoServer | None = None
    chaos_task: asyncio.Task[None] | None = None
    try:
        if args.demo:
            server = await start_echo_server(port=args.port)
            out.status(f"demo: an echo server is listening on {server.url}")
            url = server.url
        else:
            url = args.url
        session = Session(
            client_config(args, url, out),
            out,
            messages=messages_to_send(args),
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
    if argv and argv[0] == "serve":
        return serve_main(argv[1:])
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
