"""The benchmark command still runs (a smoke test: speed is judged by its tables, not here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_command_runs_side_by_side() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--workloads",
            "echo",
            "--loops",
            "asyncio",
            "--repeat",
            "1",
            "--clients",
            "omniws,websockets",
            "--no-json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "omniws / websockets" in result.stdout, result.stdout
