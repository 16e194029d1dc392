"""`seawall hunt`: run detections on the case; exit 1 when unsuppressed findings are present,
5 when the hunt is incomplete (a detection failed, or could not judge all of its input: coverage
``error`` or ``partial``), whatever it found.

Argument handling only: the hunt itself is :func:`seawall.detect.engine.hunt`, and the text view
(:mod:`seawall.cli.hunt_view`) reads nothing but the result document, like every other renderer.
"""

from __future__ import annotations

from pathlib import Path

import typer

from seawall.cli.hunt_view import render_hunt
from seawall.cli.output import JSON_OPTION, emit, open_case, warn
from seawall.errors import ExitCode


def hunt(
    ctx: typer.Context,
    pack: str | None = typer.Option(
        None, "--pack", help="Run the detections an advisory pack names (e.g. aa21-200a)."
    ),
    detection: list[str] = typer.Option(
        [], "--detection", help="Run this detection id (repeatable)."
    ),
    detections: list[Path] = typer.Option(
        [],
        "--detections",
        readable=False,
        help="Also load detection YAML files from DIR (repeatable).",
    ),
    yara: list[Path] = typer.Option(
        [], "--yara", readable=False, help="YARA rules directory (repeatable)."
    ),
    webroot: list[str] = typer.Option(
        [],
        "--webroot",
        help="Web root to check for web shells, as swept or its Windows path (repeatable).",
    ),
    locations: Path | None = typer.Option(
        None,
        "--locations",
        readable=False,
        help="YAML file of extra standard tool locations (extends the shipped table).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run detections on the case; exit 1 when unsuppressed findings are present, 5 when the
    hunt is incomplete (a detection failed or could not judge all of its input)."""
    from seawall.detect.analytics import HuntOptions
    from seawall.detect.engine import HuntRequest
    from seawall.detect.engine import hunt as run_hunt
    from seawall.triage.locations import ToolLocations

    if locations is not None:
        # A broken extension file is the user's input error (exit 3 at file:line), not a
        # detection error to discover in the coverage of every file detection.
        ToolLocations.load(locations)
    request = HuntRequest(
        detection_ids=tuple(detection),
        detection_dirs=tuple(detections),
        pack=pack,
        options=HuntOptions(
            yara_dirs=tuple(yara), webroots=tuple(webroot), location_file=locations
        ),
    )
    with open_case(ctx) as store:
        document = run_hunt(store, request)
    for message in document.warnings:
        warn(message)
    emit(as_json, document.model_dump(mode="json"), lambda c: render_hunt(c, document))
    if document.incomplete:  # whatever was found, not everything was judged: never "clean"
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    if document.unsuppressed:
        raise typer.Exit(int(ExitCode.FINDINGS))
