"""Tables (median [min-max] per client, omniws' ratio to each other client) and the summary."""

from __future__ import annotations

import statistics
import sys
from typing import Any

from benchmarks.plan import Column, Workload, is_trio

BUSY = 0.25  # other processes using more than this many cores during a run: mark it


def _fmt(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def summarize(runs: list[dict[str, Any]], workload: str, loop: str, label: str) -> dict[str, Any]:
    mine = [r for r in runs if (r["workload"], r["loop"], r["label"]) == (workload, loop, label)]
    ok = [r for r in mine if r.get("metrics")]
    out: dict[str, Any] = {"runs": len(ok), "failed": len(mine) - len(ok)}
    problems = [r.get("skip") or r.get("error") for r in mine if not r.get("metrics")]
    if problems:
        out["problem"] = problems[0]
    if ok:
        for key in ok[0]["metrics"]:
            values = [r["metrics"][key] for r in ok]
            out[key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
        out["count"] = statistics.median(r["result"]["count"] for r in ok)
        others = [r["others_cores"] for r in ok]
        out["others_cores"] = {"median": statistics.median(others), "max": max(others)}
        out["busy_runs"] = sum(o > BUSY for o in others)
    return out


def table(
    workload: Workload, loop: str, labels: list[str], summary: dict[str, Any], where: str
) -> str:
    """One workload on one loop: a row per client, then omniws' ratios."""
    lines = [f"== {workload.title} · loop {loop} · {where} =="]
    head = f"{'client':<16}"
    for col in workload.columns:
        better = "lower" if col.lower_is_better else "higher"
        head += f" {col.header + ' (' + better + ' is better)':>44}"
    head += f" {'runs':>5} {'n/run':>8} {'other CPU':>10}"
    lines.append(head)
    for label in labels:
        s = summary[label]
        row = f"{label:<16}"
        if not s["runs"]:
            lines.append(row + f" -- {s.get('problem', 'no result')}"[:200])
            continue
        for col in workload.columns:
            m = s[col.key]
            cell = (
                f"{_fmt(m['median'], col.digits)} [{_fmt(m['min'], col.digits)}-"
                f"{_fmt(m['max'], col.digits)}]"
            )
            row += f" {cell:>44}"
        other = f"{s['others_cores']['median']:.2f}" + ("!" if s["busy_runs"] else " ")
        row += f" {s['runs']:>5} {int(s['count']):>8} {other:>10}"
        if s["failed"]:
            row += f"  ({s['failed']} failed: {s.get('problem', '')[:60]})"
        lines.append(row)
    for col in workload.columns:
        ratios = ratio_line(col, labels, summary)
        if ratios:
            lines.append(ratios)
    return "\n".join(lines)


def ratios(col: Column, labels: list[str], summary: dict[str, Any]) -> dict[str, float]:
    """omniws' rows over each other client on the same runtime (asyncio or trio), and
    omniws on trio over omniws on asyncio when both ran."""
    out: dict[str, float] = {}
    done = [x for x in labels if summary[x]["runs"]]
    pairs = [
        (ours, other)
        for ours in done
        if ours.startswith("omniws")
        for other in done
        if not other.startswith("omniws") and is_trio(other) == is_trio(ours)
    ]
    if "omniws.trio" in done and "omniws" in done:
        pairs.append(("omniws.trio", "omniws"))
    for ours, other in pairs:
        theirs = summary[other][col.key]["median"]
        if theirs:
            out[f"{ours} / {other}"] = summary[ours][col.key]["median"] / theirs
    return out


def ratio_line(col: Column, labels: list[str], summary: dict[str, Any]) -> str:
    found = ratios(col, labels, summary)
    if not found:
        return ""
    meaning = "below 1: omniws cheaper" if col.lower_is_better else "above 1: omniws better"
    text = "   ".join(f"{k} = {v:.2f}" for k, v in found.items())
    return f"  {col.header}: {text}   ({meaning})"


def progress(done: int, total: int, record: dict[str, Any], workload: Workload) -> None:
    """One line on stderr per finished measurement."""
    what = record.get("skip") or record.get("error")
    if what is None:
        col = workload.columns[0]
        what = f"{record['metrics'][col.key]:,.{col.digits}f} {col.header}"
    print(
        f"  [{done}/{total}] {record['workload']} {record['loop']} {record['label']}: {what}"[:160],
        file=sys.stderr,
        flush=True,
    )
