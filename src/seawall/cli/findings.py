"""`seawall findings`: the findings stored in the case, without hunting again.

Without ``--run``: the latest finding of every stable id (the latest answer of each detection,
whichever hunt ran it last). With ``--run``: that hunt's stored result document. Either way the
case's current triage is joined in (analysts' reviews, suppressions by ``triage apply``);
suppressed findings are counted and shown only with ``--suppressed``, each with the entry or the
judgement that suppressed it.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.hunt_view import closing_line, render_findings, render_summary
from seawall.cli.output import JSON_OPTION, emit, open_case, plural, warn
from seawall.errors import UsageError

_SEVERITIES = ("info", "low", "medium", "high", "critical")  # seawall.model.finding.SEVERITIES


def findings(
    ctx: typer.Context,
    run: str | None = typer.Option(
        None, "--run", help="Only the findings of this hunt (its run id, or a unique prefix)."
    ),
    severity: str | None = typer.Option(
        None, "--severity", help="Only this severity and above: info, low, medium, high, critical."
    ),
    suppressed: bool = typer.Option(
        False, "--suppressed", help="Also show suppressed findings, with what suppressed them."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Findings stored by earlier hunts (the latest of each detection), summary first."""
    from seawall.detect.stored import has_document, hunt_run, read_findings, stored_document
    from seawall.model.finding import SEVERITIES, identified_hosts

    if severity is not None and severity not in _SEVERITIES:
        raise UsageError(f"--severity must be one of {', '.join(_SEVERITIES)}, not {severity!r}")
    with open_case(ctx, create=False) as store:
        run_id = None if run is None else hunt_run(store, run)
        if run_id is not None and has_document(store, run_id):
            document = stored_document(store, run_id)
            wanted = SEVERITIES[SEVERITIES.index(severity) :] if severity else SEVERITIES
            found = [f for f in document.findings if f.severity in wanted]
            machines = identified_hosts(document.incidents)
            warnings = [w for w in document.warnings if w.startswith("allowlist entry ")]
        else:
            found, warnings = read_findings(store, run_id, severity)
            machines = {}
        case = str(store.case_dir)
    hidden = [] if suppressed else [f for f in found if f.suppressed]
    shown = [f for f in found if suppressed or not f.suppressed]
    for message in warnings:
        warn(message)
    payload = {
        "case": case,
        "run": run_id,
        "severity": severity,
        "count": len(shown),
        "suppressed_hidden": len(hidden),
        "warnings": warnings,
        "findings": [finding.model_dump(mode="json") for finding in shown],
    }

    def render(console: Console) -> None:
        scope = f" of hunt {run_id[:12]}" if run_id else ""
        above = f" ({severity} and above)" if severity else ""
        console.print(f"Findings{scope}{above} stored in case {escape(case)}")
        render_summary(console, found, [], machines)
        if hidden:
            console.print(
                f"  {plural(len(hidden), 'suppressed finding')} not listed (--suppressed lists"
                " them with the entry that suppressed them)"
            )
        if shown:
            render_findings(console, shown, machines=machines)
        console.print(closing_line(found, []))

    emit(as_json, payload, render)
