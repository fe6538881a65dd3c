"""The client's counters, and the snapshot of them that ``client.stats`` returns."""

from __future__ import annotations

from dataclasses import dataclass

from ..messages import Data

__all__ = ["ClientStats", "Counters", "payload_size"]


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of a client's counters (``client.stats``).

    Bytes are payload bytes (UTF-8 for text), before compression. ``connected_time`` is the
    total time spent connected, the current connection included; ``last_rtt`` the round-trip
    time of the last heartbeat ping, in seconds (None before the first one).
    """

    messages_in: int = 0
    bytes_in: int = 0
    messages_out: int = 0
    bytes_out: int = 0
    connections: int = 0
    reconnects: int = 0
    connected_time: float = 0.0
    last_rtt: float | None = None


class Counters:
    """The running counts behind :class:`ClientStats`, updated by the client's parts."""

    def __init__(self) -> None:
        self.messages_in = self.bytes_in = 0
        self.messages_out = self.bytes_out = 0
        self.connections = self.reconnects = 0
        self.connected_time = 0.0
        self.last_rtt: float | None = None

    def received(self, message: Data) -> None:
        """Count one inbound message."""
        self.messages_in += 1
        self.bytes_in += payload_size(message)

    def sent(self, message: Data) -> None:
        """Count one outbound message."""
        self.messages_out += 1
        self.bytes_out += payload_size(message)

    def set_rtt(self, rtt: float) -> None:
        """Record the round-trip time of a heartbeat ping."""
        self.last_rtt = rtt

    def snapshot(self, current_uptime: float) -> ClientStats:
        """The counters now, ``current_uptime`` being the open connection's age (or 0)."""
        return ClientStats(
            self.messages_in,
            self.bytes_in,
            self.messages_out,
            self.bytes_out,
            self.connections,
            self.reconnects,
            self.connected_time + current_uptime,
            self.last_rtt,
        )


def payload_size(message: Data) -> int:
    """Payload bytes of a message: UTF-8 length for text (cheap for ASCII)."""
    if isinstance(message, str):
        return len(message) if message.isascii() else len(message.encode("utf-8"))
    if isinstance(message, memoryview):
        return message.nbytes
    return len(message)
