"""Collect the benchmark results into one summary and into the docs.

Reads what the other scripts wrote under bench/results/ (speed.json, depth.json, cold.csv,
cli.json, memory.csv, zoo.csv or zoo_sample.csv, mutate.csv, source_mutate.csv) and writes
bench/results/summary.md: the headline figures and the targets, met or not. Then it replaces
the block between `<!-- results:start -->` and `<!-- results:end -->` in bench/README.md and
docs/performance.md with the summary followed by each part's table, and the block between
`<!-- readme:start -->` and `<!-- readme:end -->` in the top-level README with the
headline figures, the targets, the depth table and the plot, so the docs never carry a
hand-typed figure.

Usage: python -m bench.summary
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path
from typing import Any, Optional

from bench.common import RESULTS, ROOT, machine_line, markdown_table

START, END = "<!-- results:start -->", "<!-- results:end -->"
README_START, README_END = "<!-- readme:start -->", "<!-- readme:end -->"


def _csv(name: str) -> Optional[list[dict[str, str]]]:
    path = RESULTS / name
    if not path.exists():
        return None
    with path.open() as fh:
        return list(csv.DictReader(fh))


def _json(name: str) -> Optional[Any]:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def targets() -> tuple[list[list[str]], list[str]]:
    """Rows of the targets table and headline bullets, from the result files."""
    rows: list[list[str]] = []
    heads: list[str] = []
    speed = _json("speed.json")
    if speed:
        get = {(r["model"], r["size"], r["method"]): r["median_s"] for r in speed["rows"]}
        load = speed["machine"]["load_average"][0]
        for size in (224, 1024):
            if ("resnet50", size, "shapecheck") in get:
                sc, meta = get[("resnet50", size, "shapecheck")], get[("resnet50", size, "meta forward")]
                cpu = get[("resnet50", size, "CPU forward")]
                rows.append([f"ResNet-50 analysis at {size} <= 3x a bare meta forward",
                             f"{sc:.3f} s vs {meta:.3f} s = {sc / meta:.2f}x", _met(sc / meta <= 3),
                             "`python -m bench.speed`"])
                heads.append(f"ResNet-50 at {size}x{size}: shapecheck {sc * 1000:.0f} ms = "
                             f"{sc / meta:.2f}x a bare meta forward, {cpu / sc:.1f}x faster than a real "
                             f"CPU forward (warm, load average {load:.2f}).")
    invariance = _json("speed_invariance.json")
    if invariance:
        samples = {(r["model"], r["size"]): [float(t) for t in r["samples_s"].split()]
                   for r in invariance["rows"]}
        for model in dict.fromkeys(m for m, _ in samples):
            if (model, 224) not in samples or (model, 1024) not in samples:
                continue
            med = {s: statistics.median(v) for (m, s), v in samples.items() if m == model}
            low = {s: min(v) for (m, s), v in samples.items() if m == model}
            d_med, d_min = med[1024] / med[224] - 1, low[1024] / low[224] - 1
            rows.append([f"{model}: analysis at 1024 within 10% of 224",
                         f"median {med[224] * 1000:.0f} -> {med[1024] * 1000:.0f} ms ({d_med:+.1%}); "
                         f"minimum {low[224] * 1000:.0f} -> {low[1024] * 1000:.0f} ms ({d_min:+.1%})",
                         f"medians {_met(abs(d_med) <= 0.10)}, minima {_met(abs(d_min) <= 0.10)}",
                         "`python -m bench.speed --parts invariance`"])
    depth = _json("depth.json")
    if depth:
        by_depth = sorted(depth["rows"], key=lambda r: r["blocks"])
        shallow, deep = by_depth[0], by_depth[-1]
        ratio = deep["per_node_us"] / shallow["per_node_us"]
        rows.append([f"Time per node at {deep['blocks']} blocks within 1.3x of {shallow['blocks']} "
                     "blocks (CIFAR ResNets)",
                     f"{shallow['per_node_us']:.0f} -> {deep['per_node_us']:.0f} us = {ratio:.2f}x",
                     _met(ratio <= 1.3), "`python -m bench.depth`"])
        heads.append(f"Depth: a CIFAR ResNet with {deep['blocks']} blocks ({deep['nodes']} nodes) "
                     f"takes {deep['check_s']:.2f} s, {deep['per_node_us']:.0f} us per node "
                     f"({ratio:.2f}x the {shallow['per_node_us']:.0f} us at {shallow['blocks']} "
                     f"blocks) and {deep['check_vs_meta_forward']:.2f}x a bare meta forward "
                     f"(load average {depth['machine']['load_average'][0]:.2f}).")
    cold = _csv("cold.csv")
    if cold:
        sc = next(r for r in cold if r["method"] == "shapecheck")
        heads.append(f"Cold (fresh process, {sc['model']} at {sc['size']}): imports "
                     f"{float(sc['imports_s']):.2f} s, meta build {float(sc['build_s']):.2f} s, first "
                     f"check {float(sc['first_call_s']):.3f} s, second {float(sc['warm_call_s']):.3f} s.")
    cli = _json("cli.json")
    if cli:
        res = cli["results"]
        base = res["python -c 'import torch'"]["median_s"]
        run = res["shapecheck models/resnet.py:resnet50 --format json"]["median_s"]
        rows.append(["CLI end to end within 1.3x of `import torch`",
                     f"{run:.2f} s vs {base:.2f} s = {run / base:.2f}x", _met(run / base <= 1.3),
                     "`python -m bench.cli_time`"])
        heads.append(f"CLI `shapecheck models/resnet.py:resnet50 --format json`: {run:.2f} s, "
                     f"{run / base:.2f}x `python -c \"import torch\"` ({base:.2f} s), "
                     f"load average {cli['machine']['load_average'][0]:.2f}.")
    mem = _csv("memory.csv")
    if mem:
        worst = max(float(r["over_baseline_mb"]) for r in mem if r["what"] == "analyse")
        fwd = {r["input"]: float(r["over_baseline_mb"]) for r in mem if r["what"] == "forward"}
        weights = next((float(r["over_baseline_mb"]) for r in mem if r["what"].startswith("build CPU")),
                       None)
        rows.append(["Analysis peak RSS within 30 MB of the post-import baseline",
                     f"worst {worst:+.0f} MB (ResNet-152, 224 to 4096)", _met(worst <= 30),
                     "`python -m bench.memory`"])
        heads.append(f"Memory: analysing ResNet-152 adds at most {worst:.0f} MB to the post-import "
                     f"peak at any resolution up to 4096x4096; a real forward adds "
                     + ", ".join(f"{v:.0f} MB at {k}" for k, v in fwd.items())
                     + (f" (of which {weights:.0f} MB are the weights)" if weights else "") + ".")
    for name, label in (("zoo.csv", "full zoo"), ("zoo_sample.csv", "zoo sample")):
        zoo = _csv(name)
        if not zoo:
            continue
        analysed = [r for r in zoo if r["status"] in ("ok", "error_findings")]
        fp_models = [r for r in zoo if int(r["errors"] or 0) > 0]
        fps = sum(int(r["errors"] or 0) for r in zoo)
        adds = sum(int(r["residual_adds"] or 0) for r in analysed)
        rows.append([f"Error findings on correct models ({label}) = 0",
                     f"{fps} in {len(fp_models)} of {len(zoo)} models", _met(fps == 0),
                     "`python -m bench.zoo`" + (" --sample 40" if "sample" in name else "")])
        tracers: dict[str, int] = {}
        for r in analysed:
            tracers[r["tracer"]] = tracers.get(r["tracer"], 0) + 1
        heads.append(f"Zoo ({label}): {len(analysed)}/{len(zoo)} models analysed "
                     f"({100 * len(analysed) / len(zoo):.1f}%; by tracer: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(tracers.items(), key=lambda kv: -kv[1]))
                     + f"), {adds} residual adds, {fps} false error findings in "
                     f"{len(fp_models)} models; median analysis "
                     f"{statistics.median(float(r['check_s']) for r in analysed):.2f} s per model.")
        break
    zoo_md = RESULTS / "zoo.md"
    if zoo_md.exists():
        m = re.search(r"wall time ([0-9.]+) min", zoo_md.read_text())
        if m:
            minutes = float(m.group(1))
            rows.append(["Full zoo under ~40 min wall on 2 cores", f"{minutes:.1f} min",
                         _met(minutes <= 40), "`python -m bench.zoo`"])
    mut = _csv("mutate.csv")
    if mut:
        real = [r for r in mut if r["gt_bug"] == "True"]
        found = [r for r in real if r.get("found") == "True"]
        ok_fix = [r for r in found if r.get("fix_correct") == "True" and r.get("fix_verified") == "True"]
        noisy = sum(int(r.get("elsewhere") or 0) for r in mut)
        rows.append(["Mutation recall 100%", f"{len(found)}/{len(real)}",
                     _met(len(found) == len(real)), "`python -m bench.mutate`"])
        heads.append(f"Mutations: {len(found)}/{len(real)} injected shortcut bugs found "
                     f"({len({r['model'] for r in mut})} models); fixes correct and verified for "
                     f"{len(ok_fix)}/{len(found)}; {noisy} error findings at unrelated places.")
    heads += _source_fix_heads()
    return rows, heads


def _source_fix_heads() -> list[str]:
    """The source-fix mutation run in one bullet: per kind, verified fixes and safe ones."""
    rows = _csv("source_mutate.csv")
    if not rows:
        return []
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    parts = []
    for kind in kinds:
        group = [r for r in rows if r["kind"] == kind]
        fixed = sum(r["fixed"] == "True" for r in group)
        safe = sum(r["safe"] == "True" for r in group)
        parts.append(f"{kind} {fixed}/{len(group)} ({safe} safe)")
    fixed = sum(r["fixed"] == "True" for r in rows)
    third = [r for r in rows if r["third_party"] == "True"]
    third_fixed = sum(r["fixed"] == "True" for r in third)
    return [f"Source fixes on mutated third-party files (kuangliu's pytorch-cifar: "
            f"{third_fixed}/{len(third)}) and the project's own models and examples: "
            f"{fixed}/{len(rows)} buggy mutants get a verified source fix; by kind, "
            f"fixed/mutants (safe): {', '.join(parts)} (`python -m bench.source_mutate`)."]


def summary_markdown(level: int = 2) -> str:
    rows, heads = targets()
    speed = _json("speed.json")
    h = "#" * level
    out = [f"{h} Summary", ""]
    if speed:
        out += [machine_line(speed["machine"]), ""]
    out += [f"- {h}" for h in heads] + [""]
    out += [f"{h}# Targets", "", markdown_table(["target", "measured", "status", "command"], rows), ""]
    return "\n".join(out)


def _section(name: str, title: str, drop_title: bool = True) -> list[str]:
    path = RESULTS / name
    if not path.exists():
        return []
    lines = path.read_text().strip().splitlines()
    if drop_title and lines and lines[0].startswith("# "):
        lines = lines[1:]
    # demote headings so each part nests under its own "###"
    lines = ["##" + line if line.startswith("##") else line for line in lines]
    return [f"### {title}", *lines, ""]


def docs_block(image: str) -> str:
    parts = [summary_markdown(level=3)]
    parts += _section("speed.md", "Speed (warm, one process)")
    parts += _section("speed_invariance.md", "Resolution invariance")
    parts += _section("depth.md", "Depth: CIFAR ResNets from 9 to 600 blocks")
    if (RESULTS / "speed.png").exists():
        parts += [f"![analysis vs forward time across resolutions]({image})", ""]
    parts += _section("cold.md", "Cold start (fresh process)")
    parts += _section("cli.md", "CLI end to end")
    parts += _section("memory.md", "Memory")
    zoo = "zoo.md" if (RESULTS / "zoo.md").exists() else "zoo_sample.md"
    parts += _section(zoo, "Zoo: torchvision and timm")
    parts += _section("mutate.md", "Mutation run")
    parts += _section("source_mutate.md", "Source fixes on mutated files")
    return "\n".join(parts)


def readme_section(image: Optional[str] = None) -> str:
    """The short "Performance" section for a README: headline figures, and with `image`
    (the plot's path relative to that README) the targets table, the plot and how to re-run."""
    rows, heads = targets()
    speed = _json("speed.json")
    out = ["shapecheck never runs the model: it traces it and propagates shapes on the meta "
           "device, so its cost does not grow with the input resolution or the weights. "
           "Measured by `bench/run.sh full` (see `bench/README.md` and `docs/performance.md`):",
           ""]
    out += [f"- {h}" for h in heads]
    if speed:
        out += ["", machine_line(speed["machine"])]
    unmet = [r[0] for r in rows if "not met" in r[2] and "met" not in r[2].replace("not met", "")]
    partly = [r[0] for r in rows if "not met" in r[2] and r[0] not in unmet]
    out += ["", f"Targets fully met: {len(rows) - len(unmet) - len(partly)} of {len(rows)}"
            + (f"; met on one statistic only: {'; '.join(partly)}" if partly else "")
            + (f"; not met: {'; '.join(unmet)}" if unmet else "") + "."]
    if image is not None:
        out += ["", markdown_table(["target", "measured", "status", "command"], rows)]
        depth = _first_table("depth.md")
        if depth:
            out += ["", "Cost by depth (CIFAR ResNets, 1x3x32x32, `python -m bench.depth`):", "",
                    *depth]
        fixes = _first_table("source_mutate.md")
        if fixes:
            out += ["", "Source fixes on mutated third-party files (kuangliu's pytorch-cifar) and "
                    "the project's own models and examples: one site per mutant, "
                    "`find_fixes` on each (`python -m bench.source_mutate`):", "", *fixes]
        if (RESULTS / "speed.png").exists():
            out += ["", f"![shapecheck vs a meta and a real CPU forward, ResNet-50 by input size]({image})"]
        out += ["", "Re-run: `make bench` (a few minutes; writes `bench/results/quick/`) or "
                "`bench/run.sh full` (the whole zoo; rewrites `bench/results/`, the bench docs and "
                "this section)."]
    return "\n".join(out)


def _first_table(name: str) -> list[str]:
    """The first markdown table of a result file, as lines (none when the file is absent)."""
    path = RESULTS / name
    lines = path.read_text().splitlines() if path.exists() else []
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def replace_block(path: Path, block: str, start: str = START, end: str = END) -> None:
    text = path.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} block to fill")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n\n{block}\n{end}{tail}")


def main() -> None:
    text = summary_markdown()
    (RESULTS / "summary.md").write_text("# Benchmark summary\n\n" + text)
    print(text)
    if RESULTS.resolve() != (ROOT / "bench" / "results").resolve():
        return  # results written elsewhere (BENCH_RESULTS) never overwrite the docs
    readme = ROOT / "bench" / "README.md"
    replace_block(readme, docs_block("results/speed.png"))
    replace_block(readme, readme_section(), README_START, README_END)
    replace_block(ROOT / "README.md", readme_section("bench/results/speed.png"), README_START, README_END)
    docs = ROOT / "docs" / "performance.md"
    if docs.exists():
        replace_block(docs, docs_block("../bench/results/speed.png"))


if __name__ == "__main__":
    main()
