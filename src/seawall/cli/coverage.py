"""`seawall coverage`: what the case holds and what the detections can evaluate in it.

Read before a hunt (or after one that found nothing): the data sources present, and per
detection — and, with ``--pack``, per technique and guidance item of the advisory — whether it
can be evaluated on this data, and if not, which telemetry is missing. Nothing is run.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, Table, emit, open_case

_STYLE = {
    "evaluable": "green",
    "evaluated": "green",
    "not-evaluable": "yellow",
    "not-run": "yellow",
    "no-detection": "red",
    "not-checkable": "dim",
}
# Event ids shown per channel in the text view (JSON has them all).
_IDS_SHOWN = 12


def _styled(status: str) -> str:
    return f"[{_STYLE.get(status, 'white')}]{status}[/]"


def _render(console: Console, report: object) -> None:
    from seawall.detect.datacoverage import CaseCoverage

    assert isinstance(report, CaseCoverage)
    data = report.data
    tables = ", ".join(f"{name} {n:,}" for name, n in data.tables.items() if n) or "none"
    console.print(f"[bold]Data in the case:[/] {escape(tables)}")
    if data.channels:
        table = Table("channel", "events", "event ids", title="Event logs", title_justify="left")
        for channel in data.channels:
            ids = sorted(channel.event_ids.items(), key=lambda kv: -kv[1])
            text = ", ".join(f"{i} ({n:,})" for i, n in ids[:_IDS_SHOWN])
            if len(ids) > _IDS_SHOWN:
                text += f" … {len(ids) - _IDS_SHOWN} more"
            table.add_row(escape(channel.name), f"{channel.events:,}", escape(text))
        console.print(table)
        creation = data.process_creation
        console.print(
            f"process creation: Security 4688 {creation['security_4688']:,}"
            f" ({creation['security_4688_with_command_line']:,} with command line),"
            f" Sysmon 1 {creation['sysmon_1']:,}; Sysmon {'present' if data.sysmon else 'absent'};"
            f" PowerShell script blocks {data.powershell_script_blocks:,}"
        )
    if data.auth["rows"]:
        auth = data.auth
        console.print(
            f"authentication logs: {auth['rows']:,} rows ({auth['external']:,} external,"
            f" {auth['internal']:,} internal, {auth['with_mfa']:,} recording MFA)"
        )
    for note in data.notes():
        console.print(f"[yellow]note:[/] {escape(note)}")
    table = Table("detection", "status", "why / notes", title="Detections", title_justify="left")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True  # ids and statuses stay whole
    table.columns[2].overflow = "fold"  # a --param to type is folded, never cut
    for item in report.detections:
        lines = [item.reason or "", *item.notes, *item.context]
        if item.last_hunt:
            lines.append(f"last hunt: {item.last_hunt}")
        table.add_row(item.id, _styled(item.status), escape("\n".join(x for x in lines if x)))
    console.print(table)
    if report.items:
        for kind, title in (("technique", "Techniques"), ("guidance", "Guidance")):
            table = Table(
                "id",
                "name",
                "status",
                "detections / missing telemetry",
                title=f"{title} of pack {report.pack}",
                title_justify="left",
            )
            table.columns[0].no_wrap = table.columns[2].no_wrap = True
            # Detection ids are what the reader types next: the column is as wide as the
            # longest (a long reason folds beneath it), the names fold around it.
            entries = [i for i in report.items if i.kind == kind]
            detection_ids: list[str] = [d for e in entries for d in (*e.evaluable, *e.not_built)]
            detection_ids += [str(m).split(":", 1)[0] for e in entries for m in e.missing]
            table.columns[3].min_width = max(
                (len(d) + len(" (not built yet)") for d in detection_ids), default=0
            )
            table.columns[3].overflow = "fold"
            for entry in entries:
                lines = [f"{d} (evaluable)" for d in entry.evaluable]
                lines += entry.missing + [f"{d} (not built yet)" for d in entry.not_built]
                if entry.reason:
                    lines.append(entry.reason)
                table.add_row(
                    entry.id, escape(entry.name), _styled(entry.status), escape("\n".join(lines))
                )
            console.print(table)


def coverage(
    ctx: typer.Context,
    pack: str | None = typer.Option(
        None, "--pack", help="Also judge an advisory pack's techniques and guidance (aa21-200a)."
    ),
    detections: list[Path] = typer.Option(
        [], "--detections", help="Also load detection YAML files from DIR (repeatable)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Data sources in the case and, per detection (and pack item), whether it can be evaluated."""
    from seawall.detect.datacoverage import case_coverage
    from seawall.detect.engine import load_detections
    from seawall.intel.packs.loader import load_pack

    loaded = load_detections(detections)
    chosen = load_pack(pack) if pack is not None else None
    with open_case(ctx) as store:
        report = case_coverage(store, loaded, chosen)
    emit(as_json, report.as_dict(), lambda console: _render(console, report))
