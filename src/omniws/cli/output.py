"""What the ``omniws`` command prints: messages on standard output, status lines and errors on
standard error, with the time, coloured on a terminal and plain when piped (or NO_COLOR)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from typing import TextIO

from .. import CloseFrame, ConnectionClosed, Message, Reconnecting
from ..closecodes import ends_normally

__all__ = ["Output", "reconnect_reason", "use_colour"]

_RESET = "\x1b[0m"
STYLES = {
    "in": "\x1b[32m",  # green: received
    "out": "\x1b[34m",  # blue: sent
    "status": "\x1b[36m",  # cyan: connecting, connected
    "warn": "\x1b[33m",  # yellow: reconnecting, dropped
    "error": "\x1b[1;31m",  # bold red: failures
    "dim": "\x1b[2m",  # the time
}


def use_colour(stream: TextIO, choice: str = "auto") -> bool:
    """Colour for ``choice`` always/never, or (auto) on a terminal unless NO_COLOR is set."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _closed_by(code: int, frame: CloseFrame | None) -> str:
    if code == 1006:
        return "dropped without a close frame"
    return f"closed by the server with {frame or code}"


def reconnect_reason(state: Reconnecting, uptime: float | None, reset_after: float) -> str:
    """The status line of a :class:`~omniws.Reconnecting` state, saying why it happened.

    ``uptime`` is how long the connection that just ended was up (None: the attempt to
    connect failed). A retry after a short-lived connection is not attempt 1 again: the
    backoff only starts over once a connection stays up ``reset_after`` seconds, which the
    line says, lest it read like a failed connection.
    """
    cause = state.cause
    if uptime is None:
        why = f"could not connect: {cause}" if cause is not None else "could not connect"
    else:
        if isinstance(cause, CloseFrame):
            what = _closed_by(cause.code, cause)
        elif isinstance(cause, ConnectionClosed):
            what = _closed_by(cause.code, None)
        elif cause is not None:
            what = f"lost ({cause})"
        else:
            what = "lost"
        why = f"connection {what} after {uptime:.1f} s"
    attempt = f"attempt {state.attempt}"
    if uptime is not None and state.attempt > 1:
        attempt += f"; the delay grows until a connection stays up {reset_after:g} s"
    return f"{why}: reconnecting in {state.delay:.1f} s ({attempt})"


def _now() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


class Output:
    """Formats and writes one line (or block) per event; flushes each, for pipes."""

    def __init__(
        self,
        *,
        colour: str = "auto",
        pretty_json: bool = False,
        raw: bool = False,
        quiet: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._colour_out = use_colour(self.stdout, colour)
        self._colour_err = use_colour(self.stderr, colour)
        self.pretty_json = pretty_json
        self.raw = raw
        self.quiet = quiet or raw
        self.lines_written = 0  # tells whether anything was printed after a typed line

    def _paint(self, text: str, style: str, colour: bool) -> str:
        return f"{STYLES[style]}{text}{_RESET}" if colour else text

    def _write(self, stream: TextIO, text: str) -> None:
        self.lines_written += 1
        try:
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away (| head): stay quiet
            pass

    def _line(
        self, stream: TextIO, colour: bool, mark: str, style: str, text: str, lead: str = ""
    ) -> None:
        stamp = self._paint(_now(), "dim", colour)
        prefix = f"{lead}{stamp} {self._paint(mark, style, colour)} "
        if "\n" in text:  # indent the following lines under the first one
            text = text.replace("\n", "\n" + " " * (len(_now()) + len(mark) + 2))
        self._write(stream, prefix + text)

    # --- messages (standard output) ----------------------------------------------------
    def format_message(self, message: Message) -> str:
        if isinstance(message, bytes):
            return f"[binary, {len(message)} bytes] {message.hex(' ')}"
        if self.pretty_json and message[:1] in ("{", "["):
            try:
                value = json.loads(message)
            except ValueError:
                return message
            return json.dumps(value, indent=2, ensure_ascii=False)
        return message

    def received(self, message: Message) -> None:
        text = self.format_message(message)
        if self.raw:
            self._write(self.stdout, text)
        else:
            self._line(self.stdout, self._colour_out, "<", "in", text)

    def sent(self, message: Message, *, replace_echo: bool = False) -> None:
        """A message we sent. ``replace_echo``: the terminal already echoed the typed line;
        overwrite it with the timestamped one when it fits on one terminal line."""
        if self.raw:
            return
        text = self.format_message(message)
        lead = ""
        if replace_echo:
            width = shutil.get_terminal_size((80, 24)).columns
            if self.stdout.isatty():  # the same terminal, presumably
                if len(text) >= width or "\n" in text:  # the echo took more than a line
                    return  # the terminal's echo stays as it is
                lead = "\x1b[1A\r\x1b[2K"  # up one line, over the echo, and clear it
        self._line(self.stdout, self._colour_out, ">", "out", text, lead)

    # --- status and errors (standard error) --------------------------------------------
    def status(self, text: str, style: str = "status") -> None:
        if not self.quiet:
            self._line(self.stderr, self._colour_err, "*", style, text)

    def warning(self, text: str) -> None:
        """Always shown, even with --quiet: something the user must know."""
        self._write(self.stderr, self._paint(f"omniws: WARNING: {text}", "error", self._colour_err))

    def error(self, text: str) -> None:
        """The one line that explains a non-zero exit status."""
        self._write(self.stderr, self._paint(f"omniws: error: {text}", "error", self._colour_err))

    def closed(self, frame: CloseFrame) -> None:
        style = "status" if ends_normally(frame.code) else "warn"
        self.status(f"connection closed: {frame}", style)
