"""`seawall hunt`: run detections on the case; exit 1 when unsuppressed findings are present.

Argument handling and rendering only: the hunt itself is :func:`seawall.detect.engine.hunt`, and
the text view reads nothing but the result document, like every other renderer.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from seawall.cli.output import JSON_OPTION, emit, open_case, warn
from seawall.detect.analytics import HuntOptions
from seawall.detect.engine import HuntRequest
from seawall.detect.engine import hunt as run_hunt
from seawall.errors import ExitCode
from seawall.model.finding import ResultDocument
from seawall.triage.locations import ToolLocations

_SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_STATUS_STYLE = {"ran": "green", "not-run": "yellow", "error": "red"}
_SIGMA = "sigma."


def _findings_table(document: ResultDocument) -> Table:
    table = Table(title="Findings", title_justify="left")
    for column in ("severity", "detection", "host", "what", "why"):
        table.add_column(column, overflow="fold")
    for finding in document.findings:
        style = "dim" if finding.suppressed else _SEVERITY_STYLE[finding.severity]
        severity = f"[{style}]{finding.severity}[/]"
        if finding.suppressed:
            severity += "\n[dim](suppressed)[/]"
        why = [f"[bold]{escape(finding.verdict)}[/] {escape(' '.join(finding.techniques))}"]
        why += [escape(reason) for reason in finding.reasons]
        table.add_row(
            severity,
            finding.detection_id,
            escape(finding.host or ""),
            escape(finding.summary),
            "\n".join(why),
        )
    return table


def _coverage_table(document: ResultDocument) -> Table:
    table = Table(title="Coverage", title_justify="left")
    for column in ("detection", "techniques", "status", "findings", "reason / notes"):
        table.add_column(column, overflow="fold")
    for entry in document.coverage:
        if entry.detection_id.startswith(_SIGMA) and not (
            entry.findings or entry.status == "error"
        ):
            continue  # summarised by reason in the Sigma table (all of them are in --json)
        status = f"[{_STATUS_STYLE[entry.status]}]{entry.status}[/]"
        found = f"{entry.findings}" + (
            f" ({entry.suppressed} suppressed)" if entry.suppressed else ""
        )
        notes = [entry.reason or "", *entry.notes]
        table.add_row(
            entry.detection_id,
            " ".join(entry.techniques),
            status,
            found if entry.status == "ran" else "",
            escape("\n".join(n for n in notes if n)),
        )
    return table


def _sigma_table(document: ResultDocument) -> Table | None:
    """Sigma rules by outcome and reason: thousands of rules do not fit one line each."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in document.coverage:
        if entry.detection_id.startswith(_SIGMA):
            reason = entry.reason or ("matched" if entry.findings else "no match")
            groups.setdefault((entry.status, reason), []).append(entry.detection_id)
    if not groups:
        return None
    table = Table(title="Sigma rules (each one is in --json)", title_justify="left")
    for column in ("status", "rules", "reason", "examples"):
        table.add_column(column, overflow="fold")
    for (status, reason), ids in sorted(groups.items(), key=lambda item: -len(item[1])):
        table.add_row(
            f"[{_STATUS_STYLE[status]}]{status}[/]",
            str(len(ids)),
            escape(reason),
            escape(", ".join(ids[:2]) + (" …" if len(ids) > 2 else "")),
        )
    return table


def _render(console: Console, document: ResultDocument) -> None:
    if document.findings:
        console.print(_findings_table(document))
    else:
        console.print("No findings.")
    console.print(_coverage_table(document))
    sigma = _sigma_table(document)
    if sigma is not None:
        console.print(sigma)
    open_count = len(document.unsuppressed)
    ran = sum(1 for e in document.coverage if e.status == "ran")
    console.print(
        f"{len(document.findings)} findings ({open_count} unsuppressed); "
        f"{ran} of {len(document.coverage)} detections ran"
    )


def hunt(
    ctx: typer.Context,
    pack: str | None = typer.Option(
        None, "--pack", help="Run the detections an advisory pack names (e.g. aa21-200a)."
    ),
    detection: list[str] = typer.Option(
        [], "--detection", help="Run this detection id (repeatable)."
    ),
    detections: list[Path] = typer.Option(
        [], "--detections", help="Also load detection YAML files from DIR (repeatable)."
    ),
    yara: list[Path] = typer.Option([], "--yara", help="YARA rules directory (repeatable)."),
    webroot: list[str] = typer.Option(
        [], "--webroot", help="Web root to check for web shells (repeatable)."
    ),
    sigma: list[Path] = typer.Option(
        [],
        "--sigma",
        help="Also run the Sigma rules under DIR (repeatable); every rule is run or listed"
        " with the reason it was not.",
    ),
    locations: Path | None = typer.Option(
        None,
        "--locations",
        help="YAML file of extra standard tool locations (extends the shipped table).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run detections on the case; exit 1 when unsuppressed findings are present."""
    if locations is not None:
        # A broken extension file is the user's input error (exit 3 at file:line), not a
        # detection error to discover in the coverage of every file detection.
        ToolLocations.load(locations)
    request = HuntRequest(
        detection_ids=tuple(detection),
        detection_dirs=tuple(detections),
        pack=pack,
        sigma_dirs=tuple(sigma),
        options=HuntOptions(
            yara_dirs=tuple(yara), webroots=tuple(webroot), location_file=locations
        ),
    )
    with open_case(ctx) as store:
        document = run_hunt(store, request)
    for message in document.warnings:
        warn(message)
    emit(as_json, document.model_dump(mode="json"), lambda c: _render(c, document))
    if document.unsuppressed:
        raise typer.Exit(int(ExitCode.FINDINGS))
