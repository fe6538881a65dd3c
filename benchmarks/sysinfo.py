"""Machine load (CPU used by processes other than ours) and versions, from /proc."""

from __future__ import annotations

import os
import platform
import re
import resource
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def process_seconds(pid: int) -> float:
    """CPU seconds (user+sys) a process has used, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(rest[11]) + int(rest[12])) / TICK


def own_seconds() -> float:
    """This process plus its reaped children (the workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class LoadProbe:
    """Other processes' CPU over an interval: all busy CPU minus ours (this process, the
    workers it reaped, the server)."""

    server_pid: int
    busy0: float = 0.0
    ours0: float = 0.0

    def start(self) -> None:
        self.busy0 = busy_seconds()
        self.ours0 = own_seconds() + process_seconds(self.server_pid)

    def others(self) -> float:
        busy = busy_seconds() - self.busy0
        ours = own_seconds() + process_seconds(self.server_pid) - self.ours0
        return max(busy - ours, 0.0)


def all_processes() -> dict[int, tuple[str, float]]:
    """pid -> (command name, CPU seconds) for every process we can read."""
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    text = f.read()
            except OSError:
                continue
            name = text[text.index("(") + 1 : text.rindex(")")]
            rest = text.rsplit(")", 1)[1].split()
            out[int(entry)] = (name, (int(rest[11]) + int(rest[12])) / TICK)
    return out


def top_others(
    before: dict[int, tuple[str, float]], exclude: set[int], n: int = 4
) -> list[tuple[str, float]]:
    """The processes (not ours) that used the most CPU since ``before``."""
    after = all_processes()
    used = [
        (f"{name}[{pid}]", cpu - before.get(pid, (name, 0.0))[1])
        for pid, (name, cpu) in after.items()
        if pid not in exclude
    ]
    return sorted((u for u in used if u[1] >= 0.05), key=lambda u: -u[1])[:n]


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def versions(repo: Path) -> dict[str, str]:
    out = {"python": platform.python_version(), "implementation": sys.implementation.name}
    for name in (
        "websockets",
        "aiohttp",
        "picows",
        "aiofastnet",
        "uvloop",
        "trio",
        "trio-websocket",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    version_file = repo / "src" / "omniws" / "_version.py"
    match = (
        re.search(r"__version__\s*=\s*['\"]([^'\"]+)", version_file.read_text())
        if (version_file.exists())
        else None
    )
    out["omniws"] = (match.group(1) + " (working tree)") if match else "unknown"
    return out


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "usable_cores": ",".join(str(c) for c in sorted(os.sched_getaffinity(0))),
        "kernel": platform.release(),
    }
