"""Read STIX 1.x XML packages (as CISA still publishes them) into raw indicators.

The ``stix``/``cybox`` libraries have been unmaintained since 2020 and parse with lxml, so this is
a small reader on ``defusedxml``: XML from outside is hostile, and any DTD (the vehicle of entity
expansion and XXE) is refused before a single entity is read. Nothing is ever fetched.

STIX 1 spreads one indicator over several places: the indicator names an observable (inline, by
``idref`` into ``stix:Observables``, or as an ``Observable_Composition`` tree), composite
indicators nest other indicators, and the ATT&CK mapping lives in a separate ``stix:TTP`` the
indicator points to. References are resolved inside the package only, with a depth limit and a
visit budget so that a reference cycle or a "reference bomb" cannot hang the import.

Elements have no line numbers in ElementTree, so locations name the element ``id`` instead
(``AA26-204A.stix_.xml:CISA:Indicator-75101c8b-…``), which is as precise and stable.

Confidence words map onto STIX 2.1's own conversion scale (appendix "Confidence Scales"): High
85, Medium 50, Low 15, None 0; "Unknown" is no statement (None); numbers 0-100 are kept. Only
exact values are read (``condition`` absent or ``Equals``; ``##comma##`` lists are one indicator
per element): a ``Contains`` or ``InclusiveBetween`` value is not an IOC seawall can match, so it
is a warning rather than a wrong indicator.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import datetime

import defusedxml
from defusedxml.ElementTree import fromstring as defused_fromstring

from seawall.errors import BadInputError
from seawall.intel.stix2 import attack_techniques, parse_timestamp
from seawall.intel.stix2_observables import hash_type, refine_type
from seawall.model.indicator import IndicatorType, IntelDocument, RawIndicator

FORMAT = "stix1"

_STIX = "{http://stix.mitre.org/stix-1}"
_IND = "{http://stix.mitre.org/Indicator-2}"
_CYBOX = "{http://cybox.mitre.org/cybox-2}"
_COMMON = "{http://stix.mitre.org/common-1}"
_TTP = "{http://stix.mitre.org/TTP-1}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

_MAX_DEPTH = 32  # nesting of compositions / composite indicators / related objects
# Observables and objects visited over the whole package. A legitimate package visits each
# about once (the element count bounds it); shared references are allowed generous slack, but
# thousands of indicators each re-reading one huge composition is a quadratic "reference bomb".
_VISITS_BASE = 50_000
_VISITS_PER_ELEMENT = 2
_MAX_LINKED = 1000  # techniques or tags one indicator may inherit

_CONFIDENCE = {"high": 85, "medium": 50, "low": 15, "none": 0, "unknown": None}

_FILE_TYPES = frozenset(
    {
        "FileObjectType",
        "WindowsFileObjectType",
        "WindowsExecutableFileObjectType",
        "UnixFileObjectType",
        "ArchiveFileObjectType",
        "ImageFileObjectType",
        "PDFFileObjectType",
    }
)

_ADDRESS_CATEGORIES = {
    "ipv4-addr": IndicatorType.IPV4,
    "ipv6-addr": IndicatorType.IPV6,
    "ipv4-net": IndicatorType.CIDR,
    "ipv6-net": IndicatorType.CIDR,
    "e-mail": IndicatorType.EMAIL,
}


def read(data: bytes, origin: str) -> IntelDocument:
    """Read a STIX 1.x package; unreadable records are warnings, hostile XML is an error."""
    root = _parse(data, origin)
    if _local(root.tag) != "STIX_Package" or not root.tag.startswith(_STIX):
        raise BadInputError(
            f"XML but not a STIX 1.x package (root is <{_local(root.tag)}>)", origin
        )
    doc = IntelDocument(format=FORMAT)
    _Package(doc, origin, root).read()
    return doc


def _parse(data: bytes, origin: str) -> ET.Element:
    try:
        root: ET.Element = defused_fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DTDForbidden:
        # expat stops at the DOCTYPE, so that is where the location points.
        at = data.find(b"<!DOCTYPE")
        line = data.count(b"\n", 0, at) + 1 if at >= 0 else 1
        raise BadInputError(
            "XML with a document type declaration (DTD) is refused: DTDs carry entity "
            "expansion and external-entity (XXE) attacks, and STIX 1.x never needs one",
            f"{origin}:{line}",
        ) from None
    except defusedxml.EntitiesForbidden:
        raise BadInputError(
            "XML entity declarations are refused (entity expansion)", origin
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise BadInputError("XML external references are refused (XXE)", origin) from None
    except defusedxml.DefusedXmlException as exc:
        raise BadInputError(f"unsafe XML refused: {exc}", origin) from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise BadInputError(
            f"not well-formed XML: {exc.msg} (line {line}, column {column})", f"{origin}:{line}"
        ) from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


def _children(element: ET.Element, local: str) -> list[ET.Element]:
    """Children by local name: object schemas come in several namespace versions."""
    return [child for child in element if _local(child.tag) == local]


def _child(element: ET.Element | None, *path: str) -> ET.Element | None:
    for local in path:
        if element is None:
            return None
        found = _children(element, local)
        element = found[0] if found else None
    return element


@dataclass(slots=True)
class _Meta:
    """What an indicator says about the observables under it."""

    location: str
    external_id: str | None = None
    title: str | None = None
    description: str | None = None
    confidence: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    techniques: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    context: dict[str, str | int | float | bool | None] = field(default_factory=dict)


class _Package:
    """One STIX package: an id index, then indicators, then observables nobody referenced."""

    def __init__(self, doc: IntelDocument, origin: str, root: ET.Element) -> None:
        self.doc = doc
        self.origin = origin
        self.root = root
        self.ids: dict[str, ET.Element] = {}
        elements = 0
        for element in root.iter():
            elements += 1
            element_id = element.get("id")
            if element_id is not None:
                self.ids.setdefault(element_id, element)
        self.max_visits = _VISITS_BASE + _VISITS_PER_ELEMENT * elements
        self.read_indicators: set[int] = set()
        self.used_observables: set[str] = set()
        self.ttp_cache: dict[int, tuple[list[str], list[str]]] = {}
        self.visits = 0
        # Observables already read for the current indicator: a shared or cyclic reference
        # is read once, which keeps a reference DAG linear instead of exponential.
        self.expanded: set[int] = set()

    def read(self) -> None:
        header = self.root.find(f"{_STIX}STIX_Header")
        self.doc.title = _text(_child(header, "Title"))
        self.doc.producer = self._producer(header)
        techniques: dict[str, None] = {}
        for ttp in self.root.iterfind(f"{_STIX}TTPs/{_STIX}TTP"):
            techniques.update(dict.fromkeys(self._ttp(ttp)[0]))
        self.doc.techniques = sorted(techniques)
        for index, indicator in enumerate(
            self.root.iterfind(f"{_STIX}Indicators/{_STIX}Indicator")
        ):
            self._indicator(indicator, None, 0, f"{self.origin}:Indicator[{index + 1}]")
        for index, observable in enumerate(
            self.root.iterfind(f"{_STIX}Observables/{_CYBOX}Observable")
        ):
            observable_id = observable.get("id")
            if observable_id is not None and observable_id in self.used_observables:
                continue
            where = f"{self.origin}:{observable_id or f'Observable[{index + 1}]'}"
            meta = _Meta(location=where, external_id=observable_id)
            meta.context["stix1_section"] = "Observables"
            self.expanded = set()
            self._observable(observable, meta, 0)

    def _producer(self, header: ET.Element | None) -> str | None:
        source = _child(header, "Information_Source")
        if source is None:
            return None
        for identity in source.iter(f"{_COMMON}Identity"):
            name = _text(_child(identity, "Name"))
            if name:
                return name
            for party in identity.iter():
                if _local(party.tag) in ("OrganisationName", "PersonName"):
                    for element in party.iter():
                        if _local(element.tag) == "NameElement" and _text(element):
                            return _text(element)
        return None

    # -- indicators ---------------------------------------------------------------------------

    def _resolve(self, element: ET.Element, what: str, where: str) -> ET.Element | None:
        idref = element.get("idref")
        if idref is None:
            return element
        target = self.ids.get(idref)
        if target is None:
            self.doc.warn(where, f"{what} idref {idref!r} is not defined in this package")
        return target

    def _indicator(
        self, element: ET.Element, inherited: _Meta | None, depth: int, fallback: str
    ) -> None:
        if depth > _MAX_DEPTH:
            self.doc.warn(fallback, f"indicators nested more than {_MAX_DEPTH} deep: not read")
            return
        resolved = self._resolve(element, "indicator", fallback)
        if resolved is None or id(resolved) in self.read_indicators:
            return
        self.read_indicators.add(id(resolved))
        meta = self._meta(resolved, inherited, fallback)
        self.expanded = set()  # each indicator reads a shared observable for itself
        observables = resolved.findall(f"{_IND}Observable")
        for observable in observables:
            self._observable(observable, meta, depth)
        children = resolved.findall(f"{_IND}Composite_Indicator_Expression/{_IND}Indicator")
        for index, child in enumerate(children):
            self._indicator(child, meta, depth + 1, f"{meta.location}/Indicator[{index + 1}]")
        related = resolved.findall(
            f"{_IND}Related_Indicators/{_IND}Related_Indicator/{_COMMON}Indicator"
        )
        for index, child in enumerate(related):
            where = f"{meta.location}/Related_Indicator[{index + 1}]"
            self._indicator(child, None, depth + 1, where)
        if not observables and not children and not related:
            self.doc.warn(meta.location, "indicator has no observable: nothing to read")

    def _meta(self, element: ET.Element, inherited: _Meta | None, fallback: str) -> _Meta:
        element_id = element.get("id")
        where = f"{self.origin}:{element_id}" if element_id else fallback
        base = inherited if inherited is not None else _Meta(location=where)
        meta = replace(base, location=where, external_id=element_id or base.external_id)
        meta.context = dict(base.context)
        meta.title = _text(element.find(f"{_IND}Title")) or base.title
        descriptions = [
            _text(item)
            for item in element.findall(f"{_IND}Description")
            + element.findall(f"{_IND}Short_Description")
        ]
        meta.description = "\n\n".join(d for d in descriptions if d) or base.description
        confidence = _text(element.find(f"{_IND}Confidence/{_COMMON}Value"))
        if confidence is not None:
            meta.confidence = self._confidence(confidence, where)
        starts, ends = [], []
        for position in element.findall(f"{_IND}Valid_Time_Position"):
            starts.append(self._time(_text(position.find(f"{_IND}Start_Time")), where))
            ends.append(self._time(_text(position.find(f"{_IND}End_Time")), where))
        meta.valid_from = _earliest(starts) or base.valid_from
        meta.valid_until = _latest(ends) or base.valid_until
        seen = [
            self._time(sighting.get("timestamp"), where)
            for sighting in element.findall(f"{_IND}Sightings/{_IND}Sighting")
        ]
        meta.first_seen = _earliest(seen) or base.first_seen
        meta.last_seen = _latest(seen) or base.last_seen
        techniques = dict.fromkeys(base.techniques)
        tags = dict.fromkeys(base.tags)
        for kind in element.findall(f"{_IND}Type"):
            if _text(kind):
                tags[str(_text(kind))] = None
        for reference in element.findall(f"{_IND}Indicated_TTP/{_COMMON}TTP"):
            ttp = self._resolve(reference, "TTP", where)
            if ttp is not None:
                found, ttp_tags = self._ttp(ttp)
                techniques.update(dict.fromkeys(found))
                tags.update(dict.fromkeys(ttp_tags))
        if len(techniques) > _MAX_LINKED or len(tags) > _MAX_LINKED:
            self.doc.warn(where, f"more than {_MAX_LINKED} techniques or tags: the rest dropped")
        meta.techniques = tuple(list(techniques)[:_MAX_LINKED])
        meta.tags = tuple(list(tags)[:_MAX_LINKED])
        return meta

    def _confidence(self, text: str, where: str) -> int | None:
        word = text.strip().lower()
        if word in _CONFIDENCE:
            return _CONFIDENCE[word]
        try:
            number = float(word)
        except ValueError:
            number = -1.0
        if 0 <= number <= 100:
            return round(number)
        self.doc.warn(where, f"confidence {text!r} is neither High/Medium/Low nor 0-100: ignored")
        return None

    def _time(self, text: str | None, where: str) -> datetime | None:
        if text is None:
            return None
        try:
            return parse_timestamp(text)
        except ValueError:
            self.doc.warn(where, f"timestamp {text!r} is not ISO 8601: ignored")
            return None

    def _ttp(self, ttp: ET.Element) -> tuple[list[str], list[str]]:
        """(Enterprise techniques, tags) a TTP names: ATT&CK ids, CAPEC ids, malware names."""
        cached = self.ttp_cache.get(id(ttp))
        if cached is not None:
            return cached
        texts: list[str] = []
        tags: dict[str, None] = {}
        for element in ttp.iter():
            local = _local(element.tag)
            if local in ("Title", "Description", "Short_Description") and _text(element):
                texts.append(str(_text(element)))
            elif local == "Attack_Pattern" and element.get("capec_id"):
                tags[f"capec:{element.get('capec_id')}"] = None
        techniques: dict[str, None] = {}
        for text in texts:
            found, other = attack_techniques(text)
            techniques.update(dict.fromkeys(found))
            tags.update(dict.fromkeys(other))
        for instance in ttp.iterfind(f"{_TTP}Behavior/{_TTP}Malware/{_TTP}Malware_Instance"):
            for name in instance.findall(f"{_TTP}Name") + instance.findall(f"{_TTP}Title"):
                if _text(name):
                    tags[f"malware:{_text(name)}"] = None
        result = (list(techniques), list(tags))
        self.ttp_cache[id(ttp)] = result
        return result

    # -- observables --------------------------------------------------------------------------

    def _visit(self) -> None:
        self.visits += 1
        if self.visits > self.max_visits:
            raise BadInputError(
                f"more than {self.max_visits:,} observable visits for a package of this size: "
                "refusing a reference bomb (indicators re-reading shared observables)",
                self.origin,
            )

    def _observable(self, element: ET.Element, meta: _Meta, depth: int) -> None:
        self._visit()
        if depth > _MAX_DEPTH:
            self.doc.warn(meta.location, f"observables nested more than {_MAX_DEPTH} deep")
            return
        if element.get("idref") is not None:
            self.used_observables.add(str(element.get("idref")))
        if element.get("id") is not None:
            self.used_observables.add(str(element.get("id")))
        observable = self._resolve(element, "observable", meta.location)
        if observable is None or id(observable) in self.expanded:
            return
        self.expanded.add(id(observable))
        for obj in observable.findall(f"{_CYBOX}Object"):
            self._object(obj, meta, depth)
        composition = observable.find(f"{_CYBOX}Observable_Composition")
        if composition is not None:
            inner = meta
            if composition.get("operator", "AND").upper() == "AND":
                inner = replace(meta, context={**meta.context, "pattern_and": True})
            for child in composition.findall(f"{_CYBOX}Observable"):
                self._observable(child, inner, depth + 1)
        if observable.find(f"{_CYBOX}Event") is not None:
            self.doc.warn(meta.location, "cybox Event observables are not read")

    def _object(self, element: ET.Element, meta: _Meta, depth: int) -> None:
        self._visit()
        if depth > _MAX_DEPTH:
            self.doc.warn(meta.location, f"related objects nested more than {_MAX_DEPTH} deep")
            return
        obj = self._resolve(element, "object", meta.location)
        if obj is None:
            return
        properties = obj.find(f"{_CYBOX}Properties")
        if properties is not None:
            self._properties(properties, meta)
        for related in obj.findall(f"{_CYBOX}Related_Objects/{_CYBOX}Related_Object"):
            self._object(related, meta, depth + 1)

    def _properties(self, props: ET.Element, meta: _Meta) -> None:
        kind = props.get(_XSI_TYPE, "").rsplit(":", 1)[-1]
        if kind in _FILE_TYPES:
            self._file(props, meta)
        elif kind == "DomainNameObjectType":
            self._emit(_child(props, "Value"), IndicatorType.DOMAIN, meta)
        elif kind == "HostnameObjectType":
            self._emit(_child(props, "Hostname_Value"), IndicatorType.DOMAIN, meta)
        elif kind in ("URIObjectType", "LinkObjectType"):
            uri_type = IndicatorType.DOMAIN if props.get("type") == "Domain Name" else None
            self._emit(_child(props, "Value"), uri_type or IndicatorType.URL, meta)
        elif kind == "AddressObjectType":
            category = props.get("category", "ipv4-addr")
            if category not in _ADDRESS_CATEGORIES:
                self.doc.warn(meta.location, f"address category {category!r} is not read")
                return
            self._emit(_child(props, "Address_Value"), _ADDRESS_CATEGORIES[category], meta)
        elif kind == "EmailMessageObjectType":
            header = _child(props, "Header")
            for sender in ("From", "Sender"):
                self._emit(_child(header, sender, "Address_Value"), IndicatorType.EMAIL, meta)
            self._emit(_child(header, "Subject"), IndicatorType.EMAIL_SUBJECT, meta)
        elif kind in ("MutexObjectType", "WindowsMutexObjectType"):
            self._emit(_child(props, "Name"), IndicatorType.MUTEX, meta)
        elif kind == "WindowsRegistryKeyObjectType":
            self._registry(props, meta)
        else:
            self.doc.warn(meta.location, f"cybox object type {kind or '(none)'!r} is not read")

    def _file(self, props: ET.Element, meta: _Meta) -> None:
        hashes = _child(props, "Hashes")
        for hash_element in _children(hashes, "Hash") if hashes is not None else []:
            name = _text(_child(hash_element, "Type")) or ""
            kind = hash_type(name)
            value = _child(hash_element, "Simple_Hash_Value")
            if value is None:
                value = _child(hash_element, "Fuzzy_Hash_Value")
            if kind is None:
                self.doc.warn(meta.location, f"hash type {name or '(none)'!r} is not read")
            else:
                self._emit(value, kind, meta)
        self._emit(_child(props, "File_Name"), IndicatorType.FILE_NAME, meta)
        self._emit(_child(props, "File_Path"), IndicatorType.FILE_PATH, meta)
        self._emit(_child(props, "Full_Path"), IndicatorType.FILE_PATH, meta)

    def _registry(self, props: ET.Element, meta: _Meta) -> None:
        key = _child(props, "Key")
        hive = _text(_child(props, "Hive"))
        keys = self._values(key, meta) if key is not None else []
        for value in keys:
            full = value if hive is None or value.upper().startswith("HK") else f"{hive}\\{value}"
            self._add(full, IndicatorType.REGISTRY, meta)
        if key is None and hive is not None:
            self.doc.warn(meta.location, "registry object with a hive but no key: not read")

    def _values(self, element: ET.Element, meta: _Meta) -> list[str]:
        """The literal values of a property; conditions other than equality are warnings."""
        text = (element.text or "").strip()
        condition = element.get("condition")
        local = _local(element.tag)
        if condition not in (None, "Equals"):
            shown = text.replace("##comma##", ", ")
            self.doc.warn(
                meta.location,
                f"{local} with condition {condition!r} ({shown!r}) is not an exact value: not read",
            )
            return []
        if element.get("apply_condition", "ANY").upper() == "NONE":
            self.doc.warn(
                meta.location, f"{local} with apply_condition NONE is a negation: not read"
            )
            return []
        values = [part.strip() for part in text.split("##comma##")]
        values = [value for value in values if value]
        if not values:
            self.doc.warn(meta.location, f"{local} is empty")
        return values

    def _emit(self, element: ET.Element | None, kind: IndicatorType, meta: _Meta) -> None:
        if element is None:
            return
        for value in self._values(element, meta):
            self._add(value, refine_type(kind, value), meta)

    def _add(self, value: str, kind: IndicatorType, meta: _Meta) -> None:
        self.doc.indicators.append(
            RawIndicator(
                value=value,
                type=kind,
                location=meta.location,
                external_id=meta.external_id,
                title=meta.title,
                description=meta.description,
                confidence=meta.confidence,
                valid_from=meta.valid_from,
                valid_until=meta.valid_until,
                first_seen=meta.first_seen,
                last_seen=meta.last_seen,
                techniques=meta.techniques,
                tags=meta.tags,
                context=dict(meta.context),
            )
        )


def _earliest(values: list[datetime | None]) -> datetime | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _latest(values: list[datetime | None]) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None
