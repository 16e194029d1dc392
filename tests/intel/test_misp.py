"""MISP event reader: our own realistic event fixture, the export/API shapes, hostile JSON."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from seawall.errors import BadInputError
from seawall.intel import misp
from seawall.model.indicator import IndicatorType as T
from seawall.model.indicator import IntelDocument, RawIndicator
from tests.conftest import TEST_DATA

FIXTURE = TEST_DATA / "misp" / "plugx-loader-event.json"


def _event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(FIXTURE.read_bytes())
    return event


def _read(document: Any, origin: str = "event.json") -> IntelDocument:
    return misp.read(json.dumps(document).encode(), origin)


def _by_value(doc: IntelDocument) -> dict[str, RawIndicator]:
    return {raw.value: raw for raw in doc.indicators}


def test_fixture_event_attribute_types() -> None:
    doc = misp.read(FIXTURE.read_bytes(), FIXTURE.name)
    assert doc.format == "misp"
    assert (
        doc.title
        == "Spear-phishing campaign side-loading a PlugX-style loader (seawall test fixture)"
    )
    assert doc.producer == "seawall-tests"
    assert [(raw.type, raw.value) for raw in doc.indicators] == [
        (T.MD5, "0f3c5e2a4b6d8f1a3c5e7b9d2f4a6c8e"),
        (T.SHA256, "9b2e4f6a8c1d3e5f7a9b2c4d6e8f1a3b5c7d9e2f4a6b8c1d3e5f7a9b2c4d6e8f"),
        (T.FILE_PATH, "C:\\ProgramData\\Intel\\igfxtray.exe"),  # filename|sha1, with a path
        (T.SHA1, "3c5e7a9b1d2f4a6c8e0b2d4f6a8c1e3b5d7f9a2c"),
        (T.DOMAIN, "update-check.example.net"),
        (T.IPV4, "203.0.113.77"),  # ip-dst|port: the port is not an indicator
        (T.DOMAIN, "cdn-sync.example.org"),  # domain|ip: two indicators
        (T.IPV4, "198.51.100.23"),
        (T.URL, "hxxps://cdn-sync.example[.]org/api/v2/telemetry"),  # refanging is not ours
        (T.EMAIL, "hr-benefits@mail.example.com"),
        (T.EMAIL_SUBJECT, "Updated 2026 benefits enrolment form"),
        (T.MUTEX, "Global\\{8F6F0AC4-B9A1-45fd-A8CF-72F04E6BDE8F}"),
        (T.REGISTRY, "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\IntelTray"),
        (T.CVE, "CVE-2023-38831"),
        (T.CIDR, "192.0.2.0/24"),
        (T.DOMAIN, "vpn-gw.example.net"),  # hostname
        (T.FILE_NAME, "igfxtray.dll"),
        # The "file" object's attributes (its size-in-bytes is not an indicator).
        (T.FILE_NAME, "msupdate.dat"),
        (T.MD5, "7c4a8d09ca3762af61e59520943dc264"),
        (T.SHA256, "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"),
    ]


def test_fixture_event_warnings_name_the_records() -> None:
    doc = misp.read(FIXTURE.read_bytes(), FIXTURE.name)
    warnings = [(w.location, w.message) for w in doc.warnings]
    # The attribute with an unknown category; the comment, link, threat-actor and deleted
    # attributes are skipped without a word; unmapped IOC types are one warning per type.
    assert warnings == [
        (
            f"{FIXTURE.name}:{_uuid_of('sha1')}",
            "attribute cannot be read: unknown MISP vocabulary value 'No Such Category': skipped",
        ),
        (
            f"{FIXTURE.name}:{_uuid_of('uri')}",
            "2 attribute(s) of MISP type 'uri' not read: seawall has no indicator type for it",
        ),
        (
            f"{FIXTURE.name}:{_uuid_of('ja3-fingerprint-md5')}",
            "1 attribute(s) of MISP type 'ja3-fingerprint-md5' not read: "
            "seawall has no indicator type for it",
        ),
    ]


def _uuid_of(misp_type: str) -> str:
    """The uuid of the fixture's first attribute of ``misp_type``."""
    return str(next(a["uuid"] for a in _event()["Event"]["Attribute"] if a["type"] == misp_type))


def test_fixture_event_confidence_tags_techniques_and_times() -> None:
    doc = misp.read(FIXTURE.read_bytes(), FIXTURE.name)
    raw = _by_value(doc)
    event_techniques = ("T1566.001", "T1574.002")  # event tag + event galaxy cluster
    assert doc.techniques == sorted(event_techniques)
    md5 = raw["0f3c5e2a4b6d8f1a3c5e7b9d2f4a6c8e"]
    assert md5.confidence == 85  # threat_level_id 1
    assert md5.techniques == event_techniques
    assert md5.tags == ("tlp:clear", "actor:APT40")
    assert md5.description == "loader DLL (sideloaded)"
    assert md5.title == doc.title
    assert md5.external_id is not None and md5.location == f"{FIXTURE.name}:{md5.external_id}"
    assert md5.first_seen == md5.last_seen == datetime(2026, 3, 2, 14, 1)  # epoch timestamp
    assert md5.context["category"] == "Payload delivery"
    # Attribute-level galaxy tags add techniques; ICS ids become tags.
    assert raw["update-check.example.net"].techniques == (*event_techniques, "T1071.001")
    assert "attack-ics:T0883" in raw["vpn-gw.example.net"].tags
    assert raw["vpn-gw.example.net"].techniques == event_techniques
    # to_ids false: kept, tagged, and trusted less.
    cve = raw["CVE-2023-38831"]
    assert cve.confidence == 30
    assert "to_ids:false" in cve.tags
    assert cve.context["to_ids"] is False
    # Explicit first_seen / last_seen win over the attribute timestamp.
    dll = raw["igfxtray.dll"]
    assert (dll.first_seen, dll.last_seen) == (
        datetime(2026, 2, 10, 8, 15),
        datetime(2026, 2, 27, 17, 40),
    )
    # Object attributes: the object's first_seen and comment, and where they came from.
    payload = raw["msupdate.dat"]
    assert payload.first_seen == datetime(2026, 2, 11, 9)
    assert payload.description == "encrypted payload loaded by igfxtray.dll"
    assert payload.context["misp_object"] == "file"
    assert payload.context["object_relation"] == "filename"


@pytest.mark.parametrize(
    ("level", "confidence"),
    [("1", 85), ("2", 60), ("3", 40), ("4", None)],
)
def test_threat_level_sets_base_confidence(level: str, confidence: int | None) -> None:
    event = _event()
    event["Event"]["threat_level_id"] = level
    raw = _by_value(_read(event))
    assert raw["0f3c5e2a4b6d8f1a3c5e7b9d2f4a6c8e"].confidence == confidence
    assert raw["CVE-2023-38831"].confidence == 30  # to_ids false caps it in any case


def test_bare_event_response_and_list_shapes() -> None:
    wrapped = _event()
    bare = copy.deepcopy(wrapped["Event"])
    expected = len(misp.read(FIXTURE.read_bytes(), "x").indicators)
    assert len(_read(bare).indicators) == expected
    second = copy.deepcopy(wrapped)
    second["Event"]["info"] = "Second event"
    second["Event"]["Attribute"] = [{"type": "domain", "value": "second.example", "to_ids": True}]
    second["Event"]["Object"] = []
    for shape in ({"response": [wrapped, second]}, [wrapped, second]):
        doc = _read(shape, "search.json")
        assert len(doc.indicators) == expected + 1
        assert doc.title == wrapped["Event"]["info"]  # the first event's
        last = doc.indicators[-1]
        assert (last.type, last.value, last.title) == (T.DOMAIN, "second.example", "Second event")
        # No uuid in the file: located by position, never by a uuid PyMISP would invent.
        assert last.location == "search.json:Event[1]/Attribute[0]"


def test_broken_event_in_a_list_is_a_warning() -> None:
    broken = {"Event": {"info": "bad", "threat_level_id": "9", "Attribute": []}}
    good = {"Event": {"info": "good", "Attribute": [{"type": "mutex", "value": "m1"}]}}
    doc = _read([broken, good], "two.json")
    assert [(raw.type, raw.value) for raw in doc.indicators] == [(T.MUTEX, "m1")]
    assert doc.warnings[0].location == "two.json:Event[0]"
    assert "threat_level_id" in doc.warnings[0].message


def test_malformed_attributes_are_warnings() -> None:
    event = {
        "Event": {
            "info": "malformed",
            "Attribute": [
                "not an object",
                {"type": "no-such-type", "value": "x"},
                {"type": "md5"},
                {"type": "domain|ip", "value": "no-separator.example"},
                {"type": "filename|sha224", "value": "a.exe|abcd"},
                {"type": "sha1", "value": "6e1a9c0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c"},
            ],
        }
    }
    doc = _read(event, "bad.json")
    assert [(raw.type, raw.value) for raw in doc.indicators] == [
        (T.FILE_NAME, "a.exe"),
        (T.SHA1, "6e1a9c0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c"),
    ]
    messages = [(w.location, w.message) for w in doc.warnings]
    assert messages[0] == ("bad.json/Attribute[0]", "not a MISP attribute: skipped")
    assert messages[1][0] == "bad.json/Attribute[1]"
    assert "no-such-type is invalid" in messages[1][1] and len(messages[1][1]) < 250
    assert "value of the attribute is required" in messages[2][1]
    assert "has no '|' separator" in messages[3][1]
    assert "'filename|sha224 (hash part)'" in messages[4][1]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"Event": {"info": "x", "Attribute": [\n{"type": "md5",', "line 2"),
        (b'{"Event": {"info": "\xc3\x28"}}', "byte offset 20"),
        (b'{"type": "bundle", "id": "bundle--1", "objects": []}', "not a MISP event"),
        (b"[]", "not a MISP event"),
        (b'"just a string"', "not a MISP event"),
        (b'{"response": [{"Event": {"Attribute": []}}]}', "not a MISP event"),
        (b"[" * 100_000, "nested too deeply"),
    ],
    ids=["truncated", "utf8", "stix", "empty-list", "string", "no-info", "deep"],
)
def test_hostile_or_foreign_json_is_bad_input(data: bytes, expected: str) -> None:
    with pytest.raises(BadInputError) as caught:
        misp.read(data, "hostile.json")
    assert expected in str(caught.value)
