"""The valid-sizes block of the text report, written from `report.sizes` (a plain dict).

    valid input heights: H >= 223 and H mod 32 in {0, 31}   (proved for all H >= 1)
      H = 225, 226, 229, ...: first fails at levels.0  dla.py:103  e.g. H=225: 57x57 vs 56x56
"""

from __future__ import annotations

from typing import Any, Optional

from shapecheck.analysis.size_sets import AXIS_WORDS as _AXIS_WORDS, describe_sizes, proof_words


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
    how = proof_words(axis)
    lines = [f"valid input {words}: {describe_sizes(axis['valid'], name, lo)}   ({how})"]
    for failing in axis["failing"]:
        lines.append("  " + _class_line(failing, name, lo, _channels_last(axis)))
    if axis["unknown"]:
        lines.append(f"  {describe_sizes(axis['unknown'], name, lo)}: not decided")
    if axis.get("note"):
        lines.append(f"  note: {axis['note']}")
    return lines


def _channels_last(axis: dict) -> bool:
    """Keras axes count from dim 1 (N, H, W, C), PyTorch ones from dim 2 (N, C, H, W)."""
    shapes = [s for c in axis["failing"] for s in c["shapes"]]
    names = {3: ("L",), 4: ("H", "W"), 5: ("D", "H", "W")}.get(len(shapes[0])) if shapes else None
    return bool(names) and axis["axis"] in names and \
        axis.get("dim") == 1 + names.index(axis["axis"])


def _class_line(failing: dict, name: str, lo: int, channels_last: bool = False) -> str:
    where = failing["location"]
    place = f"{where['path']}:{where['line']}" if where else failing["node"]
    module = failing["module"] or "the model"
    size = f"{name}={failing['example']}"
    shapes = [_spatial(s, channels_last) for s in failing["shapes"]]
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


def _spatial(shape: list, channels_last: bool = False) -> str:
    if channels_last and len(shape) > 2:
        return "x".join(str(d) for d in shape[1:-1])
    dims = shape[2:] if len(shape) > 2 else shape[1:] if len(shape) > 1 else shape
    return "x".join(str(d) for d in dims) or "scalar"


__all__ = ["describe_sizes", "size_lines"]
