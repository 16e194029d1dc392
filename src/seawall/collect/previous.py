"""A host's previous sweep, as a re-sweep finds it in the case: what it re-uses, what it replaces.

A re-sweep joins each batch of listed entries with the host's previous rows (``match``). A
previous row is re-usable when the entry's device, inode, size and ``mtime_ns`` are unchanged
(``_REUSABLE`` says which rows qualify); if the rest of its metadata is unchanged too
(``_SAME``), the row is kept as it is and only noted in ``sweep_kept`` (``keep``): rewriting or
updating unchanged rows cost a re-sweep most of its time and memory. Otherwise a new row takes
its hashes and content features (``hashes_of``). The previous rows stay in ``files`` until the
sweep's last transaction deletes those it did not keep (``replace``), so a sweep that fails or
is cut short leaves them intact, and nothing is loaded beforehand: each join scans only the key
and metadata columns of the host's rows.

Row ids from ``match`` are valid only inside the caller's transaction: after a commit DuckDB may
compact the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore, one_pass
from seawall.collect.sweep_worker import HASH_FIELDS
from seawall.collect.walk import show
from seawall.features.yara import YaraPolicy

_HASHES = ", ".join(f"p.{f.name}" for f in HASH_FIELDS)
# The previous row's columns that the walk would write again for an unchanged file (``path``,
# ``device``, ``inode``, ``size`` and ``mtime_ns`` are the join's; ``name`` and ``mtime`` follow
# from them): when all are equal, the previous row is kept as it is. A row with a note (a
# symlink, a file over --max-size) is kept only with the same note; a hashed row, only without
# one (a note there says the reading went wrong).
KEY = ("path", "device", "inode", "size", "mtime_ns")
_METADATA = (
    "atime",
    "ctime",
    "mode",
    "uid",
    "gid",
    "owner",
    "os",
    "windows_path",
    "file_kind",
    "note",
)
_SAME = (
    "coalesce(" + " AND ".join(f"p.{c} IS NOT DISTINCT FROM b.{c}" for c in _METADATA) + ", false)"
)
# Which previous row a listed entry can take over: one with hashes and content features for a
# file to hash (rows from a seawall that had no content features have no ``file_type``: their
# files are read again), one without hashes and with the same note for an entry with a note.
# A hashed row's YARA matches must hold for this sweep too: a scanned row's only under the current
# set version, an unscanned row's (NULL) only if its sweep ran the same policy or scanned every
# file (``_YARA_OK``, with the previous runs that qualify as a list parameter): another policy
# may select the file, so it is read again; under ``--yara-all``, a script scanned with the
# scripts' set only is read again too. With the shipped set off, any row will do.
_YARA_OK = (
    "(CASE WHEN p.yara IS NULL THEN list_contains(?, p.run_id)"
    " ELSE coalesce(?, json_extract_string(p.yara, '$.set')) = json_extract_string(p.yara, '$.set')"
    " AND (NOT ? OR json_extract_string(p.yara, '$.scope') = 'all') END)"
)
_REUSABLE = (
    "CASE WHEN b.note IS NULL THEN p.sha256 IS NOT NULL AND p.file_type IS NOT NULL"
    f" AND {_YARA_OK} ELSE p.sha256 IS NULL AND p.note = b.note END"
)


def under_sql(roots: list[bytes]) -> tuple[str, list[str]]:
    """A condition on ``path`` for the rows under ``roots``, and its parameters."""
    clauses, params = [], []
    for root in roots:
        text = show(root)
        clauses.append("(path = ? OR starts_with(path, ?))")
        params += [text, text.rstrip("/") + "/"]
    return " OR ".join(clauses), params


def exists(store: CaseStore, host: str, roots: list[bytes]) -> bool:
    """Whether ``host`` has hashed rows under ``roots`` (then a sweep there is a re-sweep)."""
    where, params = under_sql(roots)
    row = store.con.execute(
        f"SELECT EXISTS (SELECT 1 FROM files WHERE host = ? AND sha256 IS NOT NULL AND ({where}))",
        [host, *params],
    ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class Matches:
    """For each entry of a batch, in order: the ``rowid`` of the previous row it re-uses (null:
    none) and whether that row is the ``same`` (kept as it is); and the row ids of previous
    rows that duplicate a chosen one (a case that holds a path twice)."""

    rid: pa.ChunkedArray
    same: pa.ChunkedArray
    duplicates: pa.ChunkedArray


def yara_parameters(store: CaseStore, policy: YaraPolicy) -> list[object]:
    """``_YARA_OK``'s parameters: the runs whose unscanned rows this sweep may re-use, the set
    version that scanned rows must have, and whether they must have been scanned with all
    rules."""
    from seawall.features.yara_set import set_info

    if policy.mode == "off":  # nothing will be scanned: re-use whatever is there
        runs = [r for (r,) in store.con.execute("SELECT run_id FROM runs").fetchall()]
        return [runs, None, False]
    runs = [
        r
        for (r,) in store.con.execute(
            "SELECT run_id FROM runs WHERE json_extract_string(arguments, '$.yara') IN (?, 'all')",
            [policy.key],
        ).fetchall()
    ]
    return [runs, set_info().version, policy.mode == "all"]


def match(store: CaseStore, batch: pa.Table, host: str, run_id: str, policy: YaraPolicy) -> Matches:
    """Join ``batch`` (``STAT_SCHEMA``) with ``host``'s previous rows (inside a transaction)."""
    keys = batch.select([*KEY, *_METADATA])
    keys = keys.append_column("i", pa.array(range(batch.num_rows), pa.int64()))
    with store.registered("_sweep_listed", one_pass(keys)):
        rows = store.con.sql(
            "SELECT i, rid, same, row_number() OVER (PARTITION BY i ORDER BY same DESC) = 1"
            f" AS chosen FROM (SELECT b.i, p.rowid AS rid, {_SAME} AS same"
            " FROM _sweep_listed b LEFT JOIN files p"
            " ON p.path = b.path AND p.device = b.device AND p.inode = b.inode"
            " AND p.size = b.size AND p.mtime_ns = b.mtime_ns AND p.host = ?"
            f" AND p.run_id IS DISTINCT FROM ? AND {_REUSABLE}) ORDER BY i",
            params=[host, run_id, *yara_parameters(store, policy)],
        ).to_arrow_table()
    assert rows is not None
    chosen = rows.column("chosen")
    joined = rows.filter(chosen)
    assert joined.num_rows == batch.num_rows
    duplicates = rows.column("rid").filter(pc.invert(chosen))
    return Matches(joined.column("rid"), joined.column("same"), duplicates)


def hashes_of(store: CaseStore, rid: pa.ChunkedArray) -> pa.Table:
    """The hash and content columns (``HASH_FIELDS``) of the previous rows ``rid``, in order."""
    keys = pa.table({"i": pa.array(range(len(rid)), pa.int64()), "rid": rid})
    with store.registered("_sweep_moved", one_pass(keys)) as view:
        hashes = store.con.sql(
            f"SELECT {_HASHES} FROM {view} k JOIN files p ON p.rowid = k.rid ORDER BY k.i"
        ).to_arrow_table()
    assert hashes is not None and hashes.num_rows == len(rid)
    return hashes


def delete_rows(store: CaseStore, rid: pa.ChunkedArray) -> None:
    with store.registered("_sweep_duplicates", pa.table({"rid": rid})):
        store.con.execute("DELETE FROM files WHERE rowid IN (SELECT rid FROM _sweep_duplicates)")


def keep(store: CaseStore, run_id: str, marks: pa.Table) -> None:
    """Note that sweep ``run_id`` keeps as they are the previous rows of ``marks`` (``KEY``)."""
    run_ids = pa.repeat(pa.scalar(run_id), marks.num_rows)
    store.insert_arrow("sweep_kept", marks.add_column(0, "run_id", run_ids))


def replace(store: CaseStore, host: str, run_id: str, roots: list[bytes]) -> None:
    """Delete ``host``'s previous rows under ``roots`` that sweep ``run_id`` did not keep (files
    changed or gone), and its marks (inside the sweep's last transaction)."""
    where, params = under_sql(roots)
    store.con.execute(
        "DELETE FROM files f WHERE host = ? AND run_id IS DISTINCT FROM ?"
        f" AND ({where}) AND NOT EXISTS (SELECT 1 FROM sweep_kept k"
        " WHERE k.run_id = ? AND k.path = f.path AND k.device = f.device"
        " AND k.inode = f.inode AND k.size = f.size AND k.mtime_ns = f.mtime_ns)",
        [host, run_id, *params, run_id],
    )
    store.con.execute("DELETE FROM sweep_kept WHERE run_id = ?", [run_id])
