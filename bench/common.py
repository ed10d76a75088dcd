"""Helpers shared by the benchmark scripts: timing, machine description, result files.

Every figure the benchmarks publish is measured by these scripts at run time; nothing
here holds a result.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
# BENCH_RESULTS redirects the output, e.g. to try `run.sh quick` without touching the
# committed results
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
PYTHON = sys.executable


def ensure_path() -> None:
    """Make `models` and `shapecheck` importable when a script runs from anywhere."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def run_child(argv: Sequence[str], child: Callable[[str, str, int], Any]) -> bool:
    """Handle `--child WHAT MODEL SIZE`: one fresh-process measurement, printed as JSON for
    `run_json_subprocess`; False when `argv` asks for something else."""
    if not argv or argv[0] != "--child":
        return False
    import warnings

    warnings.filterwarnings("ignore")
    print(json.dumps(child(argv[1], argv[2], int(argv[3]))))
    return True


def median_time(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of `fn()` over `repeats` calls after `warmup` unmeasured calls.

    Example:
        >>> med, all_ = median_time(lambda: sum(range(10)), repeats=3)
        >>> len(all_), med >= 0
        (3, True)
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    return os.getloadavg()


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, memory, versions and current load."""
    ensure_path()
    import torch

    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("torchvision", "timm", "torchinfo", "torchview"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "platform": platform.platform(),
        "versions": versions,
        "load_average": [round(x, 2) for x in load_average()],
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def machine_line(info: dict[str, Any]) -> str:
    """One markdown line describing the machine, for the top of every result table."""
    v = info["versions"]
    load = ", ".join(f"{x:.2f}" for x in info["load_average"])
    return (f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
            f"Python {v['python']}, torch {v['torch']}, torchvision {v['torchvision']}, "
            f"timm {v['timm']}; load average {load} (1/5/15 min) at {info['time']}.")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table.

    >>> print(markdown_table(["a", "b"], [[1, 2]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write dict rows to CSV with the union of their keys as columns (first-seen order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def run_json_subprocess(args: Sequence[str], timeout: float = 600) -> dict[str, Any]:
    """Run `python -m ...` style `args` in a fresh process; parse the last stdout line as JSON."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([PYTHON, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_s(seconds: float | None) -> str:
    """Seconds for a table: 3 significant figures, ms below one second."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3g} s"
