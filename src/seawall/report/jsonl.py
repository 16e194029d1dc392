"""JSON lines: one finding per line, then one incident per line, for SIEMs and ``jq``.

Each line is an object on its own: the finding's (or incident's) fields as in the result
document, with ``kind`` (``finding`` or ``incident``) and the hunt's ``run_id`` added, so lines
from several reports can be mixed and still be told apart.
"""

from __future__ import annotations

import json
from typing import Any

from seawall.model.finding import ResultDocument


def _line(kind: str, run_id: str, fields: dict[str, Any]) -> str:
    return json.dumps({"kind": kind, "run_id": run_id, **fields}, ensure_ascii=False)


def render_jsonl(document: ResultDocument) -> str:
    lines = [
        _line("finding", document.run_id, f.model_dump(mode="json")) for f in document.findings
    ]
    lines += [
        _line("incident", document.run_id, i.model_dump(mode="json")) for i in document.incidents
    ]
    return "".join(line + "\n" for line in lines)
