"""An ATT&CK Navigator layer (layer format 4.5, Navigator 5.x) of what the hunt found.

Each detected technique is scored with its strongest open finding (0–100, the finding's score)
and coloured on a white-to-red gradient; its comment names the detections and how many findings
and hosts each has, and its metadata lists them for the Navigator's side panel. Pack techniques
that the hunt evaluated and found clean are included with score 0 and a green colour, those it
could not evaluate in amber, so the layer shows what was looked for, not only what was found.
Techniques no detection of the hunt looked for are left out (an empty cell says the same).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from seawall.intel.attack import CURRENT_VERSION
from seawall.intel.packs.schema import Pack
from seawall.model.finding import ResultDocument
from seawall.report.matrix import (
    CLEAN,
    DETECTED,
    NOT_EVALUABLE,
    TechniqueCell,
    build_matrix,
    pack_of,
)
from seawall.report.view import DocumentView, build_view

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
DOMAIN = "enterprise-attack"
GRADIENT = ["#ffffffff", "#ff6666ff"]
CLEAN_COLOUR = "#8ec843"
NOT_EVALUABLE_COLOUR = "#f5c542"
_MAX_COMMENT_DETECTIONS = 20


def render_navigator(document: ResultDocument, *, pack: Pack | None = None) -> dict[str, Any]:
    """The layer as a JSON-ready dict (``json.dumps`` it: the Navigator opens that file)."""
    view = build_view(document)
    return navigator_layer(view, pack if pack is not None else pack_of(view))


def navigator_layer(view: DocumentView, pack: Pack | None) -> dict[str, Any]:
    matrix = build_matrix(view, pack)
    techniques: list[dict[str, Any]] = []
    for cell in sorted(matrix.cells.values(), key=lambda c: c.id):
        if cell.state == DETECTED:
            techniques.append(_detected(cell))
        elif cell.state in (CLEAN, NOT_EVALUABLE) and (cell.in_pack or pack is None):
            techniques.append(_evaluated(cell))
    title = f"seawall {pack.advisory_id}" if pack is not None else "seawall hunt"
    description = (
        f"Techniques seawall detected in case {view.case} (hunt {view.run_id}, finished"
        f" {view.finished.isoformat()}); score = the strongest open finding (0-100)."
    )
    metadata = [
        {"name": "seawall version", "value": view.seawall_version},
        {"name": "hunt run", "value": view.run_id},
        {"name": "case", "value": view.case},
        {"name": "open findings", "value": str(len(view.open))},
    ]
    if view.pack is not None:
        metadata.append({"name": "pack", "value": view.pack.id})
    if view.incomplete:
        metadata.append(
            {
                "name": "incomplete",
                "value": ", ".join(c.detection_id for c in view.incomplete)
                + " could not judge all of their input",
            }
        )
    return {
        "name": title,
        "versions": {
            "attack": CURRENT_VERSION.split(".")[0],
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": DOMAIN,
        "description": description,
        "sorting": 3,  # by score, descending
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": True,
            "showName": True,
            "showAggregateScores": False,
            "countUnscored": False,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": GRADIENT, "minValue": 0, "maxValue": 100},
        "legendItems": [
            {"label": "detected (score = strongest finding)", "color": GRADIENT[1][:7]},
            {"label": "evaluated, clean", "color": CLEAN_COLOUR},
            {
                "label": "not evaluable (telemetry missing, partial)",
                "color": NOT_EVALUABLE_COLOUR,
            },
        ],
        "metadata": metadata,
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _comment(cell: TechniqueCell) -> str:
    by_detection = Counter(f.detection_id for f in cell.findings)
    hosts: dict[str, set[str]] = {}
    for finding in cell.findings:
        hosts.setdefault(finding.detection_id, set()).add(finding.host_name)
    parts = [
        f"{detection}: {count} finding(s) on {len(hosts[detection])} host(s)"
        for detection, count in by_detection.most_common(_MAX_COMMENT_DETECTIONS)
    ]
    if len(by_detection) > _MAX_COMMENT_DETECTIONS:
        parts.append(f"and {len(by_detection) - _MAX_COMMENT_DETECTIONS} more detection(s)")
    if cell.dismissed:
        parts.append(f"{cell.dismissed} dismissed (suppressed or reviewed benign)")
    return "; ".join(parts)


def _detected(cell: TechniqueCell) -> dict[str, Any]:
    hosts = sorted({f.host_name for f in cell.findings})
    metadata = [
        {"name": "findings", "value": str(len(cell.findings))},
        {"name": "hosts", "value": ", ".join(hosts[:20]) + (" …" if len(hosts) > 20 else "")},
        {"name": "detections", "value": ", ".join(sorted({f.detection_id for f in cell.findings}))},
    ]
    return {
        "techniqueID": cell.id,
        "score": round(cell.max_score, 1),
        "comment": _comment(cell),
        "enabled": True,
        "metadata": metadata,
        "links": [],
        "showSubtechniques": False,
    }


def _evaluated(cell: TechniqueCell) -> dict[str, Any]:
    clean = cell.state == CLEAN
    return {
        "techniqueID": cell.id,
        "score": 0,
        "color": CLEAN_COLOUR if clean else NOT_EVALUABLE_COLOUR,
        "comment": ("evaluated, clean: " if clean else "not evaluable: ") + cell.detail,
        "enabled": True,
        "metadata": [{"name": "detections", "value": ", ".join(cell.detections)}],
        "links": [],
        "showSubtechniques": False,
    }
