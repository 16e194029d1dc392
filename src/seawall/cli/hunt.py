"""`seawall hunt`: run detections on the case; exit 1 when findings to review are present
(neither suppressed nor reviewed as a false positive or benign), 5 when the hunt is incomplete
(a detection failed, or could not judge all of its input: coverage ``error`` or ``partial``),
whatever it found.

Argument handling only: the hunt itself is :func:`seawall.detect.engine.hunt`, and the text view
(:mod:`seawall.cli.hunt_view`) reads nothing but the result document, like every other renderer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from seawall.cli.hunt_view import render_hunt
from seawall.cli.output import JSON_OPTION, emit_model, open_case, warn
from seawall.errors import ExitCode, UsageError


def parse_params(values: list[str]) -> dict[str, dict[str, Any]]:
    """``--param DETECTION.KEY=VALUE`` options by detection id; VALUE is JSON when it parses
    as JSON (``["10.0.0.0/8"]``, ``5``, ``true``), else text."""
    found: dict[str, dict[str, Any]] = {}
    for text in values:
        name, equals, raw = text.partition("=")
        detection, dot, key = name.strip().rpartition(".")
        if not equals or not dot or not detection or not key:
            raise UsageError(f"--param {text!r}: expected DETECTION.KEY=VALUE")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        found.setdefault(detection, {})[key] = value
    return found


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
    allowlist: list[Path] = typer.Option(
        [],
        "--allowlist",
        readable=False,
        help="Allowlist file (YAML or CSV: who may do what from where, with a reason;"
        " repeatable). Matching findings are kept, suppressed, with the entry named.",
    ),
    sigma: list[Path] = typer.Option(
        [],
        "--sigma",
        help="Also run the Sigma rules under DIR (repeatable); every rule is run or listed"
        " with the reason it was not.",
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        help="DETECTION.KEY=VALUE: a detection parameter for this hunt (VALUE as JSON when it"
        " parses, else text; repeatable).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run detections on the case; exit 1 when findings to review are present (not suppressed,
    not reviewed as a false positive or benign), 5 when the hunt is incomplete (a detection
    failed or could not judge all of its input)."""
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
        parameters=parse_params(param),
        allowlists=tuple(allowlist),
        sigma_dirs=tuple(sigma),
    )
    with open_case(ctx) as store:
        document = run_hunt(store, request)
    for message in document.warnings:
        warn(message)
    emit_model(as_json, document, lambda c: render_hunt(c, document))
    if document.incomplete:  # whatever was found, not everything was judged: never "clean"
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    if document.to_review:
        raise typer.Exit(int(ExitCode.FINDINGS))
