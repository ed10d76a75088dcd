"""The valid-sizes proof: its time after tracing, and what it adds to the CLI.

Proof: `prove_sizes` for H and W over [1, inf) on models/resnet.py's ResNet-50 and
ResNet-152, after tracing and propagation (median of --runs). CLI: `shapecheck
models/resnet.py:resnet50 --format json` as fresh subprocesses with `--no-sizes`, by default
(the proof runs quietly, SC105 only) and with `--sizes`, interleaved (median of --runs).
Targets (issue 13): proof under 0.1 s; the default CLI within 10% of `--no-sizes`.

Usage:
    python -m bench.sizes [--runs 5]
Writes bench/results/sizes.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench.common import RESULTS, ROOT, machine, machine_line, markdown_table, write_json

MODELS = ("resnet50", "resnet152")


def proof_seconds(name: str, runs: int) -> dict:
    """Median seconds of the proof alone, and of tracing + propagation before it."""
    sys.path.insert(0, str(ROOT / "models"))
    import resnet  # models/resnet.py

    from shapecheck.analysis import intent
    from shapecheck.analysis.propagate import propagate_shapes
    from shapecheck.analysis.sizes import prove_sizes
    from shapecheck.graph.residual import find_residual_adds
    from shapecheck.graph.trace import trace_model

    with torch.device("meta"):
        model = getattr(resnet, name)().eval()
    x = torch.empty(1, 3, 224, 224, device="meta")
    began = time.perf_counter()
    traced = trace_model(model, [x], "auto", ())
    gm = traced.graph_module
    structures = find_residual_adds(gm)
    kept = intent.kept_operands(structures, {})
    prop = propagate_shapes(gm, [x], kept)
    before = time.perf_counter() - began
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = prove_sizes(gm, prop, structures, kept, [tuple(x.shape)], traced.tracer)
        times.append(time.perf_counter() - began)
    return {"model": name, "proof_s": statistics.median(times), "trace_propagate_s": before,
            "valid_H": result["H"]["valid"], "proved": result["H"]["proved"],
            "period": result["H"]["period"], "threshold": result["H"]["threshold"]}


VARIANTS = (("without", ["--no-sizes"]), ("default", []), ("with", ["--sizes"]))


def cli_seconds(runs: int) -> dict:
    """Median wall time of the CLI on ResNet-50: --no-sizes, default, --sizes (interleaved)."""
    cli = [str(Path(sys.executable).parent / "shapecheck"), "models/resnet.py:resnet50",
           "--format", "json", "--no-config"]
    samples: dict[str, list[float]] = {label: [] for label, _ in VARIANTS}
    for _ in range(runs):
        for label, extra in VARIANTS:
            began = time.perf_counter()
            subprocess.run(cli + extra, cwd=ROOT, check=False, capture_output=True)
            samples[label].append(time.perf_counter() - began)
    without, default, with_ = (statistics.median(samples[k]) for k, _ in VARIANTS)
    return {"cli_without_s": without, "cli_default_s": default, "cli_with_s": with_,
            "default_ratio": default / without, "overhead": with_ / without - 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    proofs = [proof_seconds(name, args.runs) for name in MODELS]
    cli = cli_seconds(args.runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "sizes.json", {"proofs": proofs, "cli": cli, "machine": machine()})
    rows = [[p["model"], f"{p['proof_s'] * 1000:.1f} ms", f"{p['trace_propagate_s']:.3f} s",
             str(p["valid_H"]), str(p["proved"])] for p in proofs]
    text = (f"# Valid-sizes proof\n\n{machine_line(machine())}\n\n"
            + markdown_table(["model", "proof (H and W, [1, inf))", "trace + propagate",
                              "valid H", "proved"], rows)
            + f"\n\nCLI on ResNet-50 (`--format json`, median of {args.runs}): "
              f"{cli['cli_without_s']:.2f} s with `--no-sizes`, {cli['cli_default_s']:.2f} s "
              f"by default (the quiet proof: {cli['default_ratio']:.3f}x, target <= 1.10x), "
              f"{cli['cli_with_s']:.2f} s with `--sizes` ({cli['overhead'] * 100:+.1f}%).\n")
    (RESULTS / "sizes.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
