"""The scenario's threat intel: a STIX 2.1 bundle a sharing community could have published.

Built with the ``stix2`` library (so it validates as STIX 2.1): the sharing group's identity,
the threat actor (APT40 and its aliases), China Chopper and PuTTY, the ATT&CK techniques, and
indicators with patterns for the C2 domain and address, the tunnel's look-alike domain, the
web shell's hashes and PuTTY's hashes (a dual-use indicator: the genuine tool, suspicious only
where it does not belong), each linked to what it indicates. Only reserved names and
documentation addresses appear. Identifiers are UUIDs drawn from the seed and times are the
scenario's, so the same seed writes the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from pathlib import Path
from typing import Any

from seawall.demo.clock import BASE, DAYS, at
from seawall.demo.evidence import EvidenceFile, Manifest, write_text
from seawall.demo.files import WEBSHELL, PuttyBuild
from seawall.demo.scenario import Scenario

TECHNIQUES = {
    "T1505.003": "Server Software Component: Web Shell",
    "T1071.004": "Application Layer Protocol: DNS",
    "T1071.001": "Application Layer Protocol: Web Protocols",
    "T1572": "Protocol Tunneling",
    "T1036.005": "Masquerading: Match Legitimate Name or Location",
    "T1560.001": "Archive Collected Data: Archive via Utility",
}


def _ident(rng: random.Random, kind: str) -> str:
    return f"{kind}--{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def hashes(data: bytes) -> dict[str, str]:
    return {
        "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "SHA-256": hashlib.sha256(data).hexdigest(),
    }


def build_bundle(scenario: Scenario, putty: PuttyBuild) -> Any:
    """The bundle (a ``stix2.Bundle``)."""
    import stix2

    rng = scenario.rng("intel")
    infra = scenario.infra
    created = at(DAYS - 2, 3)
    valid_from = BASE.replace(year=BASE.year - 1)
    common: dict[str, Any] = {"created": created, "modified": created}
    group = stix2.Identity(
        id=_ident(rng, "identity"),
        name="Maritime Sector Sharing Group (example)",
        identity_class="organization",
        sectors=["transportation"],
        **common,
    )
    common["created_by_ref"] = group.id
    actor = stix2.ThreatActor(
        id=_ident(rng, "threat-actor"),
        name="APT40",
        aliases=["Leviathan", "TEMP.Periscope", "BRONZE MOHAWK", "Kryptonite Panda"],
        threat_actor_types=["nation-state"],
        primary_motivation="organizational-gain",
        description="Actor described by FBI/CISA advisory AA21-200A (July 2021).",
        external_references=[
            {
                "source_name": "mitre-attack",
                "external_id": "G0065",
                "url": "https://attack.mitre.org/groups/G0065/",
            }
        ],
        **common,
    )
    chopper = stix2.Malware(
        id=_ident(rng, "malware"),
        name="China Chopper",
        is_family=True,
        malware_types=["webshell"],
        external_references=[{"source_name": "mitre-attack", "external_id": "S0020"}],
        **common,
    )
    putty_tool = stix2.Tool(
        id=_ident(rng, "tool"),
        name="PuTTY",
        tool_types=["remote-access"],
        description="Legitimate SSH client the actor runs from folders it is never installed in.",
        **common,
    )
    patterns = {
        tech: stix2.AttackPattern(
            id=_ident(rng, "attack-pattern"),
            name=name,
            external_references=[{"source_name": "mitre-attack", "external_id": tech}],
            **common,
        )
        for tech, name in TECHNIQUES.items()
    }
    shell = hashes(WEBSHELL.encode("ascii"))
    tool = hashes(putty.putty)
    indicators = [
        (
            "C2 domain",
            f"[domain-name:value = '{infra.c2_domain}']",
            ["malicious-activity"],
            "HTTP beacons of the implant go to this name.",
            [actor, patterns["T1071.001"]],
        ),
        (
            "C2 address",
            f"[ipv4-addr:value = '{infra.c2_ip}']",
            ["malicious-activity"],
            "Beacons and SSH tunnels (port 443) end at this address.",
            [actor, patterns["T1071.001"], patterns["T1572"]],
        ),
        (
            "DNS tunnel domain",
            f"[domain-name:value = '{infra.tunnel_domain}']",
            ["malicious-activity"],
            "Look-alike of the victim's own domain; its subdomains carry a DNS tunnel (TXT, NULL).",
            [actor, patterns["T1071.004"], patterns["T1572"]],
        ),
        (
            "China Chopper ASPX web shell",
            f"[file:hashes.'SHA-256' = '{shell['SHA-256']}' OR file:hashes.MD5 = '{shell['MD5']}']",
            ["malicious-activity"],
            "One-line ASPX web shell found in IIS web roots.",
            [chopper, patterns["T1505.003"]],
        ),
        (
            "PuTTY run from a public folder",
            f"[file:hashes.'SHA-256' = '{tool['SHA-256']}' OR file:hashes.MD5 = '{tool['MD5']}']",
            ["anomalous-activity"],
            "The genuine PuTTY binary: suspicious where it is not installed (C:\\Users\\Public).",
            [putty_tool, patterns["T1036.005"], patterns["T1572"]],
        ),
    ]
    objects: list[Any] = [group, actor, chopper, putty_tool, *patterns.values()]
    for name, pattern, kinds, description, targets in indicators:
        indicator = stix2.Indicator(
            id=_ident(rng, "indicator"),
            name=name,
            pattern=pattern,
            pattern_type="stix",
            indicator_types=kinds,
            description=description,
            valid_from=valid_from,
            confidence=80,
            labels=["aa21-200a", "demo"],
            **common,
        )
        objects.append(indicator)
        for target in targets:
            objects.append(
                stix2.Relationship(
                    id=_ident(rng, "relationship"),
                    relationship_type="indicates",
                    source_ref=indicator.id,
                    target_ref=target.id,
                    **common,
                )
            )
    for source, target in ((actor, chopper), (actor, putty_tool)):
        objects.append(
            stix2.Relationship(
                id=_ident(rng, "relationship"),
                relationship_type="uses",
                source_ref=source.id,
                target_ref=target.id,
                **common,
            )
        )
    report = stix2.Report(
        id=_ident(rng, "report"),
        name="APT40-style intrusion at a marine engineering firm",
        report_types=["threat-actor", "indicator"],
        published=created,
        object_refs=[obj.id for obj in objects if obj.id != group.id],
        **common,
    )
    objects.append(report)
    return stix2.Bundle(objects=objects, id=_ident(rng, "bundle"), allow_custom=False)


def write_intel(scenario: Scenario, out: Path, manifest: Manifest, putty: PuttyBuild) -> Path:
    """Write ``intel/apt40-demo.stix2.json``."""
    bundle = build_bundle(scenario, putty)
    path = out / "intel" / "apt40-demo.stix2.json"
    write_text(path, bundle.serialize(pretty=True) + "\n", at(DAYS - 2, 3))
    relative = manifest.relative(path)
    manifest.add(
        EvidenceFile(
            relative,
            "intel",
            "stix2",
            ["intel", "import", relative, "--source", "maritime-sharing-group", "--exercise"],
            "intel import",
            None,
            5,
            "STIX 2.1 bundle: C2, tunnel domain, web shell and PuTTY",
        )
    )
    return path
