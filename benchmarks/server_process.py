"""The benchmark server process (``benchmarks/server.py``), started and stopped by PID;
with a TLS folder (``--tls``, benchmarks/tls.py) it serves wss://."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from benchmarks import variants

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """The benchmark server process, started and stopped by PID."""

    def __init__(self, mode: str, tls_dir: str | None = None) -> None:
        command = [sys.executable, "-m", "benchmarks.server", "--mode", mode]
        self.proc = subprocess.Popen(
            [*command, *variants.server_args(tls_dir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit(f"the benchmark server did not start (got {line!r})")
        self.pid = self.proc.pid
        self.url = f"{'wss' if tls_dir else 'ws'}://127.0.0.1:{int(line.split()[1])}/"
        self.cpus: set[int] | None = None

    def pin(self, cpus: set[int]) -> None:
        if cpus != self.cpus:
            os.sched_setaffinity(self.pid, cpus)
            self.cpus = cpus

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
