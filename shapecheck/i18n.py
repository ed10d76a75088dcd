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
from typing import Mapping, Optional

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


# POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def wanted_locale(env: Optional[Mapping[str, str]] = None) -> str:
    """The language the environment asks for, as gettext reads it: SHAPECHECK_LANG first,
    then LANGUAGE (its first entry; ignored when the locale is "C", as gettext does), then
    LC_ALL, LC_MESSAGES and LANG; "" when none is set.

    >>> wanted_locale({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"})
    'zh_CN.UTF-8'
    >>> wanted_locale({"LC_ALL": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"})
    'zh_CN'
    """
    env = os.environ if env is None else env
    if env.get("SHAPECHECK_LANG"):
        return env["SHAPECHECK_LANG"]
    posix = next((env[name] for name in LOCALE_VARIABLES if env.get(name)), "")
    language = env.get("LANGUAGE", "").split(":")[0]
    if language and posix not in ("C", "POSIX"):
        return language
    return posix


def default_language(env: Optional[Mapping[str, str]] = None) -> str:
    """"zh" when SHAPECHECK_LANG or the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, then
    the process locale) asks for Chinese, else "en".

    >>> default_language({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"})
    'zh'
    """
    wanted = wanted_locale(env)
    if not wanted and env is None:
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
