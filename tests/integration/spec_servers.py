"""Raw loopback servers for the sync tests: peers that a real server library will not imitate
(one that never answers a close, one that pings at a chosen moment)."""

from __future__ import annotations

import re
import socket
import threading
import time

from .support import accept_key


class SilentServer:
    """Completes the opening handshake, then reads and never answers (not even a close)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        self.handshake(conn)
        self.after_handshake(conn)

    def after_handshake(self, conn: socket.socket) -> None:
        while conn.recv(65536):
            pass

    def handshake(self, conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        found = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", request)
        key = found.group(1).decode() if found else ""
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
        )

    def stop(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()
        self.thread.join(10)


class PingingServer(SilentServer):
    """Answers the first message with "hi", pings 0.3 s later, notes when the pong comes."""

    def __init__(self) -> None:
        self.pong_at: float | None = None
        super().__init__()

    def after_handshake(self, conn: socket.socket) -> None:
        header = _read_exactly(conn, 2)
        _read_exactly(conn, 4 + (header[1] & 0x7F))  # a short masked message
        conn.sendall(b"\x81\x02hi")
        time.sleep(0.3)
        conn.sendall(b"\x89\x04ping")
        header = _read_exactly(conn, 2)
        length = header[1] & 0x7F
        _read_exactly(conn, 4 + length)  # mask and payload
        if header[0] & 0x0F == 0xA:
            self.pong_at = time.monotonic()
        super().after_handshake(conn)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data


class DeafServer(SilentServer):
    """Completes the handshake, then reads nothing until stopped: the client's writes back up."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        super().__init__()

    def after_handshake(self, conn: socket.socket) -> None:
        self.stopping.wait(60)

    def stop(self) -> None:
        self.stopping.set()
        super().stop()


class NoCodeCloseServer(SilentServer):
    """Sends "bye", then a close frame without a code (the client sees 1005), then hangs up."""

    def after_handshake(self, conn: socket.socket) -> None:
        conn.sendall(b"\x81\x03bye\x88\x00")
        time.sleep(0.2)  # let the client answer the close before the socket goes
        conn.close()
