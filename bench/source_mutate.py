"""Source-fix mutation run: break real model files one site at a time, ask for a source fix.

`bench.mutate` mutates model objects, which no source edit can repair. This run mutates
the files themselves (`bench.source_sites`: five kinds, one site per mutant) and runs the
`--diff`/`--fix` machinery (`shapecheck.repair.run.find_fixes`) on each mutant, on copies in
a temporary folder (the originals are never written). Third-party code first: kuangliu's
pytorch-cifar ResNet, PreActResNet, ResNeXt and SENet (MIT, `tests/corpus/`), then the
project's own reference models and examples, and `bench/resnet_d.py` (self-written: no
source above has a pool shortcut, which `ceil_mode` needs).

A mutant is one mutated file with one of its factories. It is kept only when it is really
buggy: `shapecheck.check` reports an error or an SC105 warning (an add that fails at other
input sizes), or a real CPU forward at a small input raises. For each kept mutant the table
gives whether shapecheck found it, whether `find_fixes` returned a fix, whether that fix is
`safe` (every parameter keeps its shape), and whether it holds independently: each fix's
`new_source` written to a fresh copy checks with no error and no SC105 finding, and builds on
CPU and runs a real forward pass; and all fixes applied together with `apply_fixes(...,
unsafe=True)` (what `--fix --unsafe-fixes` writes) do too. A fix is the "revert" when its
source equals the original file, "same line" when it edits the mutated line another way,
and "elsewhere" otherwise.

Usage:
    python -m bench.source_mutate            # every site of every source
    python -m bench.source_mutate --quick    # 3 buggy mutants per kind (seeded sample)
Writes bench/results/source_mutate.{csv,md}.
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from bench.common import (
    RESULTS,
    ROOT,
    ensure_path,
    machine,
    machine_line,
    markdown_table,
    write_csv,
)
from bench.source_sites import KINDS, Mutation, mutations

QUICK_PER_KIND = 3
SEED = 14


@dataclass(frozen=True)
class Source:
    """A model file, the factories to build from it, and the input of the real forward."""

    path: str
    factories: tuple[str, ...]
    forward: tuple[int, ...]
    inputs: Optional[list] = None  # given to the check; None: the file's own INPUT_SHAPE
    third_party: bool = False


KUANGLIU = "tests/corpus/kuangliu-pytorch-cifar"
CIFAR = (1, 3, 32, 32)  # batch 1: the blocks are in eval mode
SOURCES = (
    Source(f"{KUANGLIU}/resnet.py", ("ResNet18", "ResNet50"), CIFAR, [(1, 3, 32, 32)], True),
    Source(f"{KUANGLIU}/preact_resnet.py", ("PreActResNet18", "PreActResNet50"), CIFAR,
           [(1, 3, 32, 32)], True),
    Source(f"{KUANGLIU}/resnext.py", ("ResNeXt29_2x64d",), CIFAR, [(1, 3, 32, 32)], True),
    Source(f"{KUANGLIU}/senet.py", ("SENet18",), CIFAR, [(1, 3, 32, 32)], True),
    Source("models/resnet.py", ("resnet18", "resnet50"), (1, 3, 64, 64)),
    Source("models/preact_resnet.py", ("preact_resnet18",), (1, 3, 64, 64)),
    Source("models/d2l_resnet.py", ("d2l_resnet18",), (1, 1, 64, 64)),
    Source("examples/cifar_resnext.py", ("cifar_resnext29",), CIFAR),
    Source("examples/d2l_resnext.py", ("residual_downsample", "resnext_block"), (4, 3, 6, 6)),
    Source("examples/interview_resnet.py", ("resnet18",), (1, 1, 64, 64)),
    Source("bench/resnet_d.py",
           ("resnet_d_basic", "resnet_d_bottleneck", "resnet_d_constant_width"), (1, 3, 33, 33)),
)
FORWARD_OVERRIDE = {"resnext_block": (4, 32, 12, 12)}  # its own input has 32 channels


class Workspace:
    """A temporary folder of uniquely named copies (no module cache is ever reused)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="source_mutate_"))
        self.count = 0

    def write(self, name: str, text: str) -> str:
        self.count += 1
        path = self.root / f"m{self.count:04d}_{name}"
        path.write_text(text)
        return str(path)

    def shown(self, text: str, original: str) -> str:
        """`text` with the copies' paths (`/tmp/.../m0007_resnet.py`) named as the original."""
        return re.sub(re.escape(str(self.root)) + r"/m\d{4}_" + re.escape(Path(original).name),
                      original, text)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ checks of one file

def _target(path: str, factory: str, inputs: Any):
    from shapecheck.load.targets import load_targets

    targets = load_targets(f"{path}:{factory}", inputs)
    return targets[0] if targets and targets[0].error is None else None


def shapecheck_findings(path: str, factory: str, inputs: Any) -> Optional[list[tuple[str, bool]]]:
    """(code, is_error) of every finding of the model the file builds; None: it does not build."""
    findings, _ = _check(path, factory, inputs)
    return findings


def _check(path: str, factory: str, inputs: Any) -> tuple[Optional[list[tuple[str, bool]]], str]:
    """The findings, or None and why the file did not load, build or check."""
    import shapecheck
    from shapecheck.load.build import build_model

    target = _target(path, factory, inputs)
    if target is None:
        return None, "does not load"
    try:
        report = shapecheck.check(build_model(target.factory), target.inputs)
    except Exception as exc:  # a crash of the check itself: reported by the caller
        return None, f"check raised {type(exc).__name__}: {exc}"
    if report.error is not None:
        return None, f"does not build: {str(report.error)[:120]}"
    return [(f.code, f.is_error) for f in report.findings], ""


def cpu_forward(path: str, factory: str, shape: tuple[int, ...]) -> Optional[str]:
    """None when the file's model builds on CPU and runs a real forward at `shape`, else why not."""
    import torch

    target = _target(path, factory, None)
    if target is None:
        return "does not load"
    try:
        with torch.no_grad():
            model = target.factory().eval()
            model(torch.randn(shape))
    except Exception as exc:  # the mutant's own bug: recorded, not raised
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return None


def _found(findings: Optional[list[tuple[str, bool]]]) -> bool:
    return bool(findings) and any(error or code == "SC105" for code, error in findings)


def _clean(path: str, source: Source, factory: str) -> bool:
    findings = shapecheck_findings(path, factory, source.inputs)
    forward = FORWARD_OVERRIDE.get(factory, source.forward)
    return (findings is not None and not _found(findings)
            and cpu_forward(path, factory, forward) is None)


# ------------------------------------------------------------------ one mutant

def _edit_place(original: str, mutant: Mutation, new_source: str) -> str:
    if new_source == original:
        return "revert"
    mutated = mutant.apply(original)
    changed = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, mutated.splitlines(),
                                                     new_source.splitlines()).get_opcodes():
        if tag != "equal":
            changed |= set(range(i1 + 1, max(i2, i1 + 1) + 1))
    return "same line" if changed & mutant.lines else "elsewhere"


def _no_fix_reason(findings: Optional[list[tuple[str, bool]]]) -> str:
    """Why `find_fixes` had nothing to try or verify, from the finding codes alone."""
    if findings is None:
        return "the mutant does not build"
    if not any(code.startswith("SC1") for code, error in findings if error or code == "SC105"):
        return "no residual-add finding (source fixes take SC1xx errors and SC105 only)"
    return "no candidate edit verified"


def _changed_lines(diff: str) -> str:
    lines = [line for line in diff.splitlines()
             if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " / ".join(line[0] + " " + line[1:].strip() for line in lines)


def run_mutant(ws: Workspace, source: Source, factory: str, original: str,
               mutant: Mutation) -> Optional[dict[str, Any]]:
    """The measured row of one mutant, or None when the mutant is not buggy."""
    from shapecheck.repair.run import apply_fixes, find_fixes

    name = Path(source.path).name
    text = mutant.apply(original)
    path = ws.write(name, text)
    forward = FORWARD_OVERRIDE.get(factory, source.forward)
    findings = shapecheck_findings(path, factory, source.inputs)
    crash = cpu_forward(path, factory, forward)
    if not _found(findings) and crash is None:
        return None
    start = time.perf_counter()
    crashed = ""
    try:
        repairs = find_fixes([f"{path}:{factory}"], source.inputs)
    except Exception as exc:  # `--diff` itself failed on this mutant: a result, recorded
        repairs, crashed = None, f"find_fixes raised {type(exc).__name__}: {exc}"
    find_s = time.perf_counter() - start
    fixes = repairs.fixes if repairs is not None else []
    # each distinct fixed text once (one edit often fixes several findings of one cause)
    holds = {text: _clean(ws.write(name, text), source, factory)
             for text in dict.fromkeys(fix.new_source for fix in fixes)}
    alone = [holds[fix.new_source] for fix in fixes]
    combined, combined_error = False, ""
    if fixes:
        applied_path = ws.write(name, text)
        moved = [type(f)(**{**f.__dict__, "path": applied_path}) for f in fixes]
        try:
            result = apply_fixes(type(repairs)(fixes=moved), [f"{applied_path}:{factory}"],
                                 source.inputs, unsafe=True)
            combined = bool(result.written) and _clean(applied_path, source, factory)
            combined_error = " ".join(result.messages)
        except Exception as exc:  # `--fix` itself failed on this mutant: a result, recorded
            combined_error = f"apply_fixes raised {type(exc).__name__}: {exc}"
    places = [_edit_place(original, mutant, fix.new_source) for fix in fixes]
    return {
        "source": source.path, "third_party": source.third_party, "factory": factory,
        "kind": mutant.kind, "variant": mutant.variant, "line": mutant.line,
        "mutation": mutant.description,
        "findings": " ".join(sorted({c for c, e in findings or [] if e or c == "SC105"})),
        "found": _found(findings), "forward_error": crash or "",
        "fixes": len(fixes), "distinct_edits": len({f.new_source for f in fixes}),
        "fixed": bool(fixes),
        "safe": bool(fixes) and all(f.applicability == "safe" for f in fixes),
        "fix_kinds": " ".join(sorted({f.kind for f in fixes})),
        "alone_clean": f"{sum(alone)}/{len(alone)}", "combined_clean": combined,
        "combined_error": ws.shown(combined_error, source.path),
        "place": " ".join(sorted(set(places))),
        "no_fix_reason": "" if fixes else crashed or _no_fix_reason(findings),
        "fix_description": ws.shown(fixes[0].description, source.path) if fixes else "",
        "fix_edit": _changed_lines(fixes[0].diff) if fixes else "",
        "find_s": round(find_s, 3),
    }


# ------------------------------------------------------------------ the run

def baseline_problems(ws: Workspace) -> dict[tuple[str, str], str]:
    """(file, factory) -> why its unmutated model is not a fair starting point: it must check
    with no error or SC105 finding and run a real CPU forward (a mutant of it is then buggy
    because of the mutation)."""
    problems = {}
    for source in SOURCES:
        path = ws.write(Path(source.path).name, (ROOT / source.path).read_text())
        for factory in source.factories:
            findings, why = _check(path, factory, source.inputs)
            if findings is not None and _found(findings):
                why = "the original has findings: " + " ".join(sorted({c for c, _ in findings}))
            crash = cpu_forward(path, factory, FORWARD_OVERRIDE.get(factory, source.forward))
            if why or crash:
                problems[(source.path, factory)] = why or f"the original's forward fails: {crash}"
    return problems


def candidates(skip: dict[tuple[str, str], str]) -> list[tuple[Source, str, str, Mutation]]:
    """(source, factory, original text, mutation) for every site and factory not in `skip`."""
    found = []
    for source in SOURCES:
        original = (ROOT / source.path).read_text()
        for mutant in mutations(original):
            for factory in source.factories:
                if (source.path, factory) not in skip:
                    found.append((source, factory, original, mutant))
    return found


def run(quick: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of the buggy mutants; how many candidates each kind had and tried, and the
    (file, factory) pairs left out because their original does not check clean."""
    ws = Workspace()
    skipped = baseline_problems(ws)
    pool = candidates(skipped)
    by_kind: dict[str, list] = defaultdict(list)
    for item in pool:
        by_kind[item[3].kind].append(item)
    rows, tried = [], {}
    try:
        for kind in KINDS:
            items = list(by_kind[kind])
            if quick:
                random.Random(SEED).shuffle(items)
            kept = tried[kind] = 0
            for source, factory, original, mutant in items:
                if quick and kept >= QUICK_PER_KIND:
                    break
                tried[kind] += 1
                row = run_mutant(ws, source, factory, original, mutant)
                if row is not None:
                    rows.append(row)
                    kept += 1
                    print(f"{kind:16} {source.path}:{factory} line {mutant.line} "
                          f"({mutant.variant}): found={row['found']} fixes={row['fixes']} "
                          f"safe={row['safe']} {row['find_s']:.2f} s", file=sys.stderr,
                          flush=True)
    finally:
        ws.close()
    return rows, {"candidates": len(pool), "skipped": skipped,
                  **{f"tried_{k}": v for k, v in tried.items()},
                  **{f"sites_{k}": len(v) for k, v in by_kind.items()}}


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def summary_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """One line per mutation kind (and a total): mutants, found, fixed, safe, time."""
    out = []
    for kind in (*KINDS, "all"):
        group = [r for r in rows if kind in ("all", r["kind"])]
        n = len(group)
        fixed = [r for r in group if r["fixed"]]
        times = [r["find_s"] for r in group]
        out.append([kind, n, sum(r["third_party"] for r in group),
                    _share(sum(r["found"] for r in group), n), _share(len(fixed), n),
                    _share(sum(r["safe"] for r in group), n),
                    _share(sum(r["combined_clean"] for r in fixed), len(fixed)),
                    _share(sum("revert" in r["place"] for r in fixed), len(fixed)),
                    f"{statistics.median(times):.2f}" if times else "n/a"])
    return out


def markdown(rows: list[dict[str, Any]], counts: dict[str, Any], quick: bool,
             info: dict[str, Any], wall: float) -> str:
    headers = ["kind", "mutants", "of them third-party", "found (error or SC105)",
               "verified source fix", "safe fix", "fix holds independently",
               "fix = revert", "median s / find_fixes"]
    sampling = (f"Quick run: the sites of each kind in a seeded random order (seed {SEED}), "
                f"tried until {QUICK_PER_KIND} buggy mutants per kind were kept"
                if quick else "Full run: every site of every source, with every factory")
    tried = ", ".join(f"{k} {counts.get('tried_' + k, 0)}/{counts.get('sites_' + k, 0)}"
                      for k in KINDS)
    lines = [
        "# Source-fix mutation run", "", machine_line(info), "",
        f"{sampling}; candidates tried / (site, factory) pairs: {tried}. A mutant is kept only "
        f"when shapecheck reports an error or SC105 or a real CPU forward raises. Wall time "
        f"{wall:.0f} s. `python -m bench.source_mutate{' --quick' if quick else ''}`.", "",
        markdown_table(headers, summary_rows(rows)), "",
        *[f"Left out (the unmutated model is no clean start): `{path}:{factory}`, {why}."
          for (path, factory), why in counts["skipped"].items()],
        *([""] if counts["skipped"] else []),
        "\"verified source fix\": `find_fixes` returned at least one (verified by "
        "construction). \"safe\": every fix returned is `safe` (parameter shapes unchanged). "
        "\"holds independently\": the fixes applied with `apply_fixes(..., unsafe=True)` to a "
        "fresh copy check with no error and no SC105 finding and run a real CPU forward. "
        "\"revert\": one of the mutant's fixes gives back the original file byte for byte; "
        "\"same line\": it edits the mutated line another way; the mutants table shows the "
        "first fix.", "",
        *_notes(rows),
        "## Mutants", "",
        markdown_table(["kind", "file:factory", "line", "mutation", "found", "fix", "place",
                        "alone", "s"],
                       [[r["kind"], f"`{Path(r['source']).name}:{r['factory']}`", r["line"],
                         r["mutation"], r["findings"] or "-",
                         (f"{r['fix_kinds']} ({'safe' if r['safe'] else 'unsafe'}): "
                          f"{r['fix_edit']}" if r["fixed"] else "none"),
                         r["place"] or "-", r["alone_clean"], r["find_s"]] for r in rows]),
    ]
    return "\n".join(lines) + "\n"


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    """The mutants without a fix (and why), the fixes that are not the revert, and the
    mutants on which applying the fixes together failed."""
    out = []
    missed = [r for r in rows if not r["fixed"]]
    if missed:
        out += ["## Without a source fix", ""]
        out += [f"- {r['kind']}: `{Path(r['source']).name}:{r['factory']}` line {r['line']}, "
                f"{r['mutation']} ({r['findings'] or 'no finding'}): {r['no_fix_reason']}."
                for r in missed] + [""]
    other = [r for r in rows if r["fixed"] and r["place"] != "revert"]
    if other:
        out += ["## Verified fixes that are not the revert", ""]
        out += [f"- {r['kind']}: `{Path(r['source']).name}:{r['factory']}` line {r['line']}, "
                f"{r['mutation']}: {r['fix_description']} ({r['place']})." for r in other] + [""]
    failed = [r for r in rows if r["fixed"] and not r["combined_clean"]]
    if failed:
        out += ["## Fixes that did not hold when applied together", ""]
        out += [f"- {r['kind']}: `{Path(r['source']).name}:{r['factory']}` line {r['line']}, "
                f"{r['mutation']}: {r['fixes']} fixes ({r['distinct_edits']} distinct edits); "
                f"{r['combined_error'] or 'the applied file did not check clean'}."
                for r in failed] + [""]
    return out


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 buggy mutants per kind")
    args = parser.parse_args(argv)
    ensure_path()
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    rows, counts = run(args.quick)
    wall = time.perf_counter() - start
    info = machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_csv(RESULTS / "source_mutate.csv", rows)
    text = markdown(rows, counts, args.quick, info, wall)
    (RESULTS / "source_mutate.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
