"""The one registry of finding codes: docs, `--list-codes`, `--select/--ignore` and SARIF
rules are all generated from it.

SC1xx are residual adds, SC2xx layers and other operations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    kind: str
    severity: str
    title: str
    description: str


CODES: tuple[Code, ...] = (
    Code("SC101", "channel_mismatch", "error", "Residual add: channel mismatch",
         "The main branch and the shortcut of a residual add have different channel (or "
         "feature) counts. The add raises at run time; a projection shortcut fixes it."),
    Code("SC102", "spatial_mismatch", "error", "Residual add: spatial mismatch",
         "Only the spatial (or sequence) size differs, typically because the main branch "
         "has a stride or pooling that the shortcut lacks. Also raised when the add only "
         "broadcasts at this input size and fails at others."),
    Code("SC103", "broadcast", "error", "Residual add: broadcast of a size-1 channel",
         "The add runs only because one operand has a single channel (or feature) that is "
         "broadcast over the other's; no residual block means that."),
    Code("SC104", "suspicious_broadcast", "warning", "Residual add: spatial broadcast",
         "One operand has size-1 spatial dims where the other does not, and a probe at "
         "another input size could not tell whether that is by design (a pooled context) "
         "or a missing stride."),
    Code("SC201", "layer_mismatch", "error", "Layer receives the wrong shape",
         "A convolution, normalisation or linear layer receives a different number of "
         "channels or features than it was built for."),
    Code("SC202", "op_failure", "error", "Operation fails on these shapes",
         "An operation other than a residual add or a known layer raised during shape "
         "propagation (a non-residual add, cat, matmul, view, ...)."),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
BY_KIND: dict[str, Code] = {c.kind: c for c in CODES}


def code_for(kind: str) -> Code:
    """The registry entry of a finding kind.

    >>> code_for("channel_mismatch").code
    'SC101'
    """
    return BY_KIND[kind]


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
