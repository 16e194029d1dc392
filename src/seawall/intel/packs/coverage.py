"""What a pack's advisory asks for, against what seawall can do today.

For each technique, software and guidance item of a pack this module says which detections cover
it and whether each of those detections exists yet, so that "the hunt found nothing" can never be
mistaken for "the hunt could not look" (the design's *never silently zero* rule, applied to
advisories). It also resolves every ATT&CK id in the version the advisory was written against and
in the current one: ids move between releases, and an analyst reading today's matrix must be told
when the advisory's technique has been revoked or renamed.

A detection *exists* when a shipped detection file declares its id, or when it is one of the few
capabilities implemented as commands rather than detection files (:data:`BUILTIN_CAPABILITIES`).
It is *conditional* when it exists but cannot run on its own: it needs the user's input first
(their YARA rules, a baseline of snapshots; the file's ``needs_input``). A technique is
*covered* only by detections that run on their own; one whose detections are all conditional
is shown as conditional, with what each needs, so that a pack never promises more than a hunt
with no extra input can look for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar

import yaml

from seawall.errors import UsageError
from seawall.intel.attack import (
    CURRENT_VERSION,
    SUPPORTED_VERSIONS,
    AttackKB,
    Group,
    Mitigation,
    Software,
)
from seawall.intel.packs.loader import load_pack
from seawall.intel.packs.schema import Pack, PackMitigation, PackSoftware, PackTechnique

DetectionStatus = Literal["exists", "conditional", "missing"]
ItemStatus = Literal["covered", "conditional", "missing", "uncovered", "not-checkable"]
AttackStatus = Literal["active", "revoked", "deprecated", "absent", "unsupported-version"]

# Capabilities that are commands, not detection files; the value is how a user runs them.
BUILTIN_CAPABILITIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "intel.import": "seawall intel import",
        "intel.reputation": "seawall intel lookup",
    }
)

ITEM_STATUSES: Final[tuple[ItemStatus, ...]] = (
    "covered",
    "conditional",
    "missing",
    "uncovered",
    "not-checkable",
)


@dataclass(frozen=True, slots=True)
class DetectionCatalog:
    """Detection ids that exist, each with what provides it (a detection file or a command)."""

    provided: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    needs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Per detection id that cannot run on its own, what the user must give first."""

    @classmethod
    def shipped(cls) -> DetectionCatalog:
        """The detections shipped in ``seawall/detect/detections`` plus the built-ins."""
        return cls.from_directory(resources.files("seawall.detect").joinpath("detections"))

    @classmethod
    def from_directory(cls, directory: Traversable | Path) -> DetectionCatalog:
        """Read only each file's top-level ``id`` and ``needs_input``: validating detections is
        the engine's job.

        A file whose id cannot be read is reported as a warning, never skipped in silence.
        """
        provided: dict[str, str] = dict(BUILTIN_CAPABILITIES)
        needs: dict[str, str] = {}
        warnings: list[str] = []
        entries = sorted(directory.iterdir(), key=lambda e: e.name) if directory.is_dir() else []
        for entry in entries:
            if not entry.is_file() or not entry.name.endswith((".yml", ".yaml")):
                continue
            where = f"detections/{entry.name}"
            try:
                document = yaml.safe_load(entry.read_bytes())
            except (yaml.YAMLError, UnicodeDecodeError, OSError) as error:
                warnings.append(f"{where}: unreadable detection file ({type(error).__name__})")
                continue
            ident = document.get("id") if isinstance(document, dict) else None
            if not isinstance(ident, str) or not ident:
                warnings.append(f"{where}: no top-level `id:`")
                continue
            if ident in provided:
                warnings.append(f"{where}: id {ident!r} is also provided by {provided[ident]}")
                continue
            provided[ident] = where
            needed = document.get("needs_input")
            if isinstance(needed, str) and needed.strip():
                needs[ident] = " ".join(needed.split())
        return cls(
            provided=MappingProxyType(provided),
            warnings=tuple(warnings),
            needs=MappingProxyType(needs),
        )

    def state(self, detection_id: str) -> DetectionState:
        by = self.provided.get(detection_id)
        if by is None:
            return DetectionState(detection_id, "missing")
        needs = self.needs.get(detection_id)
        return DetectionState(detection_id, "conditional" if needs else "exists", by, needs)


@dataclass(frozen=True, slots=True)
class DetectionState:
    """One detection a pack refers to; ``provided_by`` is its file or command when it exists."""

    id: str
    status: DetectionStatus
    provided_by: str | None = None
    needs: str | None = None
    """For a conditional detection: what the user must give before it can run."""


@dataclass(frozen=True, slots=True)
class AttackEntry:
    """An ATT&CK id as one version knows it.

    ``replaced_by`` is the end of the revocation chain for a revoked id (None when ATT&CK names no
    successor); ``used_by_actor`` says whether that version records the pack's group using it
    (None when not applicable or the group is unknown there).
    """

    id: str
    version: str
    status: AttackStatus
    name: str | None = None
    tactics: tuple[str, ...] = ()
    replaced_by: str | None = None
    replaced_by_name: str | None = None
    used_by_actor: bool | None = None

    @property
    def valid(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class ItemCoverage:
    """One technique, software or guidance item, with its detections and its ATT&CK standing."""

    kind: Literal["technique", "software", "mitigation"]
    id: str
    name: str
    status: ItemStatus
    detections: tuple[DetectionState, ...]
    in_pack_version: AttackEntry | None = None
    in_current_version: AttackEntry | None = None
    attack_mitigations: tuple[AttackEntry, ...] = ()
    checkable: bool = True
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PackCoverage:
    """The whole picture for one pack; every renderer reads this and nothing else."""

    pack_id: str
    pack_version: str
    current_version: str
    actor: tuple[AttackEntry, ...]
    techniques: tuple[ItemCoverage, ...]
    software: tuple[ItemCoverage, ...]
    mitigations: tuple[ItemCoverage, ...]
    detections: tuple[DetectionState, ...]
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts by status for techniques, software, mitigations and detections."""

        def count(items: Iterable[ItemCoverage]) -> dict[str, int]:
            found = Counter(item.status for item in items)
            return {status: found.get(status, 0) for status in ITEM_STATUSES}

        detections = Counter(state.status for state in self.detections)
        return {
            "techniques": count(self.techniques),
            "software": count(self.software),
            "mitigations": count(self.mitigations),
            "detections": {
                status: detections[status] for status in ("exists", "conditional", "missing")
            },
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists through ``asdict``/JSON), with the summary."""
        data = asdict(self)
        data["summary"] = self.summary()
        return data


def _item_status(detections: tuple[DetectionState, ...]) -> ItemStatus:
    if not detections:
        return "uncovered"
    return _built_status(detections)


def _built_status(detections: tuple[DetectionState, ...]) -> ItemStatus:
    """Covered by a detection that runs on its own, else conditional, else missing."""
    statuses = {d.status for d in detections}
    if "exists" in statuses:
        return "covered"
    return "conditional" if "conditional" in statuses else "missing"


def _load_kb(version: str) -> AttackKB | None:
    """The knowledge base of ``version``, or None when seawall does not ship that release."""
    if version not in SUPPORTED_VERSIONS:
        return None
    return AttackKB.load(version)


def _group_uses(kb: AttackKB | None, group_id: str) -> frozenset[str] | None:
    if kb is None:
        return None
    try:
        group = kb.group(group_id)
    except UsageError:
        return None
    return frozenset(id_.upper() for id_ in (*group.techniques, *group.software))


def _technique_entry(
    kb: AttackKB | None, version: str, technique_id: str, uses: frozenset[str] | None
) -> AttackEntry:
    if kb is None:
        return AttackEntry(technique_id, version, "unsupported-version")
    found = kb.find_technique(technique_id)
    if found is None:
        return AttackEntry(technique_id, version, "absent")
    replaced_by = replaced_by_name = None
    if found.revoked:
        resolution = kb.resolve(technique_id)
        if resolution.followed_from is not None:
            replaced_by = resolution.technique.id
            replaced_by_name = resolution.technique.name
    return AttackEntry(
        id=found.id,
        version=version,
        status=found.status,
        name=found.name,
        tactics=found.tactics,
        replaced_by=replaced_by,
        replaced_by_name=replaced_by_name,
        used_by_actor=None if uses is None else found.id.upper() in uses,
    )


_Found = TypeVar("_Found", Group, Software, Mitigation)


def _by_id(find: Callable[[str], _Found], item_id: str) -> _Found | None:
    """The entry with exactly this id, or None: the KB's lookups also accept names and aliases."""
    try:
        found = find(item_id)
    except UsageError:
        return None
    return found if found.id.upper() == item_id.upper() else None


def _software_entry(
    kb: AttackKB | None, version: str, software_id: str, uses: frozenset[str] | None
) -> AttackEntry:
    if kb is None:
        return AttackEntry(software_id, version, "unsupported-version")
    found = _by_id(kb.software, software_id)
    if found is None:
        return AttackEntry(software_id, version, "absent")
    replaced_by = replaced_by_name = None
    if found.revoked and found.revoked_by:
        replaced_by = found.revoked_by
        try:
            replaced_by_name = kb.software(found.revoked_by).name
        except UsageError:
            replaced_by_name = None
    return AttackEntry(
        id=found.id,
        version=version,
        status=found.status,
        name=found.name,
        replaced_by=replaced_by,
        replaced_by_name=replaced_by_name,
        used_by_actor=None if uses is None else found.id.upper() in uses,
    )


def _mitigation_entry(kb: AttackKB | None, version: str, mitigation_id: str) -> AttackEntry:
    if kb is None:
        return AttackEntry(mitigation_id, version, "unsupported-version")
    found = _by_id(kb.mitigation, mitigation_id)
    if found is None:
        return AttackEntry(mitigation_id, version, "absent")
    return AttackEntry(id=found.id, version=version, status=found.status, name=found.name)


def _group_entry(kb: AttackKB | None, version: str, group_id: str) -> AttackEntry:
    if kb is None:
        return AttackEntry(group_id, version, "unsupported-version")
    found = _by_id(kb.group, group_id)
    if found is None:
        return AttackEntry(group_id, version, "absent")
    return AttackEntry(
        id=found.id,
        version=version,
        status=found.status,
        name=found.name,
        replaced_by=found.revoked_by if found.revoked else None,
    )


def _warn_attack(kind: str, item_id: str, pack_name: str, entry: AttackEntry) -> list[str]:
    """Say what an analyst must know about an id in one version (absent, revoked, renamed)."""
    where = f"ATT&CK {entry.version}"
    if entry.status == "unsupported-version":
        return []
    if entry.status == "absent":
        return [f"{kind} {item_id} does not exist in {where}"]
    if entry.status == "revoked":
        successor = f"; replaced by {entry.replaced_by}" if entry.replaced_by else ""
        return [f"{kind} {item_id} is revoked in {where}{successor}"]
    if entry.status == "deprecated":
        return [f"{kind} {item_id} is deprecated in {where}"]
    if entry.name is not None and entry.name.casefold() != pack_name.casefold():
        return [f"{kind} {item_id} is named {entry.name!r} in {where}, {pack_name!r} in the pack"]
    return []


def compute_coverage(pack: Pack, catalog: DetectionCatalog | None = None) -> PackCoverage:
    """Coverage of ``pack`` by the detections of ``catalog`` (default: what seawall ships)."""
    if catalog is None:
        catalog = DetectionCatalog.shipped()
    pack_version = pack.attack_version
    pack_kb = _load_kb(pack_version)
    current_kb = AttackKB.load(CURRENT_VERSION)
    group_id = pack.actor.attack_group_id
    pack_uses = _group_uses(pack_kb, group_id)
    current_uses = _group_uses(current_kb, group_id)

    warnings: list[str] = list(catalog.warnings)
    if pack_kb is None:
        warnings.append(
            f"the pack's ATT&CK version {pack_version} is not shipped "
            f"(supported: {', '.join(SUPPORTED_VERSIONS)}); ids are checked in "
            f"{CURRENT_VERSION} only"
        )
    actor = (
        _group_entry(pack_kb, pack_version, group_id),
        _group_entry(current_kb, CURRENT_VERSION, group_id),
    )
    for entry in actor:
        warnings += _warn_attack("group", group_id, entry.name or pack.actor.name, entry)

    def states(ids: Iterable[str]) -> tuple[DetectionState, ...]:
        return tuple(catalog.state(ident) for ident in ids)

    def technique(item: PackTechnique) -> ItemCoverage:
        then = _technique_entry(pack_kb, pack_version, item.id, pack_uses)
        now = _technique_entry(current_kb, CURRENT_VERSION, item.id, current_uses)
        for entry in (then, now):
            warnings.extend(_warn_attack("technique", item.id, item.name, entry))
        if item.tactics and now.valid and set(item.tactics) != set(now.tactics):
            warnings.append(
                f"technique {item.id}: the pack gives tactics {', '.join(item.tactics)}; "
                f"ATT&CK {now.version} gives {', '.join(now.tactics) or 'none'}"
            )
        found = states(item.detections)
        return ItemCoverage("technique", item.id, item.name, _item_status(found), found, then, now)

    def software(item: PackSoftware) -> ItemCoverage:
        then = _software_entry(pack_kb, pack_version, item.id, pack_uses)
        now = _software_entry(current_kb, CURRENT_VERSION, item.id, current_uses)
        for entry in (then, now):
            warnings.extend(_warn_attack("software", item.id, item.name, entry))
        found = states(item.detections)
        return ItemCoverage("software", item.id, item.name, _item_status(found), found, then, now)

    def mitigation(item: PackMitigation) -> ItemCoverage:
        found = states(item.detections)
        mapped = tuple(
            _mitigation_entry(current_kb, CURRENT_VERSION, m) for m in item.attack_mitigations
        )
        for entry in mapped:
            if entry.status != "active":
                warnings.append(
                    f"mitigation {item.id}: {entry.id} is {entry.status} in ATT&CK {entry.version}"
                )
        if item.checkable:
            status: ItemStatus = _built_status(found)
        else:
            status = "not-checkable"
        return ItemCoverage(
            "mitigation",
            item.id,
            item.title,
            status,
            found,
            attack_mitigations=mapped,
            checkable=item.checkable,
            reason=item.not_checkable_reason,
        )

    # Computed before the result is built: each item appends its ATT&CK warnings as it goes.
    techniques = tuple(technique(item) for item in pack.techniques)
    software_items = tuple(software(item) for item in pack.software)
    mitigations = tuple(mitigation(item) for item in pack.mitigations)
    return PackCoverage(
        pack_id=pack.id,
        pack_version=pack_version,
        current_version=CURRENT_VERSION,
        actor=actor,
        techniques=techniques,
        software=software_items,
        mitigations=mitigations,
        detections=states(pack.detection_ids()),
        warnings=tuple(warnings),
    )


def coverage_for(name_or_path: str | Path) -> PackCoverage:
    """Load a pack (by name or path) and compute its coverage with the shipped detections."""
    return compute_coverage(load_pack(name_or_path))
