"""A SQL detection's result rows as hits: the special columns, and everything else as evidence.

A row becomes one finding. ``summary`` is required; ``host``, ``user_name``, ``first_seen``,
``last_seen``, ``score`` and ``severity`` set the finding's fields; ``verdict`` (malicious,
suspicious, benign or unknown: what ``ioc_match`` returns) its verdict; ``techniques`` narrows
the finding to some of the detection's techniques; ``reasons`` explains the score: a list of
sentences (code ``match``) or of structs ``{code, text, …}`` (the other fields are the reason's
data); ``reason_*`` columns are data of the first reason (``reason_distinct_commands`` →
``distinct_commands``), for values a renderer or correlation may use; ``suppressed_by`` (what
``allowlisted(...)`` returns) keeps the finding but suppresses it; ``finding_key`` replaces the
evidence columns in the stable finding id (for aggregates whose counts grow); ``evidence`` (a
list of structs) adds one evidence entry per element, each with its own provenance; ``records``
(a list of structs of ``source_file``, ``source_sha256`` and ``record_ref``) is the provenance of
*every* record an aggregated row was made from, however many the ``evidence`` list shows. Every
other column is evidence. A row with ``indicator_type`` and ``indicator`` columns (what
``ioc_match`` returns) matched an indicator: its evidence carries it with every source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect.analytics import Hit
from seawall.detect.evidence import (
    describe_sources,
    indicator_refs,
    jsonable,
    provenance_of,
    split_provenance,
)
from seawall.detect.schema import Detection
from seawall.errors import SeawallError
from seawall.model.finding import SEVERITIES, Evidence, IndicatorRef, Provenance, Suppression
from seawall.model.reason import MATCH, REASON_CODE_PATTERN, Reason, reason
from seawall.model.upgrade import split_entry
from seawall.model.verdict import Verdict

# Columns of a SQL detection's result that are finding fields, not evidence (module docstring).
FINDING_COLUMNS = (
    "host",
    "user_name",
    "first_seen",
    "last_seen",
    "score",
    "summary",
    "severity",
    "verdict",
    "techniques",
    "reasons",
    "suppressed_by",
    "finding_key",
    "evidence",
    "records",
)
REASON_PREFIX = "reason_"
# Columns that name the indicator a row matched (as ``ioc_match`` returns them).
INDICATOR_COLUMNS = ("indicator_type", "indicator")
PARAMETER_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_CODE = re.compile(REASON_CODE_PATTERN)


def bound_parameters(detection: Detection, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters the SQL refers to (DuckDB refuses unused named parameters)."""
    used = set(PARAMETER_REF.findall(detection.sql or ""))
    return {name: value for name, value in values.items() if name in used}


def _utc_naive(value: Any) -> Any:
    """Findings keep naive UTC times, like the rest of the store."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _reasons(given: Any, summary: str, data: dict[str, Any]) -> list[Reason]:
    """The ``reasons`` column (sentences or structs), with ``data`` on the first reason."""
    found: list[Reason] = []
    for item in given or ():
        if item is None or item == "":
            continue
        if isinstance(item, Mapping):
            fields = {str(k): v for k, v in item.items()}
            code = str(fields.pop("code", None) or MATCH)
            if not _CODE.match(code):
                raise SeawallError(f"its query returns the reason code {code!r} ({_CODE.pattern})")
            text = str(fields.pop("text", None) or summary)
            found.append(reason(code, text, **{k: jsonable(v) for k, v in fields.items()}))
        else:
            found.append(Reason(code=MATCH, text=str(item)))
    if not found:
        found.append(Reason(code=MATCH, text=summary))
    if data:
        first = found[0]
        merged = {**first.data, **{k: jsonable(v) for k, v in data.items()}}
        found[0] = Reason(code=first.code, text=first.text, data=merged)
    return found


def _records(given: Any) -> list[Provenance]:
    """The ``records`` column: provenance structs of every record an aggregate stands for."""
    found: list[Provenance] = []
    for item in given or ():
        if isinstance(item, Mapping):
            found.append(provenance_of(item))
        elif item is not None:  # a bare record reference
            found.append(Provenance(record_ref=str(item)))
    return found


def _verdict(value: Any) -> Verdict:
    if value is None:
        return Verdict.SUSPICIOUS
    try:
        return Verdict(str(value))
    except ValueError:
        known = ", ".join(v.value for v in Verdict)
        raise SeawallError(f"its query returns verdict {value!r} (not one of {known})") from None


def row_hit(
    detection: Detection,
    row: dict[str, Any],
    ref: IndicatorRef | None = None,
    expiries: Mapping[str, datetime | None] | None = None,
) -> Hit:
    """One SQL result row as a hit; ``ref`` is the indicator it matched, with its sources, and
    ``expiries`` the allowlist entries' ``until`` by ``file:line``."""
    fixed = {name: row.pop(name, None) for name in FINDING_COLUMNS}
    data = {
        name.removeprefix(REASON_PREFIX): row.pop(name)
        for name in [c for c in row if c.startswith(REASON_PREFIX)]
    }
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
    reasons = _reasons(fixed["reasons"], summary, data)
    if ref is not None:
        how = row.get("how")
        reasons.append(
            reason(
                "ioc.match",
                f"{ref.type} {ref.value} reported by {describe_sources(ref)}",
                how=None if how is None else str(how),
                indicator={"type": ref.type, "value": ref.value},
                sources=[source.source for source in ref.sources],
            )
        )
    suppression: Suppression | None = None
    suppressed_by = fixed["suppressed_by"]
    if suppressed_by is not None:
        entry, why = split_entry(str(suppressed_by))
        expires = (expiries or {}).get(entry or "")
        suppression = Suppression(kind="allowlist", reason=why, entry=entry, expires=expires)
    key = fixed["finding_key"]
    identity = key if key is not None else json.dumps(jsonable(row), sort_keys=True)
    fields, provenance = split_provenance(row)
    items = [Evidence(row=fields, provenance=provenance, records=_records(fixed["records"]))]
    if ref is not None:
        items[0] = items[0].model_copy(update={"indicator": ref})
    for item in fixed["evidence"] or ():
        if item is not None:
            more, where = split_provenance(dict(item))
            items.append(Evidence(row=more, provenance=where))
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
        verdict=_verdict(fixed["verdict"]),
        suppression=suppression,
        reasons=tuple(reasons),
    )


def sql_hits(
    store: CaseStore,
    detection: Detection,
    values: Mapping[str, Any],
    expiries: Mapping[str, datetime | None] | None = None,
) -> list[Hit]:
    """Run a SQL detection; each result row becomes a hit (``summary`` is required)."""
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
        hits.append(row_hit(detection, row, ref, expiries))
    return hits
