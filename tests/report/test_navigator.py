"""The ATT&CK Navigator layer, checked against the layer format 4.5 as its documentation
(``layerFormatv4_5.md`` of mitre-attack/attack-navigator) defines it: required keys, value types
and enumerations, written out here rather than trusted to the renderer."""

from __future__ import annotations

import json
import re
from typing import Any

from seawall.report.navigator import render_navigator
from tests.report.documents import HOSTILE_HOST, hostile_document

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_TACTICS = {
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
}


def _check_pairs(items: Any, where: str, value_key: str) -> None:
    """``metadata`` ({name, value} or {divider}) and ``links`` ({label, url} or {divider})."""
    assert isinstance(items, list), where
    name_key = "name" if value_key == "value" else "label"
    for item in items:
        if "divider" in item:
            assert item == {"divider": True}, where
            continue
        assert set(item) == {name_key, value_key}, where
        assert isinstance(item[name_key], str) and isinstance(item[value_key], str), where


def check_layer(layer: dict[str, Any]) -> None:
    """Raise AssertionError where ``layer`` breaks the layer format 4.5."""
    allowed = {
        "name", "versions", "domain", "description", "filters", "sorting", "layout",
        "hideDisabled", "techniques", "gradient", "legendItems", "showTacticRowBackground",
        "tacticRowBackground", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent",
        "selectVisibleTechniques", "metadata", "links",
    }  # fmt: skip
    assert set(layer) <= allowed, set(layer) - allowed
    assert isinstance(layer["name"], str) and layer["name"]
    assert layer["domain"] in ("enterprise-attack", "mobile-attack", "ics-attack")
    versions = layer["versions"]
    assert set(versions) <= {"attack", "navigator", "layer"}
    assert versions["layer"] == "4.5"
    assert re.fullmatch(r"5\.\d+\.\d+", versions["navigator"])
    assert re.fullmatch(r"\d+", versions["attack"])
    assert isinstance(layer.get("description", ""), str)
    assert layer.get("sorting", 0) in (0, 1, 2, 3)
    layout = layer.get("layout", {})
    assert layout.get("layout", "side") in ("side", "flat", "mini")
    assert layout.get("aggregateFunction", "average") in ("average", "min", "max", "sum")
    assert layout.get("expandedSubtechniques", "none") in ("none", "all", "annotated")
    for key in ("showID", "showName", "showAggregateScores", "countUnscored"):
        assert isinstance(layout.get(key, False), bool), key
    for key in (
        "hideDisabled",
        "showTacticRowBackground",
        "selectTechniquesAcrossTactics",
        "selectSubtechniquesWithParent",
        "selectVisibleTechniques",
    ):
        assert isinstance(layer.get(key, False), bool), key
    assert _COLOUR.match(layer.get("tacticRowBackground", "#dddddd"))
    gradient = layer["gradient"]
    assert set(gradient) == {"colors", "minValue", "maxValue"}
    assert len(gradient["colors"]) >= 2 and all(_COLOUR.match(c) for c in gradient["colors"])
    assert isinstance(gradient["minValue"], int | float)
    assert gradient["minValue"] < gradient["maxValue"]
    for item in layer.get("legendItems", []):
        assert set(item) == {"label", "color"} and _COLOUR.match(item["color"])
    _check_pairs(layer.get("metadata", []), "layer metadata", "value")
    _check_pairs(layer.get("links", []), "layer links", "url")
    technique_keys = {
        "techniqueID", "tactic", "comment", "enabled", "metadata", "links",
        "showSubtechniques", "score", "color",
    }  # fmt: skip
    for technique in layer["techniques"]:
        where = technique.get("techniqueID")
        assert set(technique) <= technique_keys, where
        assert isinstance(where, str) and _TECHNIQUE.match(where)
        assert technique.get("tactic", "execution") in _TACTICS, where
        score = technique.get("score")
        assert score is None or isinstance(score, int | float), where
        assert isinstance(technique.get("comment", ""), str), where
        assert isinstance(technique.get("enabled", True), bool), where
        assert isinstance(technique.get("showSubtechniques", False), bool), where
        colour = technique.get("color", "")
        assert colour == "" or _COLOUR.match(colour), where
        _check_pairs(technique.get("metadata", []), f"{where} metadata", "value")
        _check_pairs(technique.get("links", []), f"{where} links", "url")
    json.dumps(layer)  # it is plain JSON


def test_layer_follows_the_format_and_scores_detected_techniques() -> None:
    layer = render_navigator(hostile_document())
    check_layer(layer)
    assert layer["versions"] == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    # detected: score is the strongest open finding, the comment names detection and counts
    assert by_id["T1505.003"]["score"] == 95
    assert by_id["T1505.003"]["comment"] == "web.webshell: 1 finding(s) on 1 host(s)"
    assert by_id["T1059.001"]["score"] == 75
    hosts = {m["name"]: m["value"] for m in by_id["T1059.001"]["metadata"]}["hosts"]
    assert hosts == HOSTILE_HOST  # JSON carries the text as it is
    # a pack technique evaluated and clean: score 0, its own colour, and why
    assert by_id["T1204.002"]["score"] == 0
    assert by_id["T1204.002"]["comment"].startswith("evaluated, clean")
    # only suppressed findings: evaluated, not detected
    assert by_id.get("T1087.002", {}).get("score", 0) == 0
    # techniques nothing looked for are not in the layer
    assert "T1566.001" not in by_id
    incomplete = {m["name"]: m["value"] for m in layer["metadata"]}["incomplete"]
    assert "net.admin-share-mapping" in incomplete


def test_layer_without_a_pack_keeps_what_the_hunt_evaluated() -> None:
    document = hostile_document().model_copy(update={"pack": None})
    layer = render_navigator(document)
    check_layer(layer)
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert by_id["T1003.001"]["comment"].startswith("not evaluable")
    assert by_id["T1505.003"]["score"] == 95
    assert layer["name"] == "seawall hunt"
