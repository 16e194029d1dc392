"""Run detections on a case and produce the one result document.

The engine is deliberately small: it selects detections (all, by id, or those an advisory pack
names), checks that the case holds the data each one needs (:mod:`seawall.detect.requires`),
runs its SQL in DuckDB (rows become hits by :mod:`seawall.detect.sqlrows`, whose docstring lists
the special columns) or its registered Python analytic, turns hits into findings, and records a
coverage entry for *every* selected detection — ran, not-run (a table it reads is empty: with
the command that would fill it), not-evaluable (the telemetry it needs is missing, named) or
error (with DuckDB's message). A hunt that finds nothing because it could not look says so. SQL
runs with the hunt's allowlist and helper macros installed (:mod:`seawall.detect.sqlhelpers`);
allowlist entries SQL cannot judge, or that a detection's query does not ask about, are matched
against its findings (:mod:`seawall.triage.matching`).

Each finding carries what an analyst needs without the detection file (its description, false
positives and triage note) and structured reasons. The case's triage (analysts' reviews,
suppressions recorded by ``triage apply``) is joined in by finding id, so it survives re-hunts.
The findings and the whole document are written in one transaction per hunt
(:mod:`seawall.detect.stored`); re-running replaces the findings of the same detections (ids are
stable hashes), so hunting twice is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from seawall import __version__
from seawall.case.store import CaseStore, utcnow
from seawall.detect import selection, sqlhelpers
from seawall.detect.analytics import AnalyticContext, Hit, HuntOptions, NotRun, get_analytic
from seawall.detect.correlation.run import correlate
from seawall.detect.requires import preflight, shared_counts
from seawall.detect.schema import (
    Detection,
    LoadedDetection,
    load_directory,
    merge,
    shipped_detections,
)
from seawall.detect.sqlrows import PARAMETER_REF, sql_hits
from seawall.detect.stored import write_hunt
from seawall.detect.techniques import current_techniques
from seawall.detect.webroots import resolve_webroots
from seawall.errors import SeawallError, UsageError
from seawall.intel.packs.coverage import BUILTIN_CAPABILITIES
from seawall.intel.packs.loader import load_pack
from seawall.intel.packs.schema import Pack
from seawall.model.finding import (
    SEVERITY_SCORES,
    CoverageEntry,
    Finding,
    ResultDocument,
    Suppression,
    finding_id,
    technique_coverage,
)
from seawall.model.reason import Reason, as_reason
from seawall.model.upgrade import verdict_of
from seawall.triage.allowlist import (
    Located,
    as_table,
    load_allowlists,
    matches_detection,
    split_expired,
    utc,
)
from seawall.triage.matching import compile_entries, first_match
from seawall.triage.state import load_state, with_triage

if TYPE_CHECKING:
    from seawall.detect.sigma.rules import CompiledRule

# DuckDB's memory while detections run (see ``hunt``).
HUNT_MEMORY = "2GB"


@dataclass(frozen=True, slots=True)
class HuntRequest:
    """Which detections to run and with what; empty selections mean every loaded detection."""

    detection_ids: tuple[str, ...] = ()
    detection_dirs: tuple[Path, ...] = ()
    pack: str | None = None
    options: HuntOptions = field(default_factory=HuntOptions)
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per detection id, parameter values that replace the detection file's defaults."""
    allowlists: tuple[Path, ...] = ()
    """Allowlist files (:mod:`seawall.triage.allowlist`) the detections' SQL judges against."""
    sigma_dirs: tuple[Path, ...] = ()
    """Sigma rule folders (or files): every rule is run or listed with why not (``sigma.<id>``)."""


@dataclass(slots=True)
class _Outcome:
    entry: CoverageEntry
    findings: list[Finding]


def load_detections(directories: Iterable[Path] = ()) -> dict[str, LoadedDetection]:
    """Shipped detections plus the user's directories; a repeated id is an error."""
    return merge(shipped_detections(), *(load_directory(d) for d in directories))


def _pack_detections(pack: Pack) -> dict[str, list[str]]:
    """Every detection id the pack names, with the techniques it is said to cover (in order)."""
    found: dict[str, list[str]] = {}
    for technique in pack.techniques:
        for ident in technique.detections:
            found.setdefault(ident, []).append(technique.id)
    for software in pack.software:
        for ident in software.detections:
            found.setdefault(ident, [])
    for mitigation in pack.mitigations:
        for ident in mitigation.detections:
            found.setdefault(ident, [])
    return found


def select(
    loaded: Mapping[str, LoadedDetection], request: HuntRequest
) -> tuple[list[LoadedDetection], list[CoverageEntry], Pack | None]:
    """The detections to run, coverage entries for named ones that cannot run, and the pack.

    Every loaded detection when none is named and no pack is given; the named ones; or the
    pack's, with every correlation detection (they read the findings of the others)."""
    if not request.detection_ids and request.pack is None:
        return [loaded[k] for k in sorted(loaded)], [], None
    chosen: dict[str, LoadedDetection] = {}
    absent: list[CoverageEntry] = []
    for ident in request.detection_ids:
        if ident not in loaded and not selection.may_name_sigma(ident):
            known = ", ".join(sorted(loaded)) or "none"
            raise UsageError(f"no detection {ident!r} (known: {known})")
        for name in selection.named(ident, sorted(loaded)):
            chosen.setdefault(name, loaded[name])
    pack: Pack | None = None
    if request.pack is not None:
        pack = load_pack(request.pack)
        # A pack's hunt is correlated: its findings become incidents (packs name no correlation).
        for ident, item in loaded.items():
            if item.detection.correlation is not None:
                chosen.setdefault(ident, item)
        for ident, techniques in _pack_detections(pack).items():
            if ident in loaded:
                chosen.setdefault(ident, loaded[ident])
            elif ident in BUILTIN_CAPABILITIES:
                reason = f"a command, not a detection: run `{BUILTIN_CAPABILITIES[ident]}`"
                absent.append(
                    CoverageEntry(
                        detection_id=ident, techniques=techniques, status="not-run", reason=reason
                    )
                )
            else:
                absent.append(
                    CoverageEntry(
                        detection_id=ident,
                        techniques=techniques,
                        status="not-run",
                        reason=f"not built yet (named by pack {pack.id})",
                    )
                )
    return list(chosen.values()), absent, pack


def context_notes(
    store: CaseStore,
    detection: Detection,
    values: Mapping[str, Any],
    allowlist: Sequence[Located] = (),
) -> list[str]:
    """What the detection's findings mean given what the user did not supply: no allowlist
    entry for it, no learned baseline, an empty parameter (its ``context``)."""
    notes: list[str] = []
    for name, meaning in detection.context.items():
        if name == "allowlist":
            given = matches_detection(allowlist, detection.id)
            missing = "no allowlist entry applies (hunt --allowlist FILE)"
        elif name == "baseline":
            rows = store.con.sql(
                "SELECT count(*) FROM baselines WHERE detection_id = ?", params=[detection.id]
            ).fetchall()
            given = bool(rows and rows[0][0])
            missing = "no baseline learned (seawall baseline learn --until TIME)"
        else:
            given = values.get(name) not in (None, "", [], {})
            missing = f"{name} not given (hunt --param {detection.id}.{name}=VALUE)"
        if not given:
            notes.append(f"{missing}: {meaning}")
    return notes


def effective_parameters(
    detection: Detection, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The detection's parameters with the user's values for this hunt; a name the detection
    does not declare is a usage error (a typo must not silently leave the default in force)."""
    values: dict[str, Any] = dict(detection.parameters)
    unknown = sorted(set(overrides or {}) - set(values))
    if unknown:
        known = ", ".join(sorted(values)) or "none"
        raise UsageError(
            f"detection {detection.id} has no parameter {', '.join(unknown)} (known: {known})"
        )
    values.update(overrides or {})
    for name, value in values.items():
        if name.endswith("_networks"):
            sqlhelpers.check_networks(f"{detection.id}.{name}", value)
    return values


def _suppression(hit: Hit, reasons: Sequence[Reason]) -> Suppression | None:
    """The hit's suppression; one that only set ``suppressed`` (an analytic written before
    suppressions had reasons) is a judgement, explained by its last reason."""
    if hit.suppression is not None or not hit.suppressed:
        return hit.suppression
    said = [r.text for r in reasons if r.text.lower().startswith("suppressed")]
    why = said[-1] if said else (reasons[-1].text if reasons else "suppressed by the detection")
    return Suppression(kind="judgement", reason=why)


def _finding(detection: Detection, hit: Hit) -> Finding:
    severity = hit.severity or detection.severity
    base = () if hit.own_techniques else detection.techniques
    techniques, attack = current_techniques((*base, *hit.techniques))
    reasons = [as_reason(r) for r in hit.reasons]
    try:
        verdict = verdict_of(str(hit.verdict))
    except ValueError as error:
        raise SeawallError(f"its analytic gives {error}") from None
    suppression = _suppression(hit, reasons)
    return Finding(
        finding_id=finding_id(detection.id, *hit.keys),
        detection_id=detection.id,
        title=detection.title,
        summary=hit.summary,
        description=detection.description,
        false_positives=list(detection.false_positives),
        triage=detection.triage,
        severity=severity,
        score=hit.score if hit.score is not None else SEVERITY_SCORES[severity],
        techniques=techniques,
        attack=attack,
        host=hit.host,
        user=hit.user,
        first_seen=hit.first_seen,
        last_seen=hit.last_seen,
        verdict=verdict,
        suppressed=suppression is not None,
        suppression=suppression,
        reasons=reasons,
        evidence=list(hit.evidence),
    )


def _allowlisted(
    detection: Detection, findings: list[Finding], allowlist: Sequence[Located]
) -> list[Finding]:
    """The findings with the allowlist entries SQL did not judge matched against them: those
    naming a path or a value, or every entry when the detection's query does not ask
    ``allowlisted(...)`` (Python analytics never do)."""
    asks = detection.sql is not None and "allowlisted(" in detection.sql
    entries = [e for e in allowlist if not (asks and e.entry.judged_in_sql)]
    matchers = compile_entries(entries)
    if not matchers:
        return findings
    judged: list[Finding] = []
    for finding in findings:
        match = None if finding.suppressed else first_match(matchers, finding)
        if match is not None:
            until = utc(match.entry.until)
            suppression = Suppression(
                kind="allowlist",
                reason=match.entry.reason,
                entry=match.origin,
                expires=None if until is None else until.replace(tzinfo=None),
            )
            finding = finding.model_copy(update={"suppression": suppression, "suppressed": True})
        judged.append(finding)
    return judged


def coverage_notes(store: CaseStore, detection: Detection, values: Mapping[str, Any]) -> list[str]:
    """The notes a detection's ``coverage_notes`` query returns (what it could not judge, said
    in its own words: e.g. indicators of a kind its SQL does not match)."""
    if detection.coverage_notes is None:
        return []
    used = set(PARAMETER_REF.findall(detection.coverage_notes))
    relation = store.con.sql(
        detection.coverage_notes,
        params={name: value for name, value in values.items() if name in used},
    )
    if "note" not in relation.columns:
        raise SeawallError("its coverage_notes query returns no `note` column")
    return [str(row[0]) for row in relation.select("note").fetchall() if row[0]]


def run_detection(
    store: CaseStore,
    loaded: LoadedDetection,
    run_id: str,
    options: HuntOptions,
    parameters: Mapping[str, Any] | None = None,
    allowlist: Sequence[Located] = (),
) -> _Outcome:
    """Run one detection; never raises for the detection's own failures (they are coverage)."""
    detection = loaded.detection

    def entry(status: Any, reason: str | None = None, **more: Any) -> CoverageEntry:
        return CoverageEntry(
            detection_id=detection.id,
            title=detection.title,
            techniques=list(detection.techniques),
            status=status,
            reason=reason,
            **more,
        )

    # DuckDB 2 refuses new work while an earlier execute() result is unfinished, even a fetched
    # one (opening the store leaves one): finish it so a detection never fails for that.
    store.con.complete()
    checked = preflight(store.con, detection)
    if checked.outcome != "ok":
        return _Outcome(entry(checked.outcome, checked.reason), [])
    values = effective_parameters(detection, parameters)
    notes = [*checked.notes, *context_notes(store, detection, values, allowlist)]
    context = AnalyticContext(
        store=store,
        run_id=run_id,
        detection_id=detection.id,
        parameters=values,
        options=options,
        now=utcnow(),
        notes=notes,
    )
    try:
        if detection.python is not None:
            hits = list(get_analytic(detection.python)(context))
        else:
            expiries = {e.origin: utc(e.entry.until) for e in allowlist}
            hits = sql_hits(store, detection, values, expiries)
        context.notes.extend(coverage_notes(store, detection, values))
    except NotRun as not_run:
        return _Outcome(entry("not-run", not_run.reason, notes=context.notes), [])
    except duckdb.BinderException as error:
        reason = f"a table or column it reads is missing ({loaded.origin}): {error}"
        return _Outcome(entry("error", reason, notes=context.notes), [])
    except (duckdb.Error, SeawallError) as error:
        return _Outcome(entry("error", f"{loaded.origin}: {error}", notes=context.notes), [])
    findings: dict[str, Finding] = {}
    try:
        for hit in hits:
            made = _finding(detection, hit)
            findings.setdefault(made.finding_id, made)
    except SeawallError as error:
        return _Outcome(entry("error", f"{loaded.origin}: {error}", notes=context.notes), [])
    found = _allowlisted(detection, list(findings.values()), allowlist)
    suppressed = sum(1 for f in found if f.suppressed)
    # Partial coverage: it looked, but could not judge part of its input (the reason says what).
    left_out = "; ".join(context.unjudged) if context.unjudged else None
    status = "partial" if context.unjudged else "ran"
    return _Outcome(
        entry(status, left_out, findings=len(found), suppressed=suppressed, notes=context.notes),
        found,
    )


def _sigma_rules(request: HuntRequest, loaded: Mapping[str, LoadedDetection]) -> list[CompiledRule]:
    """The Sigma rules of ``--sigma`` the hunt runs (every one unless ``--detection`` selects);
    a selector that names no detection at all is a usage error, before anything runs."""
    by_id: dict[str, CompiledRule] = {}
    if request.sigma_dirs:
        from seawall.detect.sigma.rules import load_rules  # pySigma loads only to compile

        by_id = {f"{selection.SIGMA_PREFIX}{r.id}": r for r in load_rules(request.sigma_dirs)}
    selection.check(request.detection_ids, [*loaded, *by_id], bool(request.sigma_dirs))
    return [r for i, r in by_id.items() if selection.wanted(request.detection_ids, i)]


def hunt(store: CaseStore, request: HuntRequest) -> ResultDocument:
    """Run the selected detections on the case and store their findings and the whole document
    in one transaction; the case's triage is joined in (reviews and suppressions by finding id,
    so they survive re-hunts)."""
    started = utcnow()
    allowlist, expired = split_expired(load_allowlists(request.allowlists), started)
    loaded = load_detections(request.detection_dirs)
    selected, absent, pack = select(loaded, request)
    sigma_rules = _sigma_rules(request, loaded)
    for ident in request.parameters:
        if ident not in loaded:
            raise UsageError(f"--param names no detection {ident!r}")
        effective_parameters(loaded[ident].detection, request.parameters[ident])
    arguments = {
        "detections": list(request.detection_ids),
        "detection_dirs": [str(d) for d in request.detection_dirs],
        "pack": request.pack,
        "yara": [str(d) for d in request.options.yara_dirs],
        "webroots": list(request.options.webroots),
        "parameters": {k: dict(v) for k, v in request.parameters.items()},
        "allowlists": [str(p) for p in request.allowlists],
        "sigma": [str(d) for d in request.sigma_dirs],
    }
    for item in selected:  # a bad --param fails the hunt before anything runs
        effective_parameters(item.detection, request.parameters.get(item.detection.id))
    options = request.options
    if options.webroots:  # as the sweep recorded paths; one that names no swept file is an error
        options = replace(options, webroots=resolve_webroots(store, options.webroots))
    if selected:  # a Sigma-only hunt runs no SQL of ours: no helpers (a fifth of a second)
        sqlhelpers.install(store.con, as_table(allowlist))
    run_id = store.start_run("hunt", arguments)
    correlations = [item for item in selected if item.detection.correlation is not None]
    # Detections over tens of millions of log rows build large hash tables: under a cap DuckDB
    # spills them to the case's temporary directory instead of growing with the input.
    # A hunt's detections share their telemetry checks and the views several of them read.
    queries = [item.detection.sql for item in selected if item.detection.sql]
    with store.memory_limit(HUNT_MEMORY):
        with shared_counts(), sqlhelpers.shared_views(store.con, queries):
            outcomes = [
                run_detection(
                    store,
                    item,
                    run_id,
                    options,
                    request.parameters.get(item.detection.id),
                    allowlist,
                )
                for item in selected
                if item.detection.correlation is None
            ]
        if sigma_rules:
            from seawall.detect.sigma.hunt import run_rules

            sigma = run_rules(store, sigma_rules)
            outcomes += [_Outcome(o.entry, o.findings) for o in sigma]
    findings = [f for outcome in outcomes for f in outcome.findings]
    coverage = [outcome.entry for outcome in outcomes] + absent
    warnings = [f"allowlist entry {w}" for w in expired]
    warnings += [
        f"{e.detection_id}: {e.reason}" for e in coverage if e.status == "error" and e.reason
    ]
    if request.sigma_dirs and not sigma_rules:
        warnings.append("--sigma was given but no --detection names a Sigma rule: none ran")
    if request.options.webroots and "web.webshell" not in loaded:
        warnings.append("--webroot was given but the web-shell detection is not built yet")
    document = with_triage(
        ResultDocument(
            run_id=run_id,
            seawall_version=__version__,
            case=str(store.case_dir),
            pack=None if pack is None else pack.id,
            pack_attack_version=None if pack is None else pack.attack_version,
            started=started,
            finished=started,
            findings=findings,
            coverage=coverage,
            technique_coverage=technique_coverage(coverage),
            warnings=warnings,
        ),
        load_state(store),
    )
    # Correlations last: they read this hunt's findings, with the case's triage joined in (what
    # is suppressed or dismissed is no part of an incident).
    with store.memory_limit(HUNT_MEMORY):
        incidents, correlated = correlate(
            store,
            document.findings,
            correlations,
            loaded,
            lambda item: effective_parameters(
                item.detection, request.parameters.get(item.detection.id)
            ),
            others_ran=any(o.entry.status in ("ran", "partial") for o in outcomes),
        )
    coverage = [*document.coverage, *correlated]
    document = document.model_copy(
        update={
            "incidents": incidents,
            "coverage": coverage,
            "technique_coverage": technique_coverage(coverage),
            "finished": utcnow(),
        }
    )
    ids = [item.detection.id for item in selected]
    ids += [o.entry.detection_id for o in outcomes if o.entry.detection_id.startswith("sigma.")]
    with store.transaction():
        write_hunt(store, document, ids)
        summary = {
            "findings": len(document.findings),
            "unsuppressed": len(document.unsuppressed),
            "to_review": len(document.to_review),
            "incidents": len(document.incidents),
            "coverage": {e.detection_id: e.status for e in coverage},
        }
        store.finish_run(run_id, "ok", summary)
    return document
