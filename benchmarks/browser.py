"""Echo speed under Pyodide, in headless Chromium and in Node.js: ``python -m benchmarks.browser``.

A 32-byte text echo over loopback against the picows server of benchmarks/server.py, round
trips per second for ``--seconds`` (3), ``--runs`` times (3), for pure JavaScript,
Pyodide with hand-written ``js.WebSocket`` callbacks, omniws' message handler +
``send_nowait()`` and omniws' ``await send()`` / ``await recv()`` (benchmarks/browser_pyodide.py
runs inside Pyodide, in interleaved slices: see there). The ratio is the median of the per-run
ratios to the hand-written callbacks. Reuses the Pyodide harness of tests/wasm (its Chromium
page and its Node runner), so it needs what those tests need: scripts/setup-wasm.sh.
``--src`` loads another checkout's omniws (e.g. a ``git worktree`` of an older commit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WASM = ROOT / "tests" / "wasm"
SUITE = Path(__file__).resolve().parent / "browser_pyodide.py"
ROWS = [
    ("js", "pure JavaScript WebSocket callbacks"),
    ("callbacks", "Pyodide, hand-written js.WebSocket callbacks"),
    ("handler", "omniws message handler + send_nowait()"),
    ("awaited", "omniws await send() / await recv()"),
]
FLOORS = [
    ("sleep0", "event loop floor: asyncio.sleep(0) wake-ups/s"),
    ("channel", "JavaScript MessageChannel round trips/s"),
]
TIMEOUT = 600.0


def _start_server() -> tuple[subprocess.Popen[str], int]:
    argv = [sys.executable, "-m", "benchmarks.server", "--mode", "picows"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout is not None else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"benchmarks.server did not start (said {line!r})")
    return proc, int(line.split()[1])


def run_node(env: dict[str, Any], tmp: Path, src: Path) -> dict[str, Any]:
    """The benchmark in Pyodide under Node.js (npm ``ws`` as ``WebSocket``)."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not on PATH: run scripts/setup-wasm.sh")
    env_file, out_file = tmp / "env.json", tmp / "node.json"
    env_file.write_text(json.dumps(env))
    argv = [node, str(WASM / "run_node.mjs"), str(src), str(SUITE)]
    subprocess.run([*argv, str(env_file), str(out_file)], cwd=WASM, check=False, timeout=TIMEOUT)
    if not out_file.is_file():
        raise SystemExit("the Node run wrote no results")
    run = dict(json.loads(out_file.read_text()))
    if "fatal" in run:
        raise SystemExit(f"the Node run failed: {run['fatal']}")
    return run


def run_chromium(env: dict[str, Any], tmp: Path, src: Path) -> dict[str, Any]:
    """The benchmark in Pyodide in headless Chromium (tests/wasm/chromium.py's page)."""
    sys.path.insert(0, str(ROOT))
    from tests.wasm.chromium import run_in_chromium

    pyodide = WASM / "node_modules" / "pyodide"
    return run_in_chromium(env, src, SUITE, pyodide, tmp, "run scripts/setup-wasm.sh")


def _cell(rates: list[float]) -> str:
    return f"{min(rates):,.0f}-{max(rates):,.0f}" if rates else "-"


def _ratio(rates: list[float], base: list[float]) -> str:
    ratios = sorted(r / b for r, b in zip(rates, base, strict=True))  # runs came paired
    return f"{ratios[len(ratios) // 2]:.2f}" if ratios else "-"


def table(runs: dict[str, dict[str, list[float]]]) -> str:
    """Markdown: one row per client; per runtime the range of the rates and the median ratio
    to the hand-written callbacks."""
    names = list(runs)
    head = "| client | " + " | ".join(f"{n} round trips/s | vs callbacks" for n in names) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(names)]
    for key, label in ROWS:
        cells = [f"{_cell(r[key])} | {_ratio(r[key], r['callbacks'])}" for r in runs.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for key, label in FLOORS:
        cells = [f"{_cell(r.get(key, []))} | " for r in runs.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="per run and client")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slices", type=int, default=6, help="turns per run (interleaving)")
    parser.add_argument("--only", choices=["chromium", "node"], help="one runtime only")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="omniws sources")
    parser.add_argument("--json", action="store_true", help="print the raw numbers too")
    args = parser.parse_args(argv)
    server, port = _start_server()
    results: dict[str, dict[str, list[float]]] = {}
    try:
        env = {"echo": f"ws://127.0.0.1:{port}/", "seconds": args.seconds, "runs": args.runs}
        env["slices"] = args.slices
        with tempfile.TemporaryDirectory(prefix="omniws-browser-bench-") as tmp:
            if args.only != "node":
                results["Chromium"] = run_chromium(env, Path(tmp), args.src.resolve())["results"]
            if args.only != "chromium":
                results["Node.js"] = run_node(env, Path(tmp), args.src.resolve())["results"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    if args.json:
        print(json.dumps(results))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
