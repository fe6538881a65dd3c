"""Run the Autobahn testsuite fuzzing server against a WebSocket client and judge the result.

    python -m conformance.autobahn                      # CI subset against omniws
    python -m conformance.autobahn --full               # all 517 cases (about 15 minutes)
    python -m conformance.autobahn --client omniws-trio # omniws under trio.run
    python -m conformance.autobahn --client websockets  # a reference client
    python -m conformance.autobahn --cases 1.1.1 7.1.5  # just these cases

The server (Python 2.7, installed by scripts/setup-autobahn.sh) listens on 127.0.0.1 only, on
a free port, with its web UI off, writing into a fresh output directory. The client runs every
case, echoing each message back; then the reports are read from ``index.json``, a table is
printed, and the exit status is non-zero when any case FAILED, or is UNIMPLEMENTED outside
groups 12/13 (compression; with ``--require-compression`` there too).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import quote

from conformance.clients import CLIENTS, Client
from conformance.report import CaseResult, judge, load_results, render_table
from conformance.runners import bounded, run_main
from conformance.server import FuzzingServer, HarnessError, prepare_outdir

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("OMNIWS_AUTOBAHN_DIR", REPO_ROOT / ".cache" / "autobahn"))

_SIZES = range(1, 6)  # 12.x.1-5 / 13.x.1-5: 16 to 4096 bytes, 1000 messages each
CI_CASES: tuple[str, ...] = (
    "1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*",
    *(f"12.{group}.{size}" for group in range(1, 6) for size in _SIZES),
    *(f"13.{group}.{size}" for group in range(1, 8) for size in _SIZES),
)  # fmt: skip
# How many cases CI_CASES selects: 1-7 (246), 9 (54), 10 (1), 12.1-12.5 x 5, 13.1-13.7 x 5.
CI_CASE_COUNT = 361


class AutobahnEnvironmentMissing(RuntimeError):
    """The Python 2.7 testsuite environment is not installed."""


@dataclass
class RunResult:
    client: str
    client_version: str
    agent: str
    outdir: Path
    results: dict[str, CaseResult]
    harness_problems: list[str]  # cases that hit the per-case bound, missing cases, ...
    wall_time: float
    require_compression: bool = False
    problems: list[str] = field(default_factory=list)  # why the run does not pass

    @property
    def passed(self) -> bool:
        return not self.problems

    def table(self) -> str:
        return render_table(self.results, self.harness_problems, self.problems)


def find_wstest_python() -> Path:
    """The Python 2.7 interpreter of the installed testsuite, or AutobahnEnvironmentMissing."""
    python = CACHE_DIR / "py27" / "bin" / "python"
    marker = CACHE_DIR / ".installed"
    if not (
        python.exists() and (CACHE_DIR / "py27" / "bin" / "wstest").exists() and marker.exists()
    ):
        raise AutobahnEnvironmentMissing(
            f"the Autobahn testsuite environment is missing (looked in {CACHE_DIR}); "
            "install it with: scripts/setup-autobahn.sh"
        )
    return python


def _case_id(info: str | None) -> str | None:
    try:
        return str(json.loads(info or "")["id"])
    except (ValueError, KeyError, TypeError):
        return None


async def run_cases(
    client: Client,
    base_url: str,
    agent: str,
    *,
    case_timeout: float,
    deadline: float,
    verbose: bool,
) -> tuple[int, list[str]]:
    """Run every case the server has -> (case count, harness problems: timeouts, deadline)."""
    problems: list[str] = []
    agent_q = quote(agent)
    done, count_text = await bounded(client.fetch(f"{base_url}/getCaseCount"), 30)
    try:
        count = int(json.loads(count_text or ""))
    except ValueError:
        raise HarnessError(
            f"{client.name} could not read {base_url}/getCaseCount "
            f"(finished: {done}, got: {count_text!r})"
        ) from None
    print(f"[autobahn] {count} cases, client {client.name}, agent {agent}", flush=True)
    for number in range(1, count + 1):
        if time.monotonic() > deadline:
            problems.append(f"deadline passed before case number {number} of {count}")
            break
        _, info = await bounded(client.fetch(f"{base_url}/getCaseInfo?case={number}"), 30)
        case_id = _case_id(info) or f"#{number}"
        started = time.monotonic()
        finished, error = await bounded(
            client.echo(f"{base_url}/runCase?case={number}&agent={agent_q}"), case_timeout
        )
        elapsed = time.monotonic() - started
        if not finished:
            problems.append(f"{case_id}: the client did not finish within {case_timeout:.0f} s")
        if verbose or not finished or elapsed > 5:
            note = "TIMEOUT" if not finished else (error or "closed")
            print(
                f"[autobahn] case {case_id} ({number}/{count}) {elapsed:.1f} s: {note}", flush=True
            )
        elif number % 50 == 0:
            print(f"[autobahn] {number}/{count} cases run", flush=True)
    done, _ = await bounded(client.fetch(f"{base_url}/updateReports?agent={agent_q}"), 120)
    if not done:
        problems.append("updateReports did not finish within 120 s")
    return count, problems


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(
    client_name: str = "omniws",
    *,
    cases: Sequence[str] = CI_CASES,
    outdir: Path | None = None,
    agent: str | None = None,
    case_timeout: float = 90.0,
    deadline: float | None = None,
    require_compression: bool = False,
    verbose: bool = False,
) -> RunResult:
    """Run the suite; always stops the server. Raises AutobahnEnvironmentMissing, HarnessError."""
    python = find_wstest_python()
    client = CLIENTS[client_name]
    version = client.version()
    agent = agent or f"{client_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    outdir = (outdir or REPO_ROOT / "reports" / "autobahn" / client_name).resolve()
    prepare_outdir(outdir)
    total = deadline if deadline is not None else (3600.0 if "*" in cases else 900.0)
    started = time.monotonic()
    server = FuzzingServer(python, outdir, cases)
    try:
        server.start()
        print(
            f"[autobahn] fuzzing server pid {server.process.pid if server.process else '?'} "
            f"on {server.url}, reports in {outdir}",
            flush=True,
        )
        count, harness_problems = run_main(
            client.runner,
            run_cases,
            client=client,
            base_url=server.url,
            agent=agent,
            case_timeout=case_timeout,
            deadline=started + total,
            verbose=verbose,
        )
    finally:
        server.stop()
    wall = time.monotonic() - started
    results = load_results(outdir, agent)
    if results and len(results) != count:
        harness_problems.append(f"index.json has {len(results)} of the {count} cases")
    result = RunResult(
        client_name, version, agent, outdir, results, harness_problems, wall, require_compression
    )
    result.problems = judge(results, harness_problems, require_compression)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.autobahn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--client", choices=sorted(CLIENTS), default="omniws")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--full", action="store_true", help="all 517 cases")
    scope.add_argument(
        "--cases",
        nargs="+",
        metavar="ID",
        help="explicit case ids or patterns (patterns match by prefix)",
    )
    parser.add_argument("--agent", help="agent name in the reports (default: unique)")
    parser.add_argument(
        "--outdir",
        type=Path,
        help="report directory, wiped first (default: reports/autobahn/CLIENT)",
    )
    parser.add_argument("--case-timeout", type=float, default=90.0, metavar="S")
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="S",
        help="bound on the whole run (default 900 s, 3600 s with --full)",
    )
    parser.add_argument(
        "--require-compression", action="store_true", help="UNIMPLEMENTED in groups 12/13 fails too"
    )
    parser.add_argument("--list-ci-cases", action="store_true", help="print the CI subset, exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = parser.parse_args(argv)
    if args.list_ci_cases:
        print(" ".join(CI_CASES))
        return 0
    cases: Sequence[str] = ["*"] if args.full else (args.cases or CI_CASES)
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        result = run(
            args.client,
            cases=cases,
            outdir=args.outdir,
            agent=args.agent,
            case_timeout=args.case_timeout,
            deadline=args.deadline,
            require_compression=args.require_compression,
            verbose=args.verbose,
        )
    except (AutobahnEnvironmentMissing, HarnessError) as exc:
        print(f"[autobahn] ERROR: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("[autobahn] interrupted; the fuzzing server was stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"client {result.client} {result.client_version}, agent {result.agent}")
    print(result.table())
    print(f"wall time {result.wall_time:.1f} s; reports in {result.outdir}")
    print("PASS" if result.passed else "FAIL")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
