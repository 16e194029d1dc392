"""Read MISP event JSON (one event, a ``{"response": [...]}`` search result or a list) offline.

PyMISP does the MISP-specific parsing (type and category vocabulary, timestamps, tags,
galaxies), but each attribute is loaded on its own: ``MISPEvent.load`` rejects a whole event for
one bad attribute, and one bad record must cost a warning, not the event.

Decisions:

* Confidence comes from the event's ``threat_level_id`` (1 high → 85, 2 medium → 60, 3 low → 40,
  4 undefined → None). An attribute with ``to_ids`` false is one its producer says not to alert
  on: it is kept (it is still context) but tagged ``to_ids:false`` with confidence at most 30.
* ``misp-galaxy:…attack-pattern…="Name - T1234"`` tags give techniques (Enterprise only; ICS and
  Mobile ids become ``attack-ics:`` / ``attack-mobile:`` tags, as in the STIX readers); threat
  actor / intrusion-set galaxies become ``actor:<name>``; every other tag is kept as written.
* Attribute types that are clearly not indicators (comments, links, free text, victim data, …)
  are skipped silently; any other type seawall has no indicator type for is one warning per
  type and event, because a silently dropped IOC type is the worst failure.
* Soft-deleted attributes (``deleted: true``) are skipped: their producer withdrew them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymisp import MISPAttribute, MISPEvent
from pymisp.exceptions import PyMISPError

from seawall.errors import BadInputError
from seawall.intel.stix2 import attack_techniques, decode_json, naive_utc
from seawall.intel.stix2_observables import refine_type
from seawall.model.indicator import IndicatorType, IntelDocument, RawIndicator

FORMAT = "misp"

_T = IndicatorType
_IP = "ip"  # IPv4 or IPv6, decided by the value

_HASH_PARTS: dict[str, IndicatorType] = {
    "md5": _T.MD5,
    "sha1": _T.SHA1,
    "sha256": _T.SHA256,
    "sha512": _T.SHA512,
    "ssdeep": _T.SSDEEP,
}

# MISP type -> the indicator type of each ``|``-separated part (None: a part that is not one).
_TYPES: dict[str, tuple[IndicatorType | str | None, ...]] = {
    **{name: (kind,) for name, kind in _HASH_PARTS.items()},
    **{f"filename|{name}": (_T.FILE_NAME, kind) for name, kind in _HASH_PARTS.items()},
    "malware-sample": (_T.FILE_NAME, _T.MD5),
    "filename": (_T.FILE_NAME,),
    "email-attachment": (_T.FILE_NAME,),
    "domain": (_T.DOMAIN,),
    "hostname": (_T.DOMAIN,),
    "domain|ip": (_T.DOMAIN, _IP),
    "hostname|port": (_T.DOMAIN, None),
    "ip-src": (_IP,),
    "ip-dst": (_IP,),
    "ip-src|port": (_IP, None),
    "ip-dst|port": (_IP, None),
    "url": (_T.URL,),
    "email": (_T.EMAIL,),
    "email-src": (_T.EMAIL,),
    "email-dst": (_T.EMAIL,),
    "email-subject": (_T.EMAIL_SUBJECT,),
    "mutex": (_T.MUTEX,),
    "regkey": (_T.REGISTRY,),
    "regkey|value": (_T.REGISTRY, None),
    "vulnerability": (_T.CVE,),
}

# Types that describe, reference or target rather than indicate: skipped without a warning.
_NOT_INDICATORS = frozenset(
    {
        "comment", "text", "other", "link", "datetime", "boolean", "counter", "float",
        "integer", "hex", "size-in-bytes", "port", "campaign-name", "campaign-id",
        "malware-type", "attachment", "anonymised", "cortex", "mime-type", "email-body",
        "first-name", "middle-name", "last-name", "full-name", "phone-number",
        "date-of-birth", "place-of-birth", "gender", "nationality", "passport-number",
        "passport-country", "passport-expiration", "identity-card-number",
        "country-of-residence", "primary-residence", "threat-actor",
    }
)  # fmt: skip

_THREAT_LEVEL = {1: 85, 2: 60, 3: 40, 4: None}
_NOT_TO_IDS_CONFIDENCE = 30

# What PyMISP lets escape for malformed records (e.g. KeyError for an unknown category).
_LOAD_ERRORS = (PyMISPError, ValueError, TypeError, KeyError, AttributeError, RecursionError)


def read(data: bytes, origin: str) -> IntelDocument:
    """Read MISP events; a bad attribute is a warning, a non-MISP document is an error."""
    doc = IntelDocument(format=FORMAT)
    events = _events(decode_json(data, origin), origin)
    for index, event in enumerate(events):
        where = f"{origin}:Event[{index}]" if len(events) > 1 else origin
        if not isinstance(event, dict):
            doc.warn(where, "not a MISP event object: skipped")
            continue
        _Event(doc, origin, where, event).read()
    return doc


def _events(parsed: Any, origin: str) -> list[Any]:
    """The event bodies of any of the shapes MISP exports and its API returns."""
    items: list[Any]
    if isinstance(parsed, dict) and isinstance(parsed.get("response"), list):
        items = parsed["response"]
    elif isinstance(parsed, list):
        items = parsed
    else:
        items = [parsed]
    events = [item["Event"] if _wrapped(item) else item for item in items]
    if not any(_is_event(event) for event in events):
        raise BadInputError("JSON but not a MISP event (no event with 'info')", origin)
    return events


def _wrapped(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("Event"), dict)


def _is_event(item: Any) -> bool:
    return isinstance(item, dict) and "info" in item


def _short(exc: BaseException) -> str:
    """PyMISP messages may list its whole type vocabulary; keep the first clause."""
    if isinstance(exc, KeyError):  # PyMISP's vocabulary lookups, e.g. an unknown category
        return f"unknown MISP vocabulary value {exc.args[0]!r}" if exc.args else "KeyError"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "…"


@dataclass(slots=True)
class _Linked:
    """Ordered sets (dicts) so that event and attribute tags merge without duplicates."""

    techniques: dict[str, None] = field(default_factory=dict)
    tags: dict[str, None] = field(default_factory=dict)


def _tag_names(names: list[str], into: _Linked) -> None:
    """Sort tag names into techniques and tags (see the module docstring)."""
    for name in names:
        if name.startswith("misp-galaxy:") and "=" in name:
            galaxy, _, value = name[len("misp-galaxy:") :].partition("=")
            value = value.strip().strip('"')
            if "attack-pattern" in galaxy or "technique" in galaxy:
                domain = "ics" if "ics" in galaxy else "mobile" if "mobile" in galaxy else None
                found, other = attack_techniques(value, domain)
                if found or other:
                    into.techniques.update(dict.fromkeys(found))
                    into.tags.update(dict.fromkeys(other))
                    continue
            elif "threat-actor" in galaxy or "intrusion-set" in galaxy:
                into.tags[f"actor:{value}"] = None
                continue
            elif "malware" in galaxy or galaxy in ("mitre-tool", "tool"):
                prefix = "tool" if "tool" in galaxy else "malware"
                into.tags[f"{prefix}:{value}"] = None
                continue
        into.tags[name] = None


def _names(tags: Any, galaxies: Any) -> list[str]:
    """Tag names of a PyMISP event or attribute, plus the tag names of its galaxy clusters."""
    names = [str(tag.name) for tag in tags or [] if getattr(tag, "name", None)]
    for galaxy in galaxies or []:
        for cluster in getattr(galaxy, "clusters", None) or []:
            if getattr(cluster, "tag_name", None):
                names.append(str(cluster.tag_name))
    return names


def _when(value: Any) -> datetime | None:
    return naive_utc(value) if isinstance(value, datetime) else None


class _Event:
    """One event: metadata through ``MISPEvent``, then every attribute on its own."""

    def __init__(self, doc: IntelDocument, origin: str, where: str, raw: dict[str, Any]) -> None:
        self.doc = doc
        self.origin = origin
        self.where = where
        self.raw = raw
        self.linked = _Linked()
        self.confidence: int | None = None
        self.info: str | None = None
        self.event_uuid: str | None = None
        self.unmapped: dict[str, tuple[int, str]] = {}

    def read(self) -> None:
        skip = ("Attribute", "Object", "RelatedEvent", "EventReport", "ShadowAttribute")
        meta = {key: value for key, value in self.raw.items() if key not in skip}
        event = MISPEvent()
        try:
            event.load(meta, metadata_only=True)
        except _LOAD_ERRORS as exc:
            self.doc.warn(self.where, f"event cannot be read: {_short(exc)}: skipped")
            return
        self.info = str(event.info) if event.info else None
        self.doc.title = self.doc.title or self.info
        orgc_name = getattr(getattr(event, "Orgc", None), "name", None)
        if self.doc.producer is None and orgc_name:
            self.doc.producer = str(orgc_name)
        self.confidence = _THREAT_LEVEL.get(getattr(event, "threat_level_id", 4) or 4)
        raw_uuid = self.raw.get("uuid")
        self.event_uuid = raw_uuid if isinstance(raw_uuid, str) else None
        _tag_names(_names(event.tags, event.galaxies), self.linked)
        known = dict.fromkeys(self.doc.techniques)
        known.update(self.linked.techniques)
        self.doc.techniques = sorted(known)
        attributes = self.raw.get("Attribute") or []
        for attribute in attributes if isinstance(attributes, list) else []:
            # A threat-actor attribute names who is behind every indicator of the event.
            if (
                isinstance(attribute, dict)
                and attribute.get("type") == "threat-actor"
                and isinstance(attribute.get("value"), str)
                and not attribute.get("deleted")
            ):
                self.linked.tags[f"actor:{attribute['value']}"] = None
        for index, attribute in enumerate(attributes if isinstance(attributes, list) else []):
            self._attribute(attribute, f"{self.where}/Attribute[{index}]", None)
        objects = self.raw.get("Object") or []
        for index, obj in enumerate(objects if isinstance(objects, list) else []):
            self._object(obj, f"{self.where}/Object[{index}]")
        for misp_type, (count, first) in self.unmapped.items():
            self.doc.warn(
                first,
                f"{count} attribute(s) of MISP type {misp_type!r} not read: "
                "seawall has no indicator type for it",
            )

    def _object(self, obj: Any, fallback: str) -> None:
        if not isinstance(obj, dict):
            self.doc.warn(fallback, "not a MISP object: skipped")
            return
        if obj.get("deleted") in (True, "1", 1):
            return
        uuid = obj.get("uuid")
        where = f"{self.origin}:{uuid}" if isinstance(uuid, str) else fallback
        attributes = obj.get("Attribute") or []
        for index, attribute in enumerate(attributes if isinstance(attributes, list) else []):
            self._attribute(attribute, f"{where}/Attribute[{index}]", obj)

    def _attribute(self, raw: Any, fallback: str, obj: dict[str, Any] | None) -> None:
        if not isinstance(raw, dict):
            self.doc.warn(fallback, "not a MISP attribute: skipped")
            return
        # PyMISP invents a random uuid when there is none: locate by the file's own uuid only.
        uuid = raw.get("uuid") if isinstance(raw.get("uuid"), str) else None
        where = f"{self.origin}:{uuid}" if uuid else fallback
        if raw.get("deleted") in (True, "1", 1):
            return
        attribute = MISPAttribute()
        try:
            attribute.from_dict(**{str(key): value for key, value in raw.items()})
        except _LOAD_ERRORS as exc:
            self.doc.warn(where, f"attribute cannot be read: {_short(exc)}: skipped")
            return
        misp_type = str(attribute.type)
        if misp_type == "threat-actor":
            return  # already an event-wide tag (see read)
        parts = _TYPES.get(misp_type)
        if parts is None and misp_type.startswith("filename|"):
            parts = (_T.FILE_NAME, None)
            self._unmapped(f"{misp_type} (hash part)", where)
        if parts is None:
            if misp_type not in _NOT_INDICATORS and not misp_type.startswith("target-"):
                self._unmapped(misp_type, where)
            return
        values = self._split(str(attribute.value), misp_type, len(parts), where)
        if values is None:
            return
        self._emit(attribute, list(zip(parts, values, strict=True)), where, uuid, obj)

    def _unmapped(self, misp_type: str, where: str) -> None:
        count, first = self.unmapped.get(misp_type, (0, where))
        self.unmapped[misp_type] = (count + 1, first)

    def _split(self, value: str, misp_type: str, parts: int, where: str) -> list[str] | None:
        if parts == 1:
            return [value]
        # A file name may contain "|" on Unix; the hash never does, so split from the right.
        pieces = value.rsplit("|", 1) if misp_type.startswith("filename") else value.split("|", 1)
        if len(pieces) != parts:
            self.doc.warn(where, f"{misp_type} value {value!r} has no '|' separator: skipped")
            return None
        return pieces

    def _emit(
        self,
        attribute: MISPAttribute,
        pairs: list[tuple[IndicatorType | str | None, str]],
        where: str,
        uuid: str | None,
        obj: dict[str, Any] | None,
    ) -> None:
        linked = _Linked(dict(self.linked.techniques), dict(self.linked.tags))
        _tag_names(_names(attribute.tags, getattr(attribute, "galaxies", None)), linked)
        confidence = self.confidence
        to_ids = bool(attribute.to_ids)
        if not to_ids:
            linked.tags["to_ids:false"] = None
            confidence = min(confidence or _NOT_TO_IDS_CONFIDENCE, _NOT_TO_IDS_CONFIDENCE)
        stamp = _when(getattr(attribute, "timestamp", None))
        first = _when(getattr(attribute, "first_seen", None))
        last = _when(getattr(attribute, "last_seen", None))
        if obj is not None:
            first = first or _parse_when(obj.get("first_seen"))
            last = last or _parse_when(obj.get("last_seen"))
        context: dict[str, str | int | float | bool | None] = {
            "misp_type": str(attribute.type),
            "category": str(attribute.category),
            "to_ids": to_ids,
            "event_uuid": self.event_uuid,
        }
        if obj is not None:
            context["misp_object"] = str(obj.get("name"))
            relation = getattr(attribute, "object_relation", None)
            context["object_relation"] = str(relation) if relation else None
        comment = attribute.comment if getattr(attribute, "comment", None) else None
        if comment is None and obj is not None and obj.get("comment"):
            comment = str(obj["comment"])
        for kind, value in pairs:
            if kind is None or not value.strip():
                continue
            indicator_type = _ip_type(value) if kind == _IP else IndicatorType(kind)
            self.doc.indicators.append(
                RawIndicator(
                    value=value,
                    type=refine_type(indicator_type, value),
                    location=where,
                    external_id=uuid,
                    title=self.info,
                    description=str(comment) if comment else None,
                    confidence=confidence,
                    first_seen=first or stamp,
                    last_seen=last or stamp,
                    techniques=tuple(linked.techniques),
                    tags=tuple(linked.tags),
                    context=dict(context),
                )
            )


def _ip_type(value: str) -> IndicatorType:
    return IndicatorType.IPV6 if ":" in value else IndicatorType.IPV4


def _parse_when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return naive_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
