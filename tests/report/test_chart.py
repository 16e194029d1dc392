"""The timeline's geometry: every dated finding placed, undated ones counted, and a few far-off
findings kept from squashing the rest."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from seawall.report.chart import LABEL_WIDTH, build_timeline
from seawall.report.view import build_view
from tests.report.documents import START, hostile_document


def test_marks_rows_and_undated() -> None:
    view = build_view(hostile_document())
    chart = build_timeline(view.findings)
    assert [r.host for r in chart.rows] == ["<img src=x onerror=alert(4)>", "web01", "ws1"]
    assert len(chart.marks) == 4 and chart.undated == 1
    assert chart.start == START + timedelta(minutes=5)
    assert min(m.x1 for m in chart.marks) == LABEL_WIDTH
    spans = [m for m in chart.marks if m.is_span]
    assert len(spans) == 2  # the two findings with a first and a later last sighting
    assert chart.before == chart.after == 0


def test_far_off_findings_do_not_squash_the_rest() -> None:
    view = build_view(hostile_document())
    dns = view.findings[2]
    near = [
        replace(dns, id=f"n{i}", first_seen=START + timedelta(hours=i), last_seen=None)
        for i in range(30)
    ]
    far = [
        replace(dns, id=f"f{i}", first_seen=START - timedelta(days=300), last_seen=None)
        for i in range(2)
    ]
    chart = build_timeline(tuple(near + far))
    assert chart.before == 2 and chart.after == 0
    assert chart.start is not None and chart.start > START - timedelta(days=1)
    outside = [m for m in chart.marks if m.outside]
    assert len(outside) == 2 and all(m.x1 == LABEL_WIDTH for m in outside)
    assert all("2020-" in m.tip for m in outside)  # the real time is in the tooltip
    inside = sorted(m.x1 for m in chart.marks if not m.outside)
    assert inside[-1] - inside[0] > 500  # the 30 near ones spread over the axis
