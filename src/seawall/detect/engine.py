"""Run detections on a case and produce the one result document.

The engine is deliberately small: it selects detections (all, by id, or those an advisory pack
names), checks that the case holds the data each one needs (:mod:`seawall.detect.requires`),
runs its SQL in DuckDB or its registered Python analytic, turns rows and hits into findings, and
records a coverage entry for *every* selected detection — ran, not-run (a table it reads is
empty: with the command that would fill it), not-evaluable (the telemetry it needs is missing,
named) or error (with DuckDB's message). A hunt that finds nothing because it could not look
says so. SQL runs with the hunt's allowlist and helper macros installed
(:mod:`seawall.detect.sqlhelpers`).

A SQL detection's result row becomes one finding: ``summary`` is required; ``host``,
``user_name``, ``first_seen``, ``last_seen``, ``score`` and ``severity`` set the finding's
fields; ``techniques`` narrows the finding to some of the detection's techniques; ``reasons``
(a list) explains the score; ``suppressed_by`` (an allowlist entry) keeps the finding but
suppresses it; ``finding_key`` replaces the evidence columns in the stable finding id (for
aggregates whose counts grow); ``evidence`` (a list of structs) adds one evidence entry per
element, each with its own provenance. Every other column is evidence.

Findings are written in one transaction per hunt; re-running replaces the findings of the same
detections (ids are stable hashes), so hunting twice is idempotent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from seawall import __version__
from seawall.case.store import CaseStore, utcnow
from seawall.detect import sqlhelpers
from seawall.detect.analytics import AnalyticContext, Hit, HuntOptions, NotRun, get_analytic
from seawall.detect.evidence import describe_sources, evidence, indicator_refs, jsonable
from seawall.detect.requires import preflight
from seawall.detect.schema import (
    Detection,
    LoadedDetection,
    load_directory,
    merge,
    shipped_detections,
)
from seawall.detect.techniques import current_techniques
from seawall.detect.webroots import resolve_webroots
from seawall.errors import SeawallError, UsageError
from seawall.intel.packs.coverage import BUILTIN_CAPABILITIES
from seawall.intel.packs.loader import load_pack
from seawall.intel.packs.schema import Pack
from seawall.model.finding import (
    SEVERITIES,
    SEVERITY_SCORES,
    CoverageEntry,
    Finding,
    IndicatorRef,
    ResultDocument,
    finding_id,
    technique_coverage,
)
from seawall.triage.allowlist import Located, as_table, load_allowlists, matches_detection

# Columns of a SQL detection's result that are finding fields, not evidence (module docstring).
FINDING_COLUMNS = (
    "host",
    "user_name",
    "first_seen",
    "last_seen",
    "score",
    "summary",
    "severity",
    "techniques",
    "reasons",
    "suppressed_by",
    "finding_key",
    "evidence",
)
# Columns that name the indicator a row matched (as ``ioc_match`` returns them).
INDICATOR_COLUMNS = ("indicator_type", "indicator")
_PARAMETER_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

_FINDINGS_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("run_id", pa.string()),
        ("detection_id", pa.string()),
        ("title", pa.string()),
        ("severity", pa.string()),
        ("score", pa.float64()),
        ("host", pa.string()),
        ("user_name", pa.string()),
        ("techniques", pa.list_(pa.string())),
        ("first_seen", pa.timestamp("us")),
        ("last_seen", pa.timestamp("us")),
        ("verdict", pa.string()),
        ("document", pa.string()),
    ]
)


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
) -> tuple[list[LoadedDetection], list[CoverageEntry], str | None]:
    """The detections to run, coverage entries for named ones that cannot run, and the pack id."""
    if not request.detection_ids and request.pack is None:
        return [loaded[k] for k in sorted(loaded)], [], None
    chosen: dict[str, LoadedDetection] = {}
    absent: list[CoverageEntry] = []
    for ident in request.detection_ids:
        if ident not in loaded:
            known = ", ".join(sorted(loaded)) or "none"
            raise UsageError(f"no detection {ident!r} (known: {known})")
        chosen[ident] = loaded[ident]
    pack_id: str | None = None
    if request.pack is not None:
        pack = load_pack(request.pack)
        pack_id = pack.id
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
    return list(chosen.values()), absent, pack_id


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


def bound_parameters(detection: Detection, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters the SQL refers to (DuckDB refuses unused named parameters)."""
    used = set(_PARAMETER_REF.findall(detection.sql or ""))
    return {name: value for name, value in values.items() if name in used}


def _utc_naive(value: Any) -> Any:
    """Findings keep naive UTC times, like the rest of the store."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _hit(detection: Detection, row: dict[str, Any], ref: IndicatorRef | None = None) -> Hit:
    """One SQL result row as a hit (see the module docstring for the special columns); ``ref``
    is the indicator it matched, with its sources."""
    fixed = {name: row.pop(name, None) for name in FINDING_COLUMNS}
    score = fixed["score"]
    severity = fixed["severity"]
    if severity is not None and severity not in SEVERITIES:
        raise SeawallError(f"its query returns severity {severity!r} (not one of {SEVERITIES})")
    techniques = tuple(fixed["techniques"] or ())
    foreign = [t for t in techniques if t not in detection.techniques]
    if foreign:
        raise SeawallError(
            f"its query returns technique(s) {', '.join(foreign)} the detection does not declare"
        )
    summary = str(fixed["summary"] or detection.title)
    reasons = [str(r) for r in fixed["reasons"] or () if r] or [summary]
    if ref is not None:
        reasons.append(f"{ref.type} {ref.value} reported by {describe_sources(ref)}")
    suppressed_by = fixed["suppressed_by"]
    if suppressed_by is not None:
        reasons.append(f"suppressed: allowlisted by {suppressed_by}")
    key = fixed["finding_key"]
    identity = key if key is not None else json.dumps(jsonable(row), sort_keys=True)
    items = [evidence(row, ref)]
    items += [evidence(dict(item)) for item in fixed["evidence"] or () if item is not None]
    return Hit(
        summary=summary,
        keys=(fixed["host"], fixed["user_name"], identity),
        evidence=tuple(items),
        host=None if fixed["host"] is None else str(fixed["host"]),
        user=None if fixed["user_name"] is None else str(fixed["user_name"]),
        first_seen=_utc_naive(fixed["first_seen"]),
        last_seen=_utc_naive(fixed["last_seen"]),
        score=None if score is None else max(0.0, min(100.0, float(score))),
        severity=severity,
        techniques=techniques,
        own_techniques=bool(techniques),
        verdict="allowlisted" if suppressed_by is not None else "suspicious",
        suppressed=suppressed_by is not None,
        reasons=tuple(reasons),
    )


def _sql_hits(store: CaseStore, detection: Detection, values: Mapping[str, Any]) -> list[Hit]:
    """Run a SQL detection; each result row becomes a hit (``summary`` is required).

    A row with ``indicator_type`` and ``indicator`` columns (what ``ioc_match`` returns) matched
    an indicator: its evidence carries that indicator with every source that reported it.
    """
    relation = store.con.sql(detection.sql or "", params=bound_parameters(detection, values))
    columns = list(relation.columns)
    if "summary" not in columns:
        raise SeawallError(
            f"its query returns no `summary` column (it returns {', '.join(columns)})"
        )
    rows = [row for batch in relation.to_arrow_reader(10_000) for row in batch.to_pylist()]
    refs: dict[tuple[str, str], IndicatorRef] = {}
    if INDICATOR_COLUMNS[0] in columns and INDICATOR_COLUMNS[1] in columns:
        wanted = [(r[INDICATOR_COLUMNS[0]], r[INDICATOR_COLUMNS[1]]) for r in rows]
        refs = indicator_refs(store, (k for k in wanted if None not in k))
    hits: list[Hit] = []
    for row in rows:
        ref = refs.get((row.get(INDICATOR_COLUMNS[0]), row.get(INDICATOR_COLUMNS[1])))
        hits.append(_hit(detection, row, ref))
    return hits


def _finding(detection: Detection, hit: Hit) -> Finding:
    severity = hit.severity or detection.severity
    base = () if hit.own_techniques else detection.techniques
    techniques, attack = current_techniques((*base, *hit.techniques))
    return Finding(
        finding_id=finding_id(detection.id, *hit.keys),
        detection_id=detection.id,
        title=detection.title,
        summary=hit.summary,
        severity=severity,
        score=hit.score if hit.score is not None else SEVERITY_SCORES[severity],
        techniques=techniques,
        host=hit.host,
        user=hit.user,
        first_seen=hit.first_seen,
        last_seen=hit.last_seen,
        verdict=hit.verdict,
        suppressed=hit.suppressed,
        reasons=list(hit.reasons),
        evidence=list(hit.evidence),
        attack=attack,
    )


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
            hits = _sql_hits(store, detection, values)
    except NotRun as not_run:
        return _Outcome(entry("not-run", not_run.reason, notes=context.notes), [])
    except duckdb.BinderException as error:
        reason = f"a table or column it reads is missing ({loaded.origin}): {error}"
        return _Outcome(entry("error", reason, notes=context.notes), [])
    except (duckdb.Error, SeawallError) as error:
        return _Outcome(entry("error", f"{loaded.origin}: {error}", notes=context.notes), [])
    findings: dict[str, Finding] = {}
    for hit in hits:
        made = _finding(detection, hit)
        findings.setdefault(made.finding_id, made)
    found = list(findings.values())
    suppressed = sum(1 for f in found if f.suppressed)
    # Partial coverage: it looked, but could not judge part of its input (the reason says what).
    left_out = "; ".join(context.unjudged) if context.unjudged else None
    status = "partial" if context.unjudged else "ran"
    return _Outcome(
        entry(status, left_out, findings=len(found), suppressed=suppressed, notes=context.notes),
        found,
    )


def _finding_rows(run_id: str, findings: list[Finding]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "finding_id": f.finding_id,
                "run_id": run_id,
                "detection_id": f.detection_id,
                "title": f.title,
                "severity": f.severity,
                "score": f.score,
                "host": f.host,
                "user_name": f.user,
                "techniques": f.techniques,
                "first_seen": f.first_seen,
                "last_seen": f.last_seen,
                "verdict": f.verdict,
                "document": f.model_dump_json(),
            }
            for f in findings
        ],
        schema=_FINDINGS_SCHEMA,
    )


def hunt(store: CaseStore, request: HuntRequest) -> ResultDocument:
    """Run the selected detections on the case and store their findings in one transaction."""
    started = utcnow()
    allowlist = load_allowlists(request.allowlists)
    loaded = load_detections(request.detection_dirs)
    selected, absent, pack_id = select(loaded, request)
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
    sqlhelpers.install(store.con, as_table(allowlist))
    run_id = store.start_run("hunt", arguments)
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
    ]
    if request.sigma_dirs:
        from seawall.detect.sigma.hunt import run_sigma  # pySigma loads only when asked for

        outcomes += [_Outcome(o.entry, o.findings) for o in run_sigma(store, request.sigma_dirs)]
    findings = [f for outcome in outcomes for f in outcome.findings]
    findings.sort(key=lambda f: (f.suppressed, -f.score, f.detection_id, f.summary))
    coverage = [outcome.entry for outcome in outcomes] + absent
    warnings = [
        f"{e.detection_id}: {e.reason}" for e in coverage if e.status == "error" and e.reason
    ]
    if request.options.webroots and "web.webshell" not in loaded:
        warnings.append("--webroot was given but the web-shell detection is not built yet")
    ids = [item.detection.id for item in selected]
    ids += [o.entry.detection_id for o in outcomes if o.entry.detection_id.startswith("sigma.")]
    with store.transaction() as con:
        if ids:
            con.execute("DELETE FROM findings WHERE detection_id IN ?", [ids])
        store.insert_arrow("findings", _finding_rows(run_id, findings))
        summary = {
            "findings": len(findings),
            "unsuppressed": sum(1 for f in findings if not f.suppressed),
            "coverage": {e.detection_id: e.status for e in coverage},
        }
        store.finish_run(run_id, "ok", summary)
    return ResultDocument(
        run_id=run_id,
        seawall_version=__version__,
        case=str(store.case_dir),
        pack=pack_id,
        started=started,
        finished=utcnow(),
        findings=findings,
        coverage=coverage,
        technique_coverage=technique_coverage(coverage),
        warnings=warnings,
    )
