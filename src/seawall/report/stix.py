"""A STIX 2.1 bundle of sightings: what the hunt saw of the intel it was given, to send back.

For every finding whose evidence matched an indicator that came from imported STIX intel, one
``sighting`` per source indicator: ``sighting_of_ref`` is the indicator's *original* id, as the
producer wrote it, so the producer can count its own indicator's sightings. A STIX 2 id is kept
as it is; a STIX 1 id (``CISA:Indicator-<uuid>``) becomes ``indicator--<uuid>``, the id the STIX
1 → 2 conversion (the OASIS elevator) gives the same indicator. The sighting points at an
``observed-data`` object (first and last observed, how many times) whose ``object_refs`` are
the SCOs of what was seen — the name queried, the address, the URL, the file with its hashes —
and at an ``identity`` of the reporting organisation (``where_sighted_refs``, ``created_by_ref``).

Every id is derived from stable inputs (the hunt run, the finding, the indicator id, the
identity's name), and every timestamp comes from the document, so rendering the same document
again gives the same bundle byte for byte. Matches whose sources carry no STIX indicator id (a
text list, MISP, a STIX observable without an indicator) cannot be sighted in STIX: they are
returned as ``unsightable`` so the caller can say so.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seawall.model.finding import ResultDocument
from seawall.report.view import DocumentView, EvidenceView, FindingView, IndicatorView, build_view

# The namespace of seawall's own STIX ids (see ``_id``).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seawall:report:stix")
# An identity only has a name and a class: one version of it, whatever the report.
IDENTITY_TIME = datetime(2021, 1, 1, tzinfo=UTC)
_STIX2_INDICATOR = re.compile(
    r"^indicator--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_STIX1_INDICATOR = re.compile(
    r"^[^:\s]+:indicator-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    re.IGNORECASE,
)
_HASH_COLUMNS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}
_HASH_TYPES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}


def stix_indicator_id(external_id: str | None) -> str | None:
    """The STIX 2.1 id of an imported indicator, from the id its source gave it, else None."""
    if external_id is None:
        return None
    text = external_id.strip()
    if _STIX2_INDICATOR.match(text.lower()):
        return text.lower()
    found = _STIX1_INDICATOR.match(text)
    if found is not None:
        return f"indicator--{found.group(1).lower()}"
    return None


def _id(kind: str, *parts: str) -> str:
    """A deterministic id in UUIDv4 form: STIX 2.1 wants SDO ids to be version 4 (SCOs alone
    have the spec's own UUIDv5 ids), and a hash of stable inputs with the version bits set is
    one, the same on every rendering."""
    digest = hashlib.sha256(f"{NAMESPACE}\0{json.dumps([kind, *parts])}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


@dataclass(slots=True)
class StixReport:
    bundle: dict[str, Any]
    sightings: int = 0
    unsightable: list[str] = field(default_factory=list)
    """``detection: value`` of matches whose sources carry no STIX indicator id."""


def render_stix(document: ResultDocument, *, identity: str) -> dict[str, Any]:
    """The bundle as a JSON-ready dict; ``identity`` names the reporting organisation."""
    return stix_report(build_view(document), identity=identity).bundle


def stix_report(view: DocumentView, *, identity: str) -> StixReport:
    from stix2.v21 import Bundle, Identity, ObservedData, Sighting

    name = identity.strip()
    if not name:
        raise ValueError("the reporting identity needs a name")
    reporter = Identity(
        id=_id("identity", name),
        name=name,
        identity_class="organization",
        created=IDENTITY_TIME,
        modified=IDENTITY_TIME,
    )
    objects: dict[str, Any] = {reporter.id: reporter}
    report = StixReport(bundle={})
    created = view.finished
    for finding in view.findings:
        if finding.dismissed:  # suppressed or reviewed benign: no sighting to stand behind
            continue
        matches = _matches(finding)
        for indicator, entries in matches:
            ids = sorted({i for s in indicator.sources if (i := stix_indicator_id(s.external_id))})
            if not ids:
                report.unsightable.append(f"{finding.detection_id}: {indicator.value}")
                continue
            scos = _observables(indicator, entries)
            if not scos:  # a value STIX has no observable type for (a mutex, a CVE...)
                report.unsightable.append(f"{finding.detection_id}: {indicator.value}")
                continue
            for sco in scos:
                objects.setdefault(sco.id, sco)
            seen = _occurrences(finding, entries, single=len(matches) == 1)
            first = finding.first_seen or finding.last_seen or created
            last = max(finding.last_seen or first, first)
            observed = ObservedData(
                id=_id("observed-data", view.run_id, finding.id, indicator.type, indicator.value),
                created_by_ref=reporter.id,
                created=created,
                modified=created,
                first_observed=first,
                last_observed=last,
                number_observed=seen,
                object_refs=[sco.id for sco in scos],
            )
            objects[observed.id] = observed
            for indicator_id in ids:
                sighting = Sighting(
                    id=_id("sighting", view.run_id, finding.id, indicator.value, indicator_id),
                    created_by_ref=reporter.id,
                    created=created,
                    modified=created,
                    sighting_of_ref=indicator_id,
                    observed_data_refs=[observed.id],
                    where_sighted_refs=[reporter.id],
                    first_seen=first,
                    last_seen=last,
                    count=seen,
                    description=f"{finding.title} ({finding.detection_id}) on"
                    f" {finding.host_name}: {finding.summary}",
                )
                objects[sighting.id] = sighting
                report.sightings += 1
    bundle = Bundle(
        id=_id("bundle", view.run_id, name),
        objects=list(objects.values()),
        allow_custom=False,
    )
    report.bundle = json.loads(bundle.serialize())
    return report


def _matches(finding: FindingView) -> list[tuple[IndicatorView, list[EvidenceView]]]:
    """The finding's matched indicators, each with the evidence entries that matched it."""
    found: dict[tuple[str, str], tuple[IndicatorView, list[EvidenceView]]] = {}
    for entry in finding.evidence:
        for indicator in entry.indicators:
            key = (indicator.type, indicator.value)
            found.setdefault(key, (indicator, []))[1].append(entry)
    return [found[key] for key in sorted(found)]


def _occurrences(finding: FindingView, entries: list[EvidenceView], *, single: bool) -> int:
    """How many times the indicator was seen: the distinct input records its evidence cites —
    all of the finding's when it matched only this indicator (an aggregated finding lists the
    indicator once and its records as rows of their own) — and at least one per matching entry.
    A detection that shows only the first records of a long series gives a lower bound."""
    cited = finding.evidence if single else entries
    records = {r for entry in cited for r in entry.records}
    return max(len(records), len(entries), 1)


def _observables(indicator: IndicatorView, entries: list[EvidenceView]) -> list[Any]:
    """SCOs of what was seen: the observed values that matched (a sub-domain of an indicated
    domain, an address in an indicated network), else the indicator's value itself."""
    from stix2.v21 import URL, DomainName, EmailAddress, IPv4Address, IPv6Address

    kind, value = indicator.type, indicator.value
    seen: dict[str, Any] = {}

    def add(sco: Any) -> None:
        seen.setdefault(sco.id, sco)

    texts: list[str] = []
    for entry in entries:
        for _, item in entry.fields:
            values = item if isinstance(item, list) else [item]
            texts += [v for v in values if isinstance(v, str)]
    if kind == "domain":
        for text in texts:
            name = text.strip().rstrip(".").lower()
            if name == value or name.endswith("." + value):
                add(DomainName(value=name))
        add(DomainName(value=value))
    elif kind in ("ipv4", "ipv6", "cidr"):
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:  # not an address after all: nothing to describe it with
            return []
        for text in texts:
            try:
                address = ipaddress.ip_address(text.strip())
            except ValueError:
                continue
            if address.version == network.version and address in network:
                add(
                    IPv4Address(value=str(address))
                    if address.version == 4
                    else IPv6Address(value=str(address))
                )
        if not seen:
            add(IPv4Address(value=value) if network.version == 4 else IPv6Address(value=value))
    elif kind == "url":
        add(URL(value=value))
    elif kind == "email":
        add(EmailAddress(value=value))
    elif kind in _HASH_TYPES or kind in ("file_name", "file_path"):
        for entry in entries:
            add(_file(entry, kind, value))
    return list(seen.values())


def _file(entry: EvidenceView, kind: str, value: str) -> Any:
    """A file SCO with every hash the evidence row has, and its name."""
    from stix2.v21 import File

    row = dict(entry.fields)
    hashes = {
        stix: str(row[column]).lower()
        for column, stix in _HASH_COLUMNS.items()
        if isinstance(row.get(column), str) and row[column]
    }
    if kind in _HASH_TYPES:
        hashes.setdefault(_HASH_TYPES[kind], value)
    name = row.get("name")
    if not isinstance(name, str) or not name:
        # a file_name or file_path indicator names the file; a hash indicator does not
        name = None if kind in _HASH_TYPES else value.replace("\\", "/").rsplit("/", 1)[-1]
    properties: dict[str, Any] = {}
    if hashes:
        properties["hashes"] = hashes
    if name:
        properties["name"] = name
    size = row.get("size")
    if isinstance(size, int) and size >= 0:
        properties["size"] = size
    return File(**properties)
