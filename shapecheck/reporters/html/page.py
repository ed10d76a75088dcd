"""The whole page: one file, its CSS and scripts inline, a Content-Security-Policy that
allows only those exact scripts and styles (by hash) and no load from anywhere.

The data part is one `<script type="application/json" id="shapecheck-data">` element;
`page_data_json` is it, so tests can compare it with golden files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import lru_cache
from html import escape
from importlib import resources
from typing import Any

ASSETS = "shapecheck.reporters.html"
DATA_ID = "shapecheck-data"


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of a file under `assets/` (packaged with shapecheck).

    >>> "dagre" in asset("vendor/README.md")
    True
    """
    text = resources.files(ASSETS).joinpath("assets", *name.split("/")).read_text("utf-8")
    # a source-map comment would make developer tools ask for a file: drop it
    return re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text)


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly the inline element with this text.

    >>> csp_hash("")
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    """
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def page_data_json(data: dict[str, Any]) -> str:
    """The data part as text safe inside a script element (no "<" left to close it).

    >>> page_data_json({"a": "</script>"})
    '{"a":"\\\\u003c/script>"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def document(title: str, body: str, data: dict[str, Any], lang: str, dagre: bool) -> str:
    """The page: head with CSP and CSS, `body`, the data part, then the scripts."""
    css = asset("page.css")
    scripts = ([asset("vendor/dagre.min.js"), asset("layout.js")] if dagre else []) + [asset("page.js")]
    policy = ("default-src 'none'; script-src " + " ".join(csp_hash(s) for s in scripts)
              + f"; style-src {csp_hash(css)}; img-src data:; base-uri 'none'; form-action 'none'")
    script_tags = "".join(f"<script>{s}</script>" for s in scripts)
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n'
            f'<script type="application/json" id="{DATA_ID}">{page_data_json(data)}</script>\n'
            f'{script_tags}\n</body>\n</html>\n')
