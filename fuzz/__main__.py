"""``python -m fuzz [--seconds 600] [--engine all|hypothesis|atheris]``: see fuzz/__init__.py."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PROPERTIES = ROOT / "tests" / "unit" / "test_fuzz_parsers.py"
CRASHES = ROOT / "fuzz" / "crashes"
ATHERIS_TARGETS = ("frames", "protocol", "handshake", "urls")


def _load_properties() -> ModuleType:
    os.environ["OMNIWS_FUZZ_PROFILE"] = "fuzz"
    spec = importlib.util.spec_from_file_location("omniws_fuzz_properties", PROPERTIES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_hypothesis(seconds: float) -> list[str]:
    """Run every @given property of the test file, round after round, until time is up."""
    module = _load_properties()
    tests = [
        (name, fn)
        for name, fn in vars(module).items()
        if name.startswith("test_") and hasattr(fn, "hypothesis")
    ]
    failures: list[str] = []
    end = time.monotonic() + seconds
    rounds = 0
    for _ in range(1_000_000):  # bounded by count and by time
        rounds += 1
        for name, fn in tests:
            if time.monotonic() > end or name in failures:
                continue
            began = time.monotonic()
            try:
                fn()
            except Exception:
                failures.append(name)
                print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            else:
                print(f"ok   {name} ({time.monotonic() - began:.1f} s)", flush=True)
        if time.monotonic() > end:
            break
    print(f"hypothesis: {rounds} round(s) of {len(tests)} properties, {len(failures)} failed")
    return failures


def run_atheris(seconds: float) -> list[str]:
    """Each atheris target in a child process for its share of the time."""
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed (pip install atheris): skipped")
        return []
    CRASHES.mkdir(exist_ok=True)
    share = max(1, int(seconds / len(ATHERIS_TARGETS)))
    failures = []
    for target in ATHERIS_TARGETS:
        argv = [
            sys.executable,
            "-m",
            "fuzz.atheris_targets",
            target,
            f"-max_total_time={share}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            f"-artifact_prefix={CRASHES}/{target}-",
        ]
        try:
            done = subprocess.run(argv, cwd=ROOT, timeout=share + 60, capture_output=True)
        except subprocess.TimeoutExpired:  # run() kills the child on timeout
            print(f"atheris {target}: did not stop in time")
            failures.append(target)
            continue
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
        status = "ok" if done.returncode == 0 else f"CRASH (exit {done.returncode})"
        print(f"atheris {target}: {status}\n    " + "\n    ".join(tail), flush=True)
        if done.returncode != 0:
            failures.append(target)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0, help="total time budget")
    parser.add_argument("--engine", choices=("all", "hypothesis", "atheris"), default="all")
    args = parser.parse_args()
    if args.engine == "all":
        has_atheris = importlib.util.find_spec("atheris") is not None
        split = args.seconds / 2 if has_atheris else args.seconds
        failures = run_hypothesis(split) + run_atheris(args.seconds - split)
    elif args.engine == "hypothesis":
        failures = run_hypothesis(args.seconds)
    else:
        failures = run_atheris(args.seconds)
    print("no failures" if not failures else f"FAILURES: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
