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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from duckdb import func

from seawall.case.store import CaseStore
from seawall.detect.sigma.ir import SYSTEM_FIELDS, fields_of
from seawall.detect.sigma.rules import CompiledRule, Variant
from seawall.detect.sigma.sql import EVENT_TEXT_FUNCTION, IP_KEY_FUNCTION, ip_key, quote
from seawall.detect.sigma.vector import Leaves, Slice

# Events per slice of the one pass: bounds the memory of a slice's columns whatever the case
# (most of its columns are null: each kind of event has a few of the fields rules read).
SLICE_ROWS = 100_000
MIN_SLICE_ROWS = 20_000
EVENT_TEXT = "array_to_string(json_extract_string(d, '$.*'), chr(10))"
_TEXT_OF_DATA = "array_to_string(json_extract_string(data, '$.*'), chr(10))"
_SYSTEM_COLUMNS = ", ".join(sorted({column for column, _ in SYSTEM_FIELDS.values()}))
EVALUATION_MEMORY = "1GB"


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
    """What the portable SQL calls beyond DuckDB's own functions: ``sigma_ip_key(text)``, the
    canonical key :func:`seawall.detect.sigma.sql.ip_key` gives, and ``sigma_event_text(data)``,
    an event's data values joined by newlines (what keywords search)."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO {EVENT_TEXT_FUNCTION}(d) AS {EVENT_TEXT}")
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


Source = tuple[str | None, int | None]
"""(channel as stored, event id): the events of one kind in the case."""


@dataclass(slots=True)
class Group:
    """Kinds of events evaluated together, how many there are, and the jobs that can match them."""

    count: int
    jobs: list[Job]
    kinds: list[Source] = field(default_factory=list)


def source_groups(jobs: Iterable[Job], sources: Mapping[Source, int]) -> list[Group]:
    """The jobs whose log source can match each kind of event the case holds. The kinds of a
    small channel are evaluated together (one set of tests instead of one per event id); a
    large channel's apart, each with the fields of its own rules only."""
    wanted = [
        (
            job,
            None if job.variant.channels is None else {c.lower() for c in job.variant.channels},
            None if job.variant.event_ids is None else set(job.variant.event_ids),
        )
        for job in jobs
    ]
    by_channel: dict[str | None, list[tuple[int | None, int, list[Job]]]] = {}
    for (channel, event_id), count in sorted(
        sources.items(), key=lambda s: (s[0][0] or "", -1 if s[0][1] is None else s[0][1])
    ):
        name = (channel or "").lower()
        found = [
            job
            for job, channels, ids in wanted
            if (channels is None or name in channels) and (ids is None or event_id in ids)
        ]
        if found:
            by_channel.setdefault(channel, []).append((event_id, count, found))
    groups: list[Group] = []
    for channel, kinds in by_channel.items():
        total = sum(count for _, count, _ in kinds)
        if total <= MIN_SLICE_ROWS and len(kinds) > 1:
            merged = {job.number: job for _, _, found in kinds for job in found}
            ids = [event_id for event_id, _, _ in kinds]
            kinds_of = [(channel, event_id) for event_id in ids]
            groups.append(Group(total, list(merged.values()), kinds_of))
        else:
            groups.extend(Group(n, found, [(channel, e)]) for e, n, found in kinds)
    return groups


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
            return _TEXT_OF_DATA
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
    sources: Mapping[Source, int],
    progress: Callable[[int], None] | None = None,
) -> Matches:
    """Every job's matching ``events`` row ids (a job that fails gets its error).

    ``sources`` counts the kinds of events the case holds. The events are read in one pass, a
    slice of rows at a time, with every field any rule reads (``data`` is stored compressed:
    one read per kind of event would decompress it once per kind); each slice is then split
    by kind, and each group of kinds is evaluated with its own rules."""
    matches = Matches()
    leaves = Leaves(job.variant.tree for job in jobs)
    groups = source_groups(jobs, sources)
    if not groups:
        return matches
    layouts = [_Columns(group.jobs) for group in groups]
    everything = _Columns([job for group in groups for job in group.jobs])
    group_of = {kind: index for index, group in enumerate(groups) for kind in group.kinds}
    with store.memory_limit(EVALUATION_MEMORY):
        for table in _passes(store, everything):
            rows_of: dict[int, list[int]] = defaultdict(list)
            channels = table.column("_channel").to_pylist()
            event_ids = table.column("_event_id").to_pylist()
            for position, kind in enumerate(zip(channels, event_ids, strict=True)):
                index = group_of.get(kind)
                if index is not None:
                    rows_of[index].append(position)
            for index, positions in sorted(rows_of.items()):
                part = _part(table, positions, layouts[index], everything)
                _evaluate_slice(part, layouts[index], leaves, groups[index].jobs, matches)
    if progress is not None:
        progress(len(jobs))
    return matches


def _part(
    table: pa.Table, positions: list[int], layout: _Columns, everything: _Columns
) -> pa.Table:
    """The rows of one group of a slice, with the group's own column names."""
    taken = pa.array(positions, pa.int64())
    columns: dict[str, pa.Array] = {"_row": table.column("_row").take(taken)}
    for key, name in layout.names.items():
        if name not in columns:
            columns[name] = table.column(everything.names[key]).take(taken)
    return pa.table(columns)


def _passes(store: CaseStore, everything: _Columns) -> Iterator[pa.Table]:
    """Every event with every field the rules read, ``SLICE_ROWS`` rows at a time."""
    con = store.con
    con.complete()
    cuts = [
        int(r[0])
        for r in con.execute(
            f"SELECT rowid FROM (SELECT rowid, row_number() OVER (ORDER BY rowid) - 1 AS n"
            f" FROM events) WHERE n % {SLICE_ROWS} = 0 ORDER BY rowid"
        ).fetchall()
    ]
    con.complete()
    extract = (
        f"json_extract_string(data, {everything.paths()})" if everything.data_fields else "NULL"
    )
    select = everything.select_list() + ", channel AS _channel, event_id AS _event_id"
    for index, start in enumerate(cuts):
        end = f" AND rowid < {cuts[index + 1]}" if index + 1 < len(cuts) else ""
        yield con.sql(
            f"SELECT {select} FROM (SELECT rowid, {_SYSTEM_COLUMNS}, data, {extract} AS _v"
            f" FROM events WHERE rowid >= {start}{end})"
        ).to_arrow_table()


def _evaluate_slice(
    table: pa.Table, columns: _Columns, leaves: Leaves, group: Sequence[Job], matches: Matches
) -> None:
    if not table.num_rows:
        return
    rows = table.column("_row").to_numpy()
    data = Slice(table, columns.names, leaves)
    data.prepare(job.variant.tree for job in group)
    for job in group:
        if job.number in matches.errors or not data.possible(job.variant.tree):
            continue
        try:
            found = np.flatnonzero(data.matches(job.variant.tree))
        except (pa.ArrowException, ValueError) as error:
            matches.errors[job.number] = str(error).splitlines()[0]
            continue
        if len(found):
            matches.rows[job.number].extend(rows[found].tolist())
