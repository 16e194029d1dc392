"""What the hunt says about each ATT&CK technique: detected, evaluated and clean, not evaluable,
or looked for by no detection — laid out by tactic as an ATT&CK matrix.

The techniques are the pack's (what the advisory says the actor does) plus any technique a finding
or a detection of the hunt carries, so that nothing the hunt found falls off the matrix. Names and
tactics come from the pack, else from the shipped ATT&CK release (offline).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from seawall.errors import SeawallError
from seawall.intel.attack import CURRENT_VERSION, AttackKB
from seawall.intel.packs.schema import Pack
from seawall.report.view import DocumentView, FindingView

DETECTED = "detected"
CLEAN = "clean"
NOT_EVALUABLE = "not-evaluable"
NO_DETECTION = "no-detection"
STATES = (DETECTED, CLEAN, NOT_EVALUABLE, NO_DETECTION)
STATE_LABELS = {
    DETECTED: "detected",
    CLEAN: "evaluated, clean",
    NOT_EVALUABLE: "not evaluable",
    NO_DETECTION: "no detection",
}
OTHER_TACTIC = "other"


@dataclass(frozen=True, slots=True)
class TechniqueCell:
    """One technique: its state, why, and the findings behind a detection."""

    id: str
    name: str
    tactics: tuple[str, ...]
    state: str
    detail: str
    in_pack: bool
    findings: tuple[FindingView, ...]
    dismissed: int
    """Findings of it that are suppressed or reviewed benign or false positive."""
    detections: tuple[str, ...]
    coverage_status: str | None

    @property
    def max_score(self) -> float:
        return max((f.score for f in self.findings), default=0.0)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True, slots=True)
class TacticColumn:
    shortname: str
    name: str
    cells: tuple[TechniqueCell, ...]


@dataclass(frozen=True, slots=True)
class Matrix:
    columns: tuple[TacticColumn, ...]
    cells: dict[str, TechniqueCell]
    attack_version: str
    tactic_names: dict[str, str]
    """Display names by short name (``command-and-control`` → Command and Control)."""

    def counts(self) -> list[tuple[str, int]]:
        """Pack techniques by state (techniques outside the pack are not counted)."""
        in_pack = [c for c in self.cells.values() if c.in_pack]
        return [(state, sum(1 for c in in_pack if c.state == state)) for state in STATES]


def _within(candidate: str, technique: str) -> bool:
    """The technique itself or one of its sub-techniques (a finding of T1059.001 is a finding
    of T1059 too; the reverse does not hold)."""
    return candidate == technique or candidate.startswith(technique + ".")


def _carries(finding: FindingView, technique: str) -> bool:
    return any(_within(t, technique) for t in finding.techniques)


def build_matrix(view: DocumentView, pack: Pack | None) -> Matrix:
    """Every technique of the pack and of the hunt, with its state, laid out by tactic."""
    kb = _kb(view)
    names: dict[str, str] = {}
    tactics: dict[str, tuple[str, ...]] = {}
    in_pack: dict[str, tuple[str, ...]] = {}
    if pack is not None:
        for item in pack.techniques:
            names[item.id] = item.name
            tactics[item.id] = tuple(item.tactics)
            in_pack[item.id] = tuple(item.detections)
    coverage = {t.technique: t for t in view.technique_coverage}
    ids = dict.fromkeys(in_pack)
    ids.update(dict.fromkeys(coverage))
    for finding in view.findings:
        ids.update(dict.fromkeys(finding.techniques))
    cells: dict[str, TechniqueCell] = {}
    for technique in ids:
        known = kb.find_technique(technique) if kb is not None else None
        name = names.get(technique) or (known.name if known is not None else technique)
        placed = tactics.get(technique) or (known.tactics if known is not None else ())
        found = tuple(f for f in view.findings if _carries(f, technique))
        cells[technique] = _cell(
            technique, name, placed, technique in in_pack, in_pack.get(technique, ()), found, view
        )
    names_by_tactic = {t.shortname: t.name for t in kb.tactics()} if kb is not None else {}
    return Matrix(_columns(cells, kb), cells, CURRENT_VERSION, names_by_tactic)


def _cell(
    technique: str,
    name: str,
    tactics: tuple[str, ...],
    in_pack: bool,
    pack_detections: tuple[str, ...],
    found: tuple[FindingView, ...],
    view: DocumentView,
) -> TechniqueCell:
    open_findings = tuple(f for f in found if not f.dismissed)
    dismissed = len(found) - len(open_findings)
    # Detections of this hunt that look for it (a detection of a sub-technique covers it too).
    covering = [c for c in view.coverage if any(_within(t, technique) for t in c.techniques)]
    detections = tuple(c.detection_id for c in covering)
    statuses = {c.status for c in covering}
    status = next(
        (s for s in ("partial", "ran", "error", "not-evaluable", "not-run") if s in statuses), None
    )
    if open_findings:
        state = DETECTED
        hosts = sorted({f.host_name for f in open_findings})
        detail = f"{len(open_findings)} finding(s) on {len(hosts)} host(s)"
    elif status == "ran":
        state = CLEAN
        detail = f"{len(covering)} detection(s) ran and found nothing"
        if dismissed:
            detail += f" open ({dismissed} finding(s) suppressed or reviewed benign)"
    elif status is not None:
        # ``partial`` without findings is not clean: part of the input was not judged.
        state = NOT_EVALUABLE
        reasons = sorted({f"{c.detection_id}: {c.status}" for c in covering})
        detail = "could not be judged (" + "; ".join(reasons) + ")"
    else:
        state = NO_DETECTION
        if pack_detections:
            named = ", ".join(pack_detections)
            detail = f"no detection of this hunt looks for it (the pack names {named})"
        else:
            detail = (
                "nothing seawall reads can see it (the pack names no detection)"
                if in_pack
                else "no detection of this hunt looks for it"
            )
    return TechniqueCell(
        id=technique,
        name=name,
        tactics=tactics,
        state=state,
        detail=detail,
        in_pack=in_pack,
        findings=open_findings,
        dismissed=dismissed,
        detections=detections,
        coverage_status=status,
    )


def _columns(cells: dict[str, TechniqueCell], kb: AttackKB | None) -> tuple[TacticColumn, ...]:
    """Tactic columns in ATT&CK's kill-chain order; a technique of several tactics is in each."""
    by_tactic: dict[str, list[TechniqueCell]] = defaultdict(list)
    for cell in cells.values():
        for tactic in cell.tactics or (OTHER_TACTIC,):
            by_tactic[tactic].append(cell)
    order = [(t.shortname, t.name) for t in kb.tactics()] if kb is not None else []
    known = {short for short, _ in order}
    order += [(t, t.replace("-", " ").title()) for t in sorted(by_tactic) if t not in known]
    return tuple(
        TacticColumn(short, name, tuple(sorted(by_tactic[short], key=lambda c: c.id)))
        for short, name in order
        if short in by_tactic
    )


def _kb(view: DocumentView) -> AttackKB | None:
    try:
        return AttackKB.load(CURRENT_VERSION)
    except SeawallError as error:  # a damaged install: the matrix still shows ids, and says so
        view.notes.append(f"ATT&CK {CURRENT_VERSION} could not be loaded ({error}): ids only")
        return None


def pack_of(view: DocumentView) -> Pack | None:
    """The shipped pack the hunt ran (the document names it by id), or None with a note."""
    from seawall.intel.packs.loader import load_pack

    if view.pack is None:
        return None
    try:
        return load_pack(view.pack.id)
    except SeawallError as error:
        view.notes.append(
            f"pack {view.pack.id!r} could not be loaded ({error.message}): the matrix shows the"
            " techniques the hunt's detections and findings carry"
        )
        return None
