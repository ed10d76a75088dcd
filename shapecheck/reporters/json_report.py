"""`--format json`: the contract document, one per run, and nothing else on standard output.

    {"shapecheck": "0.1.0", "results": [report.to_json(), ...]}

`reports_from_json` reads such a document back into Reports.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence

from shapecheck.report import Report


def json_document(reports: Sequence[Report],
                  tracebacks: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """The contract's JSON document for `reports` (see cli-contract.md).

    With `tracebacks` (target name -> text, given by `--verbose`), a failed target's
    `error` object also has a `traceback` field.

    Example:
        >>> doc = json_document([Report("m.py:build")])
        >>> sorted(doc), doc["results"][0]["error"]
        (['results', 'shapecheck'], None)
    """
    from shapecheck import __version__

    results = []
    for report in reports:
        result = report.to_json()
        trace = (tracebacks or {}).get(report.target)
        if trace and result.get("error") is not None:
            result["error"]["traceback"] = trace
        results.append(result)
    return {"shapecheck": __version__, "results": results}


def reports_from_json(document: Mapping[str, Any]) -> list[Report]:
    """The Reports of a `json_document` (or `--format json` output, parsed), read back with
    `Report.from_json`: every field but the live model and graph modules.

    Example:
        >>> doc = json_document([Report("m.py:build", input_shapes=[(1, 3, 8, 8)])])
        >>> reports_from_json(json.loads(json.dumps(doc)))[0].input_shapes
        [(1, 3, 8, 8)]
    """
    return [Report.from_json(result) for result in document["results"]]


# A list of numbers spread over lines by indent=2; raw newlines never occur inside JSON
# strings, so only the document's own structure can match.
_NUMBER_LIST = re.compile(r"\[\n\s*(-?[\d.]+(?:,\n\s*-?[\d.]+)*)\n\s*\]")


def render_json(reports: Sequence[Report],
                tracebacks: Optional[Mapping[str, str]] = None) -> str:
    """`json_document` as indented text ending in a newline; shapes stay on one line.

    Example:
        >>> render_json([Report("m.py:build", input_shapes=[(1, 3, 8, 8)])]).splitlines()[6]
        '        [1, 3, 8, 8]'
    """
    text = json.dumps(json_document(reports, tracebacks), indent=2, ensure_ascii=False)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\n\s*", m.group(1))) + "]",
                            text) + "\n"
