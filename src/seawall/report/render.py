"""One entry point for the ``report`` command: a format name in, the file's text and the
warnings the user must see out.

Heavy imports (Jinja2, stix2) happen here, inside the call, so that the CLI's start-up does not
pay for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from seawall.errors import UsageError
from seawall.model.finding import ResultDocument

FORMATS = ("html", "navigator", "stix")
SUFFIXES = {"html": ".html", "navigator": ".json", "stix": ".json"}
_MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    warnings: list[str] = field(default_factory=list)


def render(document: ResultDocument, fmt: str, *, identity: str | None = None) -> Rendered:
    """Render ``document`` as ``fmt`` (one of :data:`FORMATS`); ``identity`` (the reporting
    organisation) is required for ``stix``."""
    if fmt == "html":
        from seawall.report.html import render_html

        return Rendered(render_html(document))
    if fmt == "navigator":
        from seawall.report.navigator import render_navigator

        layer = render_navigator(document)
        return Rendered(json.dumps(layer, indent=2, ensure_ascii=False) + "\n")
    if fmt == "stix":
        from seawall.report.stix import stix_report
        from seawall.report.view import build_view

        if identity is None or not identity.strip():
            raise UsageError(
                "--format stix needs --identity NAME: the organisation that reports these"
                " sightings (their where_sighted_refs and created_by_ref)"
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
        text = json.dumps(report.bundle, indent=2, ensure_ascii=False) + "\n"
        return Rendered(text, warnings)
    raise UsageError(f"unknown report format {fmt!r}: choose one of {', '.join(FORMATS)}")
