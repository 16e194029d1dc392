"""`seawall pack` commands: list, show and validate advisory packs.

``show`` is where an analyst learns, before hunting, what an advisory asks for and what seawall can
and cannot look for today, and which of the advisory's ATT&CK ids have moved since it was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, Table, emit, plural, warn

if TYPE_CHECKING:  # packs (pydantic, YAML, the ATT&CK extract) load with the command
    from seawall.intel.packs.coverage import (
        AttackEntry,
        DetectionState,
        ItemCoverage,
        PackCoverage,
    )
    from seawall.intel.packs.schema import Pack

app = typer.Typer(
    no_args_is_help=True, help="Advisory packs: what an advisory asks, what covers it."
)

_STATUS_STYLE = {
    "covered": "green",
    "exists": "green",
    "conditional": "cyan",
    "active": "green",
    "missing": "yellow",
    "revoked": "yellow",
    "uncovered": "red",
    "absent": "red",
    "deprecated": "red",
    "not-checkable": "dim",
    "unsupported-version": "dim",
}


def _styled(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _detections(states: tuple[DetectionState, ...]) -> str:
    return "\n".join(f"{escape(s.id)} {_styled(s.status)}" for s in states) or "[dim]none[/]"


def _keep_detection_ids(table: Table, items: tuple[ItemCoverage, ...]) -> None:
    """The detections column (the last) as wide as its longest id and status, never wrapped
    or cut: an id is what the reader types next; the other columns fold around it."""
    widths = [len(s.id) + 1 + len(s.status) for i in items for s in i.detections]
    last = table.columns[-1]
    last.no_wrap = True
    last.min_width = max(widths, default=4)


def _attack(entry: AttackEntry | None) -> str:
    """One version's view of an id: its name and, unless active, what happened to it."""
    if entry is None:
        return ""
    if entry.status in ("absent", "unsupported-version"):
        return _styled(entry.status)
    text = escape(entry.name or "")
    if entry.status != "active":
        text += f" ({_styled(entry.status)}"
        text += f" → {escape(entry.replaced_by)})" if entry.replaced_by else ")"
    return text


def _summary_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def _pack_row(pack: Pack) -> dict[str, Any]:
    return {
        "id": pack.id,
        "advisory_id": pack.advisory_id,
        "title": pack.title,
        "published": pack.published,
        "actor": pack.actor.name,
        "attack_version": pack.attack_version,
        "techniques": len(pack.techniques),
        "software": len(pack.software),
        "mitigations": len(pack.mitigations),
    }


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """The advisory packs shipped with seawall."""
    from seawall.intel.packs.loader import list_packs

    rows = [_pack_row(pack) for pack in list_packs()]

    def render(console: Console) -> None:
        table = Table(caption="T techniques, S software, G guidance items", caption_justify="left")
        table.add_column("pack", ratio=1, min_width=24, overflow="fold")
        for column in ("advisory", "published", "actor", "ATT&CK", "T/S/G"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(
                f"[bold]{row['id']}[/]\n{escape(row['title'])}",
                row["advisory_id"],
                row["published"].isoformat(),
                escape(row["actor"]),
                row["attack_version"],
                f"{row['techniques']}/{row['software']}/{row['mitigations']}",
            )
        console.print(table)
        console.print(plural(len(rows), "pack"))

    emit(as_json, {"packs": rows, "count": len(rows)}, render)


def _items_table(title: str, items: tuple[ItemCoverage, ...], coverage: PackCoverage) -> Table:
    table = Table("id", "name", "status", "detections", title=title, title_justify="left")
    table.columns[0].no_wrap = True
    table.columns[2].no_wrap = True
    _keep_detection_ids(table, items)
    for item in items:
        table.add_row(
            item.id,
            _names(item, coverage),
            _styled(item.status),
            _detections(item.detections),
        )
    return table


def _names(item: ItemCoverage, coverage: PackCoverage) -> str:
    """The pack's name of an item, then each ATT&CK version's where it says more (another name,
    or the id revoked, deprecated or absent there): most rows are one line."""
    text = escape(item.name)
    for version, entry in (
        (coverage.pack_version, item.in_pack_version),
        (coverage.current_version, item.in_current_version),
    ):
        if entry is not None and (entry.status != "active" or entry.name != item.name):
            text += f"\n[dim]ATT&CK {version}:[/] {_attack(entry)}"
    return text


def _mitigations_table(items: tuple[ItemCoverage, ...], pack: Pack) -> Table:
    text = {m.id: m.text for m in pack.mitigations}
    table = Table("id", "guidance", "status", "detections", title="Guidance", title_justify="left")
    _keep_detection_ids(table, items)
    for item in items:
        body = f"[bold]{escape(item.name)}[/]\n{escape(text.get(item.id, ''))}"
        if item.reason:
            body += f"\n[dim]not checkable: {escape(item.reason)}[/]"
        if item.attack_mitigations:
            mapped = ", ".join(f"{m.id} {m.name or m.status}" for m in item.attack_mitigations)
            body += f"\n[dim]ATT&CK: {escape(mapped)}[/]"
        table.add_row(item.id, body, _styled(item.status), _detections(item.detections))
    return table


def _render_show(console: Console, pack: Pack, coverage: PackCoverage) -> None:
    console.print(f"[bold]{escape(pack.advisory_id)}[/] {escape(pack.title)}")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("pack", pack.id)
    grid.add_row("published", f"{pack.published.isoformat()} by {', '.join(pack.publishers)}")
    tlp = pack.tlp if pack.tlp == pack.tlp_v2 else f"{pack.tlp} (TLP 2.0: {pack.tlp_v2})"
    grid.add_row("tlp", tlp)
    grid.add_row("url", pack.url)
    actor = coverage.actor[-1]
    grid.add_row(
        "actor",
        f"{escape(pack.actor.name)} ({pack.actor.attack_group_id}"
        f"{', ' + escape(actor.name) if actor.name else ''} in ATT&CK {actor.version})",
    )
    grid.add_row("aliases", escape(", ".join(pack.actor.aliases)))
    grid.add_row(
        "ATT&CK", f"written against {pack.attack_version}; current {coverage.current_version}"
    )
    for reference in pack.references:
        grid.add_row("reference", f"{escape(reference.title)} {reference.url}")
    console.print(grid)
    console.print(escape(pack.summary))
    console.print(_items_table("Techniques", coverage.techniques, coverage))
    console.print(_items_table("Software", coverage.software, coverage))
    console.print(_mitigations_table(coverage.mitigations, pack))
    summary = coverage.summary()
    for kind in ("techniques", "software", "mitigations", "detections"):
        console.print(f"[bold]{kind}:[/] {_summary_line(summary[kind])}")
    conditional = {s.id: s.needs for s in coverage.detections if s.status == "conditional"}
    if conditional:
        console.print(
            "[bold]conditional[/]: covered only by detections that cannot run on their own;"
            " each needs your input first:"
        )
        for ident, needs in sorted(conditional.items()):
            console.print(f"  {escape(ident)} needs {escape(needs or '')}")


@app.command("show")
def show(
    pack_ref: str = typer.Argument(..., metavar="PACK", help="Pack name (e.g. aa21-200a) or path."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A pack's advisory, its ATT&CK ids then and now, and what covers each item today."""
    from seawall.intel.packs.coverage import compute_coverage
    from seawall.intel.packs.loader import load_pack

    pack = load_pack(pack_ref)
    coverage = compute_coverage(pack)
    for message in coverage.warnings:
        warn(message)
    payload = {"pack": pack.model_dump(mode="json"), "coverage": coverage.as_dict()}
    emit(as_json, payload, lambda console: _render_show(console, pack, coverage))


@app.command("validate")
def validate(
    path: Path = typer.Argument(..., readable=False, help="Pack file to check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a pack file; errors name the file and line (exit 3), ATT&CK drift is a warning."""
    from seawall.intel.packs.coverage import compute_coverage
    from seawall.intel.packs.loader import load_pack_file

    pack = load_pack_file(path)
    coverage = compute_coverage(pack)
    for message in coverage.warnings:
        warn(message)
    payload = {
        "valid": True,
        "path": path,
        "id": pack.id,
        "techniques": len(pack.techniques),
        "software": len(pack.software),
        "mitigations": len(pack.mitigations),
        "warnings": list(coverage.warnings),
    }

    def render(console: Console) -> None:
        counts = (
            f"{plural(len(pack.techniques), 'technique')}, {len(pack.software)} software,"
            f" {plural(len(pack.mitigations), 'guidance item')},"
            f" {plural(len(coverage.warnings), 'warning')}"
        )
        console.print(f"{escape(str(path))}: valid pack [bold]{pack.id}[/] ({counts})")

    emit(as_json, payload, render)
