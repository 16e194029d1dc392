"""`seawall findings`: the findings stored in the case, without hunting again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.hunt_view import closing_line, render_findings, render_summary
from seawall.cli.output import JSON_OPTION, emit, open_case
from seawall.errors import UsageError

if TYPE_CHECKING:
    from seawall.case.store import CaseStore

_SEVERITIES = ("info", "low", "medium", "high", "critical")  # seawall.model.finding.SEVERITIES


def findings(
    ctx: typer.Context,
    run: str | None = typer.Option(
        None, "--run", help="Only the findings of this hunt (its run id, or a unique prefix)."
    ),
    severity: str | None = typer.Option(
        None, "--severity", help="Only this severity and above: info, low, medium, high, critical."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Findings stored by earlier hunts (the latest of each detection), summary first."""
    from seawall.detect.stored import stored_findings

    if severity is not None and severity not in _SEVERITIES:
        raise UsageError(f"--severity must be one of {', '.join(_SEVERITIES)}, not {severity!r}")
    with open_case(ctx, create=False) as store:
        run_id = None if run is None else _hunt_run(store, run)
        found = stored_findings(store, run_id, severity)
        case = str(store.case_dir)
    payload = {
        "case": case,
        "run": run_id,
        "severity": severity,
        "count": len(found),
        "findings": [finding.model_dump(mode="json") for finding in found],
    }

    def render(console: Console) -> None:
        scope = f" of hunt {run_id[:12]}" if run_id else ""
        above = f" ({severity} and above)" if severity else ""
        console.print(f"Findings{scope}{above} stored in case {escape(case)}")
        render_summary(console, found, [])
        if found:
            render_findings(console, found)
        console.print(closing_line(found, []))

    emit(as_json, payload, render)


def _hunt_run(store: CaseStore, run: str) -> str:
    """The one hunt run whose id is ``run`` or starts with it."""
    rows = store.con.execute(
        "SELECT run_id FROM runs WHERE command = 'hunt' AND starts_with(run_id, lower(?))"
        " ORDER BY started_at",
        [run.strip()],
    ).fetchall()
    if not rows:
        raise UsageError(f"no hunt with run id {run!r} in this case")
    if len(rows) > 1:
        raise UsageError(f"{len(rows)} hunts have run ids starting {run!r}: give more of it")
    return str(rows[0][0])
