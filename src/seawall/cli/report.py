"""`seawall report [RUN]`: a stored hunt's result document as JSON, JSON lines, CSV, a
self-contained HTML report, an ATT&CK Navigator layer or a STIX 2.1 bundle of sightings.

Argument handling only: the document is read back from the case with the current triage joined
in (:func:`seawall.detect.stored.stored_document`), rendered by :mod:`seawall.report.formats`,
and written where :mod:`seawall.report.output` allows (never under the evidence).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, emit, open_case, plural, warn
from seawall.errors import UsageError

# seawall.report.formats.FORMATS (not imported: the CLI starts without the renderers)
_FORMATS = ("json", "jsonl", "csv", "html", "navigator", "stix")


def report(
    ctx: typer.Context,
    run: str | None = typer.Argument(
        None, help="The hunt's run id or a unique prefix (default: the latest hunt)."
    ),
    fmt: str = typer.Option(
        "json",
        "--format",
        help="json (the document), jsonl (a finding a line), csv, html (one offline page),"
        " navigator (an ATT&CK Navigator layer) or stix (a STIX 2.1 bundle of sightings).",
    ),
    out: Path | None = typer.Option(
        None, "--out", readable=False, help="Write the report to FILE (default: stdout)."
    ),
    include_suppressed: bool = typer.Option(
        False,
        "--include-suppressed",
        help="Also report suppressed findings, each with what suppressed it.",
    ),
    identity: str | None = typer.Option(
        None,
        "--identity",
        help="For --format stix: the name of the organisation reporting the sightings.",
    ),
    schema: bool = typer.Option(
        False, "--schema", help="Print the result document's JSON Schema instead."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """A stored hunt as a report (json, jsonl, csv, html, navigator, stix), without hunting
    again; reviews and suppressions recorded by triage are in it."""
    from seawall.detect.stored import hunt_run, stored_document
    from seawall.model.finding import result_schema_text
    from seawall.report.formats import render, visible
    from seawall.report.output import check_out, evidence_paths, write_out

    if schema:
        text = result_schema_text()
        if out is None:
            sys.stdout.write(text)
        else:
            write_out(check_out(out, []), text)
        return
    if fmt not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
    if fmt == "stix" and not (identity or "").strip():
        raise UsageError(
            "--format stix needs --identity NAME: the organisation that reports the sightings"
        )
    if as_json and out is None and fmt != "json":
        raise UsageError(f"--json prints one JSON document: give --out FILE for --format {fmt}")
    with open_case(ctx, create=False) as store:
        run_id = None if run is None else hunt_run(store, run)
        document = stored_document(store, run_id)
        target = None if out is None else check_out(out, evidence_paths(store))
    for message in document.warnings:
        if message.startswith("allowlist entry "):
            warn(message)
    shown = visible(document, include_suppressed=include_suppressed)
    rendered = render(shown, fmt, identity=identity)
    for message in rendered.warnings:
        warn(message)
    if target is None:
        sys.stdout.write(rendered.text)
        sys.stdout.flush()
        return
    replaced = write_out(target, rendered.text)
    if replaced:
        warn(f"replaced the existing file {target}")
    hidden = len(document.findings) - len(shown.findings)
    payload = {
        "run_id": document.run_id,
        "format": fmt,
        "out": str(target),
        "replaced": replaced,
        "findings": len(shown.findings),
        "incidents": len(shown.incidents),
        "suppressed_left_out": hidden,
    }

    def render_text(console: Console) -> None:
        left_out = (
            f" ({plural(hidden, 'suppressed finding')} left out: --include-suppressed)"
            if hidden
            else ""
        )
        console.print(
            f"Hunt {document.run_id[:12]}: {plural(len(shown.findings), 'finding')}"
            + (f", {plural(len(shown.incidents), 'incident')}" if shown.incidents else "")
            + f" as {fmt} to {escape(str(target))}{left_out}"
        )

    emit(as_json, payload, render_text)
