"""Helpers of the command-line tests: the `omniws` command as a real process, piped or on a
pseudo-terminal, `omniws serve` with its log read as it comes, and `websockets` test servers
(tests/integration/servers/py_server.py).

Every wait is bounded (a deadline per read, a timeout per process) and every process is
stopped by its PID in teardown.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from integration.support import PY_SERVER, ServerProcess, free_port

COMMAND = [sys.executable, "-m", "omniws"]
SRC = Path(__file__).resolve().parents[2] / "src"  # this checkout's omniws, in every process
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
READ_TIMEOUT = 15.0


def plain(text: str) -> str:
    """``text`` without terminal escape sequences."""
    return ANSI.sub("", text)


def environment(**changes: str | None) -> dict[str, str]:
    dropped = ("NO_COLOR", "COLUMNS", "LINES")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.lower().endswith("_proxy")  # loopback only
    }
    env["TERM"] = "xterm"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(
    *args: str, stdin: str | None = None, timeout: float = 30, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command piped (standard input from ``stdin``, or /dev/null)."""
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or environment(),
    )


class WatchedProcess:
    """A process whose output (one file descriptor) the test reads with ``expect()``."""

    def __init__(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        self.proc = proc
        self.master = fd
        self.raw = ""  # everything read, escape sequences included
        self._seen = 0  # how much of plain(self.raw) expect() has consumed

    @property
    def text(self) -> str:
        return plain(self.raw)

    def _read(self, deadline: float) -> bool:
        """Read what is there (waiting until ``deadline``); False once nothing more can come."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], min(remaining, 0.2))
        if not ready:
            return self.proc.poll() is None or time.monotonic() < deadline
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the process has exited and closed the terminal
            return False
        if not data:
            return False
        self.raw += data.decode(errors="replace")
        return True

    def expect(self, pattern: str, timeout: float = READ_TIMEOUT) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in the output after the previous match."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        for _ in range(100_000):  # bounded by the deadline
            match = regex.search(self.text, self._seen)
            if match:
                self._seen = match.end()
                return match
            if not self._read(deadline):
                break
        raise AssertionError(f"{pattern!r} did not show within {timeout} s; output:\n{self.text}")

    def interrupt(self) -> None:
        os.kill(self.proc.pid, signal.SIGINT)

    def terminate(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)

    def wait(self, timeout: float = READ_TIMEOUT) -> int:
        """The exit status, reading the output meanwhile (so that the process never blocks)."""
        deadline = time.monotonic() + timeout
        for _ in range(100_000):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                break
            self._read(min(deadline, time.monotonic() + 0.2))
        for _ in range(100):  # what is left in the terminal
            if not self._read(time.monotonic() + 0.05):
                break
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        os.close(self.master)


class PtyProcess(WatchedProcess):
    """The command on a pseudo-terminal (standard input, output and error), as a user sees it."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        proc = subprocess.Popen(
            [*COMMAND, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env or environment(),
            start_new_session=True,
        )
        os.close(slave)
        super().__init__(proc, master)

    def send_line(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def send_eof(self) -> None:
        os.write(self.master, b"\x04")  # Ctrl-D on an empty line


class ServeProcess(WatchedProcess):
    """``omniws serve ARGS`` with its standard error read by ``expect()``; ``url`` once it
    listens. Standard output goes to ``stdout_file`` (the server should print nothing there)."""

    def __init__(self, args: Sequence[str], stdout_file: Path) -> None:
        read_end, write_end = os.pipe()
        self.stdout_file = stdout_file
        with stdout_file.open("wb") as stdout:
            proc = subprocess.Popen(
                [*COMMAND, "serve", *args],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=write_end,
                env=environment(),
                start_new_session=True,
            )
        os.close(write_end)
        super().__init__(proc, read_end)
        self.url = ""

    def listening(self) -> str:
        """Wait for the listening line; the server's URL."""
        self.url = self.expect(r"an echo server is listening on (ws://\S+/);").group(1)
        return self.url


@pytest.fixture
def pty_command() -> Iterator[type[PtyProcess]]:
    """Start the command on a pseudo-terminal: ``pty_command(args)``; stopped in teardown."""
    started: list[PtyProcess] = []

    class Tracked(PtyProcess):
        def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
            super().__init__(args, env)
            started.append(self)

    try:
        yield Tracked
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def serve_command(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``omniws serve ARGS``: ``serve_command(*args)``; stopped in teardown."""
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        process = ServeProcess(args, tmp_path / f"serve-{len(started)}.out")
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


def start_py_server(tmp: Path, port: int | None = None, name: str = "py_server") -> ServerProcess:
    """The `websockets` test server (compression on) in its own process."""
    port = port or free_port()
    argv = [sys.executable, str(PY_SERVER), "--port", str(port)]
    server = ServerProcess(name, argv, "127.0.0.1", port, tmp / f"{name}-{time.time_ns()}.log")
    server.start()
    return server


@pytest.fixture(scope="module")
def py_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``ws://127.0.0.1:PORT``) of a `websockets` server shared by a module."""
    server = start_py_server(tmp_path_factory.mktemp("cli_py_server"))
    try:
        yield server.url
    finally:
        server.stop()
