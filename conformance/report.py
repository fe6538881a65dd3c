"""Read the fuzzing server's ``index.json`` and per-case reports; judge and tabulate them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
PASSING = frozenset({"OK", "NON-STRICT", "INFORMATIONAL"})
COMPRESSION_GROUPS = frozenset({"12", "13"})


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    behavior: str
    behavior_close: str
    remote_close_code: int | None
    duration_ms: int | None
    report_file: Path | None

    @property
    def group(self) -> str:
        return self.case_id.split(".", 1)[0]

    def details(self) -> dict[str, Any]:
        """The per-case JSON report (description, expectation, result, ...), or {}."""
        if self.report_file is None:
            return {}
        try:
            data = json.loads(self.report_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def case_sort_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in case_id.split("."))


def load_results(outdir: Path, agent: str) -> dict[str, CaseResult]:
    """The results of ``agent`` from ``outdir/index.json``, sorted by case id ({} if none)."""
    try:
        index = json.loads((outdir / "index.json").read_text())
    except (OSError, ValueError):
        return {}
    cases: dict[str, Any] = index.get(agent, {})
    results: dict[str, CaseResult] = {}
    for case_id in sorted(cases, key=case_sort_key):
        entry = cases[case_id]
        report = entry.get("reportfile")
        results[case_id] = CaseResult(
            case_id=case_id,
            behavior=str(entry.get("behavior")),
            behavior_close=str(entry.get("behaviorClose")),
            remote_close_code=entry.get("remoteCloseCode"),
            duration_ms=entry.get("duration"),
            report_file=outdir / report if report else None,
        )
    return results


def judge(
    results: dict[str, CaseResult], harness_problems: list[str], require_compression: bool = False
) -> list[str]:
    """Reasons the run does not pass: FAILED anywhere, UNIMPLEMENTED outside 12/13 (or anywhere
    with ``require_compression``), no results at all, or a harness problem."""
    problems = list(harness_problems)
    if not results:
        problems.append("no results in index.json")
    for result in results.values():
        if result.behavior == "FAILED":
            problems.append(f"{result.case_id} FAILED")
        elif result.behavior == "UNIMPLEMENTED" and (
            require_compression or result.group not in COMPRESSION_GROUPS
        ):
            problems.append(f"{result.case_id} UNIMPLEMENTED")
        elif result.behavior not in BEHAVIORS:
            problems.append(f"{result.case_id}: unknown behavior {result.behavior!r}")
    return problems


def _short(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def render_table(
    results: dict[str, CaseResult], harness_problems: list[str], problems: list[str]
) -> str:
    counts: dict[str, Counter[str]] = {}
    for result in results.values():
        counts.setdefault(result.group, Counter())[result.behavior] += 1
    header = f"{'group':>6} {'cases':>6} " + " ".join(f"{b:>13}" for b in BEHAVIORS)
    lines = [header, "-" * len(header)]
    total: Counter[str] = Counter()
    for group in sorted(counts, key=int):
        total.update(counts[group])
        lines.append(
            f"{group:>6} {sum(counts[group].values()):>6} "
            + " ".join(f"{counts[group][b]:>13}" for b in BEHAVIORS)
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'all':>6} {sum(total.values()):>6} " + " ".join(f"{total[b]:>13}" for b in BEHAVIORS)
    )
    odd = [
        r
        for r in results.values()
        if r.behavior != "OK" or r.behavior_close not in ("OK", "INFORMATIONAL")
    ]
    if odd:
        lines.append("")
        lines.append("cases not plainly OK (behavior / behaviorClose / remote close code):")
        for result in odd:
            lines.append(
                f"  {result.case_id:<9} {result.behavior:<13} {result.behavior_close:<13} "
                f"{result.remote_close_code}"
            )
            if result.behavior in ("FAILED", "UNIMPLEMENTED"):
                details = result.details()
                for key in ("description", "expectation", "result", "resultClose"):
                    if details.get(key):
                        lines.append(f"      {key}: {_short(details[key])}")
    if harness_problems:
        lines.append("")
        lines.append("harness problems:")
        lines.extend(f"  {problem}" for problem in harness_problems)
    if problems:
        lines.append("")
        lines.append(
            f"{len(problems)} problem(s): "
            + ", ".join(problems[:40])
            + (" ..." if len(problems) > 40 else "")
        )
    return "\n".join(lines)
