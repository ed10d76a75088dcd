"""The shape of a case in the wrong-answer folder (see README.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class Case:
    name: str
    base: str  # "starter" or "solution"
    edits: tuple[tuple[str, str], ...]
    key: Optional[str] = None  # the failed property's key (WRONG cases)
    module: Optional[str] = None  # the module the problem names, when it names one
    note: bool = False  # RIGHT cases: the verdict carries a note

    def source(self, starter: str, solution: str) -> str:
        text = starter if self.base == "starter" else solution
        for old, new in self.edits:
            count = text.count(old)
            if count != 1:
                raise ValueError(f"{self.name}: {old!r} occurs {count} times")
            text = text.replace(old, new)
        return text


def case(name: str, base: str, *edits: tuple[str, str], key: Optional[str] = None,
         module: Optional[str] = None, note: bool = False) -> Case:
    return Case(name, base, tuple(edits), key, module, note)


HERE = Path(__file__).resolve().parent
