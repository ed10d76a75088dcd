"""Cold vs warm: the first call in a fresh process pays one-time imports; the second does not.

The first meta kernel call in a process imports torch's meta registrations, and some
paths import `torch._dynamo` (FakeTensorMode does); these costs are paid once per process.
Each measurement here is a fresh `python` process that times, in order: the imports, the
build, the first call and a second (warm) call. The parent repeats each a few times and
reports medians.

Usage:
    python -m bench.cold [--runs 3] [--model resnet50] [--size 224]
    python -m bench.cold --child shapecheck resnet50 224   (one measurement; prints JSON)
Writes bench/results/cold.{csv,md}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any, Optional

from bench.common import (RESULTS, fmt_s, machine, machine_line, markdown_table, run_child,
                          run_json_subprocess, write_csv)

METHODS = ("shapecheck", "meta forward", "CPU forward", "fx+ShapeProp (fake)")


def child(method: str, name: str, size: int) -> dict[str, Any]:
    """Run in a fresh process: time imports, build, first call, second call."""
    t0 = time.perf_counter()
    import torch

    t_torch = time.perf_counter() - t0
    from bench.common import ensure_path

    ensure_path()
    if method == "shapecheck":
        import shapecheck.api  # noqa: F401  (what the CLI imports before its first check)
    from models import MODELS

    from shapecheck.load.build import build_model

    t_import = time.perf_counter() - t0
    shape = (1, 3, size, size)
    t = time.perf_counter()
    device = "cpu" if method in ("CPU forward", "fx+ShapeProp (fake)") else "meta"
    model = build_model(MODELS[name], device=device).eval()
    t_build = time.perf_counter() - t
    x = torch.empty(shape, device=device) if device == "meta" else torch.randn(shape)

    if method == "shapecheck":
        import shapecheck

        def call():
            report = shapecheck.check(model, shape)
            assert report.ok, report.findings
    elif method == "fx+ShapeProp (fake)":
        from torch._subclasses.fake_tensor import FakeTensorMode
        from torch.fx.passes.shape_prop import ShapeProp

        def call():
            gm = torch.fx.symbolic_trace(model)
            mode = FakeTensorMode()
            ShapeProp(gm, mode).propagate(mode.from_tensor(torch.empty(shape)))
    else:
        def call():
            with torch.no_grad():
                model(x)
    t = time.perf_counter()
    call()
    first = time.perf_counter() - t
    t = time.perf_counter()
    call()
    second = time.perf_counter() - t
    return {"method": method, "model": name, "size": size, "import_torch_s": t_torch,
            "imports_s": t_import, "build_s": t_build, "first_call_s": first,
            "warm_call_s": second, "dynamo_loaded": "torch._dynamo" in sys.modules}


def measure(name: str, size: int, runs: int) -> list[dict[str, Any]]:
    """`runs` fresh processes per method, interleaved so load drift hits all methods alike."""
    samples: list[dict[str, Any]] = []
    for _ in range(runs):
        for method in METHODS:
            samples.append(run_json_subprocess(["-m", "bench.cold", "--child", method, name,
                                                str(size)]))
    rows = []
    for method in METHODS:
        sel = [s for s in samples if s["method"] == method]
        row = {"method": method, "model": name, "size": size, "runs": len(sel),
               "dynamo_loaded": any(s["dynamo_loaded"] for s in sel)}
        for key in ("import_torch_s", "imports_s", "build_s", "first_call_s", "warm_call_s"):
            row[key] = statistics.median(s[key] for s in sel)
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], info: dict[str, Any], command: str) -> str:
    body = [[r["method"], fmt_s(r["import_torch_s"]), fmt_s(r["imports_s"]), fmt_s(r["build_s"]),
             fmt_s(r["first_call_s"]), fmt_s(r["warm_call_s"]),
             f"{r['first_call_s'] / r['warm_call_s']:.1f}x",
             "yes" if r["dynamo_loaded"] else "no"] for r in rows]
    r0 = rows[0]
    return "\n".join([
        f"# Cold vs warm: {r0['model']} at {r0['size']}x{r0['size']}, fresh process each", "",
        machine_line(info), "",
        f"Command: `{command}`. Medians over {r0['runs']} fresh processes per method. "
        "`imports` includes `import torch` and, for shapecheck, `shapecheck.api`.", "",
        markdown_table(["method", "import torch", "all imports", "build", "first call",
                        "second call", "first / second", "torch._dynamo imported"], body), ""])


def main(argv: Optional[list[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if run_child(argv, child):
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args(argv)
    info = machine()
    rows = measure(args.model, args.size, args.runs)
    write_csv(RESULTS / "cold.csv", rows)
    text = markdown(rows, info, ("python -m bench.cold " + " ".join(argv)).strip())
    (RESULTS / "cold.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
