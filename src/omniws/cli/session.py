"""One run of the ``omniws`` command: a :class:`~omniws.WebSocketClient`, what to send (lines
of standard input, or messages given up front), what it prints, and how the run ends.

The run ends when ``--count`` messages have arrived, when the input has ended (after
``--wait`` seconds), when the client stops (the server closed and it is not retried, or it
failed), at ``--timeout``, or on Ctrl-C, which closes with 1000.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import (
    Closing,
    ConfigError,
    Connected,
    Connecting,
    ConnectionClosed,
    ConnectionState,
    Disconnected,
    Failed,
    Reconnecting,
    WebSocketClient,
    WebSocketConfig,
    WebSocketError,
)
from .input import isatty, stdin_lines
from .output import Output, reconnect_reason
from .signals import catch_signals

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "Session",
]

EXIT_OK = 0
EXIT_FAILED = 1  # the connection failed or was lost for good, a protocol error
EXIT_USAGE = 2  # bad arguments or configuration (argparse uses 2 as well)
EXIT_TIMEOUT = 3  # --timeout passed first
EXIT_INTERRUPTED = 130  # Ctrl-C (after closing with 1000)

_DRAIN_TIMEOUT = 5.0


@dataclass
class Session:
    """What one run of the command does; ``run()`` returns the exit status."""

    config: WebSocketConfig
    out: Output
    messages: Sequence[str] | None = None  # None: read standard input
    count: int | None = None
    timeout: float | None = None
    wait: float | None = None
    retry_first: bool = False
    hint: str | None = None  # shown once, after the first connection
    received: int = field(default=0, init=False)
    _client: WebSocketClient | None = field(default=None, init=False)
    _connected_once: bool = field(default=False, init=False)
    _error_shown: bool = field(default=False, init=False)
    _connected_at: float | None = field(default=None, init=False)  # loop time; None: down

    # --- the client's hooks ------------------------------------------------------------
    def _should_retry(self, cause: object) -> bool | None:
        if not self._connected_once and not self.retry_first:
            return False  # the first connection failed: say so at once
        return None

    def _state_changed(self, state: ConnectionState) -> None:
        out, url = self.out, self.config.url
        if isinstance(state, Connecting):
            attempt = f" (attempt {state.attempt})" if state.attempt else ""
            out.status(f"connecting to {url}{attempt}")
        elif isinstance(state, Connected):
            self._connected_once = True
            self._connected_at = asyncio.get_running_loop().time()
            subprotocol = self._client.subprotocol if self._client else None
            proto = f" (subprotocol {subprotocol})" if subprotocol else ""
            out.status(f"connected to {url}{proto}")
            if self.hint:
                out.status(self.hint)
                self.hint = None
        elif isinstance(state, Reconnecting):
            uptime = None
            if self._connected_at is not None:
                uptime = asyncio.get_running_loop().time() - self._connected_at
                self._connected_at = None
            reconnect = self.config.reconnect
            reset_after = reconnect.reset_after if reconnect is not None else 0.0
            out.status(reconnect_reason(state, uptime, reset_after), "warn")
        elif isinstance(state, Failed):
            self._error_shown = True
            out.error(str(state.error))
        elif isinstance(state, Closing):
            out.status("closing")
        elif isinstance(state, Disconnected):
            out.status("disconnected")

    # --- the run -----------------------------------------------------------------------
    async def run(self) -> int:
        """Run until one of the ends in the module docstring; always leaves the client closed."""
        loop = asyncio.get_running_loop()
        client = self._client = WebSocketClient(self.config, should_retry=self._should_retry)
        client.on_state_change(self._state_changed)
        client.on_close(self.out.closed)
        interrupted = asyncio.Event()
        handled = catch_signals(loop, lambda signum: interrupted.set())
        session = loop.create_task(self._session(client))
        stop = loop.create_task(interrupted.wait())
        try:
            done, _ = await asyncio.wait(
                {session, stop}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if session in done:
                return self._status(session)
            session.cancel()
            await asyncio.wait({session})
            if stop in done:
                self.out.status("interrupted: closing the connection with 1000", "warn")
                await client.close(1000, "")
                return EXIT_INTERRUPTED
            wanted = f", received {self.received} of {self.count} messages" if self.count else ""
            self.out.error(f"timed out after {self.timeout:g} s (--timeout){wanted}")
            return EXIT_TIMEOUT
        finally:
            stop.cancel()
            for signum in handled:
                loop.remove_signal_handler(signum)
            await client.close()

    def _status(self, session: asyncio.Task[int]) -> int:
        try:
            return session.result()
        except WebSocketError as exc:
            if not self._error_shown:
                self.out.error(str(exc))
            return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED

    async def _session(self, client: WebSocketClient) -> int:
        try:
            await client.connect()
        except ConnectionClosed:
            if not self._connected_once:
                raise
            # connected, and closed already (a server that says one thing and leaves):
            # the reader below prints what arrived and ends with the client's fate
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(client))
        sender = loop.create_task(self._send(client))
        try:
            await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
            if not reader.done() and sender.exception() is not None:
                await asyncio.wait({reader}, timeout=_DRAIN_TIMEOUT)  # it may explain why
            if reader.done():
                return reader.result()
            sender.result()  # raises if sending failed
            if self.count is None:  # the input has ended: close once the replies stop
                if await self._quiet(reader):
                    return reader.result()
                await client.close()
                await asyncio.wait({reader}, timeout=_DRAIN_TIMEOUT)
                await self._drain(client)
                return EXIT_OK
            return await reader
        finally:
            for task in (reader, sender):
                task.cancel()
            await asyncio.wait({reader, sender})

    async def _quiet(self, reader: asyncio.Task[int]) -> bool:
        """Wait until nothing has arrived for ``wait`` seconds; True if the reader ended."""
        for _ in range(1 << 40):  # bounded by --timeout, or the server's patience
            before = self.received
            if self.wait:
                await asyncio.wait({reader}, timeout=self.wait)
            if reader.done() or self.received == before:
                break
        return reader.done()

    async def _read(self, client: WebSocketClient) -> int:
        async for message in client:  # ends when the client is closed; raises when it failed
            self.out.received(message)
            self.received += 1
            if self.count is not None and self.received >= self.count:
                return EXIT_OK
        return EXIT_OK

    async def _drain(self, client: WebSocketClient) -> None:
        """Print what arrived during the close handshake (the reader may have left before)."""
        for _ in range(100_000):  # bounded; recv() raises at once when nothing is left
            try:
                message = await asyncio.wait_for(client.recv(), _DRAIN_TIMEOUT)
            except (ConnectionClosed, asyncio.TimeoutError):
                return
            self.out.received(message)
            self.received += 1

    async def _send(self, client: WebSocketClient) -> None:
        if self.messages is not None:
            for text in self.messages:
                await client.send(text)
                self.out.sent(text)
            return
        typed = isatty(sys.stdin)
        async for text in stdin_lines():
            printed = self.out.lines_written
            await client.send(text)
            # on a terminal, the typed line is replaced by the timestamped one, unless
            # something was printed below it meanwhile (the send waited for a reconnection)
            self.out.sent(text, replace_echo=typed and self.out.lines_written == printed)
