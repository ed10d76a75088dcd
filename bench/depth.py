"""Depth: does the analysis cost grow linearly with the number of residual blocks?

CIFAR-style ResNets (He et al. 2016, section 4.2: a 3x3 stem, then 3 stages of n basic
blocks at 16, 32 and 64 channels, stride 2 at the start of stages 2 and 3, projection
shortcuts where the shape changes) with 9, 54, 162 and 600 blocks, at 1x3x32x32, built on
meta. For each depth, `shapecheck.check` (fixes on) and a plain meta forward of the same
model (eval, no_grad) run round-robin over all depths (one call of each per round, after
one warm-up call each, `gc.collect()` before every timed call); the table gives medians,
per traced node and per block, with shapecheck's own split per node (`report.timings`) and
the Python calls one `check()` makes per node (cProfile: a measure of work that load
cannot disturb). Target: time per node at 600 blocks within 1.3x of that at 9 blocks.

Usage:
    python -m bench.depth [--repeats 5] [--blocks 9,54,162,600]
Writes bench/results/depth.{csv,md,json}.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import warnings
from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from bench.common import (RESULTS, ensure_path, fmt_s, machine, machine_line, markdown_table,
                          write_csv, write_json)

BLOCKS = (9, 54, 162, 600)
INPUT = (1, 3, 32, 32)
WIDTHS = (16, 32, 64)
STEPS = ("trace", "residual", "propagate", "diagnose", "fix")
TARGET = 1.3  # time per node, deepest vs shallowest


class BasicBlock(nn.Module):
    """Two 3x3 convs added back to the input; a 1x1 projection where the shape changes."""

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: Optional[nn.Module] = None
        if stride != 1 or inplanes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    """A 3x3 stem, 3 stages of `per_stage` basic blocks (16/32/64 channels), pool, linear."""

    def __init__(self, per_stage: int, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(WIDTHS[0]), nn.ReLU(inplace=True))
        stages, inplanes = [], WIDTHS[0]
        for index, planes in enumerate(WIDTHS):
            strides = [1 if index == 0 else 2] + [1] * (per_stage - 1)
            stages.append(nn.Sequential(*[BasicBlock(inplanes if i == 0 else planes, planes, s)
                                          for i, s in enumerate(strides)]))
            inplanes = planes
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(WIDTHS[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))


def cifar_resnet(blocks: int) -> CifarResNet:
    """A CIFAR-style ResNet with `blocks` basic blocks (3 stages of blocks // 3).

    Example:
        >>> model = cifar_resnet(9)
        >>> [len(stage) for stage in model.stages]
        [3, 3, 3]
        >>> sum(p.numel() for p in model.parameters())  # ResNet-20: 0.27M in the paper
        272474
    """
    if blocks % len(WIDTHS):
        raise ValueError(f"{blocks} blocks do not split into {len(WIDTHS)} equal stages")
    return CifarResNet(blocks // len(WIDTHS))


def methods(blocks: int) -> dict[str, Callable[[], Any]]:
    """shapecheck and a meta forward of one depth's model (built once, on meta)."""
    ensure_path()
    import shapecheck
    from shapecheck.load.build import build_model

    model = build_model(lambda: cifar_resnet(blocks)).eval()
    x = torch.empty(INPUT, device="meta")

    def run_shapecheck():
        report = shapecheck.check(model, INPUT)
        assert report.ok and len(report.residual_adds) == blocks, report.findings
        return report

    def meta_forward():
        with torch.no_grad():
            return model(x)

    return {"shapecheck": run_shapecheck, "meta forward": meta_forward}


def measure(depths, repeats: int) -> list[dict[str, Any]]:
    """One row per depth: sizes, medians, per-node and per-block figures, the split."""
    from bench.speed import _python_calls

    fns = {(blocks, name): fn for blocks in depths for name, fn in methods(blocks).items()}
    reports = {blocks: fns[(blocks, "shapecheck")]() for blocks in depths}  # warm-up
    for (_, name), fn in fns.items():
        if name != "shapecheck":
            fn()
    times: dict[tuple[int, str], list[float]] = {key: [] for key in fns}
    splits: dict[int, dict[str, list[float]]] = {b: {s: [] for s in STEPS} for b in depths}
    for _ in range(repeats):
        for (blocks, name), fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            result = fn()
            times[(blocks, name)].append(time.perf_counter() - start)
            if name == "shapecheck":
                for step in STEPS:
                    splits[blocks][step].append(result.timings.get(step, 0.0))
            del result
    rows = []
    for blocks in depths:
        nodes = len(reports[blocks].nodes)
        check = statistics.median(times[(blocks, "shapecheck")])
        forward = statistics.median(times[(blocks, "meta forward")])
        calls = _python_calls(fns[(blocks, "shapecheck")])
        row = {"blocks": blocks, "nodes": nodes, "residual_adds": len(reports[blocks].residual_adds),
               "check_s": check, "per_node_us": check / nodes * 1e6,
               "per_block_ms": check / blocks * 1e3, "meta_forward_s": forward,
               "check_vs_meta_forward": check / forward, "python_calls_per_node": calls / nodes,
               **{f"{s}_per_node_us": statistics.median(v) / nodes * 1e6
                  for s, v in splits[blocks].items()},
               "check_samples_s": " ".join(f"{t:.4f}" for t in times[(blocks, "shapecheck")]),
               "meta_forward_samples_s": " ".join(f"{t:.4f}" for t in times[(blocks, "meta forward")])}
        rows.append(row)
        print(f"{blocks} blocks, {nodes} nodes: check {fmt_s(check)} "
              f"({row['per_node_us']:.0f} us/node), meta forward {fmt_s(forward)}",
              file=sys.stderr, flush=True)
    return rows


def depth_ratio(rows: list[dict[str, Any]]) -> float:
    """Time per node at the deepest model over that at the shallowest.

    >>> depth_ratio([{"blocks": 9, "per_node_us": 100.0}, {"blocks": 600, "per_node_us": 110.0}])
    1.1
    """
    by_depth = sorted(rows, key=lambda r: r["blocks"])
    return round(by_depth[-1]["per_node_us"] / by_depth[0]["per_node_us"], 6)


def table(rows: list[dict[str, Any]]) -> str:
    """The depth table, as it appears in the bench docs and the README."""
    body = [[r["blocks"], r["nodes"], r["residual_adds"], fmt_s(r["check_s"]),
             f"{r['per_node_us']:.0f} us", f"{r['per_block_ms']:.2f} ms",
             f"{r['residual_per_node_us']:.1f} us", fmt_s(r["meta_forward_s"]),
             f"{r['check_vs_meta_forward']:.2f}x", f"{r['python_calls_per_node']:.0f}"]
            for r in sorted(rows, key=lambda r: r["blocks"])]
    return markdown_table(["blocks", "nodes", "residual adds", "check()", "per node", "per block",
                           "residual step per node", "meta forward", "check / meta forward",
                           "Python calls per node"], body)


def report_markdown(rows: list[dict[str, Any]], repeats: int, info: dict[str, Any],
                    command: str) -> str:
    """The result file: method, the depth table, shapecheck's split and the target."""
    split = [[r["blocks"]] + [f"{r[f'{s}_per_node_us']:.1f} us" for s in STEPS]
             + [f"{r['per_node_us']:.0f} us"] for r in sorted(rows, key=lambda r: r["blocks"])]
    ratio = depth_ratio(rows)
    shallow, deep = min(r["blocks"] for r in rows), max(r["blocks"] for r in rows)
    load_end = ", ".join(map(str, info.get("load_average_end", [])))
    return "\n".join([
        "# Depth: CIFAR ResNets from 9 to 600 blocks", "", machine_line(info), "",
        f"Command: `{command}`. CIFAR-style ResNets (3 stages of n basic blocks, 16/32/64 "
        f"channels), input {'x'.join(map(str, INPUT))}, built on meta. Medians of {repeats} "
        "round-robin repeats over all depths after one warm-up call each, `gc.collect()` "
        "before every timed call. Per node: divided by the traced nodes (the output "
        f"excepted). Load average at the end: {load_end}.", "",
        table(rows), "",
        "## shapecheck's own split per node (`report.timings`, medians)", "",
        markdown_table(["blocks", *STEPS, "check() per node"], split), "",
        "## Target", "",
        f"- Time per node at {deep} blocks vs {shallow} blocks (target within {TARGET}x): "
        f"{ratio:.2f}x: {'met' if ratio <= TARGET else 'NOT met'}.", ""])


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--blocks", default=",".join(map(str, BLOCKS)),
                        help="comma-separated block counts, each a multiple of 3")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    command = ("python -m bench.depth " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    depths = [int(b) for b in args.blocks.split(",")]
    info = machine()
    rows = measure(depths, args.repeats)
    info["load_average_end"] = machine()["load_average"]
    write_csv(RESULTS / "depth.csv", rows)
    write_json(RESULTS / "depth.json", {"machine": info, "repeats": args.repeats, "rows": rows})
    text = report_markdown(rows, args.repeats, info, command)
    (RESULTS / "depth.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
