"""``python -m benchmarks``: every client against one server, interleaved, repeated."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import plan, report, sysinfo, tls, variants
from benchmarks.plan import CLIENTS, DEFAULT_CLIENTS, LABEL_NOTES, Workload, labels_for, metrics
from benchmarks.plan import select as select_workloads
from benchmarks.server_process import Server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
LOOPS = ("asyncio", "uvloop")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    parser.add_argument(
        "--workloads",
        default="echo,push,large,many",
        help="groups (echo,push,large,many) or names (echo-32, large-16 MiB...)",
    )
    parser.add_argument("--loops", default="asyncio,uvloop")
    parser.add_argument(
        "--clients",
        default=",".join(DEFAULT_CLIENTS),
        help=f"from {','.join(CLIENTS)} (raw: the no-framing echo ceiling)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (3; --quick: 2)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="echo: client and server on the same core; others: on two cores",
    )
    parser.add_argument(
        "--compression",
        action="store_true",
        help="permessage-deflate on (a websockets server; picows left out)",
    )
    parser.add_argument(
        "--picows-transport",
        choices=["best", "fastnet", "plain"],
        default="best",
        help="best: per workload, as notes/BENCHMARKS.md says",
    )
    parser.add_argument("--no-json", action="store_true", help="do not write benchmarks/results/")
    variants.add_arguments(parser)
    args = parser.parse_args(argv)
    args.workload_list = select_workloads([w for w in args.workloads.split(",") if w])
    args.loop_list = [x for x in args.loops.split(",") if x]
    args.client_list = [x for x in args.clients.split(",") if x]
    for bad in set(args.loop_list) - set(LOOPS):
        parser.error(f"unknown loop {bad!r}")
    for bad in set(args.client_list) - set(CLIENTS):
        parser.error(f"unknown client {bad!r}")
    if args.repeat is None:
        args.repeat = 2 if args.quick else 3
    args.repeat = max(1, min(args.repeat, 50))
    return args


def run_worker(spec: dict[str, Any], server: Server, limit: float) -> dict[str, Any]:
    """One client process; returns its result plus the CPU other processes used meanwhile."""
    probe = sysinfo.LoadProbe(server.pid)
    probe.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.worker", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        out += f"\nRESULT {json.dumps({'error': f'timed out after {limit:.0f} s'})}"
    wall = time.perf_counter() - t0
    lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
    result = json.loads(lines[-1][7:]) if lines else {"error": f"no result: {err[-300:]!r}"}
    if "error" in result and err:
        result["stderr"] = err[-2000:]
    result["others_cores"] = probe.others() / wall
    result["process_wall_s"] = wall
    return result


def rows(args: argparse.Namespace, workload: Workload, loop: str) -> list[str]:
    """The labels measured for a workload on a loop (trio clients: on the first loop only)."""
    trio = loop == args.loop_list[0]
    return variants.expand(labels_for(workload, args.client_list, args.compression, trio), args)


def plan_cpus(args: argparse.Namespace, workload: Workload) -> tuple[set[int] | None, int | None]:
    """(server cores, client core) for a workload; (None, None) without --pin."""
    if not args.pin:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if workload.same_core or len(cpus) == 1:
        return {cpus[-1]}, cpus[-1]
    return {cpus[0]}, cpus[-1]


def where(args: argparse.Namespace, workload: Workload) -> str:
    server_cpus, client_cpu = plan_cpus(args, workload)
    if client_cpu is None:
        return "not pinned"
    assert server_cpus is not None
    if server_cpus == {client_cpu}:
        return f"client+server pinned to core {client_cpu}"
    return f"server on core {min(server_cpus)}, client on core {client_cpu}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now()
    versions = sysinfo.versions(ROOT)
    print(
        f"omniws benchmarks, {started:%Y-%m-%d %H:%M:%S}  "
        f"({'quick' if args.quick else 'full'}, {args.repeat} repetition(s))"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("machine: " + ", ".join(f"{k} {v}" for k, v in sysinfo.machine().items()))
    print(f"load average at start: {sysinfo.loadavg()}")
    if not args.pin:
        print(
            "note: not pinned; echo figures then include this VM's slow cross-core wake-ups "
            "(--pin puts client and server on one core, see notes/BENCHMARKS.md)"
        )
    sys.stdout.flush()

    before = sysinfo.all_processes()
    certificates = tls.make_certificates() if args.tls else None
    tls_dir = certificates.name if certificates else None
    server = Server("deflate" if args.compression else "picows", tls_dir)
    probe_all = sysinfo.LoadProbe(server.pid)
    probe_all.start()
    t_start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    plan = [(w, loop) for w in args.workload_list for loop in args.loop_list]
    total = args.repeat * sum(len(rows(args, w, loop)) for w, loop in plan)
    done = 0
    try:
        for rep in range(args.repeat):
            for index, (workload, loop) in enumerate(plan):
                labels = rows(args, workload, loop)
                shift = (rep + index) % max(len(labels), 1)  # rotate who goes first
                server_cpus, client_cpu = plan_cpus(args, workload)
                server.pin(server_cpus or os.sched_getaffinity(0))
                for label in labels[shift:] + labels[:shift]:
                    done += 1
                    base = variants.base_label(label)  # without the transport suffix
                    client = "omniws" if base == "omniws-handler" else base
                    if client in skipped:
                        continue
                    params = dict(workload.quick if args.quick else workload.full)
                    option = (
                        workload.picows_option
                        if args.picows_transport == "best"
                        else args.picows_transport
                    )
                    params.update(
                        url=server.url,
                        kind=workload.kind,
                        option=option,
                        compression=args.compression,
                        handler=base == "omniws-handler",
                        **variants.client_params(tls_dir),
                    )
                    spec = {"client": client, "loop": loop, "cpu": client_cpu, "params": params}
                    spec["env"] = variants.env_for(label, args)
                    result = run_worker(spec, server, float(params["seconds"]) + 90)
                    record: dict[str, Any] = {
                        "rep": rep,
                        "workload": workload.name,
                        "loop": loop,
                        "label": label,
                        **result,
                    }
                    if "skip" in result:
                        skipped[client] = result["skip"]
                        print(f"note: {result['skip']}: skipping {client}", flush=True)
                    elif "error" not in result:
                        record["result"] = {
                            k: v
                            for k, v in result.items()
                            if k not in ("others_cores", "process_wall_s")
                        }
                        record["metrics"] = metrics(workload, result)
                    runs.append(record)
                    report.progress(done, total, record, workload)
                if server.proc.poll() is not None:
                    raise SystemExit("the benchmark server died")
    finally:
        others_total = probe_all.others()
        elapsed = time.perf_counter() - t_start
        server.stop()
        if certificates:
            certificates.cleanup()
    top = sysinfo.top_others(before, {os.getpid(), server.pid})
    print()
    summary = _print_tables(args, runs)
    load = {
        "loadavg_end": sysinfo.loadavg(),
        "others_cores_mean": others_total / elapsed,
        "busiest_other_processes": top,
        "elapsed_s": elapsed,
    }
    print(
        f"machine load: other processes used {load['others_cores_mean']:.2f} cores on average "
        f"over {elapsed:.0f} s; load average at end {load['loadavg_end']}"
    )
    if top:
        print("  busiest other processes: " + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in top))
    print(
        f"  'other CPU' column: median cores used by other processes during that client's runs; "
        f"'!' marks a client with a run above {report.BUSY} cores"
    )
    print(f"  {variants.TRANSPORT_NOTE}")
    for label, note in LABEL_NOTES.items():
        if label in {r["label"] for r in runs}:
            print(f"  {label}: {note}")
    if not args.no_json:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{started:%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}.json"
        doc = {
            "started": started.isoformat(),
            "argv": sys.argv[1:],
            "versions": versions,
            "machine": sysinfo.machine(),
            "load": load,
            "pinned": args.pin,
            "compression": args.compression,
            "tls": args.tls,
            "omniws_transport": args.omniws_transport,
            "summary": summary,
            "runs": runs,
        }
        path.write_text(json.dumps(doc, indent=1))
        print(f"results: {path.relative_to(ROOT)}")
    failed = [r for r in runs if "error" in r]
    if failed:
        print(f"{len(failed)} of {len(runs)} measurements failed (see the JSON for each error)")
    return 1 if failed or not runs else 0


def _print_tables(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for workload in args.workload_list:
        for loop in args.loop_list:
            labels = rows(args, workload, loop)
            cell = {label: report.summarize(runs, workload.name, loop, label) for label in labels}
            groups = plan.groups(labels)  # async and blocking clients: two tables
            summary[f"{workload.name} {loop}"] = {
                "clients": cell,
                "ratios": {
                    c.key: {k: v for g in groups for k, v in report.ratios(c, g, cell).items()}
                    for c in workload.columns
                },
            }
            title = where(args, workload) + (" · permessage-deflate" if args.compression else "")
            title += " · wss://" if args.tls else ""
            for group, kind in zip(groups, ("", ", blocking clients"), strict=True):
                if group:
                    print(report.table(workload, loop + kind, group, cell, title))
                    print()
    return summary
