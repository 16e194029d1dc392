"""The report command's entry point: every format renders, and what it needs is asked for."""

from __future__ import annotations

import json

import pytest

from seawall.errors import UsageError
from seawall.model.finding import Evidence, IndicatorRef, IndicatorSource
from seawall.report.formats import FORMATS, render
from tests.report.documents import hostile_document


def test_every_format_renders() -> None:
    document = hostile_document()
    assert render(document, "html").text.startswith("<!DOCTYPE html>")
    layer = json.loads(render(document, "navigator").text)
    assert layer["versions"]["layer"] == "4.5"
    stix = render(document, "stix", identity="SOC")
    assert json.loads(stix.text)["type"] == "bundle" and stix.warnings == []
    assert {"html", "navigator", "stix"} <= set(FORMATS)


def test_stix_needs_an_identity_and_says_what_it_left_out() -> None:
    document = hostile_document()
    with pytest.raises(UsageError, match="--identity"):
        render(document, "stix")
    with pytest.raises(UsageError, match="unknown report format"):
        render(document, "pdf")
    feed = IndicatorRef(
        type="domain", value="bad.test", sources=[IndicatorSource(source="f.txt", source_id="t")]
    )
    finding = document.findings[0].model_copy(
        update={"evidence": [Evidence(row={"query": "bad.test"}, indicator=feed)]}
    )
    rendered = render(document.model_copy(update={"findings": [finding]}), "stix", identity="SOC")
    assert rendered.warnings == [
        "1 indicator match(es) have no STIX indicator id among their sources and are not in"
        " the bundle: web.webshell: bad.test"
    ]
