"""The sweep's work in its worker processes, and the rows it comes back as.

A worker walks slices of the tree (``seawall.collect.walk``) and hashes and types files
(``seawall.collect.content``). This module gives the shape of a finished row (``ROW_SCHEMA``: the
walk's ``STAT_SCHEMA`` plus the hashes and content features), turns what a worker examined into
such rows, and holds the first sweep's combined job, ``walk_and_examine``. The orchestration
(scheduling, the re-sweep's joins, the writes) is :mod:`seawall.collect.files`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from seawall.collect.content import CONTENT_COLUMNS, Examined, examine_chunk
from seawall.collect.walk import STAT_SCHEMA, Dir, Listed, WalkSettings, WalkWarning, walk_slice
from seawall.features.yara import YaraPolicy

# Files up to this size are hashed by the worker that lists them in a first sweep (see
# ``walk_and_examine``); larger ones go out in chunks, so that they spread over the workers.
INLINE_BYTES = 1 << 20

# What the sweep carries per file between the walk, the hashing workers and the writes: the walk's
# ``STAT_SCHEMA`` columns plus the hashes and content features. ``raw`` and ``followed`` are not
# written; ``run_id``, ``host`` and the provenance columns are added by the INSERT.
HASH_FIELDS = [
    pa.field("md5", pa.string()),
    pa.field("sha1", pa.string()),
    pa.field("sha256", pa.string()),
    *[pa.field(column, pa.string()) for column in CONTENT_COLUMNS],
]
ROW_SCHEMA = pa.schema([*STAT_SCHEMA, *HASH_FIELDS])
_NO_YARA = YaraPolicy("off")
_NOTE = ROW_SCHEMA.get_field_index("note")
_STAT_WIDTH = len(STAT_SCHEMA)


def with_hash_columns(table: pa.Table) -> pa.Table:
    """A walk's ``STAT_SCHEMA`` table with empty hash and content columns (``ROW_SCHEMA``)."""
    count = table.num_rows
    return pa.Table.from_arrays(
        [*table.columns, *(pa.nulls(count, f.type) for f in HASH_FIELDS)], schema=ROW_SCHEMA
    )


def _open_paths(table: pa.Table) -> list[bytes]:
    """The paths to open: the raw bytes of a name that is not UTF-8, else the recorded text."""
    raws = table.column("raw").to_pylist()
    return [
        raw if raw is not None else path.encode()
        for raw, path in zip(raws, table.column("path").to_pylist(), strict=True)
    ]


def chunk_arguments(
    todo: pa.Table,
) -> tuple[list[bytes], list[bool], list[int], list[str | None]]:
    """``examine_chunk``'s paths, followed flags, sizes and owners for the files of a
    ``STAT_SCHEMA`` table. Plain lists, also to send to a worker: an Arrow slice pickles with its
    whole parent table's buffers (a 10-row slice of a 100k-row table is 10 MB)."""
    followed = todo.column("followed").to_pylist()
    owners = todo.column("owner").to_pylist()
    return _open_paths(todo), followed, todo.column("size").to_pylist(), owners


def examined_rows(chunk: pa.Table, result: Examined) -> tuple[pa.Table, list[WalkWarning]]:
    """``chunk`` (``STAT_SCHEMA``) with what examining it found (``ROW_SCHEMA``), and the
    warnings by path. Files that vanished before they could be opened get no row."""
    warnings: list[WalkWarning] = []
    if result.warnings or result.vanished:
        paths = chunk.column("path").to_pylist()
        warnings += [(paths[i], message, skipped) for i, message, skipped in result.warnings]
        vanished = "skipped: vanished during the sweep"
        warnings += [(paths[i], vanished, True) for i in result.vanished]
    columns = chunk.columns[:_STAT_WIDTH]
    columns[_NOTE] = pa.array(result.notes, pa.string())
    columns += [pa.array(values, pa.string()) for values in result.columns]
    table = pa.Table.from_arrays(columns, schema=ROW_SCHEMA)
    if result.vanished:
        keep = [True] * table.num_rows
        for i in result.vanished:
            keep[i] = False
        table = table.filter(pa.array(keep))
    return table, warnings


@dataclass(slots=True)
class Swept:
    """One walk slice of a first sweep, with its small files already examined by the worker
    that listed them (``walk_and_examine``)."""

    listed: Listed
    """The slice's listing, less the files examined here: what the sweep still has to hash
    (larger files, which go out in chunks) or to write as they are (files with a note)."""
    rows: pa.Table
    """The examined files (``ROW_SCHEMA``)."""
    warnings: list[WalkWarning]
    hashed: int
    nbytes: int
    yara_scanned: int = 0
    yara_matched: int = 0


def walk_and_examine(
    dirs: list[Dir],
    settings: WalkSettings,
    budget: int,
    webshells: bool,
    yara: YaraPolicy = _NO_YARA,
) -> Swept:
    """Walk a slice and examine its files up to ``INLINE_BYTES`` (at most ``budget`` of them) in
    the same worker.

    With nothing to compare against (a first sweep), the files a worker lists need not travel
    to this process and back before they are hashed: for a small file that round trip (paths
    out, digests back, Arrow built in the parent) cost about as much as hashing it. Larger files are
    left in the listing, to be spread over the workers in chunks.
    """
    listed = walk_slice(dirs, settings, budget)
    table = listed.table
    small = pc.and_(
        pc.is_null(table.column("note")), pc.less_equal(table.column("size"), INLINE_BYTES)
    )
    # A slice stops between directories, so one huge directory makes a huge slice: past
    # ``budget`` files, the rest go out in chunks too (over every worker, not just this one).
    small = pc.and_(small, pc.less_equal(pc.cumulative_sum(small.cast(pa.int64())), budget))
    here = table.filter(small)
    listed.table = table.filter(pc.invert(small))
    result = examine_chunk(*chunk_arguments(here), webshells, yara)
    rows, warnings = examined_rows(here, result)
    return Swept(
        listed,
        rows,
        warnings,
        result.hashed,
        result.nbytes,
        result.yara_scanned,
        result.yara_matched,
    )
