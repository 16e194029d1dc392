"""Turn case rows into evidence: JSON-safe values, provenance, and indicators with their sources.

A finding must let the analyst walk back to the input (source file, its SHA-256, the record) and
to every intel source that reported the indicator, so these helpers are shared by SQL detections
and Python analytics alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

import pyarrow as pa
from pydantic import JsonValue

from seawall.case.store import CaseStore
from seawall.intel.lookup_sql import MALICIOUS_CONFIDENCE
from seawall.model.finding import Evidence, IndicatorRef, IndicatorSource, Provenance
from seawall.model.verdict import Verdict

PROVENANCE_COLUMNS = ("source_file", "source_sha256", "record_ref")
# Columns of ``files`` that file-based analytics read and show as evidence.
FILE_COLUMNS = (
    "host",
    "path",
    "windows_path",
    "name",
    "size",
    "mtime",
    "os",
    "file_kind",
    "file_type",
    "md5",
    "sha1",
    "sha256",
    "pe_original_name",
    "pe_company",
    "pe_product",
    "signature_status",
    "signer",
    *PROVENANCE_COLUMNS,
)
STREAM_BATCH_ROWS = 50_000


def jsonable(value: Any) -> JsonValue:
    """Any DuckDB value as JSON: times as ISO text, bytes as base64, NaN as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def split_provenance(row: Mapping[str, Any]) -> tuple[dict[str, JsonValue], Provenance]:
    """The row's evidence columns and its provenance (taken out of the row, not repeated)."""
    fields = {k: jsonable(v) for k, v in row.items() if k not in PROVENANCE_COLUMNS}
    return fields, provenance_of(row)


def provenance_of(row: Mapping[str, Any]) -> Provenance:
    """The row's provenance alone (an aggregate's ``records`` are thousands of them)."""
    return Provenance(
        source_file=_text(row.get("source_file")),
        source_sha256=_text(row.get("source_sha256")),
        record_ref=_text(row.get("record_ref")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def evidence(row: Mapping[str, Any], indicator: IndicatorRef | None = None) -> Evidence:
    fields, provenance = split_provenance(row)
    return Evidence(row=fields, provenance=provenance, indicator=indicator)


def stream(
    store: CaseStore, sql: str, batch_rows: int = STREAM_BATCH_ROWS
) -> Iterator[dict[str, Any]]:
    """Rows of ``sql`` as dicts, a bounded batch at a time (memory does not grow with the case)."""
    reader = store.con.sql(sql).to_arrow_reader(batch_rows)
    for batch in reader:
        yield from batch.to_pylist()


_SOURCES_SQL = """
SELECT s.type, s.value, src.name AS source, s.source_id, src.path AS source_file, s.confidence,
    s.title, s.external_id, s.tags, s.techniques, s.context
FROM sightings s
JOIN {keys} k ON k.type = s.type AND k.value = s.value
JOIN sources src ON src.source_id = s.source_id
ORDER BY s.type, s.value, src.name, s.source_id
"""


def indicator_refs(
    store: CaseStore, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], IndicatorRef]:
    """Every requested indicator with all of its sources, tags and techniques, in one join."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    table = pa.table(
        {"type": [k[0] for k in wanted], "value": [k[1] for k in wanted]},
        schema=pa.schema([("type", pa.string()), ("value", pa.string())]),
    )
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with store.registered(f"_keys_{uuid.uuid4().hex}", table) as name:
        rows = store.con.sql(_SOURCES_SQL.format(keys=name)).to_arrow_table().to_pylist()
    for row in rows:
        grouped.setdefault((row["type"], row["value"]), []).append(row)
    refs: dict[tuple[str, str], IndicatorRef] = {}
    for key in wanted:
        sightings = grouped.get(key, [])
        tags: dict[str, None] = {}
        techniques: dict[str, None] = {}
        sources: list[IndicatorSource] = []
        for sighting in sightings:
            tags.update(dict.fromkeys(sighting["tags"] or []))
            techniques.update(dict.fromkeys(sighting["techniques"] or []))
            context = sighting["context"]
            parsed = json.loads(context) if isinstance(context, str) else (context or {})
            sources.append(
                IndicatorSource(
                    source=sighting["source"],
                    source_id=sighting["source_id"],
                    source_file=sighting["source_file"],
                    confidence=sighting["confidence"],
                    title=sighting["title"],
                    external_id=sighting["external_id"],
                    tags=list(sighting["tags"] or []),
                    context=jsonable(parsed) if isinstance(parsed, dict) else {},  # type: ignore[arg-type]
                )
            )
        refs[key] = IndicatorRef(
            type=key[0],
            value=key[1],
            sources=sources,
            tags=list(tags),
            techniques=list(techniques),
        )
    return refs


def indicator_verdict(ref: IndicatorRef) -> Verdict:
    """What ``intel lookup`` says of a matched indicator: ``malicious`` when a source is sure
    enough (its confidence at least :data:`MALICIOUS_CONFIDENCE`, or none stated), else
    ``suspicious``."""
    sure = any(s.confidence is None or s.confidence >= MALICIOUS_CONFIDENCE for s in ref.sources)
    return Verdict.MALICIOUS if sure else Verdict.SUSPICIOUS


def describe_sources(ref: IndicatorRef) -> str:
    """``AA21-200A (title), misp`` — who reported an indicator, for a summary line."""
    names: list[str] = []
    for source in ref.sources:
        label = source.source + (f" ({source.title})" if source.title else "")
        if label not in names:
            names.append(label)
    return ", ".join(names) or "no recorded source"


_NOATIME = getattr(os, "O_NOATIME", 0)
_DIGEST_CHUNK = 1 << 20


@contextmanager
def _open_unchanged(path: str, size: int) -> Iterator[BinaryIO | None]:
    """The evidence file, read-only, if it is still there with its recorded size, else None.

    Detections that need content re-read the evidence only while it is reachable: a file whose
    size differs from the recorded one is not the file the case describes. Opened with
    ``O_NOATIME`` where the OS allows (it needs ownership of the file).
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOATIME)
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            yield None
            return
    with os.fdopen(fd, "rb") as handle:
        yield handle if os.fstat(handle.fileno()).st_size == size else None


def digest_unchanged(path: str, size: int, algorithm: str) -> str | None:
    """The hex ``hashlib`` digest of the unchanged evidence file, else None.

    For digests the sweep does not record (SHA-512): streamed in 1 MiB reads, so a large file
    costs no memory.
    """
    with _open_unchanged(path, size) as handle:
        if handle is None:
            return None
        digest = hashlib.new(algorithm)
        while chunk := handle.read(_DIGEST_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()


def read_unchanged(path: str, size: int, limit: int | None = None) -> bytes | None:
    """The unchanged evidence file's bytes (the first ``limit`` of them), else None."""
    with _open_unchanged(path, size) as handle:
        if handle is None:
            return None
        return handle.read(size if limit is None else min(size, limit))
