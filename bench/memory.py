"""Memory: peak RSS of analysing ResNet-152 vs a real forward, each in a fresh process.

Every measurement is a fresh `python` process that imports the same modules (torch,
shapecheck.api, models), records its peak RSS (the post-import baseline), then does one
thing and records the peak again. A peak is a peak: only a fresh process per
measurement gives an honest figure. Target: analysis within 30 MB of the post-import
baseline at any resolution.

Usage:
    python -m bench.memory [--runs 1]
    python -m bench.memory --child analyse resnet152 4096   (one measurement; prints JSON)
Writes bench/results/memory.{csv,md}.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from typing import Any, Optional

from bench.common import (RESULTS, machine, machine_line, markdown_table, run_child,
                          run_json_subprocess, write_csv)

# (what, model, side): the grid to compare, plus the baseline and the builds alone (a real
# forward's peak includes the weights, about 230 MB for ResNet-152)
CASES = (
    ("baseline", "resnet152", 0),
    ("build meta", "resnet152", 0),
    ("build CPU (weights only)", "resnet152", 0),
    ("analyse", "resnet152", 224),
    ("analyse", "resnet152", 1024),
    ("analyse", "resnet152", 4096),
    ("forward", "resnet152", 224),
    ("forward", "resnet152", 1024),
)


def _maxrss_mb() -> float:
    """This process's peak RSS in MB: Linux's VmHWM, which starts afresh with the process's
    own memory. `ru_maxrss` does not: Linux carries it over `exec` from the process that
    forked, so a child of a benchmark that already ran a big forward would start at that
    forward's peak. `ru_maxrss` is the fallback elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # macOS: bytes, Linux: KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def child(what: str, name: str, side: int) -> dict[str, Any]:
    """One fresh-process measurement: imports, baseline peak, the action, final peak."""
    import torch

    from bench.common import ensure_path

    ensure_path()
    import shapecheck
    import shapecheck.api  # noqa: F401
    from models import MODELS
    from shapecheck.load.build import build_model

    baseline = _maxrss_mb()
    shape = (1, 3, side, side)
    extra: dict[str, Any] = {}
    if what == "build meta":
        build_model(MODELS[name])
    elif what.startswith("build CPU"):
        build_model(MODELS[name], device="cpu")
    elif what == "analyse":
        report = shapecheck.check(build_model(MODELS[name]), shape)
        extra = {"ok": report.ok, "residual_adds": len(report.residual_adds)}
    elif what == "forward":
        model = build_model(MODELS[name], device="cpu").eval()
        with torch.no_grad():
            model(torch.randn(shape))
    return {"what": what, "model": name, "side": side, "baseline_mb": baseline,
            "peak_mb": _maxrss_mb(), **extra}


def main(argv: Optional[list[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if run_child(argv, child):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh processes per case (median)")
    args = parser.parse_args(argv)
    info = machine()
    rows = []
    for what, name, side in CASES:
        samples = [run_json_subprocess(["-m", "bench.memory", "--child", what, name, str(side)])
                   for _ in range(args.runs)]
        base = statistics.median(s["baseline_mb"] for s in samples)
        peak = statistics.median(s["peak_mb"] for s in samples)
        rows.append({"what": what, "model": name, "input": f"{side}x{side}" if side else "",
                     "baseline_mb": round(base, 1), "peak_mb": round(peak, 1),
                     "over_baseline_mb": round(peak - base, 1)})
        print(rows[-1], file=sys.stderr, flush=True)
    write_csv(RESULTS / "memory.csv", rows)
    analyses = [r for r in rows if r["what"] == "analyse"]
    worst = max(r["over_baseline_mb"] for r in analyses)
    command = ("python -m bench.memory " + " ".join(argv)).strip()
    table = markdown_table(
        ["what", "model", "input", "post-import peak RSS", "peak RSS", "over baseline"],
        [[r["what"], r["model"], r["input"], f"{r['baseline_mb']:.0f} MB", f"{r['peak_mb']:.0f} MB",
          f"{r['over_baseline_mb']:+.0f} MB"] for r in rows])
    text = "\n".join([
        "# Memory: peak RSS (VmHWM), fresh process per measurement", "", machine_line(info), "",
        f"Command: `{command}`. Every process first imports torch, shapecheck.api and models "
        "(the post-import baseline), then does one thing.", "", table, "",
        f"Target: analysis within 30 MB of the post-import baseline at any resolution: worst "
        f"{worst:+.0f} MB, {'met' if worst <= 30 else 'NOT met'}.", ""])
    (RESULTS / "memory.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
