"""The Autobahn fuzzing server (``wstest -m fuzzingserver``) for conformance/autobahn.py:
on 127.0.0.1 only, on a free port, writing into a fresh output directory, stopped by its PID."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

WSTEST_LOCAL = Path(__file__).resolve().parent / "wstest_local.py"
OUTDIR_MARKER = ".omniws-autobahn"
HOST = "127.0.0.1"


class HarnessError(RuntimeError):
    """The harness could not run the suite (server did not start, deadline passed, ...)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on ``port`` (from /proc/net/tcp; empty if unavailable)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            address, hex_port = parts[1].rsplit(":", 1)
            if parts[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def prepare_outdir(outdir: Path) -> None:
    """Make ``outdir`` a fresh, empty directory; only ever wipe one this harness made."""
    if outdir.exists():
        if any(outdir.iterdir()) and not (outdir / OUTDIR_MARKER).exists():
            raise HarnessError(
                f"{outdir} is not empty and was not made by this harness; choose another --outdir"
            )
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    (outdir / OUTDIR_MARKER).write_text("made by conformance/autobahn.py; wiped on every run\n")


class FuzzingServer:
    """``wstest -m fuzzingserver`` on 127.0.0.1:<free port>, stopped by its PID."""

    def __init__(self, python: Path, outdir: Path, cases: Sequence[str]) -> None:
        self.python = python
        self.outdir = outdir
        self.cases = list(cases)
        self.port = free_port()
        self.url = f"ws://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = outdir / "wstest.log"

    def start(self, timeout: float = 60.0) -> None:
        spec = {
            "url": self.url,
            "outdir": str(self.outdir),
            "cases": self.cases,
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        spec_path = self.outdir / "fuzzingserver.json"
        spec_path.write_text(json.dumps(spec, indent=2))
        command = [
            str(self.python),
            str(WSTEST_LOCAL),
            "-m",
            "fuzzingserver",
            "-s",
            str(spec_path),
            "-u",
            "0",
        ]
        with self.log_path.open("wb") as log:
            # A session of its own: Ctrl-C reaches only the harness, which stops it by PID.
            self.process = subprocess.Popen(
                command,
                cwd=self.outdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"wstest exited with {self.process.returncode} before "
                    f"listening:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise HarnessError(
                f"wstest did not listen on {HOST}:{self.port} within {timeout:.0f} s:"
                f"\n{self.log_tail()}"
            )
        addresses = _listening_addresses(self.port)
        if addresses - {"0100007F"}:  # 127.0.0.1 in /proc/net/tcp's little-endian hex
            self.stop()
            raise HarnessError(f"wstest listens on {sorted(addresses)}, not on {HOST} only")

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM to this PID only
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
