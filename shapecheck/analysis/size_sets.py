"""Eventually periodic sets of sizes, written as arithmetic progressions.

The proof in `sizes.py` ends with an outcome for every size: exact values below a threshold
`n0`, one value per residue class mod `P` above it, and a few exceptional sizes. This module
turns that into, per outcome, the fewest `[start, stop, step]` progressions (stop exclusive,
None for unbounded) that together are exactly its sizes, merging residue classes into a
coarser step where they allow it ({0, 16} mod 32 is 0 mod 16).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Hashable, Optional, Sequence

Progression = list  # [start, stop or None, step]


def outcome_progressions(lo: int, hi: Optional[int], direct: Sequence[Hashable],
                         n0: Optional[int] = None, period: int = 1,
                         periodic: Sequence[Hashable] = (),
                         exceptions: Optional[dict[int, Hashable]] = None,
                         ) -> dict[Hashable, list[Progression]]:
    """Progressions per outcome for sizes in [lo, hi] (hi None: unbounded).

    Args:
        direct: the outcome of each size lo, lo+1, ... as evaluated (covers [lo, n0+P) when
            `n0` is given, else the whole finite range).
        n0, period, periodic: above n0 the outcome of n is `periodic[(n - n0) % period]`...
        exceptions: ...except at these sizes, whose outcome is given.

    >>> outcome_progressions(1, None, ["bad"] * 5 + ["ok", "bad"] * 2, n0=6, period=2,
    ...                      periodic=["ok", "bad"])
    {'ok': [[6, None, 2]], 'bad': [[1, None, 2], [2, 3, 1], [4, 5, 1]]}
    >>> outcome_progressions(8, 11, ["ok", "ok", "bad", "ok"])
    {'ok': [[8, 10, 1], [11, 12, 1]], 'bad': [[10, 11, 1]]}
    """
    exceptions = dict(exceptions or {})
    points: dict[Hashable, list[int]] = defaultdict(list)
    infinite: dict[Hashable, list[int]] = defaultdict(list)  # starts of step-`period` classes
    limit = lo + len(direct) if n0 is None else n0
    if n0 is not None:
        covered = set()
        for offset, outcome in enumerate(periodic):
            residue = start = n0 + offset
            if direct[residue - lo] == outcome:
                while start - period >= lo and direct[start - period - lo] == outcome:
                    start -= period
            infinite[outcome].append(start)
            covered.update(range(start, n0, period))
        for n in range(n0, lo + len(direct)):
            if direct[n - lo] != periodic[(n - n0) % period]:
                exceptions.setdefault(n, direct[n - lo])
        limit = n0
        uncovered = [n for n in range(lo, n0) if n not in covered]
    else:
        uncovered = list(range(lo, limit))
    for n in uncovered:
        points[direct[n - lo]].append(n)
    found: dict[Hashable, list[Progression]] = defaultdict(list)
    for outcome, starts in infinite.items():
        for start, step, below in _merged(starts, period, lo):
            found[outcome].append([start, None, step])
            points[outcome] += below
    for n, outcome in sorted(exceptions.items()):
        if n0 is not None and n >= n0 and periodic[(n - n0) % period] != outcome:
            remove_size(found[periodic[(n - n0) % period]], n, points)
        if n0 is None or n >= n0:
            points[outcome].append(n)
    for outcome, members in points.items():
        found[outcome] += _runs(sorted(set(members)))
    return {outcome: _truncated(sorted(progs, key=lambda p: p[0]), hi)
            for outcome, progs in found.items()
            if _truncated(progs, hi)}


def _merged(starts: list[int], period: int, lo: int):
    """Merge step-`period` classes into coarser steps: (start, step, points below start)."""
    residues = {s % period for s in starts}
    step = next(g for g in range(1, period + 1)
                if period % g == 0 and all((r + g) % period in residues for r in residues))
    groups: dict[int, list[int]] = defaultdict(list)
    for s in starts:
        groups[s % step].append(s)
    start_of = {s % period: s for s in starts}
    for members in groups.values():
        member = lambda m: m % period in start_of and m >= start_of[m % period]  # noqa: E731
        first = max(members)
        while first - step >= lo and member(first - step):
            first -= step
        below = [n for s in members for n in range(s, first, period)]
        yield first, step, below


def remove_size(progressions: list[Progression], n: int, points: Optional[dict] = None) -> None:
    """Take size n out of the progressions (splitting the one that holds it), in place.

    >>> progs = [[1, None, 2]]; remove_size(progs, 5); progs
    [[1, 5, 2], [7, None, 2]]
    """
    for index, (start, stop, step) in enumerate(progressions):
        if n >= start and (n - start) % step == 0 and (stop is None or n < stop):
            progressions[index:index + 1] = [p for p in ([start, n, step], [n + step, stop, step])
                                             if p[1] is None or p[0] < p[1]]
            return


def _runs(members: list[int]) -> list[Progression]:
    runs: list[Progression] = []
    for n in members:
        if runs and runs[-1][1] == n:
            runs[-1][1] = n + 1
        else:
            runs.append([n, n + 1, 1])
    return runs


def _truncated(progressions: list[Progression], hi: Optional[int]) -> list[Progression]:
    if hi is None:
        return progressions
    kept = []
    for start, stop, step in progressions:
        stop = hi + 1 if stop is None else min(stop, hi + 1)
        if start < stop:
            last = start + (stop - 1 - start) // step * step
            kept.append([start, last + 1, step] if last > start else [start, start + 1, 1])
    return kept


AXIS_WORDS = {"H": "heights", "W": "widths", "D": "depths", "L": "lengths"}


# the words around the formulas (the formulas, "H mod 32 in {0, 31}", read the same in both)
_WORDS = {"en": {"none": "none", "every": "every {0}", "and": " and ", "or": " or ",
                 "step": " step {0}", "proved": "proved for all {0}",
                 "checked": "checked exactly for {0}", "beyond": ", not proved beyond {0}",
                 "unproved": "not proved: see the note"},
          "zh": {"none": "无", "every": "所有 {0}", "and": " 且 ", "or": " 或 ",
                 "step": "（步长 {0}）", "proved": "已对所有 {0} 证明",
                 "checked": "已逐一检查 {0}", "beyond": "，{0} 之后未证明",
                 "unproved": "未证明：见注"}}


def describe_sizes(progressions: list, axis: str, lo: int = 1, lang: str = "en") -> str:
    """A set of sizes, given as [start, stop, step] progressions, in words.

    >>> describe_sizes([[223, None, 32], [224, None, 32]], "H")
    'H >= 223 and H mod 32 in {0, 31}'
    >>> describe_sizes([[1, None, 1]], "H"), describe_sizes([[16, 20, 1], [32, 33, 1]], "W")
    ('every H >= 1', 'W in 16..19 or W = 32')
    >>> describe_sizes([], "H"), describe_sizes([[1, None, 1]], "H", lang="zh")
    ('none', '所有 H >= 1')
    """
    w = _WORDS.get(lang, _WORDS["en"])
    if not progressions:
        return w["none"]
    infinite = [p for p in progressions if p[1] is None]
    finite = [p for p in progressions if p[1] is not None]
    parts = []
    steps = {p[2] for p in infinite}
    if len(steps) == 1:
        step = steps.pop()
        first = min(p[0] for p in infinite)
        if all(p[0] - first < step for p in infinite):
            residues = sorted({p[0] % step for p in infinite})
            if step == 1:
                span = f"{axis} >= {first}"
                parts.append(w["every"].format(span) if first <= lo else span)
            else:
                which = (f"== {residues[0]}" if len(residues) == 1
                         else "in {" + ", ".join(map(str, residues)) + "}")
                lead = f"{axis} >= {first}{w['and']}" if first >= lo + step else ""
                parts.append(f"{lead}{axis} mod {step} {which}")
            infinite = []
    for start, _, step in infinite:
        parts.append(f"{axis} = {start} + {step}k")
    for start, stop, step in finite:
        last = stop - 1 - (stop - 1 - start) % step
        if start == last:
            parts.append(f"{axis} = {start}")
        elif step == 1:
            parts.append(f"{axis} in {start}..{last}")
        else:
            parts.append(f"{axis} in {start}..{last}" + w["step"].format(step))
    return w["or"].join(parts)


def proof_words(axis: dict, lang: str = "en") -> str:
    """How far one axis of `prove_sizes` is decided, in words.

    >>> proof_words({"axis": "H", "range": [1, None], "proved": True})
    'proved for all H >= 1'
    >>> proof_words({"axis": "H", "range": [1, None], "proved": False, "checked_to": 4095})
    'checked exactly for 1 <= H <= 4095, not proved beyond H=4095'
    >>> proof_words({"axis": "H", "range": [1, None], "proved": True}, "zh")
    '已对所有 H >= 1 证明'
    """
    w = _WORDS.get(lang, _WORDS["en"])
    name, (lo, hi) = axis["axis"], axis["range"]
    span = f"{name} >= {lo}" if hi is None else f"{lo} <= {name} <= {hi}"
    if axis["proved"]:
        return w["proved"].format(span)
    if axis.get("checked_to") is not None:
        beyond = w["beyond"].format(f"{name}={axis['checked_to']}") if (
            hi is None or axis["checked_to"] < hi) else ""
        return w["checked"].format(f"{lo} <= {name} <= {axis['checked_to']}") + beyond
    return w["unproved"]


def valid_size_lines(sizes) -> list[str]:
    """The proved valid input sizes for the graph's title, one line per distinct axis.

    >>> axis = {"axis": "H", "range": [1, None], "proved": True, "valid": [[16, None, 16]]}
    >>> valid_size_lines({"H": axis, "W": {**axis, "axis": "W"}})
    ['valid input H, W: H mod 16 == 0 (proved for all H >= 1)']
    """
    axes = [a for a in (sizes or {}).values() if isinstance(a, dict)]
    if len(axes) > 1 and all(a["valid"] == axes[0]["valid"] and
                             a["proved"] == axes[0]["proved"] for a in axes):
        names, axes = ", ".join(a["axis"] for a in axes), axes[:1]
    else:
        names = ""
    return [f"valid input {names or a['axis']}: "
            f"{describe_sizes(a['valid'], a['axis'], a['range'][0])} ({proof_words(a)})"
            for a in axes]


def contains(progressions: Sequence[Progression], n: int) -> bool:
    """True when `n` is in one of the progressions.

    >>> contains([[223, None, 32], [224, None, 32]], 255), contains([[8, 10, 1]], 10)
    (True, False)
    """
    return any(n >= start and (stop is None or n < stop) and (n - start) % step == 0
               for start, stop, step in progressions)


def nearest_member(progressions: list, example: int) -> int:
    """The member of the progressions nearest the example size (the larger on a tie).

    >>> nearest_member([[0, None, 32]], 224), nearest_member([[0, None, 32], [31, None, 32]], 240)
    (224, 255)
    """
    best = None
    for start, stop, step in progressions:
        k = max(0, -(-(example - start) // step))
        for n in (start + k * step, start + (k - 1) * step):
            if n >= start and (stop is None or n < stop):
                if best is None or (abs(n - example), -n) < (abs(best - example), -best):
                    best = n
    return best if best is not None else progressions[0][0]


__all__ = ["outcome_progressions", "contains", "remove_size", "nearest_member",
           "describe_sizes", "proof_words", "valid_size_lines",
           "AXIS_WORDS", "Progression"]
