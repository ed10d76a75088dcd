"""Zoo run: analyse every torchvision classifier and every timm model, correct by construction.

Each model is built on meta with `shapecheck.build.build_model` and analysed with
`shapecheck.check` at its default input size (timm: `pretrained_cfg["input_size"]`;
torchvision: 224, 299 for inception_v3). These models are correct, so every error finding
is a false positive. Models run in a small pool of worker processes (2 by default), each
recycled after `--max-tasks` models to contain leaks and killed when one model exceeds
`--timeout` seconds.

Usage:
    python -m bench.zoo --sample 40          # quick: a fixed random sample
    python -m bench.zoo                      # full: all torchvision + all timm models
    python -m bench.zoo --models resnet50,tv:resnet18 --workers 1

Writes bench/results/zoo[_sample].csv (one row per model), .jsonl (raw, appended as
models finish, so a long run can be watched and resumed with --resume) and .md (summary).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
import sys
import time
from collections import Counter
from multiprocessing.connection import wait
from typing import Any, Optional

from bench.common import (RESULTS, ensure_path, machine, machine_line, markdown_table,
                          write_csv)

TV_SIZES = {"inception_v3": 299}  # torchvision: 224 unless the architecture needs more


# ---------------------------------------------------------------- worker side

def _worker_setup() -> None:
    ensure_path()
    import torch

    torch.set_num_threads(1)  # two workers share two cores
    import shapecheck.api  # noqa: F401  (import cost paid once per worker, not per model)
    from shapecheck.load.thirdparty import import_timm

    import_timm()


def _factory(source: str, name: str):
    from shapecheck.load.thirdparty import import_timm, import_torchvision

    if source == "timm":
        timm = import_timm()
        return lambda: timm.create_model(name, pretrained=False)
    tv = import_torchvision()
    return lambda: tv.models.get_model(name, weights=None)


def _input_shape(source: str, name: str, model) -> tuple[int, ...]:
    if source == "timm":
        cfg = getattr(model, "pretrained_cfg", None) or {}
        size = tuple(cfg.get("input_size") or (3, 224, 224))
        return (1, *size)
    side = TV_SIZES.get(name, 224)
    return (1, 3, side, side)


def analyse_one(source: str, name: str) -> dict[str, Any]:
    """Build `name` on meta and analyse it; a flat dict of what happened (never raises)."""
    import shapecheck
    from shapecheck.load.build import build_model

    row: dict[str, Any] = {"source": source, "model": name, "status": None, "tracer": None,
                           "build": None, "input_shape": None, "build_s": None, "check_s": None,
                           "nodes": None, "residual_adds": None, "errors": 0, "warnings": 0,
                           "error_findings": "", "message": ""}
    start = time.perf_counter()
    try:
        model = build_model(_factory(source, name))
    except Exception as exc:
        row.update(status="build_error", message=_first_line(exc),
                   build_s=round(time.perf_counter() - start, 4))
        return row
    row["build_s"] = round(time.perf_counter() - start, 4)
    row["build"] = getattr(model, "shapecheck_build", None)
    shape = _input_shape(source, name, model)
    row["input_shape"] = "x".join(map(str, shape))
    start = time.perf_counter()
    try:
        report = shapecheck.check(model, shape, target=name)
    except Exception as exc:  # the engine itself raised: an engine bug
        row.update(status="crash", message=f"{type(exc).__name__}: {_first_line(exc)}",
                   check_s=round(time.perf_counter() - start, 4))
        return row
    row["check_s"] = round(time.perf_counter() - start, 4)
    row["tracer"] = report.tracer
    for step in ("trace", "residual", "propagate", "diagnose", "fix"):
        if step in report.timings:
            row[f"{step}_s"] = round(report.timings[step], 4)
    row["nodes"] = len(report.nodes)
    row["residual_adds"] = len(report.residual_adds)
    errors = report.errors
    row["errors"] = len(errors)
    row["warnings"] = len(report.findings) - len(errors)
    row["error_findings"] = "; ".join(
        f"{f.code} {f.kind} @{f.module or '<top>'} "
        f"{' + '.join('x'.join(map(str, s)) if s else '?' for s in f.shapes)}" for f in errors)
    if report.error is not None:
        kind = report.error.kind
        row["status"] = "trace_error" if kind == "trace" else f"{kind}_error"
        row["message"] = _first_line(report.error.message)
    elif errors:
        row["status"] = "error_findings"
    else:
        row["status"] = "ok"
    return row


def _first_line(text: Any) -> str:
    lines = str(text).strip().splitlines()
    return (lines[0] if lines else type(text).__name__)[:300]


def _worker_main(conn, max_tasks: int) -> None:
    """Worker loop: receive (source, name), send back the row; exit after `max_tasks`."""
    _worker_setup()
    conn.send(("ready", None))
    for _ in range(max_tasks):
        task = conn.recv()
        if task is None:
            break
        conn.send(("done", analyse_one(*task)))
        import gc

        gc.collect()
    conn.close()


# ---------------------------------------------------------------- parent side

class _Slot:
    """One worker process and the task it is running."""

    def __init__(self, ctx, max_tasks: int):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, max_tasks), daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.task: Optional[tuple[str, str]] = None
        self.started = 0.0
        self.left = max_tasks

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def run_pool(tasks: list[tuple[str, str]], workers: int, timeout: float, max_tasks: int,
             on_row) -> None:
    """Run `tasks` over `workers` processes; call `on_row(row)` as each finishes."""
    ctx = mp.get_context("forkserver")
    # the fork server imports torch/timm once; every worker then forks from it
    ctx.set_forkserver_preload(["bench._preload"])
    pending = list(reversed(tasks))
    slots = [_Slot(ctx, max_tasks) for _ in range(min(workers, len(tasks)))]
    while slots:
        for i, slot in enumerate(slots):
            if slot.ready and slot.task is None:
                if pending and slot.left > 0:
                    slot.task, slot.started = pending.pop(), time.perf_counter()
                    slot.left -= 1
                    slot.conn.send(slot.task)
                else:  # recycled (its quota is used up) or nothing left to do
                    slot.stop()
                    slots[i] = _Slot(ctx, max_tasks) if pending else None
        slots = [s for s in slots if s is not None]
        if not slots:
            break
        ready = wait([s.conn for s in slots], timeout=1.0)
        now = time.perf_counter()
        for i, slot in enumerate(slots):
            if slot.conn in ready:
                try:
                    kind, row = slot.conn.recv()
                except (EOFError, OSError):  # the worker died (segfault, OOM kill)
                    if slot.task is not None:
                        on_row(_failed_row(slot.task, "crash", "worker process died",
                                           now - slot.started))
                    slot.stop()
                    slots[i] = _Slot(ctx, max_tasks)
                    continue
                if kind == "ready":
                    slot.ready = True
                else:
                    row["wall_s"] = round(now - slot.started, 3)
                    on_row(row)
                    slot.task = None
            elif slot.task is not None and now - slot.started > timeout:
                on_row(_failed_row(slot.task, "timeout", f"over {timeout:.0f} s", now - slot.started))
                slot.stop()
                slots[i] = _Slot(ctx, max_tasks)


def _failed_row(task: tuple[str, str], status: str, message: str, wall: float) -> dict[str, Any]:
    return {"source": task[0], "model": task[1], "status": status, "message": message,
            "wall_s": round(wall, 3), "errors": 0, "warnings": 0, "error_findings": ""}


def all_tasks() -> list[tuple[str, str]]:
    """Every torchvision classification model and every timm model, in a fixed order."""
    ensure_path()
    from shapecheck.load.thirdparty import import_timm, import_torchvision

    tv = import_torchvision()
    timm = import_timm()
    tasks = [("torchvision", n) for n in tv.models.list_models(module=tv.models)]
    tasks += [("timm", n) for n in timm.list_models()]
    return tasks


def select(tasks: list[tuple[str, str]], args) -> list[tuple[str, str]]:
    if args.models:
        wanted = []
        for spec in args.models.split(","):
            source, _, name = spec.rpartition(":")
            source = {"tv": "torchvision", "": None}.get(source, source)
            wanted += [t for t in tasks if t[1] == name and (source is None or t[0] == source)]
        return wanted
    if args.sample:
        rng = random.Random(args.seed)
        tv = [t for t in tasks if t[0] == "torchvision"]
        tm = [t for t in tasks if t[0] == "timm"]
        # keep the sample's torchvision/timm mix close to the zoo's
        n_tv = max(1, round(args.sample * len(tv) / len(tasks)))
        return rng.sample(tv, min(n_tv, len(tv))) + rng.sample(tm, min(args.sample - n_tv, len(tm)))
    return tasks


# ---------------------------------------------------------------- summary

def summarise(rows: list[dict[str, Any]], wall: Optional[float], total: int,
              info: dict[str, Any], command: str) -> str:
    """The markdown summary: coverage, tracers, false positives, failures, times."""
    out = [f"# Zoo run: {len(rows)} models", "", machine_line(info), "",
           f"Command: `{command}`" + (f"; wall time {wall / 60:.1f} min." if wall else "."), ""]
    status_rows = []
    for source in ("torchvision", "timm", "all"):
        sel = [r for r in rows if source == "all" or r["source"] == source]
        if not sel:
            continue
        c = Counter(r["status"] for r in sel)
        analysed = c["ok"] + c["error_findings"]
        status_rows.append([source, len(sel), f"{analysed} ({100 * analysed / len(sel):.1f}%)",
                            c["ok"], c["error_findings"], c["trace_error"], c["build_error"],
                            c["input_error"], c["timeout"], c["crash"]])
    out += ["## Coverage", "", markdown_table(
        ["source", "models", "analysed", "clean", "with error findings", "trace error",
         "build error", "input error", "timeout", "crash"], status_rows), ""]
    analysed = [r for r in rows if r["status"] in ("ok", "error_findings")]
    tracers = Counter((r["source"], r["tracer"]) for r in analysed)
    out += ["### Analysed, by tracer", "", markdown_table(
        ["source", "tracer", "models"],
        [[s, t, n] for (s, t), n in sorted(tracers.items(), key=lambda kv: (kv[0][0], -kv[1]))]), ""]
    builds = Counter(r.get("build") for r in rows if r.get("build"))
    out += ["Built as: " + ", ".join(f"{k} {v}" for k, v in builds.most_common()) + ".", ""]
    with_res = [r for r in analysed if (r.get("residual_adds") or 0) > 0]
    adds = sum(int(r.get("residual_adds") or 0) for r in analysed)
    out += [f"Residual adds found: {adds} in {len(with_res)} of {len(analysed)} analysed models.", ""]
    fps = [r for r in rows if r["errors"]]
    n_fp = sum(int(r["errors"]) for r in fps)
    out += [f"## Error findings on these correct models (false positives): {n_fp} in {len(fps)} models",
            ""]
    if fps:
        out += [markdown_table(["model", "source", "input", "findings"],
                               [[r["model"], r["source"], r["input_shape"], r["error_findings"]]
                                for r in fps]), ""]
    bad = [r for r in rows if r["status"] not in ("ok", "error_findings")]
    out += [f"## Not analysed: {len(bad)}", ""]
    if bad:
        out += [markdown_table(["model", "source", "status", "message"],
                               [[r["model"], r["source"], r["status"],
                                 str(r.get("message", "")).replace("|", "\\|")[:160]]
                                for r in bad]), ""]
    times = [float(r["check_s"]) for r in analysed if r.get("check_s") is not None]
    builds_s = [float(r["build_s"]) for r in analysed if r.get("build_s") is not None]
    if times:
        q = statistics.quantiles(times, n=10) if len(times) >= 10 else [max(times)] * 9
        out += ["## Time per model (analysed models, one worker thread each)", "",
                markdown_table(["", "median", "90th percentile", "max", "sum"],
                               [["analysis (`check`)", f"{statistics.median(times):.3f} s",
                                 f"{q[8]:.3f} s", f"{max(times):.2f} s", f"{sum(times):.0f} s"],
                                ["build on meta", f"{statistics.median(builds_s):.3f} s",
                                 f"{(statistics.quantiles(builds_s, n=10)[8] if len(builds_s) >= 10 else max(builds_s)):.3f} s",
                                 f"{max(builds_s):.2f} s", f"{sum(builds_s):.0f} s"]]), ""]
        slow = sorted(analysed, key=lambda r: -float(r.get("check_s") or 0))[:10]
        out += ["Slowest analyses: " + ", ".join(f"{r['model']} {float(r['check_s']):.2f} s"
                                                  for r in slow) + ".", ""]
    return "\n".join(out)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=0, help="analyse a random sample of N models")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="", help="comma-separated names (tv:NAME for torchvision)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per model")
    parser.add_argument("--max-tasks", type=int, default=40, help="models per worker before recycling")
    parser.add_argument("--out", default="", help="result file stem (default zoo / zoo_sample)")
    parser.add_argument("--resume", action="store_true", help="skip models already in the .jsonl")
    args = parser.parse_args(argv)

    stem = args.out or ("zoo_sample" if (args.sample or args.models) else "zoo")
    jsonl = RESULTS / f"{stem}.jsonl"
    everything = all_tasks()
    tasks = select(everything, args)
    done: dict[tuple[str, str], dict] = {}
    if args.resume and jsonl.exists():
        for line in jsonl.read_text().splitlines():
            row = json.loads(line)
            done[(row["source"], row["model"])] = row
    else:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        jsonl.write_text("")
    todo = [t for t in tasks if t not in done]
    print(f"{len(tasks)} models ({len(todo)} to run), {args.workers} workers, "
          f"timeout {args.timeout:.0f} s", file=sys.stderr, flush=True)
    start = time.perf_counter()
    counter = Counter()

    def on_row(row: dict[str, Any]) -> None:
        done[(row["source"], row["model"])] = row
        counter[row["status"]] += 1
        with jsonl.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        n = sum(counter.values())
        if n % 25 == 0 or row["status"] not in ("ok",):
            print(f"[{n}/{len(todo)} {time.perf_counter() - start:.0f}s] {row['model']}: "
                  f"{row['status']} {row.get('error_findings') or row.get('message') or ''}"[:200],
                  file=sys.stderr, flush=True)

    run_pool(todo, args.workers, args.timeout, args.max_tasks, on_row)
    wall = time.perf_counter() - start
    rows = [done[t] for t in tasks if t in done]
    write_csv(RESULTS / f"{stem}.csv", rows)
    command = "python -m bench.zoo " + " ".join(argv if argv is not None else sys.argv[1:])
    info = machine()
    text = summarise(rows, wall if not args.resume else None, len(everything), info, command.strip())
    (RESULTS / f"{stem}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
