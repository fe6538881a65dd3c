"""``omniws serve``: the embedded echo server on its own, for trying a client (omniws or any
other) against it. One line per connection opened or closed goes to standard error; Ctrl-C or
SIGTERM stops it cleanly, closing every open connection with 1001 (going away)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

from .args import port_number, positive
from .demo_server import EchoServer, chaos, start_echo_server
from .output import Output
from .session import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .signals import catch_signals

__all__ = ["build_serve_parser", "serve", "serve_main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
SHUTDOWN_TIMEOUT = 2.0  # how long the clients have to answer the closing 1001

DESCRIPTION = """\
Run a WebSocket echo server until Ctrl-C or SIGTERM: every text or binary message a client
sends comes straight back; the first subprotocol a client offers is accepted. No TLS, no
compression. Each connection opened or closed is logged to standard error, with the peer's
address. With --chaos, the server drops every connection now and then, or goes away for a
few seconds, so you can watch a client reconnect."""

EPILOG = f"""\
exit status:
  {EXIT_OK}    stopped by SIGTERM (after closing every connection with 1001)
  {EXIT_FAILED}    cannot listen: the port is taken, or HOST is not an address of this machine
  {EXIT_USAGE}    usage error
  {EXIT_INTERRUPTED}  stopped by Ctrl-C (after closing every connection with 1001)

examples:
  omniws serve                          listen on ws://{DEFAULT_HOST}:{DEFAULT_PORT}/
  omniws ws://{DEFAULT_HOST}:{DEFAULT_PORT}/           then, in another terminal: talk to it
  omniws serve --port 0 --chaos         any free port, with drops and restarts"""


def build_serve_parser() -> argparse.ArgumentParser:
    """The parser of `omniws serve`."""
    parser = argparse.ArgumentParser(
        prog="omniws serve",
        usage="omniws serve [--host HOST] [--port PORT] [--chaos] [--chaos-interval SECONDS]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    add(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help="port to listen on (default: %(default)s; 0: any free port)",
    )
    add("--chaos", action="store_true", help="drop the connections now and then")
    add(
        "--chaos-interval",
        type=positive(float, False),
        default=5.0,
        metavar="SECONDS",
        help="mean time between two drops (default: %(default)g)",
    )
    add(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colours: auto (a terminal, without NO_COLOR), always or never",
    )
    return parser


async def serve(args: argparse.Namespace, out: Output) -> int:
    """Serve until Ctrl-C (returns 130) or SIGTERM (0), then close every connection."""
    loop = asyncio.get_running_loop()
    try:
        server = await start_echo_server(args.host, args.port, log=out.status)
    except OSError as exc:
        out.error(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; choose another "
            "port with --port (0: any free port), or another address with --host"
        )
        return EXIT_FAILED
    stopped: asyncio.Future[int] = loop.create_future()

    def stop(signum: int) -> None:
        if not stopped.done():
            stopped.set_result(signum)

    handled = catch_signals(loop, stop)
    chaos_task: asyncio.Task[None] | None = None
    try:
        out.status(f"serve: an echo server is listening on {server.url}; Ctrl-C to stop")
        if args.chaos:
            out.status(f"serve: --chaos: a drop or a restart every {args.chaos_interval:g} s or so")
            report = lambda text: out.status(text, "warn")  # noqa: E731
            chaos_task = loop.create_task(
                chaos(server, report, args.chaos_interval, name="the server")
            )
        signum = await stopped
        return await _shut_down(server, chaos_task, signum, out)
    finally:
        if chaos_task is not None:
            chaos_task.cancel()
        for signum in handled:
            loop.remove_signal_handler(signum)
        await server.close()  # a no-op after a clean shutdown


async def _shut_down(
    server: EchoServer, chaos_task: asyncio.Task[None] | None, signum: int, out: Output
) -> int:
    interrupted = signum == signal.SIGINT
    why = "interrupted (Ctrl-C)" if interrupted else signal.Signals(signum).name
    count = server.connection_count
    out.status(f"{why}: stopping; closing {count} connection(s) with 1001", "warn")
    if chaos_task is not None:
        chaos_task.cancel()
        await asyncio.wait({chaos_task})
    await server.shutdown(SHUTDOWN_TIMEOUT)
    out.status("stopped")
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def serve_main(argv: Sequence[str]) -> int:
    """``omniws serve ARGS``; returns the exit status."""
    args = build_serve_parser().parse_args(argv)
    out = Output(colour=args.color)
    try:
        return asyncio.run(serve(args, out))
    except KeyboardInterrupt:  # a second Ctrl-C, or a platform without signal handlers
        return EXIT_INTERRUPTED
