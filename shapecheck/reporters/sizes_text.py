"""The valid-sizes block of the text report, written from `report.sizes` (a plain dict).

    valid input heights: H >= 223 and H mod 32 in {0, 31}   (proved for all H >= 1)
      H = 225, 226, 229, ...: first fails at levels.0  dla.py:103  e.g. H=225: 57x57 vs 56x56
"""

from __future__ import annotations

from typing import Any, Optional

_AXIS_WORDS = {"H": "heights", "W": "widths", "D": "depths", "L": "lengths"}


def describe_sizes(progressions: list, axis: str, lo: int = 1) -> str:
    """A set of sizes, given as [start, stop, step] progressions, in words.

    >>> describe_sizes([[223, None, 32], [224, None, 32]], "H")
    'H >= 223 and H mod 32 in {0, 31}'
    >>> describe_sizes([[1, None, 1]], "H"), describe_sizes([[16, 20, 1], [32, 33, 1]], "W")
    ('every H >= 1', 'W in 16..19 or W = 32')
    >>> describe_sizes([], "H")
    'none'
    """
    if not progressions:
        return "none"
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
                parts.append(f"every {axis} >= {first}" if first <= lo else f"{axis} >= {first}")
            else:
                which = (f"== {residues[0]}" if len(residues) == 1
                         else "in {" + ", ".join(map(str, residues)) + "}")
                lead = f"{axis} >= {first} and " if first >= lo + step else ""
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
            parts.append(f"{axis} in {start}..{last} step {step}")
    return " or ".join(parts)


def size_lines(sizes: Optional[dict[str, Any]]) -> list[str]:
    """The lines of the block (indented by the caller); [] when there is nothing to say.

    >>> size_lines({"note": "sizes are proved for a model with one image-like input"})
    ['input sizes: sizes are proved for a model with one image-like input']
    """
    if not sizes:
        return []
    if "note" in sizes and len(sizes) == 1:
        return [f"input sizes: {sizes['note']}"]
    axes = [a for a in sizes.values() if isinstance(a, dict)]
    if len(axes) == 2 and _same(axes[0], axes[1]):
        return _axis_lines(axes[0], both=axes[1]["axis"])
    return [line for axis in axes for line in _axis_lines(axis)]


def _same(a: dict, b: dict) -> bool:
    key = lambda axis: (axis["range"], axis["valid"], axis["unknown"], axis["proved"],  # noqa: E731
                        [(c["progressions"], c["module"], c["kind"]) for c in axis["failing"]])
    return key(a) == key(b)


def _axis_lines(axis: dict, both: Optional[str] = None) -> list[str]:
    name = axis["axis"]
    lo, hi = axis["range"]
    words = _AXIS_WORDS.get(name, name)
    if both:
        words = f"{words} and {_AXIS_WORDS.get(both, both)}"
    span = f"{name} >= {lo}" if hi is None else f"{lo} <= {name} <= {hi}"
    if axis["proved"]:
        how = f"proved for all {span}"
    elif axis.get("checked_to") is not None:
        how = f"checked exactly for {lo} <= {name} <= {axis['checked_to']}"
    else:
        how = "not proved: see the note"
    lines = [f"valid input {words}: {describe_sizes(axis['valid'], name, lo)}   ({how})"]
    for failing in axis["failing"]:
        lines.append("  " + _class_line(failing, name, lo))
    if axis["unknown"]:
        lines.append(f"  {describe_sizes(axis['unknown'], name, lo)}: not decided")
    if axis.get("note"):
        lines.append(f"  note: {axis['note']}")
    return lines


def _class_line(failing: dict, name: str, lo: int) -> str:
    where = failing["location"]
    place = f"{where['path']}:{where['line']}" if where else failing["node"]
    module = failing["module"] or "the model"
    size = f"{name}={failing['example']}"
    shapes = [_spatial(s) for s in failing["shapes"]]
    which = describe_sizes(failing["progressions"], name, lo)
    if failing["too_small"]:
        got = f"; {size} gives {shapes[0]}" if shapes else ""
        return f"{which}: {module} ({failing['detail']}, {place}) gets too small a map{got}"
    if failing["broadcast"]:
        return (f"{which}: {module}  {place}  runs only by broadcasting a 1-wide map "
                f"(a silent bug), e.g. {size}: {' vs '.join(shapes)}")
    if failing["kind"] == "layer_mismatch":
        return (f"{which}: {module} ({failing['detail']}, {place}) gets "
                f"{' x '.join(shapes) or '?'} at {size}")
    return f"{which}: first fails at {module}  {place}  e.g. {size}: {' vs '.join(shapes)}"


def _spatial(shape: list) -> str:
    dims = shape[2:] if len(shape) > 2 else shape[1:] if len(shape) > 1 else shape
    return "x".join(str(d) for d in dims) or "scalar"


__all__ = ["describe_sizes", "size_lines"]
