"""The speed plot: analysis time vs forward time across input resolutions (ResNet-50).

Usage: python -m bench.plot   (redraws bench/results/speed.png from speed_sweep.csv)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional

from bench.common import RESULTS

STYLE = {  # method -> (colour, marker)
    "shapecheck": ("#1b9e77", "o"),
    "meta forward": ("#7570b3", "s"),
    "CPU forward": ("#d95f02", "^"),
}


def plot_sweep(rows: list[dict[str, Any]], path: Path, info: Optional[dict[str, Any]] = None) -> None:
    """Log-log plot of median seconds per method against the input's side length."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a benchmark machine
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for method, (colour, marker) in STYLE.items():
        pts = sorted((int(r["size"]), float(r["median_s"])) for r in rows if r["method"] == method)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=colour,
                    label=method)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({int(r["size"]) for r in rows})
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("input side (1x3xNxN)")
    ax.set_ylabel("median seconds (log)")
    title = "ResNet-50: shapecheck analysis vs forward pass"
    if info:
        title += f"\n{info['cpu']}, {info['cores']} cores, torch {info['versions']['torch']}"
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    with (RESULTS / "speed_sweep.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    plot_sweep(rows, RESULTS / "speed.png")


if __name__ == "__main__":
    main()
