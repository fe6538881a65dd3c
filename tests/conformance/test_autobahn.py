"""The Autobahn testsuite (fuzzing server) judges omniws's protocol core.

Runs the CI subset (conformance/autobahn.py: CI_CASES, 361 cases, about 100 s on 2 cores)
against ``omniws.connect``, under asyncio and under ``trio.run`` (client ``omniws-trio``: the
same code on omniws.trio_io's connection). Needs the Python 2.7 testsuite from
``scripts/setup-autobahn.sh``; without it the test FAILS (it never skips).
Full run: ``python -m conformance.autobahn --full``.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from conformance import autobahn, clients, runners  # noqa: E402
from conformance.report import CaseResult, judge, load_results  # noqa: E402


@pytest.mark.autobahn
@pytest.mark.parametrize("client", ["omniws", "omniws-trio"])
def test_autobahn_ci_subset(client: str, tmp_path: Path) -> None:
    try:
        autobahn.find_wstest_python()
    except autobahn.AutobahnEnvironmentMissing as exc:
        pytest.fail(f"{exc}\nRun scripts/setup-autobahn.sh once (about 40 s), then re-run.")
    result = autobahn.run(client, cases=autobahn.CI_CASES, outdir=tmp_path / "autobahn")
    print(
        f"{client} {result.client_version}: {len(result.results)} cases "
        f"in {result.wall_time:.1f} s"
    )
    print(result.table())
    failed = [r.case_id for r in result.results.values() if r.behavior == "FAILED"]
    # compression is implemented, so UNIMPLEMENTED is a failure in every group, 12 and 13 too
    unimplemented = [r.case_id for r in result.results.values() if r.behavior == "UNIMPLEMENTED"]
    assert len(result.results) == autobahn.CI_CASE_COUNT, result.table()
    assert not failed, f"FAILED cases: {failed}\n{result.table()}"
    assert not unimplemented, f"UNIMPLEMENTED cases: {unimplemented}\n{result.table()}"
    assert result.passed, result.table()


# --- the harness's own logic (no server) ----------------------------------------------------


def _write_index(outdir: Path, agent: str, behaviors: dict[str, str]) -> None:
    import json

    outdir.mkdir(parents=True, exist_ok=True)
    index = {
        agent: {
            case_id: {
                "behavior": behavior,
                "behaviorClose": "OK",
                "remoteCloseCode": 1000,
                "duration": 1,
                "reportfile": f"{agent}_case_{case_id.replace('.', '_')}.json",
            }
            for case_id, behavior in behaviors.items()
        },
        "other-agent": {"1.1.1": {"behavior": "FAILED", "behaviorClose": "FAILED"}},
    }
    (outdir / "index.json").write_text(json.dumps(index))


def test_judge_rules(tmp_path: Path) -> None:
    _write_index(
        tmp_path,
        "a",
        {"1.1.1": "OK", "10.1.1": "NON-STRICT", "2.1": "INFORMATIONAL", "12.1.1": "UNIMPLEMENTED"},
    )
    results = load_results(tmp_path, "a")
    assert list(results) == ["1.1.1", "2.1", "10.1.1", "12.1.1"]  # numeric order
    assert judge(results, []) == []
    assert judge(results, [], require_compression=True) == ["12.1.1 UNIMPLEMENTED"]
    assert judge(results, ["3.1: the client did not finish"]) == ["3.1: the client did not finish"]
    broken = dict(results)
    broken["5.1"] = CaseResult("5.1", "UNIMPLEMENTED", "OK", None, None, None)
    broken["7.1.5"] = CaseResult("7.1.5", "FAILED", "WRONG CODE", 1002, 1, None)
    assert judge(broken, []) == ["5.1 UNIMPLEMENTED", "7.1.5 FAILED"]
    assert judge({}, []) == ["no results in index.json"]


def test_ci_case_list_is_explicit() -> None:
    sized = [c for c in autobahn.CI_CASES if c.startswith(("12.", "13."))]
    assert all("*" not in c and 1 <= int(c.rsplit(".", 1)[1]) <= 5 for c in sized)
    assert len(sized) == 5 * 5 + 7 * 5
    assert autobahn.CI_CASE_COUNT == 361


def test_missing_environment_names_the_setup_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(autobahn, "CACHE_DIR", tmp_path / "nothing-here")
    with pytest.raises(
        autobahn.AutobahnEnvironmentMissing, match=re.escape("scripts/setup-autobahn.sh")
    ):
        autobahn.find_wstest_python()


@pytest.mark.parametrize("runner", runners.RUNNERS)
def test_bounded_on_each_runner(runner: runners.Runner) -> None:
    """Each fetch and echo is bounded by the runner's own timeouts: a late one is cancelled."""
    import trio

    sleep = trio.sleep if runner == "trio" else asyncio.sleep
    cancelled: list[bool] = []

    async def slow() -> str | None:
        try:
            await sleep(60)
        except BaseException:
            cancelled.append(True)
            raise
        return "late"

    async def quick() -> str | None:
        await sleep(0)
        return "ok"

    async def broken() -> str | None:
        raise ValueError("no")

    async def main() -> list[tuple[bool, str | None]]:
        return [
            await runners.bounded(quick(), 5),
            await runners.bounded(slow(), 0.05),
            await runners.bounded(broken(), 5),
        ]

    assert runners.run_main(runner, main) == [
        (True, "ok"),
        (False, None),
        (True, "unexpected ValueError: no"),
    ]
    assert cancelled == [True]


def test_omniws_trio_client_runs_on_trio() -> None:
    assert clients.CLIENTS["omniws-trio"].runner == "trio"
    assert {name: c.runner for name, c in clients.CLIENTS.items() if name != "omniws-trio"} == {
        "omniws": "asyncio",
        "websockets": "asyncio",
        "aiohttp": "asyncio",
    }
