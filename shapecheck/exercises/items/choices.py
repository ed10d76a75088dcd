"""Multiple-choice answers: one letter in a module constant, each wrong letter with its own
reason, so a learner who picks a misconception reads why it is one.

    >>> normalised(" (B) "), normalised("b)"), normalised(3)
    ('b', 'b', None)
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional

from shapecheck.exercises.grading import MISSING, Attempt, Problem
from shapecheck.exercises.text import Text

CHOICE_MISSING = Text("set {name} to one letter ({letters}): {question}",
                      "请把 {name} 设为一个字母（{letters}）：{question}")
CHOICE_UNKNOWN = Text("{name} = {given!r} is not one of the letters {letters}",
                      "{name} = {given!r} 不是 {letters} 中的一个字母")
CHOICE_WRONG = Text("{name} = {letter!r} is not right: {why}",
                    "{name} = {letter!r} 不正确：{why}")


def normalised(given: Any) -> Optional[str]:
    """The letter a learner meant ("b", "(b)", " B) " -> "b"), or None for anything else."""
    if not isinstance(given, str):
        return None
    match = re.fullmatch(r"\s*\(?\s*([a-zA-Z])\s*\)?\s*\.?\s*", given)
    return match.group(1).lower() if match else None


def choice(name: str, right: str, wrong: Mapping[str, Text],
           question: Text) -> Callable[[Attempt], list[Problem]]:
    """A criterion: the constant `name` holds the letter `right`; every letter of `wrong`
    is rejected with its own reason (the misconception it stands for)."""
    letters = "/".join(sorted(set(wrong) | {right}))

    def criterion(attempt: Attempt) -> list[Problem]:
        lang, given = attempt.lang, attempt.answer(name)
        if given is MISSING or given is None:
            return [Problem(CHOICE_MISSING(lang, name=name, letters=letters,
                                           question=question(lang)), "answer.missing",
                            module=name)]
        letter = normalised(given)
        if letter == right:
            return []
        if letter in wrong:
            return [Problem(CHOICE_WRONG(lang, name=name, letter=letter, why=wrong[letter](lang)),
                            "answer.wrong", module=name)]
        return [Problem(CHOICE_UNKNOWN(lang, name=name, given=given, letters=letters),
                        "answer.wrong", module=name)]

    criterion.key = "answer"
    return criterion
