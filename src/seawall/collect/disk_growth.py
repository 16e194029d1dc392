"""Run the ``host.disk-growth`` detection's SQL directly, until the detection engine exists.

The detection is data (``detect/detections/host.disk-growth.yml``); this helper only loads it and
runs its ``sql`` with its default parameters overridden by the caller's, so the SQL can be tested
(and used) on a case now. The engine will replace it; it deliberately adds no logic of its own.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from seawall.case.store import CaseStore
from seawall.errors import UsageError

DETECTION_ID = "host.disk-growth"


def load_detection() -> dict[str, Any]:
    text = (
        resources.files("seawall.detect")
        .joinpath("detections", f"{DETECTION_ID}.yml")
        .read_text(encoding="utf-8")
    )
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise TypeError(f"{DETECTION_ID}.yml is not a mapping")
    return document


def run_growth_query(
    store: CaseStore, parameters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Findings of ``host.disk-growth`` on the case, one dict per flagged change."""
    detection = load_detection()
    values: dict[str, Any] = dict(detection["parameters"])
    unknown = sorted(set(parameters or {}) - set(values))
    if unknown:
        raise UsageError(f"{DETECTION_ID} has no parameter(s) {', '.join(unknown)}")
    values.update(parameters or {})
    store.con.complete()
    result = store.con.execute(detection["sql"], values)
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
