"""One entry point for ``seawall report``: a format name in, the file's text and the warnings
the user must see out.

The document a renderer gets is already the one to show: the case's triage joined in, and the
suppressed findings left out unless the user asked for them (:func:`visible`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from seawall.errors import UsageError
from seawall.model.finding import ResultDocument

FORMATS = ("json", "jsonl", "csv", "html", "navigator", "stix")
SUFFIXES = {
    "json": ".json",
    "jsonl": ".jsonl",
    "csv": ".csv",
    "html": ".html",
    "navigator": ".json",
    "stix": ".json",
}
# Indicator matches a STIX bundle cannot carry, named in its warning (the rest counted).
_MAX_LISTED = 10


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


def render(document: ResultDocument, fmt: str, *, identity: str | None = None) -> Rendered:
    """Render ``document`` as ``fmt`` (one of :data:`FORMATS`); ``identity`` (the reporting
    organisation) is required for ``stix``."""
    if fmt == "json":
        return Rendered(document.model_dump_json(indent=2) + "\n")
    if fmt == "jsonl":
        from seawall.report.jsonl import render_jsonl

        return Rendered(render_jsonl(document))
    if fmt == "csv":
        from seawall.report.tabular import render_csv

        return Rendered(render_csv(document))
    if fmt == "html":
        from seawall.report.html import render_html

        return Rendered(render_html(document))
    if fmt == "navigator":
        from seawall.report.navigator import render_navigator

        layer = render_navigator(document)
        return Rendered(json.dumps(layer, indent=2, ensure_ascii=False) + "\n")
    if fmt == "stix":
        return _stix(document, identity)
    raise UsageError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _stix(document: ResultDocument, identity: str | None) -> Rendered:
    from seawall.report.stix import stix_report
    from seawall.report.view import build_view

    if identity is None or not identity.strip():
        raise UsageError(
            "--format stix needs --identity NAME: the organisation that reports these sightings"
            " (their where_sighted_refs and created_by_ref)"
        )
    report = stix_report(build_view(document), identity=identity)
    warnings: list[str] = []
    if report.unsightable:
        shown = ", ".join(report.unsightable[:_MAX_LISTED])
        more = len(report.unsightable) - _MAX_LISTED
        warnings.append(
            f"{len(report.unsightable)} indicator match(es) have no STIX indicator id among"
            f" their sources and are not in the bundle: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    return Rendered(json.dumps(report.bundle, indent=2, ensure_ascii=False) + "\n", warnings)
