"""The hunt's text view names hosts as the incidents identified them."""

from __future__ import annotations

from rich.console import Console

from seawall.cli.hunt_view import render_hunt
from seawall.model.finding import HostIdentity
from tests.report.documents import hostile_document


def test_findings_read_under_the_identified_host_with_the_given_name() -> None:
    document = hostile_document()
    (incident,) = document.incidents
    first = document.findings[0]
    assert first.host is not None
    identity = HostIdentity(host="web01.corp.example", names=[first.host], inferred=True)
    told = incident.model_copy(update={"identities": [identity]})
    console = Console(width=200, record=True, color_system=None)
    render_hunt(console, document.model_copy(update={"incidents": [told]}))
    text = console.export_text()
    assert f"{first.detection_id} on web01.corp.example (as {first.host})" in text
    touched = next(line for line in text.splitlines() if "touched:" in line)
    assert "web01.corp.example (" in touched and f"{first.host} (" not in touched
