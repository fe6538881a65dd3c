"""The benchmark command still runs (a smoke test: speed is judged by its tables, not here)."""

from __future__ import annotations

import re
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


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_trio_clients_run_side_by_side() -> None:
    result = _run(
        "benchmarks",
        "--quick",
        "--workloads",
        "echo-32,push",
        "--loops",
        "asyncio,uvloop",
        "--repeat",
        "1",
        "--clients",
        "omniws,omniws.trio,trio-websocket,websockets.trio",
        "--no-json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for ratio in ("omniws.trio / trio-websocket", "omniws.trio / websockets.trio"):
        assert ratio in result.stdout, result.stdout
    assert "omniws.trio / omniws" in result.stdout, result.stdout
    assert "omniws / trio-websocket" not in result.stdout, "asyncio rows compared with trio rows"
    # trio ignores the loop: its rows are measured once, in the first loop's table
    uvloop_tables = result.stdout.split("loop uvloop")[1:]
    assert uvloop_tables, result.stdout
    assert all("websockets.trio" not in t.split("\n\n")[0] for t in uvloop_tables), result.stdout


def test_trio_rows_follow_the_workload() -> None:
    from benchmarks.plan import WORKLOADS, labels_for

    by_name = {w.name: w for w in WORKLOADS}
    trio = ["omniws.trio", "trio-websocket", "websockets.trio"]
    assert labels_for(by_name["echo-32"], trio, False) == trio
    assert labels_for(by_name["echo-32"], trio, False, trio=False) == []
    assert labels_for(by_name["many-1000"], trio, False) == []
    # trio-websocket has no permessage-deflate
    assert labels_for(by_name["push-64"], trio, True) == ["omniws.trio", "websockets.trio"]


def test_anyio_overhead_prints_every_operation() -> None:
    result = _run("benchmarks.anyio_overhead", "--repeat", "1", "--scale", "0.02")
    assert result.returncode == 0, result.stdout + result.stderr
    from benchmarks.anyio_overhead_ops import OPS

    for name in OPS:
        row = next((x for x in result.stdout.splitlines() if x.startswith(name + " ")), "")
        assert re.search(r"\d+\.\d\d \[", row), f"no figures for {name!r}:\n{result.stdout}"
    assert "anyio on asyncio" in result.stdout.split("import time")[1], result.stdout


def test_trio_floor_prints_every_case() -> None:
    result = _run("benchmarks.trio_floor", "--repeat", "1", "--count", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    from benchmarks.trio_floor import CASES

    for name in CASES:
        assert re.search(rf"{re.escape(name)}\s+\d+\.\d \[", result.stdout), result.stdout


def test_omniws_on_trio_is_compared_with_the_trio_clients() -> None:
    from benchmarks.plan import CPU_RT
    from benchmarks.report import ratios

    medians = {"omniws": 1.0, "omniws.trio": 2.0, "trio-websocket": 4.0, "websockets": 3.0}
    summary = {k: {"runs": 1, "cpu_us": {"median": v}} for k, v in medians.items()}
    assert ratios(CPU_RT, list(summary), summary) == {
        "omniws / websockets": 1 / 3,
        "omniws.trio / trio-websocket": 0.5,
        "omniws.trio / omniws": 2.0,
    }
