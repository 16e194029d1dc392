"""One entry point for ``seawall report``: a format name in, the file's text and the warnings
the user must see out.

The document a renderer gets is already the one to show: the case's triage joined in, and the
suppressed findings left out unless the user asked for them (:func:`visible`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seawall.errors import UsageError
from seawall.model.finding import ResultDocument

FORMATS = ("json", "jsonl", "csv")
SUFFIXES = {"json": ".json", "jsonl": ".jsonl", "csv": ".csv"}


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    warnings: list[str] = field(default_factory=list)


def visible(document: ResultDocument, *, include_suppressed: bool) -> ResultDocument:
    """The document with its suppressed findings left out, unless they are asked for (each then
    names what suppressed it); the coverage still counts them."""
    if include_suppressed:
        return document
    return document.model_copy(update={"findings": document.unsuppressed})


def render(document: ResultDocument, fmt: str) -> Rendered:
    """Render ``document`` as ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return Rendered(document.model_dump_json(indent=2) + "\n")
    if fmt == "jsonl":
        from seawall.report.jsonl import render_jsonl

        return Rendered(render_jsonl(document))
    if fmt == "csv":
        from seawall.report.tabular import render_csv

        return Rendered(render_csv(document))
    raise UsageError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
