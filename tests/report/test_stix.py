"""The STIX 2.1 bundle of sightings: original indicator ids, observed data, the reporting
identity, deterministic ids, and zero errors from the OASIS validator (strict: its SHOULDs too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from seawall.report.stix import render_stix, stix_indicator_id, stix_report
from seawall.report.view import build_view
from tests.report.documents import STIX1_ID, STIX2_ID, hostile_document
from tests.report.real_case import DOMAIN_INDICATOR, IP_INDICATOR, real_document


def _errors(bundle: dict[str, Any]) -> list[str]:
    result = validate_instance(bundle, ValidationOptions(version="2.1", strict=True))
    return [str(e) for e in result.errors] + [str(w) for w in result.warnings]


def _objects(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def test_original_ids() -> None:
    assert stix_indicator_id(STIX2_ID) == STIX2_ID
    assert stix_indicator_id(STIX2_ID.upper().replace("INDICATOR", "indicator")) == STIX2_ID
    assert stix_indicator_id(STIX1_ID) == "indicator--75101c8b-09a8-4f6b-8ec8-4c85e8593272"
    # an observed-data id, a MISP uuid, a STIX 1 observable and nothing are not indicators
    assert stix_indicator_id("observed-data--09e4a68c-2474-406e-b69a-475ba2dc6c9c") is None
    assert stix_indicator_id("09e4a68c-2474-406e-b69a-475ba2dc6c9c") is None
    assert stix_indicator_id("CISA:Observable-f20973c8-39a2-4214-b90f-4ea59b5ad0a2") is None
    assert stix_indicator_id(None) is None


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return real_document(tmp_path_factory.mktemp("stix"))


def test_real_case_bundle_is_valid_and_cites_the_imported_indicators(real: Any) -> None:
    bundle = render_stix(real, identity="Example Water Utility SOC")
    assert _errors(bundle) == []
    sightings = _objects(bundle, "sighting")
    cited = {s["sighting_of_ref"] for s in sightings}
    # the STIX 2.1 file's own ids, and the STIX 1.2 file's ids as the elevator converts them
    assert {DOMAIN_INDICATOR, IP_INDICATOR} <= cited
    assert any(ref.startswith("indicator--") and ref not in {DOMAIN_INDICATOR} for ref in cited)
    xml_ids = {
        stix_indicator_id(s.external_id)
        for f in real.findings
        for e in f.evidence
        if e.indicator is not None
        for s in e.indicator.sources
        if s.external_id and s.external_id.startswith("CISA:")
    }
    assert xml_ids and xml_ids <= cited
    identity = _objects(bundle, "identity")
    assert [i["name"] for i in identity] == ["Example Water Utility SOC"]
    observed = {o["id"]: o for o in _objects(bundle, "observed-data")}
    scos = {o["id"]: o for o in bundle["objects"] if o["type"] in ("domain-name", "ipv4-addr")}
    for sighting in sightings:
        assert sighting["where_sighted_refs"] == [identity[0]["id"]]
        assert sighting["created_by_ref"] == identity[0]["id"]
        assert sighting["first_seen"] <= sighting["last_seen"]
        for ref in sighting["observed_data_refs"]:
            data = observed[ref]
            assert data["number_observed"] == sighting["count"]
            assert all(r in scos for r in data["object_refs"])
    # the domain sighting shows the name asked (a sub-domain of the indicator), the address
    # sighting the answer that matched
    values = {scos[r]["value"] for o in observed.values() for r in o["object_refs"]}
    assert {"i.mailnalysis.com", "mailnalysis.com", "193.238.152.66"} <= values
    # the parent domain's indicator was seen in two queries (two records), the address once
    counts = {s["sighting_of_ref"]: s["count"] for s in sightings}
    assert counts[DOMAIN_INDICATOR] == 2 and counts[IP_INDICATOR] == 1


def test_rendering_again_gives_the_same_bundle(real: Any) -> None:
    first = json.dumps(render_stix(real, identity="SOC"), sort_keys=True)
    assert json.dumps(render_stix(real, identity="SOC"), sort_keys=True) == first
    other = json.dumps(render_stix(real, identity="Another SOC"), sort_keys=True)
    assert other != first


def test_matches_without_stix_ids_are_reported_not_dropped() -> None:
    report = stix_report(build_view(hostile_document()), identity="SOC")
    assert _errors(report.bundle) == []
    assert report.sightings == 2  # the STIX 2 and the STIX 1 source of mailnalysis.com
    refs = {s["sighting_of_ref"] for s in _objects(report.bundle, "sighting")}
    assert refs == {STIX2_ID, "indicator--75101c8b-09a8-4f6b-8ec8-4c85e8593272"}
    # hostile text stays in the JSON as it was (escaping is for HTML)
    assert report.unsightable == []
    with pytest.raises(ValueError, match="name"):
        stix_report(build_view(hostile_document()), identity="  ")


def test_hash_matches_become_files_with_every_hash(tmp_path: Path) -> None:
    from seawall.model.finding import (
        Evidence,
        Finding,
        IndicatorRef,
        IndicatorSource,
        Provenance,
    )

    base = hostile_document()
    md5 = "b71745c9f6c3f461bd89bfd0589746e1"
    row: dict[str, Any] = {
        "name": "putty.exe",
        "md5": md5,
        "sha256": "ab" * 32,
        "size": 1_234,
        "path": "C:\\PerfLogs\\putty.exe",
    }
    sources = [IndicatorSource(source="a.json", source_id="s", external_id=STIX2_ID)]
    feed = [IndicatorSource(source="feed.txt", source_id="t")]
    finding = Finding(
        finding_id="f1",
        detection_id="ioc.file-hash",
        title="File hash matches an indicator",
        summary="putty.exe in C:\\PerfLogs",
        severity="high",
        score=80,
        host="ws1",
        evidence=[
            Evidence(
                row=row,
                provenance=Provenance(source_file="sweep", record_ref="1"),
                indicator=IndicatorRef(type="md5", value=md5, sources=sources),
            ),
            Evidence(
                row={"mutex": "x"},
                indicator=IndicatorRef(type="mutex", value="x", sources=sources),
            ),
            Evidence(
                row={"q": "y"},
                indicator=IndicatorRef(type="domain", value="y.test", sources=feed),
            ),
        ],
    )
    document = base.model_copy(update={"findings": [finding]})
    report = stix_report(build_view(document), identity="SOC")
    assert _errors(report.bundle) == []
    files = _objects(report.bundle, "file")
    assert files == [
        {
            "type": "file",
            "spec_version": "2.1",
            "id": files[0]["id"],
            "hashes": {"MD5": md5, "SHA-256": "ab" * 32},
            "size": 1_234,
            "name": "putty.exe",
        }
    ]
    assert sorted(report.unsightable) == ["ioc.file-hash: x", "ioc.file-hash: y.test"]
