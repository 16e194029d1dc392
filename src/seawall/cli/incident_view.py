"""How a hunt's incidents read for a person: one block each, strongest first, before the
findings they group.

An incident (:class:`~seawall.model.finding.Incident`) is a story: the block gives its title and
score, the story line (its tactics in the order they appear), the hosts with the names the
findings gave them (marked when the identification was inferred from the case's entities), the
accounts, what joined its parts (lateral movements, shared accounts and values with their
prevalence), and the reasons of its score. The result document holds the rest (every step,
stage and cited record); ``--json`` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from seawall.cli.output import VERDICT_STYLE

if TYPE_CHECKING:
    from seawall.model.finding import Incident, IncidentEdge

_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _edge_text(edge: IncidentEdge) -> str:
    count = f"{len(edge.finding_ids)} finding{'' if len(edge.finding_ids) == 1 else 's'}"
    if edge.kind in ("account", "value"):
        shared = ""
        if edge.prevalence == 0:
            shared = ", seen with no machine of the case"
        elif edge.prevalence is not None and edge.known_hosts:
            shared = f", on {edge.prevalence} of {edge.known_hosts} machines"
        return f"{edge.kind} {edge.value} ({count}{shared})"
    inferred = ", inferred" if edge.inferred else ""
    return f"{edge.kind} {edge.source or '?'} → {edge.target or '?'} ({count}{inferred})"


def render_incident(console: Console, incident: Incident) -> None:
    style = _STYLE[incident.severity]
    verdict = incident.verdict.value
    console.print(
        f"[{style}]{incident.severity}[/] {escape(incident.title)}  score {incident.score:g}"
        f"  [{VERDICT_STYLE[verdict]}]{verdict}[/]  [dim]{incident.incident_id[:12]}[/]"
    )
    console.print(f"  {escape(incident.summary)}")
    names = []
    for identity in incident.identities:
        given = [n for n in identity.names if n.lower() != identity.host]
        said = (
            f" (as {', '.join(given)}{'; inferred' if identity.inferred else ''})" if given else ""
        )
        names.append(f"{identity.host}{said}")
    if names:
        console.print(f"  hosts: {escape('; '.join(names))}")
    if incident.users:
        console.print(f"  accounts: {escape(', '.join(incident.users))}")
    for edge in incident.edges:
        console.print(f"  ↔ {escape(_edge_text(edge))}")
    for reason in incident.reasons:
        if reason.code.startswith(("score.", "correlation.")):
            console.print(f"  · {escape(reason.text)}")
    inferred = sum(len(i.reasons) for i in incident.identities if i.inferred)
    if inferred:
        console.print(
            f"  [dim]· {inferred} identification(s) inferred from the case's entities, each"
            " citing its record (--json: identities)[/]"
        )
    if incident.parts:
        console.print(f"  [dim]· contains {len(incident.parts)} narrower incident(s)[/]")


def render_incidents(console: Console, incidents: Sequence[Incident]) -> None:
    """Every incident, strongest first (the document's order)."""
    if not incidents:
        return
    console.print(f"[bold]Incidents[/] ({len(incidents):,})")
    for incident in incidents:
        render_incident(console, incident)
