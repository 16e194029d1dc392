"""Read STIX 2.0 and 2.1 JSON (a bundle, one object or a list of objects) into raw indicators.

Every object is validated by the ``stix2`` library first, so a malformed object is reported and
skipped instead of being half-trusted; patterns and observables are mapped to indicator types by
:mod:`seawall.intel.stix2_observables`. Relationships are followed inside the document only:
indicator ``indicates`` attack-pattern / malware / actor, and one hop on (``uses``).

Decisions (shared with :mod:`seawall.intel.stix1` and :mod:`seawall.intel.misp`, which import the
helpers defined here):

* ``techniques`` holds ATT&CK **Enterprise** ids only, because the detections and the ATT&CK
  knowledge base are Enterprise. ICS ids (``T0xxx``, or anything marked ``(ICS)`` /
  ``mitre-ics-attack``) and Mobile ids (``(MOB)`` / ``mitre-mobile-attack``) are valid ATT&CK ids
  too, so they are kept, as tags ``attack-ics:T0883`` / ``attack-mobile:T1406`` on indicators.
  Tactic ids (``TA0001``) are not techniques and are not collected.
* Every comparison of a pattern becomes its own indicator; when comparisons were joined by
  ``AND`` (or observations combined) the indicator carries ``context["pattern_and"] = True`` and
  the full pattern, because e.g. ``file:name = 'putty.exe' AND file:hashes.MD5 = …`` makes the
  file name alone a weak indicator, and hygiene must be able to tell.
* Observed data and loose cyber-observables are indicators with ``confidence=None`` and the tag
  ``observed``: they say "this was seen", not "this is malicious".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import stix2
from stix2.exceptions import STIXError
from stix2patterns.exceptions import ParseException

from seawall.errors import BadInputError
from seawall.intel.stix2_observables import (
    READ_THROUGH,
    REFERENCES_ONLY,
    SCO_TYPES,
    Resolver,
    parse_pattern,
    sco_values,
)
from seawall.model.indicator import IndicatorType, IntelDocument, RawIndicator

FORMAT = "stix2"

# --------------------------------------------------------------------------------------------
# Helpers shared by the three structured readers (stix1, stix2, misp).
# --------------------------------------------------------------------------------------------

# ``T1059.001`` and the URL form ``T1059/001``; the look-arounds keep ``TA0001`` and ``T12345`` out.
_TECHNIQUE_RE = re.compile(r"(?<![A-Za-z0-9])T(\d{4})(?:[./](\d{3}))?(?![0-9])")
_CVE_RE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)


def decode_json(data: bytes, origin: str) -> Any:
    """Decode ``data`` as UTF-8 JSON, turning every failure into a located ``BadInputError``.

    JSON from outside is hostile: deep nesting (RecursionError) and giant integers (ValueError
    from CPython's digit limit) must be a clear message, not a traceback.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"not valid UTF-8 at byte offset {exc.start}: {exc.reason}", origin
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            f"{origin}:{exc.lineno}",
        ) from None
    except RecursionError:
        raise BadInputError("invalid JSON: nested too deeply", origin) from None
    except ValueError as exc:  # e.g. an integer literal beyond CPython's digit limit
        raise BadInputError(f"invalid JSON: {exc}", origin) from None


def naive_utc(value: datetime) -> datetime:
    """The model stores naive UTC; a naive input is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp to naive UTC (raises ``ValueError``)."""
    return naive_utc(datetime.fromisoformat(text.strip()))


def attack_techniques(text: str, domain: str | None = None) -> tuple[list[str], list[str]]:
    """ATT&CK technique ids mentioned in ``text``: ``(enterprise_ids, tags_for_other_domains)``.

    ``domain`` is what the source states ("enterprise", "ics", "mobile"); without it the CISA
    suffixes ``(ICS)`` / ``(MOB)`` are honoured, and ``T0xxx`` ids are ICS by construction.
    """
    if domain is None:
        upper = text.upper()
        if "(ICS)" in upper:
            domain = "ics"
        elif "(MOB)" in upper:
            domain = "mobile"
    enterprise: dict[str, None] = {}  # dicts as insertion-ordered sets, here and below
    other: dict[str, None] = {}
    for match in _TECHNIQUE_RE.finditer(text):
        tid = f"T{match.group(1)}" + (f".{match.group(2)}" if match.group(2) else "")
        kind = "ics" if tid.startswith("T0") else (domain or "enterprise")
        if kind == "enterprise":
            enterprise[tid] = None
        else:
            other[f"attack-{kind}:{tid}"] = None
    return list(enterprise), list(other)


def cve_ids(text: str) -> list[str]:
    """CVE ids mentioned in ``text``, upper-cased as NVD writes them."""
    return list(dict.fromkeys(match.group(0).upper() for match in _CVE_RE.finditer(text)))


# --------------------------------------------------------------------------------------------
# The reader.
# --------------------------------------------------------------------------------------------

_NAMED_TAGS = {
    "malware": "malware",
    "tool": "tool",
    "threat-actor": "actor",
    "intrusion-set": "actor",
    "campaign": "campaign",
}

_ATTACK_SOURCES = {
    "mitre-attack": "enterprise",
    "mitre-ics-attack": "ics",
    "mitre-mobile-attack": "mobile",
}

_MAX_LINKED = 1000  # techniques or tags one indicator may inherit through relationships

# Exceptions the stix2 library lets escape for malformed (not merely invalid) content.
_VALIDATION_ERRORS = (STIXError, ValueError, TypeError, KeyError, AttributeError, RecursionError)


def read(data: bytes, origin: str) -> IntelDocument:
    """Read a STIX 2.x document; invalid objects are warnings, a non-STIX document is an error."""
    objects, bundle_version = _top_level(decode_json(data, origin), origin)
    doc = IntelDocument(format=FORMAT)
    _Bundle(doc, origin, objects, bundle_version).read()
    return doc


def _top_level(parsed: Any, origin: str) -> tuple[list[Any], str | None]:
    if isinstance(parsed, dict) and parsed.get("type") == "bundle":
        objects = parsed.get("objects", [])
        if not isinstance(objects, list):
            raise BadInputError("STIX bundle whose 'objects' is not a list", origin)
        version = parsed.get("spec_version")
        # A 2.0 bundle must state its version; 2.1 removed the property from bundles.
        return objects, version if isinstance(version, str) else "2.1"
    if isinstance(parsed, dict) and _looks_like_stix(parsed):
        return [parsed], None
    if isinstance(parsed, list) and parsed and any(_looks_like_stix(item) for item in parsed):
        return parsed, None
    raise BadInputError("JSON but not STIX 2.x (neither a bundle nor STIX objects)", origin)


def _looks_like_stix(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("type"), str)
        and isinstance(item.get("id"), str)
        and item["id"].startswith(item["type"] + "--")
    )


class _Bundle:
    """One pass over the validated objects; relationships are resolved within the document."""

    def __init__(
        self, doc: IntelDocument, origin: str, objects: list[Any], bundle_version: str | None
    ) -> None:
        self.doc = doc
        self.origin = origin
        self.raw = objects
        self.bundle_version = bundle_version
        self.by_id: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, str] = {}

    # -- validation -------------------------------------------------------------------------

    def _version_of(self, obj: dict[str, Any]) -> str:
        stated = obj.get("spec_version")
        if isinstance(stated, str) and stated in ("2.0", "2.1"):
            return stated
        if self.bundle_version is not None:
            return self.bundle_version
        # Loose objects: 2.1 SDOs must state spec_version, 2.0 has no top-level observables.
        return "2.1" if obj.get("type") in SCO_TYPES else "2.0"

    def _validate(self) -> None:
        for index, obj in enumerate(self.raw):
            where = f"{self.origin}:objects[{index}]"
            if not _looks_like_stix(obj):
                self.doc.warn(where, "not a STIX object (no matching 'type' and 'id'): skipped")
                continue
            where = f"{self.origin}:{obj['id']}"
            obj = self._drop_null_refs(obj, where)
            version = self._version_of(obj)
            try:
                stix2.parse(obj, allow_custom=True, version=version)
            except _VALIDATION_ERRORS as exc:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.doc.warn(where, f"invalid STIX {version} {obj['type']}: {message}: skipped")
                continue
            previous = self.by_id.get(obj["id"])
            if previous is not None and _newer(previous, obj):
                continue  # an older version of an object already read
            self.by_id[obj["id"]] = obj
            self.versions[obj["id"]] = version

    def _drop_null_refs(self, obj: dict[str, Any], where: str) -> dict[str, Any]:
        """Drop ``null`` members of ``*_refs`` lists, which CISA's own exports contain.

        Without this, AA26-204A's report (111 refs, two of them null) fails validation and the
        document loses its title; the nulls carry no information, so dropping them loses nothing.
        """
        cleaned: dict[str, Any] | None = None
        for key, value in obj.items():
            if key.endswith("_refs") and isinstance(value, list) and None in value:
                cleaned = cleaned if cleaned is not None else dict(obj)
                cleaned[key] = [ref for ref in value if ref is not None]
                nulls = len(value) - len(cleaned[key])
                self.doc.warn(where, f"'{key}' holds {nulls} null reference(s): ignored")
        return cleaned if cleaned is not None else obj

    # -- reading ----------------------------------------------------------------------------

    def read(self) -> None:
        self._validate()
        objects = list(self.by_id.values())
        self.patterns: dict[str, tuple[list[str], list[str]]] = {}
        techniques: dict[str, None] = dict.fromkeys(self.doc.techniques)
        for obj in objects:
            if obj["type"] == "attack-pattern":
                self.patterns[obj["id"]] = self._attack_pattern(obj)
                techniques.update(dict.fromkeys(self.patterns[obj["id"]][0]))
        self.doc.techniques = sorted(techniques)
        self.targets: dict[str, tuple[list[str], list[str]]] = {}
        self._relationships(objects)
        self._sightings(objects)
        self._document(objects)
        referenced: set[str] = set()
        for obj in objects:
            kind = obj["type"]
            if kind == "indicator":
                self._indicator(obj)
            elif kind == "vulnerability":
                self._vulnerability(obj)
            elif kind == "observed-data":
                referenced.update(self._observed(obj))
        # An address or directory another observable points at is read through that one.
        for obj in objects:
            if obj["type"] in SCO_TYPES:
                referenced.update(str(obj.get(ref)) for ref in READ_THROUGH if obj.get(ref))
        for obj in objects:
            if obj["type"] in SCO_TYPES and obj["id"] not in referenced:
                self._observables([obj], None, self._resolve)

    def _attack_pattern(self, obj: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(enterprise techniques, tags) of an attack-pattern: ids, ICS/Mobile ids, tactics."""
        techniques: dict[str, None] = {}
        tags: dict[str, None] = {}
        for ref in obj.get("external_references") or []:
            domain = _ATTACK_SOURCES.get(str(ref.get("source_name", "")))
            if domain is not None and isinstance(ref.get("external_id"), str):
                found, other = attack_techniques(ref["external_id"], domain)
                techniques.update(dict.fromkeys(found))
                tags.update(dict.fromkeys(other))
        if not techniques and not tags:
            found, other = attack_techniques(str(obj.get("name", "")))
            techniques.update(dict.fromkeys(found))
            tags.update(dict.fromkeys(other))
        tags.update(dict.fromkeys(_tactics(obj)))
        return list(techniques), list(tags)

    def _relationships(self, objects: list[dict[str, Any]]) -> None:
        self.indicates: dict[str, list[str]] = {}
        self.uses: dict[str, list[str]] = {}
        for obj in objects:
            if obj["type"] != "relationship":
                continue
            source, target = obj["source_ref"], obj["target_ref"]
            if obj["relationship_type"] == "indicates":
                self.indicates.setdefault(source, []).append(target)
            elif obj["relationship_type"] == "uses" and target in self.patterns:
                self.uses.setdefault(source, []).append(target)

    def _sightings(self, objects: list[dict[str, Any]]) -> None:
        self.seen: dict[str, tuple[datetime | None, datetime | None]] = {}
        for obj in objects:
            if obj["type"] != "sighting":
                continue
            first, last = _time(obj.get("first_seen")), _time(obj.get("last_seen"))
            old_first, old_last = self.seen.get(obj["sighting_of_ref"], (None, None))
            self.seen[obj["sighting_of_ref"]] = (_min(old_first, first), _max(old_last, last))

    def _document(self, objects: list[dict[str, Any]]) -> None:
        creators: list[str] = []
        for obj in objects:
            if obj["type"] == "report":
                if self.doc.title is None and isinstance(obj.get("name"), str):
                    self.doc.title = obj["name"]
                creators.insert(0, str(obj.get("created_by_ref", "")))
            elif "created_by_ref" in obj:
                creators.append(str(obj["created_by_ref"]))
        for ref in creators:
            identity = self.by_id.get(ref)
            if identity is not None and isinstance(identity.get("name"), str):
                self.doc.producer = identity["name"]
                return

    def _context_of(self, obj_id: str) -> tuple[dict[str, None], dict[str, None]]:
        """Techniques and tags an object inherits from what it ``indicates`` (and one hop on)."""
        techniques: dict[str, None] = {}
        tags: dict[str, None] = {}
        for target_id in self.indicates.get(obj_id, []):
            found, found_tags = self._target(target_id)
            techniques.update(dict.fromkeys(found))
            tags.update(dict.fromkeys(found_tags))
        return techniques, tags

    def _target(self, target_id: str) -> tuple[list[str], list[str]]:
        """What one indicated object contributes; computed once, as many indicators share it."""
        cached = self.targets.get(target_id)
        if cached is not None:
            return cached
        techniques: dict[str, None] = {}
        tags: dict[str, None] = {}
        target = self.by_id.get(target_id)
        if target_id in self.patterns:
            techniques.update(dict.fromkeys(self.patterns[target_id][0]))
            tags.update(dict.fromkeys(self.patterns[target_id][1]))
        elif target is not None and target["type"] in _NAMED_TAGS:
            if isinstance(target.get("name"), str):
                tags[f"{_NAMED_TAGS[target['type']]}:{target['name']}"] = None
            for pattern_id in self.uses.get(target_id, []):
                techniques.update(dict.fromkeys(self.patterns[pattern_id][0]))
                tags.update(dict.fromkeys(self.patterns[pattern_id][1]))
        result = (list(techniques), list(tags))
        self.targets[target_id] = result
        return result

    def _linked(
        self, obj_id: str, where: str, own_tags: Iterable[str] = ()
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Techniques and tags for one indicator, capped so a hostile graph cannot explode."""
        techniques, tags = self._context_of(obj_id)
        tags.update(dict.fromkeys(own_tags))
        if len(techniques) > _MAX_LINKED or len(tags) > _MAX_LINKED:
            self.doc.warn(where, f"more than {_MAX_LINKED} techniques or tags: the rest dropped")
        return tuple(list(techniques)[:_MAX_LINKED]), tuple(list(tags)[:_MAX_LINKED])

    def _indicator(self, obj: dict[str, Any]) -> None:
        where = f"{self.origin}:{obj['id']}"
        if obj.get("revoked") is True:
            self.doc.warn(where, "indicator is revoked by its producer: skipped")
            return
        pattern_type = obj.get("pattern_type", "stix")
        if pattern_type != "stix":
            self.doc.warn(where, f"pattern_type {pattern_type!r} is not a STIX pattern: skipped")
            return
        pattern = str(obj["pattern"])
        try:
            parsed = parse_pattern(pattern, self.versions[obj["id"]])
        except (ParseException, RecursionError) as exc:
            self.doc.warn(where, f"invalid pattern {pattern!r}: {exc}: skipped")
            return
        if parsed.unsupported:
            read_note = "the rest was read" if parsed.values else "nothing was read"
            self.doc.warn(
                where,
                f"pattern {pattern!r}: cannot use {'; '.join(parsed.unsupported)} ({read_note})",
            )
        own = [*_strings(obj.get("indicator_types")), *_strings(obj.get("labels")), *_tactics(obj)]
        techniques, tags = self._linked(obj["id"], where, own)
        first, last = self.seen.get(obj["id"], (None, None))
        context: dict[str, str | int | float | bool | None] = {
            "pattern": pattern,
            "spec_version": self.versions[obj["id"]],
        }
        if parsed.compound:
            context["pattern_and"] = True
        for kind, value in parsed.values:
            self.doc.indicators.append(
                RawIndicator(
                    value=value,
                    type=kind,
                    location=where,
                    external_id=obj["id"],
                    title=_text(obj.get("name")),
                    description=_text(obj.get("description")),
                    confidence=_confidence(obj.get("confidence")),
                    valid_from=_time(obj.get("valid_from")),
                    valid_until=_time(obj.get("valid_until")),
                    first_seen=first or _time(obj.get("created")),
                    last_seen=last or _time(obj.get("modified")),
                    techniques=techniques,
                    tags=tags,
                    context=dict(context),
                )
            )

    def _vulnerability(self, obj: dict[str, Any]) -> None:
        found = dict.fromkeys(cve_ids(str(obj.get("name", ""))))
        for ref in obj.get("external_references") or []:
            if str(ref.get("source_name", "")).lower() == "cve":
                found.update(dict.fromkeys(cve_ids(str(ref.get("external_id", "")))))
        where = f"{self.origin}:{obj['id']}"
        if not found:
            self.doc.warn(where, f"vulnerability {obj.get('name')!r} names no CVE id: skipped")
            return
        techniques, tags = self._linked(obj["id"], where)
        for cve in found:
            self.doc.indicators.append(
                RawIndicator(
                    value=cve,
                    type=IndicatorType.CVE,
                    location=where,
                    external_id=obj["id"],
                    title=_text(obj.get("name")),
                    description=_text(obj.get("description")),
                    confidence=_confidence(obj.get("confidence")),
                    first_seen=_time(obj.get("created")),
                    last_seen=_time(obj.get("modified")),
                    techniques=techniques,
                    tags=tags,
                )
            )

    def _observed(self, obj: dict[str, Any]) -> set[str]:
        """Read an observed-data object; return the ids of the top-level SCOs it consumed."""
        embedded = obj.get("objects")
        if isinstance(embedded, dict):  # 2.0 (and deprecated 2.1): local keys "0", "1", …
            local: dict[str, dict[str, Any]] = {
                str(k): v for k, v in embedded.items() if isinstance(v, dict)
            }
            self._observables(list(local.values()), obj, lambda ref: local.get(str(ref)))
            return set()
        refs = [ref for ref in obj.get("object_refs") or [] if isinstance(ref, str)]
        scos = [self.by_id[ref] for ref in refs if ref in self.by_id]
        missing = len(refs) - len(scos)
        if missing:
            where = f"{self.origin}:{obj['id']}"
            self.doc.warn(where, f"{missing} observed object(s) are not in this document")
        self._observables(scos, obj, self._resolve)
        return set(refs)

    def _resolve(self, ref: Any) -> dict[str, Any] | None:
        return self.by_id.get(ref) if isinstance(ref, str) else None

    def _observables(
        self, scos: list[dict[str, Any]], observed: dict[str, Any] | None, resolve: Resolver
    ) -> None:
        source = observed if observed is not None else (scos[0] if scos else {})
        where = f"{self.origin}:{source.get('id', '?')}"
        unused: dict[str, None] = {}
        emitted: set[tuple[IndicatorType, str]] = set()
        tags: tuple[str, ...] = ("observed",)
        if observed is not None:
            tags = self._linked(observed["id"], where, ["observed"])[1]
        first = _time(source.get("first_observed")) or _time(source.get("created"))
        last = _time(source.get("last_observed")) or _time(source.get("modified"))
        for sco in scos:
            values = sco_values(sco, resolve)
            if values is None:
                unused[str(sco.get("type"))] = None
                continue
            for kind, value in values:
                if (kind, value) in emitted:
                    continue
                emitted.add((kind, value))
                self.doc.indicators.append(
                    RawIndicator(
                        value=value,
                        type=kind,
                        location=where,
                        external_id=source.get("id"),
                        first_seen=first,
                        last_seen=last,
                        tags=tags,
                        context={"observable_type": str(sco.get("type"))},
                    )
                )
        ignored = [kind for kind in unused if kind not in REFERENCES_ONLY]
        if ignored:
            self.doc.warn(where, f"observed object types with no indicator value: {ignored}")


def _tactics(obj: dict[str, Any]) -> Iterator[str]:
    for phase in obj.get("kill_chain_phases") or []:
        if phase.get("kill_chain_name") == "mitre-attack" and phase.get("phase_name"):
            yield f"tactic:{phase['phase_name']}"


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _confidence(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return value
    return None


def _time(value: Any) -> datetime | None:
    """A validated STIX timestamp to naive UTC; anything unparsable is treated as absent."""
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _newer(kept: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether ``kept`` is a later version than ``other`` (a bundle may hold several)."""
    kept_time, other_time = _time(kept.get("modified")), _time(other.get("modified"))
    return kept_time is not None and other_time is not None and kept_time > other_time


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
