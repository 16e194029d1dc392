"""Evaluate many compiled Sigma rules over the case's events with one parse of each event.

Running 2,800 rules as 2,800 queries over ``events`` would parse each event's JSON 2,800 times
(and DuckDB would plan 2,800 statements). Instead the rules are grouped by the channel their log
source needs (a rule for any channel joins every group); for each group, DuckDB reads the events
of that channel (and of the event ids its rules can match) once, a slice of rows at a time, with
one column per field the group's rules read, extracted in one parse of ``data``; every rule of the
group is then evaluated over that slice column-wise (:mod:`seawall.detect.sigma.vector`), and only
the row ids of matches are kept. Memory is bounded by the slice size and DuckDB's memory limit,
whatever the number of events.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from duckdb import func

from seawall.case.store import CaseStore
from seawall.detect.sigma.ir import SYSTEM_FIELDS, fields_of
from seawall.detect.sigma.rules import CompiledRule, Variant
from seawall.detect.sigma.sql import IP_KEY_FUNCTION, ip_key, quote
from seawall.detect.sigma.vector import Leaves, Slice

# Events per slice (DuckDB row groups are 122,880 rows): bounds the memory of a slice's columns.
SLICE_ROWS = 245_760
EVALUATION_MEMORY = "1GB"
_ALL = "*"


@dataclass(frozen=True, slots=True)
class Job:
    """One variant of one rule, numbered for the statements' results."""

    number: int
    rule: CompiledRule
    variant: Variant


@dataclass(slots=True)
class Matches:
    """Row ids of ``events`` each job matched, and the jobs that failed with their error."""

    rows: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[int, str] = field(default_factory=dict)


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """``sigma_ip_key(text)``: the canonical key :func:`seawall.detect.sigma.sql.ip_key` gives."""
    with contextlib.suppress(duckdb.CatalogException):  # registered on this connection already
        con.create_function(
            IP_KEY_FUNCTION,
            _ip_keys,
            [duckdb.sqltype("VARCHAR")],
            duckdb.sqltype("VARCHAR"),
            type=func.ARROW,
            null_handling=func.SPECIAL,
            side_effects=False,
        )


def _ip_keys(values: pa.Array) -> pa.Array:
    cache: dict[str, str | None] = {}
    out: list[str | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        if value not in cache:
            cache[value] = ip_key(value)
        out.append(cache[value])
    return pa.array(out, pa.string())


def channel_groups(jobs: Iterable[Job]) -> dict[str, list[Job]]:
    """Jobs by lower-cased channel (``*``: jobs whose log source names no channel)."""
    groups: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        channels = job.variant.channels
        if channels is None:
            groups[_ALL].append(job)
        else:
            for channel in {c.lower() for c in channels}:
                groups[channel].append(job)
    return dict(groups)


class _Columns:
    """The columns of a group's slices: one per field its rules read (lower-casing and address
    keys are computed on the distinct values, not stored)."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        uses: set[tuple[str, str]] = set()
        for job in jobs:
            uses |= fields_of(job.variant.tree)
        self.data_fields = sorted({f for f, u in uses if f and f not in SYSTEM_FIELDS})
        position = {name: i + 1 for i, name in enumerate(self.data_fields)}
        self.sources: dict[str, str] = {}
        self.names: dict[tuple[str, str], str] = {}
        for field_name, use in sorted(uses):
            source = self._source(field_name, use, position)
            name = self.sources.setdefault(source, f"c{len(self.sources)}")
            self.names[(field_name, use)] = name

    @staticmethod
    def _source(field_name: str, use: str, position: dict[str, int]) -> str:
        if use == "text":
            return "array_to_string(json_extract_string(data, '$.*'), chr(10))"
        if field_name in SYSTEM_FIELDS:
            column, kind = SYSTEM_FIELDS[field_name]
            return column if kind == "text" or use == "int" else f"CAST({column} AS VARCHAR)"
        return f"_v[{position[field_name]}]"

    def select_list(self) -> str:
        return ", ".join(["rowid AS _row"] + [f"{s} AS {n}" for s, n in self.sources.items()])

    def paths(self) -> str:
        return "[" + ", ".join(quote(_json_path(f)) for f in self.data_fields) + "]"


def _json_path(field_name: str) -> str:
    return '$."' + field_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def evaluate(
    store: CaseStore,
    jobs: Sequence[Job],
    progress: Callable[[int], None] | None = None,
) -> Matches:
    """Every job's matching ``events`` row ids (a job that fails gets its error)."""
    matches = Matches()
    leaves = Leaves(job.variant.tree for job in jobs)
    with store.memory_limit(EVALUATION_MEMORY):
        for channel, group in sorted(channel_groups(jobs).items()):
            columns = _Columns(group)
            for table in _slices(store, channel, group, columns):
                _evaluate_slice(table, columns, leaves, group, matches)
            if progress is not None:
                progress(len(group))
    return matches


def _group_filter(channel: str, group: Sequence[Job]) -> str:
    where: list[str] = []
    if channel != _ALL:
        where.append(f"lower(channel) = {quote(channel)}")
    ids: set[int] = set()
    for job in group:
        if job.variant.event_ids is None:
            ids = set()
            break
        ids |= set(job.variant.event_ids)
    if ids:
        where.append(f"event_id IN ({', '.join(str(i) for i in sorted(ids))})")
    return " AND ".join(where) or "true"


def _slices(
    store: CaseStore, channel: str, group: Sequence[Job], columns: _Columns
) -> Iterator[pa.Table]:
    """The group's events with their fields, a slice of rows at a time."""
    con = store.con
    con.complete()
    where = _group_filter(channel, group)
    bounds = con.execute(f"SELECT min(rowid), max(rowid), count(*) FROM events WHERE {where}")
    low, high, count = bounds.fetchone() or (None, None, 0)
    con.complete()
    if not count or low is None or high is None:
        return
    extract = f"json_extract_string(data, {columns.paths()})" if columns.data_fields else "NULL"
    start = int(low)
    while start <= int(high):
        end = start + SLICE_ROWS
        yield con.sql(
            f"SELECT {columns.select_list()} FROM"
            f" (SELECT rowid, *, {extract} AS _v FROM events WHERE {where}"
            f" AND rowid >= {start} AND rowid < {end})"
        ).to_arrow_table()
        start = end


def _evaluate_slice(
    table: pa.Table, columns: _Columns, leaves: Leaves, group: Sequence[Job], matches: Matches
) -> None:
    if not table.num_rows:
        return
    rows = table.column("_row").to_numpy()
    data = Slice(table, columns.names, leaves)
    data.prepare(job.variant.tree for job in group)
    for job in group:
        if job.number in matches.errors:
            continue
        try:
            found = np.flatnonzero(data.matches(job.variant.tree))
        except (pa.ArrowException, ValueError) as error:
            matches.errors[job.number] = str(error).splitlines()[0]
            continue
        if len(found):
            matches.rows[job.number].extend(rows[found].tolist())
