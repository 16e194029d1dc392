"""The geometry of the timeline chart: findings over time, one row per host.

The chart is plain SVG that the template writes (and escapes); this module only computes
positions, so the HTML report needs no charting library and loads nothing. A finding with a time
span is a bar from its first to its last sighting, an instant is a dot; undated findings (a file
on disk has no event time) are counted under the chart rather than placed at a made-up time.

A few findings far from the rest (a baseline event months before the intrusion) would squash
everything else into one pixel column, so the axis spans the findings between the 5th and the 95th
percentile (at least two at each end, of ten findings or more), widened to the findings close to
them, when that is under half of the whole; the ones outside are drawn as arrowheads at the edge
they lie beyond, with their real time in their tooltip, and counted under the chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seawall.report.view import FindingView, natural_key

WIDTH = 1100
LABEL_WIDTH = 190
ROW_HEIGHT = 22
TOP = 28
BOTTOM = 34
_TICKS = 6
# Per host row, at most this many marks are drawn: beyond it they overlap anyway, and 5,000
# findings on one host would make the page heavy for nothing (the count is shown).
MAX_MARKS_PER_HOST = 2_000


@dataclass(frozen=True, slots=True)
class Mark:
    x1: float
    x2: float
    y: float
    severity: str
    tip: str
    anchor: str
    outside: str = ""
    """``before`` or ``after`` the axis's window (drawn at its edge), else empty."""

    @property
    def is_span(self) -> bool:
        return self.x2 - self.x1 >= 2


@dataclass(frozen=True, slots=True)
class Row:
    host: str
    y: float
    count: int
    drawn: int


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    left: int
    right: int
    rows: tuple[Row, ...]
    marks: tuple[Mark, ...]
    ticks: tuple[Tick, ...]
    undated: int
    start: datetime | None
    end: datetime | None
    before: int = 0
    after: int = 0
    """Findings wholly before or after the axis's window (see the module docstring)."""


def _label(moment: datetime, span: timedelta) -> str:
    if span >= timedelta(days=10):
        return moment.strftime("%Y-%m-%d")
    if span >= timedelta(hours=6):
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S")


def build_timeline(findings: tuple[FindingView, ...]) -> Timeline:
    """Place every dated finding; the time axis spans the earliest to the latest sighting."""
    dated = [f for f in findings if f.when is not None]
    hosts = sorted({f.host_name for f in dated}, key=natural_key)
    right = WIDTH - 50  # room for the last tick's label
    height = TOP + ROW_HEIGHT * max(len(hosts), 1) + BOTTOM
    if not dated:
        return Timeline(WIDTH, height, LABEL_WIDTH, right, (), (), (), len(findings), None, None)
    start, end = _window(dated)
    span = end - start
    seconds = span.total_seconds() or 1.0
    scale = (right - LABEL_WIDTH) / seconds

    def x(moment: datetime) -> float:
        moment = min(max(moment, start), end)
        return round(LABEL_WIDTH + (moment - start).total_seconds() * scale, 1)

    rows: list[Row] = []
    marks: list[Mark] = []
    for index, host in enumerate(hosts):
        y = TOP + ROW_HEIGHT * index + ROW_HEIGHT / 2
        mine = sorted((f for f in dated if f.host_name == host), key=lambda f: (-f.score, f.id))
        drawn = mine[:MAX_MARKS_PER_HOST]
        rows.append(Row(host, y, len(mine), len(drawn)))
        for finding in drawn:
            first = finding.when
            assert first is not None
            last = max(finding.last_seen or first, first)
            outside = "before" if last < start else "after" if first > end else ""
            when = first.strftime("%Y-%m-%d %H:%M:%SZ")
            tip = f"{when} · {finding.severity} {finding.score:g} · {finding.title}: "
            tip += finding.summary
            mark = Mark(x(first), x(last), y, finding.severity, tip[:300], finding.anchor, outside)
            marks.append(mark)
    marks.sort(key=lambda m: m.x1)
    ticks = tuple(
        Tick(
            x(start + span * (i / (_TICKS - 1))),
            _label(start + span * (i / (_TICKS - 1)), span),
        )
        for i in range(_TICKS if span else 1)
    )
    return Timeline(
        WIDTH,
        height,
        LABEL_WIDTH,
        right,
        tuple(rows),
        tuple(marks),
        ticks,
        len(findings) - len(dated),
        start,
        end,
        sum(1 for m in marks if m.outside == "before"),
        sum(1 for m in marks if m.outside == "after"),
    )


def _window(dated: list[FindingView]) -> tuple[datetime, datetime]:
    """The axis's span: all findings, or the 5th–95th percentile when that is much narrower."""
    starts = sorted(f.when for f in dated if f.when is not None)
    ends = sorted(max(f.last_seen or f.when, f.when) for f in dated if f.when is not None)
    whole = (starts[0], ends[-1])
    if len(starts) < 10:
        return whole
    cut = max(2, len(starts) * 5 // 100)
    inner = (starts[cut], ends[-1 - cut])
    reach = (inner[1] - inner[0]) / 2
    # the findings the percentiles left out but that lie close to the rest are kept in
    low = min(t for t in starts if t >= inner[0] - reach)
    high = max(t for t in ends if t <= inner[1] + reach)
    if high <= low or (high - low) * 2 > whole[1] - whole[0]:
        return whole
    pad = (high - low) * 0.02
    return low - pad, high + pad
