"""`seawall attack` commands: look up the shipped, offline MITRE ATT&CK knowledge base.

Every command takes ``--version`` because advisories cite the ATT&CK of their day (AA21-200A
uses v9) and an id can mean something else, or nothing, in today's matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, Table, emit
from seawall.intel.attack_versions import CURRENT_VERSION, SUPPORTED_VERSIONS

if TYPE_CHECKING:  # the knowledge base loads with the command that reads it
    from seawall.intel.attack import AttackKB, Group, Mitigation, Software, Technique

app = typer.Typer(no_args_is_help=True, help="Look up MITRE ATT&CK (offline, shipped versions).")

VERSION_OPTION = typer.Option(
    CURRENT_VERSION,
    "--version",
    "-V",
    help=f"ATT&CK version: {', '.join(SUPPORTED_VERSIONS)}.",
    show_default=True,
)

_STATUS_STYLE = {"active": "green", "revoked": "yellow", "deprecated": "red", "absent": "dim"}


def _styled(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _ref(item: Technique | Group | Software | Mitigation) -> dict[str, str]:
    return {"id": item.id, "name": item.name}


def _title(item: Technique | Group | Software | Mitigation, kb: AttackKB) -> str:
    return f"[bold]{item.id}[/bold] {escape(item.name)}  (ATT&CK {kb.version})"


def _refs(kb: AttackKB, technique_ids: tuple[str, ...]) -> list[dict[str, str]]:
    """Id and name for each technique id; an id the version lacks keeps an empty name."""
    found = []
    for tid in technique_ids:
        technique = kb.find_technique(tid)
        found.append({"id": tid, "name": technique.name if technique else ""})
    return found


def _fields(console: Console, title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column 'label  value' block; values are escaped (ATT&CK text contains brackets)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in rows:
        if value:
            grid.add_row(label, value)
    console.print(title)
    console.print(grid)


def _id_table(title: str, rows: list[dict[str, str]], *extra: str) -> Table:
    table = Table("id", "name", *extra, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(escape(row.get(key, "")) for key in ("id", "name", *extra)))
    return table


@app.command("show")
def show(
    technique_id: str = typer.Argument(..., help="Technique id, e.g. T1505.003."),
    version: str = VERSION_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A technique: tactics, platforms, data sources, status, and validity in every version."""
    from seawall.intel.attack import AttackKB, as_dict, status_across_versions

    kb = AttackKB.load(version)
    technique = kb.technique(technique_id)
    resolution = kb.resolve(technique.id)
    replacement = resolution.technique if resolution.followed_from else None
    payload: dict[str, Any] = {
        "attack_version": kb.version,
        "technique": as_dict(technique),
        "versions": status_across_versions(technique.id),
        "replacement": as_dict(replacement) if replacement else None,
        "revocation_chain": list(resolution.chain) if replacement else [],
        "subtechniques": [_ref(t) for t in kb.subtechniques(technique.id)],
        "mitigations": [_ref(m) for m in kb.mitigations_for(technique.id)],
    }

    def render(console: Console) -> None:
        t = technique
        parent = kb.find_technique(t.parent) if t.parent else None
        strategies = "; ".join(f"{s.id} {s.name}" for s in t.detection_strategies)
        versions = "  ".join(f"{v} {_styled(s)}" for v, s in payload["versions"].items())
        now = ""
        if replacement:
            now = f"{' → '.join(resolution.chain)} ({escape(replacement.name)})"
        rows = [
            ("status", _styled(t.status)),
            ("replaced by", now),
            ("tactics", ", ".join(t.tactics)),
            ("parent", f"{parent.id} {escape(parent.name)}" if parent else t.parent or ""),
            ("platforms", escape(", ".join(t.platforms))),
            ("data sources", escape(", ".join(t.data_sources))),
            ("detection", escape(t.detection)),
            ("strategies", escape(strategies)),
            ("description", escape(t.description)),
            ("url", t.url),
            ("versions", versions),
        ]
        _fields(console, _title(t, kb), rows)
        if payload["subtechniques"]:
            console.print(_id_table("sub-techniques", payload["subtechniques"]))
        if payload["mitigations"]:
            console.print(_id_table("mitigations", payload["mitigations"]))

    emit(as_json, payload, render)


@app.command("search")
def search(
    text: str = typer.Argument(..., help="Text to find in ids, names and aliases."),
    version: str = VERSION_OPTION,
    limit: int = typer.Option(25, "--limit", "-n", min=1, help="Most results to show."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Techniques, groups, software and mitigations whose id, name or alias contains TEXT."""
    from seawall.intel.attack import AttackKB

    kb = AttackKB.load(version)
    found = kb.search(text)
    results = [
        {"kind": item.kind, "id": item.id, "name": item.name, "status": item.status}
        for item in found[:limit]
    ]
    payload = {
        "attack_version": kb.version,
        "query": text,
        "total": len(found),
        "limit": limit,
        "results": results,
    }

    def render(console: Console) -> None:
        shown = f"{len(results)} of {len(found)}" if len(found) > len(results) else str(len(found))
        table = Table("kind", "id", "name", "status", title=f"ATT&CK {kb.version}: {shown} found")
        for row in results:
            table.add_row(row["kind"], row["id"], escape(row["name"]), _styled(row["status"]))
        console.print(table)

    emit(as_json, payload, render)


@app.command("group")
def group(
    query: str = typer.Argument(..., help="Group id, name or alias, e.g. G0065 or APT40."),
    version: str = VERSION_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A group: aliases, the techniques and the software it is recorded as using."""
    from seawall.intel.attack import AttackKB, as_dict

    kb = AttackKB.load(version)
    found = kb.group(query)
    software = [
        {"id": s.id, "name": s.name, "type": s.type}
        for s in (kb.software(sid) for sid in found.software)
    ]
    payload: dict[str, Any] = {
        "attack_version": kb.version,
        "group": as_dict(found),
        "techniques": _refs(kb, found.techniques),
        "software": software,
    }

    def render(console: Console) -> None:
        rows = [
            ("status", _styled(found.status)),
            ("replaced by", found.revoked_by or ""),
            ("aliases", escape(", ".join(found.aliases))),
            ("description", escape(found.description)),
            ("url", found.url),
        ]
        _fields(console, _title(found, kb), rows)
        console.print(_id_table(f"techniques ({len(found.techniques)})", payload["techniques"]))
        console.print(_id_table(f"software ({len(software)})", software, "type"))

    emit(as_json, payload, render)


@app.command("software")
def software(
    query: str = typer.Argument(..., help="Software id, name or alias, e.g. S0020."),
    version: str = VERSION_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A tool or malware: aliases, platforms and the techniques it implements."""
    from seawall.intel.attack import AttackKB, as_dict

    kb = AttackKB.load(version)
    found = kb.software(query)
    payload: dict[str, Any] = {
        "attack_version": kb.version,
        "software": as_dict(found),
        "techniques": _refs(kb, found.techniques),
        "groups": [_ref(g) for g in kb.groups() if found.id in g.software],
    }

    def render(console: Console) -> None:
        rows = [
            ("type", found.type),
            ("status", _styled(found.status)),
            ("replaced by", found.revoked_by or ""),
            ("aliases", escape(", ".join(found.aliases))),
            ("platforms", escape(", ".join(found.platforms))),
            ("description", escape(found.description)),
            ("url", found.url),
        ]
        _fields(console, _title(found, kb), rows)
        console.print(_id_table(f"techniques ({len(found.techniques)})", payload["techniques"]))
        console.print(_id_table("used by groups", payload["groups"]))

    emit(as_json, payload, render)


@app.command("mitigation")
def mitigation(
    query: str = typer.Argument(..., help="Mitigation id or name, e.g. M1026."),
    version: str = VERSION_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A mitigation and the techniques it mitigates."""
    from seawall.intel.attack import AttackKB, as_dict

    kb = AttackKB.load(version)
    found = kb.mitigation(query)
    payload: dict[str, Any] = {
        "attack_version": kb.version,
        "mitigation": as_dict(found),
        "techniques": _refs(kb, found.techniques),
    }

    def render(console: Console) -> None:
        rows = [
            ("status", _styled(found.status)),
            ("description", escape(found.description)),
            ("url", found.url),
        ]
        _fields(console, _title(found, kb), rows)
        console.print(_id_table(f"techniques ({len(found.techniques)})", payload["techniques"]))

    emit(as_json, payload, render)
