"""The command line of ``omniws``: options, help text and exit statuses."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .. import __version__
from .session import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE

__all__ = ["USAGE", "UsageError", "build_parser", "port_number", "positive"]

USAGE = """omniws [options] URL
       omniws demo [--chaos] [--chaos-interval SECONDS] [--port PORT] [options]
       omniws serve [--host HOST] [--port PORT] [--chaos] [--chaos-interval SECONDS]"""

DESCRIPTION = """\
Send each line of standard input (typed, or piped) as a WebSocket text message and print
every message that arrives, with the time and a direction mark (> sent, < received). Status
lines (* connecting, connected, reconnecting, closed) go to standard error. The client
reconnects by itself after a drop; if the first connection fails, it exits at once.

'omniws demo' starts an embedded echo server on 127.0.0.1 and connects to it: nothing else
to install. With --chaos, the server drops the connection now and then, or goes away for a
few seconds, so you can watch the client reconnect.

'omniws serve' runs that echo server alone (see 'omniws serve --help')."""

EPILOG = f"""\
exit status:
  {EXIT_OK}    done: --count messages received, or the input ended, or the server closed
  {EXIT_FAILED}    the connection failed (refused, DNS, TLS, HTTP rejection such as 401),
       was lost for good, or the server broke the protocol
  {EXIT_USAGE}    usage or configuration error (bad URL, option, header, file)
  {EXIT_TIMEOUT}    --timeout passed before the command finished
  {EXIT_INTERRUPTED}  interrupted by Ctrl-C (the connection is closed cleanly with 1000)

examples:
  omniws demo                                  try it: an echo server and the client
  omniws demo --chaos                          the same, with drops and restarts
  omniws wss://example.org/feed -H 'Authorization: Bearer T' -p v2 --json
  omniws ws://127.0.0.1:8765/ -s hello -n 1 -t 5   send, print the reply, exit
  printf 'a\\nb\\n' | omniws ws://127.0.0.1:8765/   send each line, print the replies

Colours are used on a terminal only, and never when NO_COLOR is set."""


class UsageError(Exception):
    """A bad argument that argparse could not catch: exit status 2."""


def positive(kind: type[float] | type[int], zero_ok: bool) -> Callable[[str], float | int]:
    """An argparse type: a number of ``kind``, > 0 (or >= 0 with ``zero_ok``)."""

    def convert(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0 or (value == 0 and not zero_ok) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'>= 0' if zero_ok else '> 0'}: {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0: any free port), not {port}")
    return port


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6}
_UNITS.update({"mib": 1 << 20, "g": 10**9, "gb": 10**9, "gib": 1 << 30})


def _size(text: str) -> int:
    """``1048576``, ``64KiB``, ``16MiB``, ``1MB``...; 0 means no limit."""
    number = text.strip().rstrip("bBiIkKmMgG")
    unit = text.strip()[len(number) :].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or value < 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1048576, 64KiB, 16MiB)")
    return int(value * _UNITS[unit])


def build_parser(demo: bool) -> argparse.ArgumentParser:
    """The parser of `omniws URL` or (``demo``) of `omniws demo`."""
    parser = argparse.ArgumentParser(
        prog="omniws demo" if demo else "omniws",
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    seconds, seconds0 = positive(float, False), positive(float, True)
    if demo:
        group = parser.add_argument_group("demo")
        group.add_argument("--chaos", action="store_true", help="drop the connection now and then")
        group.add_argument(
            "--chaos-interval",
            type=seconds,
            default=5.0,
            metavar="SECONDS",
            help="mean time between two drops (default: 5)",
        )
        group.add_argument(
            "--port",
            type=port_number,
            default=0,
            help="port of the echo server (default: any free port)",
        )
    else:
        parser.add_argument("url", metavar="URL", help="ws:// or wss:// URL to connect to")

    conn = parser.add_argument_group("connection")
    add = conn.add_argument
    add(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this request header (repeatable)",
    )
    add(
        "-p",
        "--subprotocol",
        "--protocol",
        dest="protocols",
        action="append",
        default=[],
        metavar="NAME",
        help="offer this subprotocol (repeatable)",
    )
    add("--origin", help="send this Origin header")
    add("--no-compression", action="store_true", help="do not offer permessage-deflate")
    add(
        "--max-size",
        type=_size,
        default=64 << 20,
        metavar="SIZE",
        help="largest message accepted, e.g. 1048576, 64KiB, 16MiB (default: 64MiB; 0: any)",
    )
    add(
        "--heartbeat",
        type=seconds0,
        default=30.0,
        metavar="SECONDS",
        help="ping after this much silence; no pong: reconnect (default: 30; 0: off)",
    )
    add(
        "--connect-timeout",
        type=seconds0,
        default=30.0,
        metavar="SECONDS",
        help="limit of each connection attempt (default: 30; 0: none)",
    )
    add(
        "--heartbeat-message",
        metavar="TEXT",
        help="heartbeat with this text message instead of a ping (any reply counts)",
    )
    add("--proxy", metavar="URL", help="http://, https://, socks5:// or socks5h:// proxy")
    add(
        "--no-proxy-env",
        action="store_true",
        help="ignore HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY",
    )
    add("--no-reconnect", action="store_true", help="exit when the connection ends")
    add(
        "--retries",
        type=positive(int, False),
        metavar="N",
        help="give up after N reconnection attempts in a row (default: no limit)",
    )
    add(
        "--max-delay",
        type=seconds,
        default=4.0 if demo else 30.0,
        metavar="SECONDS",
        help="longest wait between two attempts (default: %(default)g)",
    )
    add(
        "--retry-connect",
        action="store_true",
        help="retry when the first connection fails too (default: exit 1)",
    )

    tls = parser.add_argument_group("TLS (wss:// URLs)")
    tls.add_argument("--cafile", metavar="FILE", help="trust the CA certificates in this PEM file")
    tls.add_argument(
        "--insecure",
        action="store_true",
        help="do NOT check the server's certificate: local testing only",
    )

    io = parser.add_argument_group("what to send, and when to stop")
    add = io.add_argument
    add(
        "-s",
        "--send",
        action="append",
        default=[],
        metavar="TEXT",
        help="send TEXT instead of reading standard input (repeatable)",
    )
    add("-f", "--file", metavar="FILE", help="send each line of FILE (after any --send)")
    add(
        "-n",
        "--count",
        type=positive(int, False),
        metavar="N",
        help="exit once N messages have been received",
    )
    add(
        "-t",
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="give up after SECONDS in all, with exit status 3",
    )
    add(
        "-w",
        "--wait",
        type=seconds0,
        default=0.5,
        metavar="SECONDS",
        help="when the input ends (and no --count), close once no message has arrived for "
        "SECONDS (default: %(default)g; 0: close at once)",
    )

    shown = parser.add_argument_group("output")
    add = shown.add_argument
    add("--json", action="store_true", help="pretty-print text messages that are JSON")
    add(
        "--raw",
        action="store_true",
        help="print received messages only: no time, no direction, no status lines",
    )
    add("-q", "--quiet", action="store_true", help="no status lines (errors still show)")
    add(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colours: auto (a terminal, without NO_COLOR), always or never",
    )
    parser.add_argument("--version", action="version", version=f"omniws {__version__}")
    return parser
