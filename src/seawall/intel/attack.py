"""Offline MITRE ATT&CK knowledge base, read from the compact extract shipped with seawall.

Advisories cite ATT&CK as it was when they were written (AA21-200A uses v9) while analysts read
today's matrix, so several versions ship side by side and every lookup names its version. Ids
move between versions: techniques are revoked (replaced by another id) or deprecated (dropped),
so :meth:`AttackKB.resolve` follows a revocation and says that it did, rather than silently
answering about a different technique than the one asked for.

Nothing here touches the network: the data are package files built by
``tools/build_attack_extract.py`` from MITRE's published bundles.
"""

from __future__ import annotations

import gzip
import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, Literal, TypeVar, get_type_hints

from seawall.errors import SeawallError, UsageError
from seawall.intel.attack_versions import CURRENT_VERSION, SUPPORTED_VERSIONS

__all__ = ["CURRENT_VERSION", "SUPPORTED_VERSIONS", "AttackKB"]

EXTRACT_FORMAT = 1

Status = Literal["active", "revoked", "deprecated"]
VersionStatus = Literal["active", "revoked", "deprecated", "absent"]

_TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?", re.IGNORECASE)


def is_valid_technique_id(text: str) -> bool:
    """True for the syntax ``T1234`` or ``T1234.001`` (any case, no surrounding blanks).

    Only the shape is checked: whether the id exists depends on the ATT&CK version.
    """
    return _TECHNIQUE_ID.fullmatch(text) is not None


class _HasStatus:
    """Entries MITRE can revoke or deprecate; the dataclasses below declare both flags."""

    __slots__ = ()
    revoked: bool
    deprecated: bool

    @property
    def status(self) -> Status:
        if self.revoked:
            return "revoked"
        return "deprecated" if self.deprecated else "active"


@dataclass(frozen=True, slots=True)
class DetectionStrategy:
    """A v18+ detection strategy (DET id) that covers a technique."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Technique(_HasStatus):
    """A technique or sub-technique; ``detection`` and ``description`` are shortened."""

    kind: ClassVar[str] = "technique"
    id: str
    name: str
    tactics: tuple[str, ...]
    is_subtechnique: bool
    parent: str | None
    platforms: tuple[str, ...]
    data_sources: tuple[str, ...]
    detection: str
    detection_strategies: tuple[DetectionStrategy, ...]
    description: str
    url: str
    deprecated: bool
    revoked: bool
    revoked_by: str | None


@dataclass(frozen=True, slots=True)
class Tactic:
    kind: ClassVar[str] = "tactic"
    id: str
    shortname: str
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Group(_HasStatus):
    """An intrusion set; ``techniques`` and ``software`` are the ids it is recorded as using."""

    kind: ClassVar[str] = "group"
    id: str
    name: str
    aliases: tuple[str, ...]
    description: str
    techniques: tuple[str, ...]
    software: tuple[str, ...]
    url: str
    deprecated: bool
    revoked: bool
    revoked_by: str | None


@dataclass(frozen=True, slots=True)
class Software(_HasStatus):
    kind: ClassVar[str] = "software"
    id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    platforms: tuple[str, ...]
    description: str
    techniques: tuple[str, ...]
    url: str
    deprecated: bool
    revoked: bool
    revoked_by: str | None


@dataclass(frozen=True, slots=True)
class Mitigation(_HasStatus):
    kind: ClassVar[str] = "mitigation"
    id: str
    name: str
    description: str
    techniques: tuple[str, ...]
    url: str
    deprecated: bool
    revoked: bool


@dataclass(frozen=True, slots=True)
class DataSource:
    """A data source (v10+); every one is deprecated in v18, which moved to data components."""

    kind: ClassVar[str] = "data-source"
    id: str
    name: str
    components: tuple[str, ...]
    platforms: tuple[str, ...]
    url: str
    deprecated: bool
    revoked: bool


@dataclass(frozen=True, slots=True)
class DataComponent:
    """A data component; ``id`` (DCxxxx) exists from v18, ``data_source`` mostly before it."""

    kind: ClassVar[str] = "data-component"
    id: str | None
    name: str
    data_source: str | None
    deprecated: bool
    revoked: bool


Entity = Technique | Group | Software | Mitigation
_Named = TypeVar("_Named", Group, Software, Mitigation)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The technique an id stands for today, and how we got there.

    ``status`` is that of the id asked for; ``chain`` lists every id walked (requested first),
    so a caller can print "T1086 was revoked; it is now T1059.001".
    """

    requested: str
    technique: Technique
    status: Status
    followed_from: str | None
    chain: tuple[str, ...]


def as_dict(
    item: Technique | Tactic | Group | Software | Mitigation | DataSource,
) -> dict[str, Any]:
    """A JSON-ready dict of one entry, with its kind and (where it has one) its status."""
    data: dict[str, Any] = {"kind": item.kind, **asdict(item)}
    if not isinstance(item, Tactic | DataSource):
        data["status"] = item.status
    return data


def normalise_version(version: str) -> str:
    """Accept ``18.1`` or ``v18.1``; refuse anything not shipped, naming what is."""
    text = version.strip().removeprefix("v").removeprefix("V")
    if text not in SUPPORTED_VERSIONS:
        raise UsageError(
            f"ATT&CK version {version!r} is not shipped; supported: {', '.join(SUPPORTED_VERSIONS)}"
        )
    return text


class _Row:
    """Typed access to one JSON object of the extract; a wrong type means a damaged file."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise _damaged(where, "expected an object")
        self.data: dict[str, object] = data
        self.where = where

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise _damaged(self.where, f"{key!r} is not a string")
        return value

    def optional(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else self.text(key)

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise _damaged(self.where, f"{key!r} is not a boolean")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _damaged(self.where, f"{key!r} is not a list of strings")
        return tuple(value)

    def rows(self, key: str) -> list[_Row]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise _damaged(self.where, f"{key!r} is not a list")
        return [_Row(item, f"{self.where}/{key}[{i}]") for i, item in enumerate(value)]


def _damaged(where: str, why: str) -> SeawallError:
    return SeawallError(f"the shipped ATT&CK extract is damaged ({why}); reinstall seawall", where)


_Entry = TypeVar("_Entry")

# How a field is read from the extract, by its declared type.
_Reader = Callable[[_Row, str], object]
_READERS: dict[object, _Reader] = {
    str: _Row.text,
    str | None: _Row.optional,
    bool: _Row.flag,
    tuple[str, ...]: _Row.texts,
}


_FIELD_READERS: dict[type, tuple[tuple[str, _Reader | None], ...]] = {}


def _field_readers(cls: type) -> tuple[tuple[str, _Reader | None], ...]:
    """Each field of ``cls`` with its reader (None for nested types the caller builds)."""
    found = _FIELD_READERS.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        found = tuple((item.name, _READERS.get(hints[item.name])) for item in fields(cls))
        _FIELD_READERS[cls] = found
    return found


def _build(cls: type[_Entry], row: _Row, **given: object) -> _Entry:
    """An entry from its JSON object, each field read and checked by its declared type.

    ``given`` supplies the fields of nested types, already built.
    """
    values: dict[str, Any] = dict(given)
    for name, read in _field_readers(cls):
        if name in values:
            continue
        if read is None:
            raise TypeError(f"{cls.__name__}.{name} has no reader: pass it to _build")
        values[name] = read(row, name)
    return cls(**values)


def _technique(row: _Row) -> Technique:
    strategies = tuple(
        DetectionStrategy(s.text("id"), s.text("name")) for s in row.rows("detection_strategies")
    )
    return _build(Technique, row, detection_strategies=strategies)


def _names(item: Entity) -> tuple[str, ...]:
    """Every name a person may type for an entry: its name and its aliases."""
    aliases = item.aliases if isinstance(item, Group | Software) else ()
    return (item.name, *aliases)


class AttackKB:
    """One ATT&CK version, indexed for the lookups hunters make (ids are case-insensitive)."""

    def __init__(self, document: Mapping[str, object]) -> None:
        root = _Row(dict(document), "extract")
        if document.get("format") != EXTRACT_FORMAT:
            raise _damaged("extract", f"format {document.get('format')!r} is not {EXTRACT_FORMAT}")
        self.version = root.text("attack_version")
        source = document.get("source")
        self.source: Mapping[str, object] = source if isinstance(source, dict) else {}
        self._techniques = {t.id.upper(): t for t in map(_technique, root.rows("techniques"))}
        self._tactics = tuple(_build(Tactic, r) for r in root.rows("tactics"))
        self._groups = {g.id.upper(): g for g in (_build(Group, r) for r in root.rows("groups"))}
        self._software = {
            s.id.upper(): s for s in (_build(Software, r) for r in root.rows("software"))
        }
        self._mitigations = {
            m.id.upper(): m for m in (_build(Mitigation, r) for r in root.rows("mitigations"))
        }
        self._data_sources = tuple(_build(DataSource, r) for r in root.rows("data_sources"))
        self._data_components = tuple(
            _build(DataComponent, r) for r in root.rows("data_components")
        )

    @classmethod
    def load(cls, version: str = CURRENT_VERSION) -> AttackKB:
        """The shipped extract of ``version`` (loaded once per process)."""
        return _load(normalise_version(version))

    def __repr__(self) -> str:
        return f"AttackKB(version={self.version!r}, techniques={len(self._techniques)})"

    # -- techniques -------------------------------------------------------------------------

    def find_technique(self, technique_id: str) -> Technique | None:
        """The technique with this id in this version, or None (also for malformed ids)."""
        return self._techniques.get(technique_id.strip().upper())

    def technique(self, technique_id: str) -> Technique:
        """The technique with this id; a clear :class:`UsageError` when it does not exist."""
        key = technique_id.strip().upper()
        if not is_valid_technique_id(key):
            raise UsageError(f"{technique_id!r} is not an ATT&CK technique id (T1234 or T1234.001)")
        found = self._techniques.get(key)
        if found is None:
            elsewhere = [v for v, t in technique_across_versions(key).items() if t is not None]
            hint = f" (it exists in ATT&CK {', '.join(elsewhere)})" if elsewhere else ""
            raise UsageError(f"{key} is not a technique in ATT&CK {self.version}{hint}")
        return found

    def resolve(self, technique_id: str) -> Resolution:
        """Follow ``revoked_by`` links to the technique that replaced this id, if any.

        Revocations chain (T1073 → T1574.002 → T1574.001 in v18.1), so every hop is followed;
        a revoked technique with no known replacement resolves to itself.
        """
        requested = self.technique(technique_id)
        current = requested
        chain = [current.id]
        while current.revoked and current.revoked_by:
            following = self._techniques.get(current.revoked_by.upper())
            if following is None or following.id in chain:
                break
            current = following
            chain.append(current.id)
        followed = current is not requested
        return Resolution(
            requested=requested.id,
            technique=current,
            status=requested.status,
            followed_from=requested.id if followed else None,
            chain=tuple(chain),
        )

    def techniques(self, *, active_only: bool = False) -> tuple[Technique, ...]:
        """All techniques by id; ``active_only`` drops revoked and deprecated ones."""
        found = sorted(self._techniques.values(), key=lambda t: t.id)
        return tuple(t for t in found if not active_only or t.status == "active")

    def subtechniques(self, technique_id: str) -> tuple[Technique, ...]:
        """Active sub-techniques of a technique, by id."""
        parent = technique_id.strip().upper()
        return tuple(t for t in self.techniques(active_only=True) if t.parent == parent)

    def tactics(self) -> tuple[Tactic, ...]:
        """Tactics in matrix order (reconnaissance … impact), as people read them."""
        return self._tactics

    # -- groups, software, mitigations ------------------------------------------------------

    def group(self, query: str) -> Group:
        """A group by id, name or alias: G0065, "Leviathan" and "APT40" give the same group."""
        return _lookup(self._groups, query, "group", self.version)

    def groups(self) -> tuple[Group, ...]:
        return tuple(sorted(self._groups.values(), key=lambda g: g.id))

    def software(self, query: str) -> Software:
        """Software (tool or malware) by id, name or alias."""
        return _lookup(self._software, query, "software", self.version)

    def all_software(self) -> tuple[Software, ...]:
        return tuple(sorted(self._software.values(), key=lambda s: s.id))

    def mitigation(self, query: str) -> Mitigation:
        """A mitigation by id (M1026) or exact name."""
        return _lookup(self._mitigations, query, "mitigation", self.version)

    def mitigations(self) -> tuple[Mitigation, ...]:
        return tuple(sorted(self._mitigations.values(), key=lambda m: m.id))

    def mitigations_for(self, technique_id: str) -> tuple[Mitigation, ...]:
        """Mitigations recorded against a technique, by id."""
        key = technique_id.strip().upper()
        return tuple(m for m in self.mitigations() if key in m.techniques)

    def data_sources(self) -> tuple[DataSource, ...]:
        return self._data_sources

    def data_components(self) -> tuple[DataComponent, ...]:
        return self._data_components

    # -- search -----------------------------------------------------------------------------

    def search(self, text: str, *, limit: int | None = None) -> list[Entity]:
        """Case-insensitive substring search over ids, names and aliases of every entry.

        Ranked so that what the user most likely meant comes first: exact id, then exact name
        or alias, then prefix, then substring; active entries before revoked or deprecated.
        """
        needle = text.strip().casefold()
        if not needle:
            raise UsageError("search text is empty")
        kinds: tuple[Iterable[Entity], ...] = (
            self._techniques.values(),
            self._groups.values(),
            self._software.values(),
            self._mitigations.values(),
        )
        scored: list[tuple[tuple[int, int, int, str], Entity]] = []
        for order, items in enumerate(kinds):
            for item in items:
                rank = _rank(needle, item)
                if rank is not None:
                    scored.append(((rank, item.status != "active", order, item.id), item))
        scored.sort(key=lambda pair: pair[0])
        found = [item for _, item in scored]
        return found if limit is None else found[: max(limit, 0)]


def _rank(needle: str, item: Entity) -> int | None:
    """0 exact id, 1 exact name/alias, 2 prefix, 3 substring, None for no match."""
    ident = item.id.casefold()
    names = [name.casefold() for name in _names(item)]
    if needle == ident:
        return 0
    if needle in names:
        return 1
    if ident.startswith(needle) or any(name.startswith(needle) for name in names):
        return 2
    if needle in ident or any(needle in name for name in names):
        return 3
    return None


def _lookup(table: Mapping[str, _Named], query: str, what: str, version: str) -> _Named:
    """By id, else by exact name, else by alias, active entries first.

    Active wins over name: "UNC2452" is the name of the revoked G0118 and an alias of APT29
    (G0016), which is what ATT&CK means by it today. Aliases also collide between active
    entries ("Iron Liberty" names two groups in v9.0): rather than pick one silently, that is
    an error listing the candidates.
    """
    key = query.strip()
    if not key:
        raise UsageError(f"empty {what} name or id")
    by_id = table.get(key.upper())
    if by_id is not None:
        return by_id
    folded = key.casefold()
    by_name = [item for item in table.values() if item.name.casefold() == folded]
    by_alias = [
        item for item in table.values() if folded in (n.casefold() for n in _names(item)[1:])
    ]
    active_name = [item for item in by_name if item.status == "active"]
    active_alias = [item for item in by_alias if item.status == "active"]
    for hits in (active_name, active_alias, by_name, by_alias):
        candidates = sorted(set(hits), key=lambda item: item.id)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            listed = ", ".join(f"{c.id} ({c.name})" for c in candidates)
            raise UsageError(f"{what} {key!r} is ambiguous in ATT&CK {version}: {listed}")
    hint = f"try `seawall attack search {shlex.quote(key)} --version {version}`"
    raise UsageError(f"no {what} {key!r} in ATT&CK {version}; {hint}")


@lru_cache(maxsize=len(SUPPORTED_VERSIONS))
def _load(version: str) -> AttackKB:
    name = f"enterprise-attack-{version}.json.gz"
    resource = resources.files("seawall.data").joinpath("attack", name)
    try:
        raw = resource.read_bytes()
    except FileNotFoundError as error:
        raise SeawallError(
            f"ATT&CK extract {name} is missing from the installed package"
        ) from error
    try:
        document = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as error:
        raise _damaged(name, str(error)) from error
    if not isinstance(document, dict):
        raise _damaged(name, "top level is not an object")
    kb = AttackKB(document)
    if kb.version != version:
        raise _damaged(name, f"holds ATT&CK {kb.version}, not {version}")
    return kb


def technique_across_versions(technique_id: str) -> dict[str, Technique | None]:
    """The technique as each shipped version has it (None where the id does not exist)."""
    return {v: AttackKB.load(v).find_technique(technique_id) for v in SUPPORTED_VERSIONS}


def status_across_versions(technique_id: str) -> dict[str, VersionStatus]:
    """'active', 'revoked', 'deprecated' or 'absent' per shipped version, e.g. for a pack check."""
    return {
        version: "absent" if found is None else found.status
        for version, found in technique_across_versions(technique_id).items()
    }
