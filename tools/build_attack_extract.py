"""Build the compact, offline MITRE ATT&CK extract that seawall ships as package data.

The full Enterprise ATT&CK bundles are 4-8 MB of gzip each and mostly citations. seawall only
needs ids, names, the relationships a hunter asks about (who uses what, what mitigates what) and
a sentence of text, so this script keeps exactly that. The output is deterministic (sorted keys,
no gzip timestamp, no dates) so that a rebuild from the same bundles reproduces the shipped files
byte for byte, which a test checks.

Usage (from the project root)::

    python tools/build_attack_extract.py \
        [--data ../shared/data/attack] [--out src/seawall/data/attack]

Only the standard library is used: the bundles are plain JSON, and the STIX object model (with
MITRE's many ``x-mitre-*`` custom types) would cost minutes for no gain here.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

VERSIONS = ("9.0", "10.1", "18.1")
FORMAT = 1
TEXT_LIMIT = 300
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "attack"
DEFAULT_OUT = ROOT / "src" / "seawall" / "data" / "attack"
LICENSE_NAME = "LICENSE-mitre-cti.txt"

Obj = dict[str, Any]

_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]*\)")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_EMPHASIS = re.compile(r"\*\*")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "Inc.", "Corp.", "Ltd.", "Co.", "St.")


def clean_text(text: str) -> str:
    """Drop citation markers, markdown links and HTML so the short text reads on a terminal."""
    text = _CITATION.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = html.unescape(_TAG.sub("", _EMPHASIS.sub("", text)))
    return _SPACE.sub(" ", text).strip()


def truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    """Cut at a word boundary and mark the cut, so nobody mistakes a fragment for the whole."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def first_sentence(text: str, limit: int = TEXT_LIMIT) -> str:
    """The first sentence (abbreviation-aware), never longer than ``limit`` characters."""
    text = clean_text(text)
    for match in _SENTENCE_END.finditer(text):
        head = text[: match.start()]
        if not head.endswith(_ABBREVIATIONS):
            return truncate(head, limit)
    return truncate(text, limit)


def attack_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return dict(ref)
    return None


def attack_id(obj: Mapping[str, Any]) -> str | None:
    ref = attack_ref(obj)
    return str(ref["external_id"]) if ref else None


def attack_url(obj: Mapping[str, Any]) -> str:
    ref = attack_ref(obj)
    return str(ref.get("url", "")) if ref else ""


def is_gone(obj: Mapping[str, Any]) -> bool:
    """Revoked or deprecated: the ATT&CK site ignores relationships that touch such objects."""
    return bool(obj.get("revoked")) or bool(obj.get("x_mitre_deprecated"))


def status_fields(obj: Mapping[str, Any]) -> Obj:
    return {"deprecated": bool(obj.get("x_mitre_deprecated")), "revoked": bool(obj.get("revoked"))}


class Bundle:
    """One ATT&CK bundle with the indexes the extract needs (by STIX id, relationships by type)."""

    def __init__(self, objects: Iterable[Obj]) -> None:
        self.by_stix: dict[str, Obj] = {}
        self.by_type: dict[str, list[Obj]] = defaultdict(list)
        self.relationships: list[Obj] = []
        for obj in objects:
            self.by_stix[obj["id"]] = obj
            if obj["type"] == "relationship":
                self.relationships.append(obj)
            else:
                self.by_type[obj["type"]].append(obj)

    @property
    def dropped(self) -> int:
        """Relationships left out because an end is revoked, deprecated or missing."""
        return sum(
            1
            for rel in self.relationships
            if rel["relationship_type"] != "revoked-by"
            and (
                is_gone(rel)
                or any(
                    ref not in self.by_stix or is_gone(self.by_stix[ref])
                    for ref in (rel["source_ref"], rel["target_ref"])
                )
            )
        )

    def rels(self, kind: str, *, keep_gone: bool = False) -> Iterable[tuple[Obj, Obj]]:
        """(source, target) pairs of one relationship type, skipping revoked/deprecated ends."""
        for rel in self.relationships:
            if rel["relationship_type"] != kind or is_gone(rel):
                continue
            source = self.by_stix.get(rel["source_ref"])
            target = self.by_stix.get(rel["target_ref"])
            if source is None or target is None:
                continue
            if not keep_gone and (is_gone(source) or is_gone(target)):
                continue
            yield source, target


def _unique(rows: list[Obj], table: str) -> list[Obj]:
    """Sort by id and refuse duplicates: every lookup in seawall assumes an id is one object."""
    rows.sort(key=lambda row: str(row["id"]))
    ids = [row["id"] for row in rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SystemExit(f"{table}: duplicate ATT&CK ids {duplicates}")
    return rows


def _links(
    bundle: Bundle, kind: str, source_types: set[str], target_types: set[str]
) -> dict[str, set[str]]:
    """source STIX id -> ATT&CK ids of targets, for one relationship type."""
    found: dict[str, set[str]] = defaultdict(set)
    for source, target in bundle.rels(kind):
        target_id = attack_id(target)
        if source["type"] in source_types and target["type"] in target_types and target_id:
            found[source["id"]].add(target_id)
    return found


def _component_label(bundle: Bundle, component: Mapping[str, Any]) -> str:
    """'Data Source: Component' as in ``x_mitre_data_sources`` when the source is known."""
    source = bundle.by_stix.get(component.get("x_mitre_data_source_ref") or "")
    return f"{source['name']}: {component['name']}" if source else str(component["name"])


def _technique_components(bundle: Bundle) -> dict[str, set[str]]:
    """Data components per technique from ``detects`` relationships (v10+) or analytics (v18+)."""
    found: dict[str, set[str]] = defaultdict(set)
    for source, target in bundle.rels("detects"):
        if source["type"] == "x-mitre-data-component":
            found[target["id"]].add(_component_label(bundle, source))
        elif source["type"] == "x-mitre-detection-strategy":
            for analytic_ref in source.get("x_mitre_analytic_refs", ()):
                analytic = bundle.by_stix.get(analytic_ref)
                if analytic is None or is_gone(analytic):
                    continue
                for log_ref in analytic.get("x_mitre_log_source_references", ()):
                    component = bundle.by_stix.get(log_ref.get("x_mitre_data_component_ref", ""))
                    if component is not None:
                        found[target["id"]].add(_component_label(bundle, component))
    return found


def _strategies(bundle: Bundle) -> dict[str, list[Obj]]:
    found: dict[str, list[Obj]] = defaultdict(list)
    for source, target in bundle.rels("detects"):
        strategy_id = attack_id(source)
        if source["type"] == "x-mitre-detection-strategy" and strategy_id:
            found[target["id"]].append({"id": strategy_id, "name": source["name"]})
    return {key: sorted(value, key=lambda s: str(s["id"])) for key, value in found.items()}


def _revoked_by(bundle: Bundle) -> dict[str, str]:
    found: dict[str, str] = {}
    for source, target in bundle.rels("revoked-by", keep_gone=True):
        target_id = attack_id(target)
        if target_id:
            found[source["id"]] = target_id
    return found


def techniques(bundle: Bundle, revoked_by: Mapping[str, str]) -> list[Obj]:
    parents = {
        source["id"]: attack_id(target)
        for source, target in bundle.rels("subtechnique-of", keep_gone=True)
    }
    components = _technique_components(bundle)
    strategies = _strategies(bundle)
    rows = []
    for obj in bundle.by_type["attack-pattern"]:
        tid = attack_id(obj)
        if tid is None:
            continue
        is_sub = bool(obj.get("x_mitre_is_subtechnique", "." in tid))
        sources = obj.get("x_mitre_data_sources") or sorted(components.get(obj["id"], ()))
        tactics = [
            phase["phase_name"]
            for phase in obj.get("kill_chain_phases", ())
            if phase.get("kill_chain_name") == "mitre-attack"
        ]
        rows.append(
            {
                "id": tid,
                "name": obj["name"],
                "tactics": tactics,
                "is_subtechnique": is_sub,
                "parent": (parents.get(obj["id"]) or tid.split(".")[0]) if is_sub else None,
                "platforms": list(obj.get("x_mitre_platforms", ())),
                "data_sources": list(sources),
                "detection": truncate(clean_text(obj.get("x_mitre_detection") or "")),
                "detection_strategies": strategies.get(obj["id"], []),
                "description": first_sentence(obj.get("description") or ""),
                "url": attack_url(obj),
                "revoked_by": revoked_by.get(obj["id"]),
                **status_fields(obj),
            }
        )
    return _unique(rows, "techniques")


def tactics(bundle: Bundle) -> list[Obj]:
    """Tactics in matrix (kill-chain) order, which is how people read them, not by id."""
    by_stix = {obj["id"]: obj for obj in bundle.by_type["x-mitre-tactic"]}
    order: list[str] = []
    for matrix in bundle.by_type["x-mitre-matrix"]:
        order.extend(ref for ref in matrix.get("tactic_refs", ()) if ref not in order)
    order.extend(sorted(set(by_stix) - set(order), key=lambda ref: attack_id(by_stix[ref]) or ""))
    return [
        {
            "id": attack_id(by_stix[ref]),
            "shortname": by_stix[ref]["x_mitre_shortname"],
            "name": by_stix[ref]["name"],
            "url": attack_url(by_stix[ref]),
        }
        for ref in order
        if ref in by_stix
    ]


def groups(bundle: Bundle, revoked_by: Mapping[str, str]) -> list[Obj]:
    used = _links(bundle, "uses", {"intrusion-set"}, {"attack-pattern"})
    software = _links(bundle, "uses", {"intrusion-set"}, {"malware", "tool"})
    rows = []
    for obj in bundle.by_type["intrusion-set"]:
        gid = attack_id(obj)
        if gid is None:
            continue
        rows.append(
            {
                "id": gid,
                "name": obj["name"],
                "aliases": list(obj.get("aliases", ())),
                "description": first_sentence(obj.get("description") or ""),
                "techniques": sorted(used.get(obj["id"], ())),
                "software": sorted(software.get(obj["id"], ())),
                "url": attack_url(obj),
                "revoked_by": revoked_by.get(obj["id"]),
                **status_fields(obj),
            }
        )
    return _unique(rows, "groups")


def software(bundle: Bundle, revoked_by: Mapping[str, str]) -> list[Obj]:
    used = _links(bundle, "uses", {"malware", "tool"}, {"attack-pattern"})
    rows = []
    for obj in bundle.by_type["malware"] + bundle.by_type["tool"]:
        sid = attack_id(obj)
        if sid is None:
            continue
        rows.append(
            {
                "id": sid,
                "name": obj["name"],
                "type": obj["type"],
                "aliases": list(obj.get("x_mitre_aliases", ())),
                "platforms": list(obj.get("x_mitre_platforms", ())),
                "description": first_sentence(obj.get("description") or ""),
                "techniques": sorted(used.get(obj["id"], ())),
                "url": attack_url(obj),
                "revoked_by": revoked_by.get(obj["id"]),
                **status_fields(obj),
            }
        )
    return _unique(rows, "software")


def mitigations(bundle: Bundle) -> list[Obj]:
    """Mitigations with M ids only.

    Before v9 each technique had its own "<name> Mitigation" object carrying the technique's T id;
    those are all deprecated, and keeping them would put two objects behind one T id.
    """
    mitigated = _links(bundle, "mitigates", {"course-of-action"}, {"attack-pattern"})
    rows = []
    for obj in bundle.by_type["course-of-action"]:
        mid = attack_id(obj)
        if mid is None or not mid.startswith("M"):
            continue
        rows.append(
            {
                "id": mid,
                "name": obj["name"],
                "description": first_sentence(obj.get("description") or ""),
                "techniques": sorted(mitigated.get(obj["id"], ())),
                "url": attack_url(obj),
                **status_fields(obj),
            }
        )
    return _unique(rows, "mitigations")


def data_sources(bundle: Bundle) -> tuple[list[Obj], list[Obj]]:
    """Data sources (v10+) with their component names, and the components themselves."""
    members: dict[str, list[str]] = defaultdict(list)
    components = []
    for obj in bundle.by_type["x-mitre-data-component"]:
        source = bundle.by_stix.get(obj.get("x_mitre_data_source_ref") or "")
        if source is not None:
            members[source["id"]].append(obj["name"])
        components.append(
            {
                "id": attack_id(obj),
                "name": obj["name"],
                "data_source": attack_id(source) if source else None,
                **status_fields(obj),
            }
        )
    components.sort(key=lambda row: (str(row["id"] or ""), str(row["name"])))
    sources = []
    for obj in bundle.by_type["x-mitre-data-source"]:
        sid = attack_id(obj)
        if sid is None:
            continue
        sources.append(
            {
                "id": sid,
                "name": obj["name"],
                "components": sorted(members.get(obj["id"], ())),
                "platforms": list(obj.get("x_mitre_platforms", ())),
                "url": attack_url(obj),
                **status_fields(obj),
            }
        )
    return _unique(sources, "data_sources"), components


def build_extract(path: Path, version: str) -> Obj:
    """The compact document for one bundle file."""
    raw = path.read_bytes()
    document = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    bundle = Bundle(document["objects"])
    revoked_by = _revoked_by(bundle)
    sources, components = data_sources(bundle)
    extract: Obj = {
        "format": FORMAT,
        "attack_version": version,
        "domain": "enterprise-attack",
        "techniques": techniques(bundle, revoked_by),
        "tactics": tactics(bundle),
        "groups": groups(bundle, revoked_by),
        "software": software(bundle, revoked_by),
        "mitigations": mitigations(bundle),
        "data_sources": sources,
        "data_components": components,
    }
    extract["source"] = {
        "repository": "https://github.com/mitre/cti",
        "file": path.name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bundle_id": document.get("id"),
        "spec_version": document.get("spec_version"),
        "relationships_dropped": bundle.dropped,
    }
    return extract


def encode(extract: Mapping[str, Any]) -> bytes:
    """Deterministic bytes: sorted keys, compact separators, gzip without name or mtime."""
    text = json.dumps(extract, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(text.encode("utf-8") + b"\n")
    return buffer.getvalue()


def attribution(extracts: Mapping[str, Mapping[str, Any]]) -> str:
    rows = "\n".join(
        f"| {version} | `{e['source']['file']}` | `{e['source']['sha256']}` |"
        for version, e in extracts.items()
    )
    return f"""# MITRE ATT&CK® extract — attribution

The files `enterprise-attack-<version>.json.gz` in this directory are compact extracts made by
`tools/build_attack_extract.py` from the Enterprise ATT&CK STIX 2.0 bundles published by MITRE in
the [mitre/cti](https://github.com/mitre/cti) repository. They keep ids, names, tactics,
platforms, data sources, relationships (uses, mitigates, revoked-by, subtechnique-of) and a
shortened first sentence of descriptions and detection text; citations are removed.

| ATT&CK version | source file | SHA-256 of source file |
|---|---|---|
{rows}

© The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE
Corporation. ATT&CK® is a registered trademark of The MITRE Corporation. Use is subject to the
ATT&CK Terms of Use (<https://attack.mitre.org/resources/legal-and-branding/terms-of-use/>); the
licence that accompanies the source data is reproduced verbatim in `{LICENSE_NAME}`.

The extracts are shortened and may lag the current ATT&CK release: for the authoritative text,
follow each object's `url` to attack.mitre.org.
"""


def build(data: Path, out: Path, versions: Iterable[str] = VERSIONS) -> dict[str, Path]:
    """Write every extract plus attribution and licence into ``out``; return the extract paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    extracts: dict[str, Obj] = {}
    for version in versions:
        source = data / f"enterprise-attack-v{version}.json.gz"
        if not source.exists():
            raise SystemExit(f"missing ATT&CK bundle: {source}")
        extracts[version] = build_extract(source, version)
        target = out / f"enterprise-attack-{version}.json.gz"
        target.write_bytes(encode(extracts[version]))
        written[version] = target
    (out / "ATTRIBUTION.md").write_text(attribution(extracts), encoding="utf-8")
    shutil.copyfile(data / LICENSE_NAME, out / LICENSE_NAME)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the bundles")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package data folder")
    args = parser.parse_args(argv)
    for version, path in build(args.data, args.out).items():
        print(f"ATT&CK {version}: {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
