"""CLI end to end: `shapecheck models/resnet.py:resnet50 --format json` vs `import torch`.

Both run as fresh subprocesses, so everything a user waits for is counted (interpreter
start, imports, loading the file, building on meta, analysis, JSON output). Uses
hyperfine when it is installed (`apt-get install -y hyperfine`), else its own repeated,
interleaved subprocess timing. Target: the CLI within 1.3x of `python -c "import torch"`.

Usage:
    python -m bench.cli_time [--runs 10]
Writes bench/results/cli.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from bench.common import RESULTS, ROOT, machine, machine_line, markdown_table, write_json

VENV_BIN = Path(sys.executable).parent


def commands() -> dict[str, str]:
    """Label -> shell command; the CLI is the venv's console script, run from the repo root."""
    cli = VENV_BIN / "shapecheck"
    cli_cmd = f"{cli}" if cli.exists() else f"{sys.executable} -m shapecheck"
    return {
        "python -c 'import torch'": f"{sys.executable} -c 'import torch'",
        # torchvision needs shapecheck's shim on this CPU build of torch (thirdparty.py)
        "python -c 'import torchvision' (via shapecheck.thirdparty)":
            f"{sys.executable} -c 'import shapecheck.thirdparty as t; t.import_torchvision()'",
        "shapecheck models/resnet.py:resnet50 --format json":
            f"{cli_cmd} models/resnet.py:resnet50 --format json",
        "shapecheck models/resnet.py:resnet152 --format json":
            f"{cli_cmd} models/resnet.py:resnet152 --format json",
    }


def with_hyperfine(cmds: dict[str, str], runs: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hf.json"
        args = ["hyperfine", "--warmup", "1", "--runs", str(runs), "--export-json", str(out),
                "--style", "basic", "--ignore-failure"]
        for label, cmd in cmds.items():
            args += ["--command-name", label, cmd]
        subprocess.run(args, cwd=ROOT, check=True, stdout=sys.stderr)
        data = json.loads(out.read_text())
    return {r["command"]: {"median_s": r["median"], "mean_s": r["mean"], "stddev_s": r["stddev"],
                           "min_s": r["min"], "times_s": r["times"]} for r in data["results"]}


def with_subprocess(cmds: dict[str, str], runs: int) -> dict[str, dict]:
    """Interleaved fresh-process timing, one warm-up each (file cache), medians."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for i in range(runs + 1):
        for label, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, shell=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if i:  # round 0 is the warm-up
                times[label].append(time.perf_counter() - start)
    return {k: {"median_s": statistics.median(v), "mean_s": statistics.mean(v),
                "stddev_s": statistics.pstdev(v), "min_s": min(v), "times_s": v}
            for k, v in times.items()}


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-hyperfine", action="store_true")
    args = parser.parse_args(argv)
    cmds = commands()
    # the CLI must work before it is timed
    check = subprocess.run(cmds["shapecheck models/resnet.py:resnet50 --format json"], shell=True,
                           cwd=ROOT, capture_output=True, text=True)
    doc = json.loads(check.stdout)
    inner = doc["results"][0].get("timings", {})
    info = machine()
    tool = "hyperfine" if shutil.which("hyperfine") and not args.no_hyperfine else "subprocess"
    results = (with_hyperfine if tool == "hyperfine" else with_subprocess)(cmds, args.runs)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    base = results["python -c 'import torch'"]["median_s"]
    rows = [[label, f"{r['median_s']:.2f} s", f"{r['min_s']:.2f} s", f"{r['stddev_s']:.2f} s",
             f"{r['median_s'] / base:.2f}x"] for label, r in results.items()]
    cli = results["shapecheck models/resnet.py:resnet50 --format json"]["median_s"] / base
    command = ("python -m bench.cli_time " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    text = "\n".join([
        "# CLI end to end (fresh process each run)", "", machine_line(info), "",
        f"Command: `{command}` (timed with {tool}, {args.runs} runs after 1 warm-up, medians; "
        f"load average at the end {', '.join(map(str, info['load_average_end']))}).", "",
        markdown_table(["command", "median", "min", "std dev", "vs import torch"], rows), "",
        f"Inside the ResNet-50 CLI run, `check()` itself took "
        f"{inner.get('total', float('nan')):.3f} s (the rest is interpreter start, imports, "
        "loading the file and building the model).", "",
        f"Target: CLI within 1.3x of `import torch`: {cli:.2f}x, "
        f"{'met' if cli <= 1.3 else 'NOT met'}.", ""])
    write_json(RESULTS / "cli.json", {"machine": info, "tool": tool, "results": results})
    (RESULTS / "cli.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
