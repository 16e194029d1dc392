"""Import intel files into the case: read, normalise, judge, then write everything at once.

Every file is parsed and checked before anything is written, and all files of one command are
written in one transaction: a hostile or broken file stops the command with exit 3 and the case
is left exactly as it was. Re-importing a file (same SHA-256) adds nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.schema import INDICATOR_KEYS_SQL
from seawall.case.store import CaseStore, utcnow
from seawall.errors import BadInputError
from seawall.intel import hygiene, normalize
from seawall.intel.readers import read_document
from seawall.intel.sightings import SightingRows
from seawall.intel.sniff import DEFAULT_MAX_BYTES
from seawall.model.indicator import (
    HASH_TYPES,
    IndicatorType,
    IntelDocument,
    IntelWarning,
    RawIndicator,
)
from seawall.triage.knowngood import DUAL_USE_TAG, dual_use_note


@dataclass(slots=True)
class FileImport:
    """What one file contributed (or why it contributed nothing)."""

    path: str
    sha256: str
    format: str
    source_id: str
    source_name: str
    size: int = 0
    title: str | None = None
    already_imported: bool = False
    indicators: int = 0
    new_indicators: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, str]] = field(default_factory=list)
    benign: list[dict[str, str]] = field(default_factory=list)
    dual_use: list[dict[str, str]] = field(default_factory=list)
    warnings: list[IntelWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "source_id": self.source_id,
            "source": self.source_name,
            "title": self.title,
            "already_imported": self.already_imported,
            "indicators": self.indicators,
            "new_indicators": self.new_indicators,
            "by_type": dict(sorted(self.by_type.items())),
            "rejected": self.rejected,
            "benign": self.benign,
            "dual_use": self.dual_use,
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass(slots=True)
class ImportReport:
    files: list[FileImport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        by_type: Counter[str] = Counter()
        for item in self.files:
            by_type.update(item.by_type)
        return {
            "indicators": sum(f.indicators for f in self.files),
            "new_indicators": sum(f.new_indicators for f in self.files),
            "by_type": dict(sorted(by_type.items())),
            "rejected": [r for f in self.files for r in f.rejected],
            "benign": [b for f in self.files for b in f.benign],
            "dual_use": [d for f in self.files for d in f.dual_use],
            "warnings": [{"file": f.path, **w.as_dict()} for f in self.files for w in f.warnings],
            "files": [f.as_dict() for f in self.files],
        }


def read_intel_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes, str]:
    """Read a whole intel file (bounded) and return its bytes and SHA-256."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadInputError("not a regular file", str(path))
        if size > max_bytes:
            raise BadInputError(
                f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for intel files"
                " (raise it with --max-size if this is really an indicator file)",
                str(path),
            )
        data = path.read_bytes()
    except OSError as error:
        raise BadInputError(f"cannot read: {error.strerror or error}", str(path)) from error
    return data, hashlib.sha256(data).hexdigest()


def _canonical(raw: RawIndicator, document: IntelDocument) -> tuple[IndicatorType, str] | None:
    """Refang, type and normalise one raw indicator; a value that fails is a warning."""
    location = raw.location or "?"
    value = raw.value
    kind = raw.type
    if kind is None:
        # Only an untyped value is refanged here, to tell its type: refanging a typed value
        # would corrupt path regexes and subjects; normalise() refangs the network types.
        value = normalize.refang(value)
        kind = normalize.detect_type(value)
    if kind is None:
        document.warn(location, f"cannot tell what kind of indicator {value[:80]!r} is")
        return None
    try:
        return kind, normalize.normalise(kind, value)
    except ValueError as error:
        document.warn(location, f"invalid {kind.value} {value[:80]!r}: {error}")
        return None


# Tag and note on the sightings of a source imported with ``exercise`` (see hygiene.assess).
EXERCISE_TAG = "exercise"
EXERCISE_NOTE = "imported with --exercise: documentation and testing names and addresses are live"


def _judge(
    document: IntelDocument,
    result: FileImport,
    rows: SightingRows,
    source_id: str,
    exercise: bool = False,
) -> None:
    """Normalise every raw indicator of a document into sighting rows, judging hygiene."""
    seen: set[tuple[IndicatorType, str]] = set()
    for raw in document.indicators:
        canonical = _canonical(raw, document)
        if canonical is None:
            continue
        kind, value = canonical
        verdict = hygiene.assess(kind, value, exercise=exercise)
        if exercise:
            raw = replace(
                raw,
                tags=(*raw.tags, EXERCISE_TAG),
                context={**raw.context, "exercise": EXERCISE_NOTE},
            )
        # A known-good binary's hash stays a live indicator (the actors ran that tool); the tag
        # tells the hunt to judge a hit by where the file sits.
        note = dual_use_note(kind, value) if kind in HASH_TYPES else None
        if note:
            context = {**raw.context, "dual_use": note}
            raw = replace(raw, tags=(*raw.tags, DUAL_USE_TAG), context=context)
        if canonical not in seen:
            seen.add(canonical)
            result.by_type[kind.value] += 1
            if verdict.rejected_reason:
                result.rejected.append(
                    {"type": kind.value, "value": value, "reason": verdict.rejected_reason}
                )
            elif verdict.benign_reason:
                result.benign.append(
                    {"type": kind.value, "value": value, "reason": verdict.benign_reason}
                )
            if note:
                result.dual_use.append({"type": kind.value, "value": value, "note": note})
        rows.add(kind, value, source_id, raw, verdict)
    result.indicators = len(seen)
    result.warnings = list(document.warnings)


def prepare(
    path: Path,
    source_name: str | None,
    known_sha256: set[str],
    max_bytes: int,
    format: str | None = None,
    exercise: bool = False,
) -> tuple[FileImport, SightingRows, IntelDocument | None]:
    """Read and judge one file without touching the case (``format``: see ``read_document``;
    ``exercise``: see :func:`import_files`)."""
    data, sha256 = read_intel_file(path, max_bytes)
    source_id = sha256[:16]
    result = FileImport(
        path=str(path),
        sha256=sha256,
        format="?",
        source_id=source_id,
        source_name=source_name or path.name,
        size=len(data),
    )
    rows = SightingRows()
    if sha256 in known_sha256:
        result.already_imported = True
        return result, rows, None
    document = read_document(data, str(path), format)
    result.format = document.format
    result.title = document.title
    _judge(document, result, rows, source_id, exercise)
    return result, rows, document


def import_files(
    store: CaseStore,
    paths: list[Path],
    source_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    format: str | None = None,
    exercise: bool = False,
) -> ImportReport:
    """Import ``paths`` into the case: all of them, or (on any bad input) none.

    ``format`` names the format of every file instead of telling it from the content;
    ``exercise`` keeps documentation and testing names and addresses (``.example``,
    192.0.2.0/24…) as live indicators instead of benign ones, for intel written for an exercise
    (its sightings are tagged ``exercise``).
    """
    known = {row[0] for row in store.con.execute("SELECT sha256 FROM sources").fetchall()}
    prepared = []
    for path in paths:
        result, rows, document = prepare(path, source_name, known, max_bytes, format, exercise)
        known.add(result.sha256)  # the same file twice on one command line counts once
        prepared.append((result, rows, document))

    report = ImportReport()
    now = utcnow()
    with store.transaction():
        run_id = store.start_run(
            "intel import",
            {"files": [str(p) for p in paths], "source": source_name, "exercise": exercise},
        )
        for result, rows, document in prepared:
            report.files.append(result)
            if document is None:
                continue
            before = _indicator_count(store)
            store.insert_arrow("sources", _source_row(result, document, run_id, now))
            rows.write(store, now)
            _refresh_keys(store, result.source_id)
            result.new_indicators = _indicator_count(store) - before
        store.finish_run(
            run_id, "ok", {"new_indicators": sum(f.new_indicators for f in report.files)}
        )
    return report


# The indicators one source sighted: new ones, and old ones whose summaries it has just changed.
_SIGHTED = "(SELECT type, value FROM sightings WHERE source_id = $source)"


def _refresh_keys(store: CaseStore, source_id: str) -> None:
    """Re-derive the lookup's probe index rows of every indicator this source sighted.

    Inside the import's transaction, so the index never disagrees with ``indicators``: the
    rows are deleted and derived again with the same SQL the schema migration filled it with.
    (An index row's ``value`` is NULL where it equals its ``key``.)
    """
    params = {"source": source_id}
    store.con.execute(
        f"DELETE FROM indicator_keys WHERE (type, coalesce(value, key)) IN {_SIGHTED}", params
    ).complete()
    derive = INDICATOR_KEYS_SQL.format(where=f"(type, value) IN {_SIGHTED}")
    store.con.execute(f"INSERT INTO indicator_keys BY NAME {derive}", params).complete()


def _indicator_count(store: CaseStore) -> int:
    row = store.con.execute("SELECT count(*) FROM indicators").fetchone()
    return int(row[0]) if row else 0


def _source_row(
    result: FileImport, document: IntelDocument, run_id: str, now: datetime
) -> pa.Table:
    return pa.table(
        {
            "source_id": [result.source_id],
            "name": [result.source_name],
            "path": [result.path],
            "sha256": [result.sha256],
            "size": [result.size],
            "format": [document.format],
            "title": [document.title],
            "producer": [document.producer],
            "techniques": pa.array([sorted(set(document.techniques))], pa.list_(pa.string())),
            "imported_at": [now],
            "run_id": [run_id],
            "indicator_count": [result.indicators],
            "warning_count": [len(result.warnings)],
        }
    )
