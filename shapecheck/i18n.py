"""Every word shapecheck shows, in English and Simplified Chinese: one `Text` per message.

Finding templates (messages.py), the text reporter's labels and the exercises' words are
all tables of `Text`, so a language is chosen once (`lang=`, `--lang`, SHAPECHECK_LANG or
the locale) and every line follows it.

    >>> Text("{n} exercises", "共 {n} 道练习")("zh", n=13)
    '共 13 道练习'
"""

from __future__ import annotations

import locale
import os
from dataclasses import dataclass
from typing import Optional

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Text:
    """One message in English and Simplified Chinese.

    Calling it with a language (and format values) gives the string; an unknown language
    falls back to English.
    """

    en: str
    zh: str

    def __call__(self, lang: Optional[str] = None, **values: object) -> str:
        template = self.zh if (lang or default_language()) == "zh" else self.en
        return template.format(**values) if values else template


def default_language() -> str:
    """"zh" when SHAPECHECK_LANG or the locale asks for Chinese, else "en"."""
    wanted = os.environ.get("SHAPECHECK_LANG") or os.environ.get("LANG") or ""
    if not wanted:
        try:
            wanted = locale.getlocale()[0] or ""
        except ValueError:
            wanted = ""
    return "zh" if wanted.lower().startswith("zh") else "en"


def resolve_language(lang: Optional[str]) -> str:
    """`lang` if it is "en" or "zh", else the default (SHAPECHECK_LANG, then the locale).

    >>> resolve_language("zh"), resolve_language("en")
    ('zh', 'en')
    """
    return lang if lang in LANGUAGES else default_language()
