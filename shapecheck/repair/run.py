"""`--diff` and `--fix`: source fixes for the targets the command checked.

Each target is loaded again and built under `load.provenance.recording()` (the first
build ran without it, so a plain check pays nothing), its fixes found and verified, and,
with `--fix`, the edits of each file combined, proven together, and written atomically,
never over a file that changed since it was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from shapecheck.api import check
from shapecheck.atomic import write_atomically
from shapecheck.load.build import build_model
from shapecheck.load.frames import class_source, display_path, is_user_file
from shapecheck.load.provenance import recording
from shapecheck.load.targets import load_targets
from shapecheck.ops.labels import find_module
from shapecheck.repair import SourceFix, fixable, source_fixes, unified_diff
from shapecheck.repair.edits import EditError
from shapecheck.repair.verify import Target, check_patched
from shapecheck.report import Finding


@dataclass
class Repairs:
    """The verified fixes of one run, and what `apply` did with them."""

    fixes: list[SourceFix] = field(default_factory=list)
    origins: dict[str, dict] = field(default_factory=dict)  # target -> module -> Origin
    unfixed: list[tuple[Finding, str]] = field(default_factory=list)  # and why
    written: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def counts(self) -> tuple[int, int]:
        """(safe, unsafe) verified fixes."""
        safe = sum(f.applicability == "safe" for f in self.fixes)
        return safe, len(self.fixes) - safe


def find_fixes(specs: list[str], inputs: Any = None, **check_options: Any) -> Repairs:
    """Verified source fixes for each target in `specs` (`path.py:NAME`) that has errors.

    Example:
        >>> find_fixes(["models/resnet.py:resnet18"]).fixes  # a correct model: nothing to fix
        []
    """
    repairs = Repairs()
    for spec in specs:
        for target in load_targets(spec, inputs):
            if target.error is not None or target.attr is None:
                continue
            with recording() as record:
                try:
                    model = build_model(target.factory)
                except Exception:  # the first pass already reported why it does not build
                    continue
            report = check(model, target.inputs, target=target.name, **check_options)
            if report.error is None and fixable(report):
                origins = repairs.origins[target.name] = record.origins(model)
                found = source_fixes(report, Target(target.path, target.attr, target.inputs),
                                     origins)
                for fix in found:  # one rule failing two blocks: its edit is made once
                    if all((f.path, f.new_source) != (fix.path, fix.new_source)
                           for f in repairs.fixes):
                        repairs.fixes.append(fix)
                fixed = {(f.finding.code, f.finding.module) for f in found}
                repairs.unfixed += [(f, why_unfixed(f, model)) for f in fixable(report)
                                    if (f.code, f.module) not in fixed]
    return repairs


def why_unfixed(finding: Finding, model) -> str:
    """Why a finding got no source edit, and where the fix would go.

    >>> import torch.nn as nn
    >>> f = Finding("SC101", "channel_mismatch", "error", "...", "0", None)
    >>> why_unfixed(f, nn.Sequential(nn.Conv2d(3, 8, 1))).split(" (")[0]
    'SC101 in 0: Conv2d is library code'
    """
    where = f"{finding.code} in {finding.module or '<top>'}"
    block = find_module([model], finding.module)
    source = class_source(type(block)) if block is not None else None
    if source is None:
        return (f"{where}: no source to edit (the block has no Python class file); the "
                f"graph-level fix shows what to change")
    cls, (path, line, _) = type(block), source
    if not is_user_file(path):
        return (f"{where}: {cls.__qualname__} is library code ({display_path(path)}:"
                f"{line}), which shapecheck never edits; apply the graph-level fix where "
                f"your code builds or wraps it")
    return (f"{where}: no candidate edit of {display_path(path)} verified; the graph-level "
            f"fix shows what to change")


def apply_fixes(repairs: Repairs, specs: list[str], inputs: Any = None,
                unsafe: bool = False) -> Repairs:
    """Write the safe fixes (and the unsafe ones with `unsafe`) into the user's files.

    The edits of one file are applied in turn to its current text; the result is checked
    again with every edited file patched, and written only when it holds and the file on
    disk is still the text the edits were made from.
    """
    chosen = [f for f in repairs.fixes if unsafe or f.applicability == "safe"]
    if not chosen:
        return repairs
    by_file: dict[str, list[SourceFix]] = {}
    for fix in chosen:
        by_file.setdefault(fix.path, []).append(fix)
    originals, sources = {}, {}
    for path, fixes in by_file.items():
        with open(path, encoding="utf-8") as handle:
            originals[path] = text = handle.read()
        for fix in fixes:
            try:
                text = fix.apply(text)  # type: ignore[operator]
            except EditError:  # an earlier edit of this run already made this change
                continue
        sources[path] = text
    for spec in specs:
        for target in load_targets(spec, inputs):
            if target.error is not None or target.attr is None:
                continue
            outcome = check_patched(Target(target.path, target.attr, target.inputs), sources)
            if outcome.report is None or outcome.report.errors:
                repairs.messages.append(
                    f"{target.name}: the combined edits do not check clean "
                    f"({outcome.error or len(outcome.report.errors)} error(s)); nothing written")
                return repairs
    for path, text in sources.items():
        with open(path, encoding="utf-8") as handle:
            if handle.read() != originals[path]:
                repairs.messages.append(f"{display_path(path)} changed on disk since it was "
                                        f"read; left alone")
                continue
        write_atomically(path, text)
        repairs.written.append(path)
    return repairs


def diff_text(repairs: Repairs) -> str:
    """Every fix as its description and unified diff, one after another."""
    parts = []
    for fix in repairs.fixes:
        parts.append(f"# {fix.finding.code} in {fix.finding.module or '<top>'}: "
                     f"{fix.description} [{fix.applicability}, verified]\n{fix.diff}")
    return "\n".join(parts)


def hint(repairs: Repairs, fixing: bool, unsafe: bool) -> Optional[str]:
    """ruff's kind of closing line: how many findings `--fix` would repair."""
    safe, risky = repairs.counts()
    if not repairs.fixes or fixing and (unsafe or not risky):
        return None
    text = f"[*] {safe} fixable with --fix"
    if risky:
        text += f"; {risky} more with --unsafe-fixes (they change parameters)"
    return text


__all__ = ["Repairs", "find_fixes", "apply_fixes", "diff_text", "hint", "unified_diff"]
