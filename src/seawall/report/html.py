"""The HTML report: one self-contained, offline file.

Everything is inline — the CSS, a few lines of script, the timeline as SVG — and a
Content-Security-Policy in the page forbids every load from anywhere (``default-src 'none'``) and
lets run only the report's own style and script, by hash. Evidence is hostile by nature (command
lines, URLs, file names an attacker chose): Jinja2's autoescape writes it as text, and no such
string is ever put in a link, a style or a script, so a ``<script>`` or ``javascript:`` in a
finding is shown, never run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from seawall.intel.packs.schema import Pack
from seawall.model.finding import ResultDocument
from seawall.report.chart import build_timeline
from seawall.report.matrix import STATE_LABELS, STATES, build_matrix, pack_of
from seawall.report.view import DocumentView, FindingView, build_view, natural_key

# Long values (a script block, a base64 blob) are cut in the page; the JSON report has them whole.
MAX_VALUE_CHARS = 2_000
MAX_EVIDENCE = 50
# Records an aggregated evidence row cites, shown per row (a burst may cite thousands).
MAX_RECORDS = 20
HOST_TABLE_ROWS = 200
# Rows of the summary's by-detection and by-host tables (the rest are counted).
SUMMARY_ROWS = 12


def _asset(name: str) -> str:
    return (resources.files("seawall.report") / "templates" / name).read_text(encoding="utf-8")


def _hash_source(text: str) -> str:
    """The CSP source expression that allows exactly this inline style or script."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _ts(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def _num(value: float) -> str:
    return f"{value:g}"


def _clip(text: object, limit: int = MAX_VALUE_CHARS) -> str:
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _short(text: object, limit: int) -> str:
    """A label cut to ``limit`` characters (the whole text is elsewhere in the page)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(value: Any) -> str:
    """An evidence value as text: JSON for lists and objects, cut when very long."""
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _clip(text)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("seawall.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ts=_ts, num=_num, clip=_clip, short=_short, value=_value)
    return env


def render_html(document: ResultDocument, *, pack: Pack | None = None) -> str:
    """The whole report as one HTML page; ``pack`` defaults to the shipped pack the document
    names (a pack that cannot be loaded is said in the page, and the matrix shows the hunt's
    own techniques)."""
    view = build_view(document)
    return render_view(view, pack=pack if pack is not None else pack_of(view))


def _by_time(finding: FindingView) -> tuple[bool, str, str]:
    return (finding.when is None, _ts(finding.when), finding.id)


def render_view(view: DocumentView, *, pack: Pack | None = None) -> str:
    """Render an already built view (tests add incidents to one before rendering)."""
    matrix = build_matrix(view, pack)
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        f"default-src 'none'; style-src {_hash_source(css)}; script-src {_hash_source(js)};"
        " img-src data:; base-uri 'none'; form-action 'none'"
    )
    open_findings = view.open
    detections = Counter((f.detection_id, f.title) for f in open_findings)
    hosts: dict[str, list[FindingView]] = {}
    for finding in sorted(view.findings, key=_by_time):
        hosts.setdefault(finding.host_name, []).append(finding)
    host_counts = Counter(f.host_name for f in open_findings)
    ordered = sorted(view.findings, key=lambda f: (f.dismissed, -f.score, f.detection_id, f.id))
    statuses = Counter(c.status for c in view.coverage)
    template = _environment().get_template("report.html.j2")
    return template.render(
        view=view,
        pack=pack,
        matrix=matrix,
        states=STATES,
        labels=STATE_LABELS,
        timeline=build_timeline(view.findings),
        incidents=[(i, build_timeline(i.findings)) for i in view.incidents],
        findings=ordered,
        by_detection=[(d, t, n) for (d, t), n in detections.most_common()],
        by_host=sorted(host_counts.items(), key=lambda item: (-item[1], natural_key(item[0]))),
        hosts=sorted(hosts.items(), key=lambda item: natural_key(item[0])),
        host_anchor={host: f"h-{index}" for index, host in enumerate(hosts)},
        coverage_counts=sorted(statuses.items()),
        host_limit=HOST_TABLE_ROWS,
        top=SUMMARY_ROWS,
        evidence_limit=MAX_EVIDENCE,
        record_limit=MAX_RECORDS,
        css=Markup(css),  # the report's own files, hashed into the CSP above
        js=Markup(js),
        csp=csp,
    )
