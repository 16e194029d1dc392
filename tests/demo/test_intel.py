"""The scenario's STIX 2.1 bundle: valid, its patterns parse, reserved names and documentation
addresses only, and its hashes are those of the files the hunt must find."""

from __future__ import annotations

import ipaddress
import json
import re

import stix2
from stix2patterns.validator import run_validator

from seawall.demo.files import WEBSHELL, putty_build
from seawall.demo.intel import build_bundle, hashes
from seawall.demo.scenario import build

DOCUMENTATION = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]


def _bundle() -> dict[str, object]:
    scenario = build(3, 1)
    text = build_bundle(scenario, putty_build(3, None)).serialize(pretty=True)
    document: dict[str, object] = json.loads(text)
    return document


def test_the_bundle_is_valid_stix_2_1() -> None:
    document = _bundle()
    parsed = stix2.parse(json.dumps(document), allow_custom=False)
    assert parsed.type == "bundle"
    kinds = [obj.type for obj in parsed.objects]
    assert kinds.count("indicator") == 5
    assert {
        "identity",
        "threat-actor",
        "malware",
        "tool",
        "attack-pattern",
        "relationship",
        "report",
    } <= set(kinds)
    ids = {obj.id for obj in parsed.objects}
    for obj in parsed.objects:
        assert obj.spec_version == "2.1"
        if obj.type == "relationship":
            assert obj.source_ref in ids and obj.target_ref in ids
        if obj.type == "indicator":
            assert run_validator(obj.pattern, stix_version="2.1") == []


def test_only_reserved_names_and_documentation_addresses() -> None:
    document = _bundle()
    objects: list[dict[str, str]] = document["objects"]  # type: ignore[assignment]
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    text = " ".join(patterns)
    for address in re.findall(r"ipv4-addr:value = '([^']+)'", text):
        assert any(ipaddress.ip_address(address) in net for net in DOCUMENTATION), address
    domains = re.findall(r"domain-name:value = '([^']+)'", text)
    assert domains and all(d.endswith((".example", ".test")) for d in domains)


def test_the_hashes_are_the_web_shell_s_and_putty_s() -> None:
    document = _bundle()
    text = json.dumps(document)
    assert hashes(WEBSHELL.encode())["SHA-256"] in text
    assert hashes(putty_build(3, None).putty)["MD5"] in text
