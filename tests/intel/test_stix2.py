"""STIX 2.0/2.1 reader: CISA's bundles, MITRE's STIX 2.0, hand-made bundles and hostile JSON."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from seawall.errors import BadInputError
from seawall.intel import stix2
from seawall.model.indicator import IndicatorType as T
from seawall.model.indicator import IntelDocument
from tests.conftest import shared

CREATED = "2026-01-05T16:00:27.185Z"


def _id(kind: str, name: str) -> str:
    """Deterministic, valid STIX ids (UUIDv4 form: STIX 2.0 accepts no other)."""
    digest = hashlib.sha256(f"{kind}:{name}".encode()).digest()[:16]
    return f"{kind}--{uuid.UUID(bytes=digest, version=4)}"


def _sdo(kind: str, key: str, **props: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": _id(kind, key),
        "created": CREATED,
        "modified": CREATED,
        **props,
    }


def _indicator(key: str, pattern: str, **props: Any) -> dict[str, Any]:
    defaults = {"pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
    return _sdo("indicator", key, **{**defaults, **props})


def _relationship(kind: str, source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return _sdo(
        "relationship",
        f"{source['id']}-{kind}-{target['id']}",
        relationship_type=kind,
        source_ref=source["id"],
        target_ref=target["id"],
    )


def _bundle(*objects: dict[str, Any]) -> bytes:
    bundle = {"type": "bundle", "id": _id("bundle", "test"), "objects": list(objects)}
    return json.dumps(bundle).encode()


def _pairs(doc: IntelDocument) -> set[tuple[T | None, str]]:
    return {(raw.type, raw.value) for raw in doc.indicators}


# -- real data ---------------------------------------------------------------------------------


def test_cisa_aa26_204a_json() -> None:
    path = shared("advisories/cisa-stix/AA26-204A.stix_.json")
    doc = stix2.read(path.read_bytes(), path.name)
    assert doc.format == "stix2"
    assert doc.title is not None and doc.title.startswith("AA26-204A Russian State-Supported")
    assert doc.producer == "Cybersecurity and Infrastructure Security Agency (CISA)"
    counts = Counter(raw.type for raw in doc.indicators)
    assert counts == {T.DOMAIN: 18, T.IPV4: 9, T.CVE: 1}
    assert [raw.value for raw in doc.indicators if raw.type is T.CVE] == ["CVE-2025-66376"]
    # Every indicator "indicates" the threat actor; one also indicates an attack-pattern.
    for raw in doc.indicators:
        if raw.type is not T.CVE:
            assert "actor:Laundry Bear" in raw.tags
            assert raw.external_id is not None and raw.external_id.startswith("indicator--")
            assert raw.location == f"{path.name}:{raw.external_id}"
            assert raw.valid_from is not None and raw.valid_from.tzinfo is None
    linked = [raw for raw in doc.indicators if raw.techniques]
    assert [(raw.value, raw.techniques) for raw in linked] == [("i.istc-cloud.com", ("T1027",))]
    # The report's attack-patterns: CISA-style names and one with a mitre-attack reference.
    assert {"T1027", "T1027.017", "T1557", "T1597.002"} <= set(doc.techniques)
    assert all(not tid.startswith("TA") for tid in doc.techniques)
    assert doc.techniques == sorted(doc.techniques)
    # CISA's report lists two null object_refs: reported, and the report still gives the title.
    assert [w.message for w in doc.warnings] == ["'object_refs' holds 2 null reference(s): ignored"]


def test_cisa_aa26_097a_json_crlf_and_ics() -> None:
    path = shared("advisories/cisa-stix/AA26-097A.stix_.json")
    data = path.read_bytes()
    assert b"\r\n" in data
    doc = stix2.read(data, path.name)
    assert Counter(raw.type for raw in doc.indicators) == {T.IPV4: 21}
    assert doc.warnings == []
    # Two of its five attack-patterns are ATT&CK for ICS ([T0883], [T0885]): not Enterprise.
    assert doc.techniques == ["T1041", "T1219", "T1565"]
    assert sum("actor:CYBER AVENG3RS" in raw.tags for raw in doc.indicators) >= 1


def test_mitre_stix20_bundle_without_indicators() -> None:
    path = shared("advisories/aa21-200a/G0065_AA21-200A_subset_attack-v10.1.stix2.json")
    doc = stix2.read(path.read_bytes(), path.name)
    assert doc.indicators == []
    assert doc.warnings == []
    with shared("advisories/aa21-200a/G0065_Leviathan_uses_attack-v10.1.csv").open() as handle:
        cited = {
            row["attack_id"]
            for row in csv.DictReader(handle)
            if row["cites_CISA_AA21-200A"] == "yes" and row["object_type"] == "attack-pattern"
        }
    assert len(cited) == 24
    assert set(doc.techniques) == cited


# -- patterns ----------------------------------------------------------------------------------


def test_pattern_comparisons_become_typed_indicators() -> None:
    sha256 = "4f9a1c3e5b7d9f2a4c6e8b0d2f4a6c8e1b3d5f7a9c2e4b6d8f0a2c4e6b8d0f1a"
    pattern = (
        f"[file:hashes.'SHA-256' = '{sha256}'"
        " OR file:hashes.MD5 = '3b0f2d1e5a4c6b8d7e9f1a2b3c4d5e6f'"
        " OR file:name IN ('a.exe', 'it\\'s.dll') OR file:name = 'C:\\\\Temp\\\\x.exe']"
    )
    objects = [
        _indicator("files", pattern, confidence=80, indicator_types=["malicious-activity"]),
        _indicator(
            "net", "[ipv4-addr:value = '198.51.100.0/24'] OR [ipv6-addr:value = '2001:db8::1']"
        ),
        _indicator(
            "url", "[url:value = 'http://a.example.net/x'] OR [domain-name:value = 'a.example.net']"
        ),
        _indicator(
            "mail",
            "[email-message:from_ref.value = 'x@mail.example.com' AND "
            "email-message:subject = 'Invoice 42'] OR [email-addr:value = 'y@mail.example.com']",
        ),
        _indicator(
            "host",
            "[mutex:name = 'Global\\\\zx'"
            " OR windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\x'"
            " OR directory:path = 'C:\\\\ProgramData\\\\x'"
            " OR file:parent_directory_ref.path = '/tmp/.x']",
        ),
    ]
    doc = stix2.read(_bundle(*objects), "patterns.json")
    assert doc.warnings == []
    assert _pairs(doc) == {
        (T.SHA256, sha256),
        (T.MD5, "3b0f2d1e5a4c6b8d7e9f1a2b3c4d5e6f"),
        (T.FILE_NAME, "a.exe"),
        (T.FILE_NAME, "it's.dll"),
        (T.FILE_PATH, "C:\\Temp\\x.exe"),
        (T.CIDR, "198.51.100.0/24"),
        (T.IPV6, "2001:db8::1"),
        (T.URL, "http://a.example.net/x"),
        (T.DOMAIN, "a.example.net"),
        (T.EMAIL, "x@mail.example.com"),
        (T.EMAIL_SUBJECT, "Invoice 42"),
        (T.EMAIL, "y@mail.example.com"),
        (T.MUTEX, "Global\\zx"),
        (T.REGISTRY, "HKEY_LOCAL_MACHINE\\Software\\x"),
        (T.FILE_PATH, "C:\\ProgramData\\x"),
        (T.FILE_PATH, "/tmp/.x"),
    }
    by_value = {raw.value: raw for raw in doc.indicators}
    assert by_value["a.exe"].confidence == 80
    assert by_value["a.exe"].tags == ("malicious-activity",)
    assert by_value["a.exe"].valid_from == datetime(2026, 1, 1)
    assert "pattern_and" not in by_value["a.exe"].context  # OR: each value suffices alone
    assert by_value["Invoice 42"].context["pattern_and"] is True  # AND: only part of the evidence


def test_unsupported_comparisons_warn_and_keep_the_rest() -> None:
    objects = [
        _indicator(
            "mixed", "[file:hashes.MD5 = '3b0f2d1e5a4c6b8d7e9f1a2b3c4d5e6f' AND file:size > 4]"
        ),
        _indicator("regex", "[url:value MATCHES '^http://evil']"),
        _indicator("neq", "[domain-name:value != 'good.example']"),
        _indicator("like", "[file:name LIKE '%.exe']"),
        _indicator("sha3", "[file:hashes.'SHA3-256' = 'ab']"),
    ]
    doc = stix2.read(_bundle(*objects), "unsupported.json")
    assert _pairs(doc) == {(T.MD5, "3b0f2d1e5a4c6b8d7e9f1a2b3c4d5e6f")}
    messages = {w.location.split(":", 1)[1]: w.message for w in doc.warnings}
    assert "file:size > 4" in messages[_id("indicator", "mixed")]
    assert "the rest was read" in messages[_id("indicator", "mixed")]
    assert "MATCHES" in messages[_id("indicator", "regex")]
    assert "!=" in messages[_id("indicator", "neq")]
    assert "LIKE" in messages[_id("indicator", "like")]
    assert "SHA3-256" in messages[_id("indicator", "sha3")]


def test_bad_pattern_is_a_warning_and_the_rest_is_read() -> None:
    good = _indicator("good", "[domain-name:value = 'a.example.org']")
    bad = _indicator("bad", "[domain-name:value = 'b.example.org'")
    later = _indicator("later", "[ipv4-addr:value = '203.0.113.9']")
    doc = stix2.read(_bundle(good, bad, later), "bad-pattern.json")
    assert _pairs(doc) == {(T.DOMAIN, "a.example.org"), (T.IPV4, "203.0.113.9")}
    assert len(doc.warnings) == 1
    assert doc.warnings[0].location == f"bad-pattern.json:{bad['id']}"
    assert "pattern" in doc.warnings[0].message


def test_invalid_revoked_and_foreign_objects_are_warnings() -> None:
    missing_pattern = _sdo("indicator", "no-pattern", pattern_type="stix", valid_from=CREATED)
    revoked = _indicator("revoked", "[domain-name:value = 'old.example']", revoked=True)
    sigma = _indicator("sigma", "title: x", pattern_type="sigma")
    doc = stix2.read(
        _bundle(
            missing_pattern, revoked, sigma, {"no": "type"}, _indicator("ok", "[mutex:name='m']")
        ),
        "mixed.json",
    )
    assert _pairs(doc) == {(T.MUTEX, "m")}
    messages = [w.message for w in doc.warnings]
    assert any("invalid STIX 2.1 indicator" in m and "pattern" in m for m in messages)
    assert any("revoked" in m for m in messages)
    assert any("'sigma'" in m for m in messages)
    assert any(w.location == "mixed.json:objects[3]" for w in doc.warnings)


# -- relationships, observed data, vulnerabilities ---------------------------------------------


def test_relationships_give_techniques_and_tags() -> None:
    enterprise = _sdo(
        "attack-pattern",
        "web-shell",
        name="Server Software Component: Web Shell",
        external_references=[{"source_name": "mitre-attack", "external_id": "T1505.003"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "persistence"}],
    )
    ics = _sdo(
        "attack-pattern", "ics", name="Initial Access / Internet Accessible Device [T0883] (ICS)"
    )
    cisa = _sdo(
        "attack-pattern",
        "cisa",
        name="Defense Evasion / Obfuscated Files or Information [T1027] (ENT)",
    )
    tactic = _sdo("attack-pattern", "tactic", name="Initial Access [TA0001] (ENT)")
    malware = _sdo("malware", "chopper", name="China Chopper", is_family=True)
    actor = _sdo("intrusion-set", "apt40", name="APT40")
    shell = _indicator("shell", "[file:name = 'help.jsp']")
    plc = _indicator("plc", "[ipv4-addr:value = '203.0.113.5']")
    objects = [
        enterprise, ics, cisa, tactic, malware, actor, shell, plc,
        _relationship("indicates", shell, malware),
        _relationship("indicates", shell, cisa),
        _relationship("uses", malware, enterprise),
        _relationship("indicates", plc, actor),
        _relationship("indicates", plc, ics),
        _relationship("uses", actor, tactic),
        _sdo("report", "r", name="Test report", published=CREATED, object_refs=[shell["id"]]),
    ]  # fmt: skip
    doc = stix2.read(_bundle(*objects), "rel.json")
    assert doc.warnings == []
    assert doc.title == "Test report"
    assert doc.techniques == ["T1027", "T1505.003"]
    raw = {r.value: r for r in doc.indicators}
    assert set(raw["help.jsp"].techniques) == {"T1027", "T1505.003"}
    assert {"malware:China Chopper", "tactic:persistence"} <= set(raw["help.jsp"].tags)
    assert raw["203.0.113.5"].techniques == ()
    assert {"actor:APT40", "attack-ics:T0883"} <= set(raw["203.0.113.5"].tags)


def test_observed_data_vulnerabilities_and_sightings() -> None:
    ip = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": _id("ipv4-addr", "ip"),
        "value": "198.51.100.7",
    }
    sender = {
        "type": "email-addr",
        "spec_version": "2.1",
        "id": _id("email-addr", "s"),
        "value": "s@x.example",
    }
    message = {
        "type": "email-message", "spec_version": "2.1", "id": _id("email-message", "m"),
        "is_multipart": False, "from_ref": sender["id"], "subject": "Hello",
    }  # fmt: skip
    loose = {
        "type": "domain-name",
        "spec_version": "2.1",
        "id": _id("domain-name", "d"),
        "value": "l.example",
    }
    observed = _sdo(
        "observed-data",
        "obs",
        first_observed="2026-02-01T00:00:00Z",
        last_observed="2026-02-03T11:00:00.500Z",
        number_observed=3,
        object_refs=[ip["id"], message["id"]],
    )
    vuln = _sdo(
        "vulnerability",
        "v",
        name="WinRAR archive flaw",
        external_references=[{"source_name": "cve", "external_id": "CVE-2023-38831"}],
    )
    indicator = _indicator("seen", "[domain-name:value = 's.example']")
    sighting = _sdo(
        "sighting",
        "sight",
        sighting_of_ref=indicator["id"],
        first_seen="2026-03-01T00:00:00Z",
        last_seen="2026-03-09T00:00:00Z",
    )
    doc = stix2.read(
        _bundle(ip, sender, message, loose, observed, vuln, indicator, sighting), "obs.json"
    )
    assert doc.warnings == []
    pairs = [(raw.type, raw.value) for raw in doc.indicators]
    assert len(pairs) == len(set(pairs))  # the sender is read through the message only
    assert {
        (T.IPV4, "198.51.100.7"),
        (T.EMAIL, "s@x.example"),
        (T.EMAIL_SUBJECT, "Hello"),
        (T.DOMAIN, "l.example"),
        (T.CVE, "CVE-2023-38831"),
        (T.DOMAIN, "s.example"),
    } == set(pairs)
    by_value = {raw.value: raw for raw in doc.indicators}
    assert by_value["198.51.100.7"].tags == ("observed",)
    assert by_value["198.51.100.7"].confidence is None
    assert by_value["198.51.100.7"].first_seen == datetime(2026, 2, 1)
    assert by_value["198.51.100.7"].last_seen == datetime(2026, 2, 3, 11, 0, 0, 500_000)
    assert by_value["l.example"].tags == ("observed",)
    assert by_value["s.example"].first_seen == datetime(2026, 3, 1)
    assert by_value["s.example"].last_seen == datetime(2026, 3, 9)


def test_stix20_observed_data_with_embedded_objects() -> None:
    observed = {
        "type": "observed-data",
        "id": _id("observed-data", "20"),
        "created": CREATED,
        "modified": CREATED,
        "first_observed": CREATED,
        "last_observed": CREATED,
        "number_observed": 1,
        "objects": {
            "0": {
                "type": "file",
                "name": "evil.dll",
                "hashes": {"SHA-1": "6e1a9c0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c"},
            },
            "1": {"type": "process", "pid": 4},
        },
    }
    bundle = {
        "type": "bundle",
        "id": _id("bundle", "20"),
        "spec_version": "2.0",
        "objects": [observed],
    }
    doc = stix2.read(json.dumps(bundle).encode(), "twenty.json")
    assert _pairs(doc) == {
        (T.FILE_NAME, "evil.dll"),
        (T.SHA1, "6e1a9c0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c"),
    }
    assert [w.message for w in doc.warnings] == [
        "observed object types with no indicator value: ['process']"
    ]


def test_single_object_and_list_of_objects() -> None:
    one = _indicator("one", "[domain-name:value = 'one.example']")
    two = _indicator("two", "[domain-name:value = 'two.example']")
    assert _pairs(stix2.read(json.dumps(one).encode(), "one.json")) == {(T.DOMAIN, "one.example")}
    assert len(stix2.read(json.dumps([one, two]).encode(), "list.json").indicators) == 2


# -- hostile and malformed input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"type": "bundle", "objects": [\n  {"type": "indicator",', "line 2"),
        (b'{"type": "bundle", "id": "bundle--1", "objects": [] \xff\xfe}', "byte offset 52"),
        (b"", "invalid JSON"),
        (b'{"foo": 1}', "not STIX 2.x"),
        (b'{"Event": {"info": "a MISP event", "Attribute": []}}', "not STIX 2.x"),
        (b"[1, 2, 3]", "not STIX 2.x"),
        (b'{"type": "bundle", "objects": {"a": 1}}', "not a list"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"1" * 5000, "invalid JSON"),
    ],
    ids=[
        "truncated",
        "utf8",
        "empty",
        "not-stix",
        "misp",
        "numbers",
        "objects-dict",
        "deep",
        "huge-int",
    ],
)
def test_hostile_or_foreign_json_is_bad_input(data: bytes, expected: str) -> None:
    with pytest.raises(BadInputError) as caught:
        stix2.read(data, "hostile.json")
    assert expected in str(caught.value)
    assert caught.value.location is not None and caught.value.location.startswith("hostile.json")
