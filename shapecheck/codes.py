"""The one registry of finding codes: docs, `--list-codes`, `--select/--ignore` and SARIF
rules are all generated from it.

SC1xx are residual adds, SC2xx layers and other operations.
"""

from __future__ import annotations

from dataclasses import dataclass


# The finding kinds, as the constants every module uses instead of bare strings.
CHANNEL_MISMATCH = "channel_mismatch"
SPATIAL_MISMATCH = "spatial_mismatch"
BROADCAST = "broadcast"
SUSPICIOUS_BROADCAST = "suspicious_broadcast"
RESOLUTION_DEPENDENT = "resolution_dependent"
LAYER_MISMATCH = "layer_mismatch"
OP_FAILURE = "op_failure"
TARGET_ERROR_KIND = "target_error"

_ADD_SHAPES = ("main branch", "shortcut")


@dataclass(frozen=True)
class Code:
    """One row of the registry: everything shapecheck knows about a finding kind.

    `help` is what to do about it (SARIF's rule help); `shape_labels` name the finding's
    shapes in order; `fixable` says whether the fix stage proposes a layer for it;
    `template` is its message template's key prefix in messages.py.
    """

    code: str
    kind: str
    severity: str
    title: str
    description: str
    help: str = ""
    shape_labels: tuple[str, ...] = ()
    fixable: bool = False
    template: str = ""


CODES: tuple[Code, ...] = (
    Code("SC101", CHANNEL_MISMATCH, "error", "Residual add: channel mismatch",
         "The main branch and the shortcut of a residual add have different channel (or "
         "feature) counts. The add raises at run time; a projection shortcut fixes it.",
         help="Give the shortcut a projection whenever the main branch changes the "
              "channel count or the stride, as torchvision does: `if stride != 1 or "
              "in_channels != out_channels: shortcut = nn.Sequential(nn.Conv2d("
              "in_channels, out_channels, 1, stride, bias=False), "
              "nn.BatchNorm2d(out_channels))`. Each alert names the exact layer.",
         shape_labels=_ADD_SHAPES, fixable=True, template="add.channel"),
    Code("SC102", SPATIAL_MISMATCH, "error", "Residual add: spatial mismatch",
         "Only the spatial (or sequence) size differs, typically because the main branch "
         "has a stride or pooling that the shortcut lacks. Also raised when the add only "
         "broadcasts at this input size and fails at others.",
         help="Give the shortcut the main branch's stride (a 1x1 convolution with "
              "stride, or pooling followed by a 1x1 convolution). Each alert names "
              "the exact layer.",
         shape_labels=_ADD_SHAPES, fixable=True, template="add.spatial"),
    Code("SC103", BROADCAST, "error", "Residual add: broadcast of a size-1 channel",
         "The add runs only because one operand has a single channel (or feature) that is "
         "broadcast over the other's; no residual block means that.",
         help="Make both operands of the add have the same channel count: a projection "
              "shortcut (1x1 convolution + BatchNorm) to the main branch's channels.",
         shape_labels=_ADD_SHAPES, fixable=True, template="add.broadcast"),
    Code("SC104", SUSPICIOUS_BROADCAST, "warning", "Residual add: spatial broadcast",
         "One operand has size-1 spatial dims where the other does not, and a probe at "
         "another input size could not tell whether that is by design (a pooled context) "
         "or a missing stride.",
         help="If the size-1 spatial operand is a pooled context by design, "
              "ignore this rule for the model; otherwise add the stride or "
              "pooling that the other operand is missing.",
         shape_labels=_ADD_SHAPES, template="add.suspicious"),
    Code("SC105", RESOLUTION_DEPENDENT, "warning", "Residual add: fails at other input sizes",
         "The add works at the example input size, but the proof over every input size "
         "(analysis/sizes.py) finds a class of sizes at which its two branches round "
         "differently (a floor-mode pool against a padded strided conv) and it fails. "
         "Under `--sizes RANGE` every failing class inside the range is an error.",
         help="Make both branches round the same way without touching the weights: "
              "`ceil_mode=True` on the shortcut's pooling (for an average-pool shortcut also "
              "`count_include_pad=False`, as timm does for ResNet-D) or a padding change; "
              "the alert names the pool and the valid sizes after the fix. "
              "`shapecheck --sizes` lists every failing class.",
         shape_labels=_ADD_SHAPES, template="sizes"),
    Code("SC201", LAYER_MISMATCH, "error", "Layer receives the wrong shape",
         "A convolution, normalisation or linear layer receives a different number of "
         "channels or features than it was built for.",
         help="Make the layer's in_channels / in_features equal to what the layer "
              "before it produces; the alert gives both numbers.",
         shape_labels=("received", "expected"), template="layer"),
    Code("SC202", OP_FAILURE, "error", "Operation fails on these shapes",
         "An operation other than a residual add or a known layer raised during shape "
         "propagation (a non-residual add, cat, matmul, view, ...).",
         help="The operands of this operation disagree; the alert gives their shapes.",
         template="op"),
)

# Not a finding of the model: the target could not be analysed at all (SARIF, GitHub).
TARGET_ERROR = Code(
    "SC001", TARGET_ERROR_KIND, "error", "Target could not be analysed",
    "shapecheck could not load, build, trace or feed the model (a syntax or import error, a "
    "constructor that raises, no model found, or an input that does not fit). Nothing in "
    "this target was checked, so its shape bugs, if any, are not reported.",
    help="Fix the error named in the alert (file and line included), or run "
         "`shapecheck --verbose TARGET` locally for the full traceback.")

FIXABLE_KINDS = frozenset(c.kind for c in CODES if c.fixable)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
BY_KIND: dict[str, Code] = {c.kind: c for c in CODES}


def code_for(kind: str) -> Code:
    """The registry entry of a finding kind.

    >>> code_for("channel_mismatch").code
    'SC101'
    """
    return BY_KIND[kind]


def shape_labels(code: str, count: int) -> list[str]:
    """Names of a finding's `count` shapes, from its registry row ("operand i" otherwise).

    >>> shape_labels("SC101", 2), shape_labels("SC202", 2)
    (['main branch', 'shortcut'], ['operand 1', 'operand 2'])
    """
    row = BY_CODE.get(code)
    if row is not None and len(row.shape_labels) == count:
        return list(row.shape_labels)
    return [f"operand {i + 1}" for i in range(count)]


def matches(code: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """True when `code` equals or starts with one of `patterns` (`SC1` selects SC1xx).

    >>> matches("SC102", ["SC1"]), matches("SC201", ["SC101"])
    (True, False)
    """
    return any(code.startswith(p.strip().upper()) for p in patterns if p.strip())


def markdown_table() -> str:
    """The code registry as a Markdown table (the README's table is checked against it)."""
    rows = ["| code | kind | severity | what it means |", "| --- | --- | --- | --- |"]
    rows += [f"| {c.code} | `{c.kind}` | {c.severity} | {c.description} |" for c in CODES]
    return "\n".join(rows)
