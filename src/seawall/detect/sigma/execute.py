"""Evaluate many compiled Sigma rules over the case's events with one parse of each event.

Running 2,800 rules as 2,800 queries over ``events`` would parse each event's JSON 2,800 times
(and DuckDB would plan 2,800 statements). Instead DuckDB reads the events once, a slice of rows
at a time, with one column per field any rule reads, extracted in one parse of ``data`` (stored
compressed: one read per kind of event would decompress it once per kind). In each slice the
plain tests of every rule are answered together over the distinct values of each column
(:mod:`seawall.detect.sigma.index`), and only the rules whose needed tests matched some value are
evaluated, column-wise, on the rows of the kinds of event their log source allows
(:mod:`seawall.detect.sigma.vector`); only the row ids of matches are kept. Memory is bounded by
the slice size and DuckDB's memory limit, whatever the number of events.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from duckdb import func

from seawall.case.store import CaseStore
from seawall.detect.sigma.index import RuleIndex
from seawall.detect.sigma.ir import SYSTEM_FIELDS
from seawall.detect.sigma.rules import CompiledRule, Variant
from seawall.detect.sigma.sql import EVENT_TEXT_FUNCTION, IP_KEY_FUNCTION, ip_key, quote
from seawall.detect.sigma.vector import Slice, Tree, View

# Events per slice of the one pass: bounds the memory of a slice's columns whatever the case
# (most of its columns are null: each kind of event has a few of the fields rules read).
SLICE_ROWS = 100_000
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


class _Columns:
    """The columns of the slices: one per field the rules read (lower-casing and address keys
    are computed on the distinct values, not stored)."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        uses: set[tuple[str, str]] = set()
        for job in jobs:
            uses.update(job.variant.facts.fields)
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

    ``sources`` counts the kinds of events the case holds: a job whose log source allows none
    of them is not evaluated (the hunt does not plan such jobs)."""
    matches = Matches()
    counts: dict[tuple[Any, Any], int] = {}
    for job in jobs:
        key = (job.variant.channels, job.variant.event_ids)
        if key not in counts:
            counts[key] = covered(*key, sources)
    runnable = [job for job in jobs if counts[(job.variant.channels, job.variant.event_ids)]]
    if not runnable:
        return matches
    columns = _Columns(runnable)
    index = RuleIndex(((job.number, job.variant.facts) for job in runnable), columns.names)
    run = _Run(columns, index, {job.number: job for job in runnable}, matches)
    with store.memory_limit(EVALUATION_MEMORY):
        for table in _passes(store, columns):
            run.slice(table)
    if progress is not None:
        progress(len(jobs))
    return matches


def covered(
    channels: Sequence[str] | None, event_ids: Sequence[int] | None, sources: Mapping[Source, int]
) -> int:
    """How many events of the case a log source (channels ignoring case, event ids) covers."""
    wanted = None if channels is None else {c.lower() for c in channels}
    ids = None if event_ids is None else set(event_ids)
    return sum(
        count
        for (channel, event_id), count in sources.items()
        if (wanted is None or (channel or "").lower() in wanted)
        and (ids is None or event_id in ids)
    )


class _Run:
    """The hunt's rules over one slice after another; each candidate's tree is prepared once."""

    def __init__(
        self, columns: _Columns, index: RuleIndex, jobs: Mapping[int, Job], matches: Matches
    ) -> None:
        self.columns = columns
        self.index = index
        self.jobs = jobs
        self.matches = matches
        self.trees: dict[int, Tree] = {}

    def tree(self, job: Job) -> Tree:
        found = self.trees.get(job.number)
        if found is None:
            local = self.index.local[job.number]
            plain = [-1 if n < 0 else local[n] for n in job.variant.facts.leaf_tests]
            found = self.trees[job.number] = Tree(job.variant.tree, plain, self.index)
        return found

    def slice(self, table: pa.Table) -> None:
        """Every candidate of the slice on the rows of the kinds of event it allows."""
        if not table.num_rows:
            return
        data = Slice(table, self.columns.names)
        data.find(self.index)
        row_ids = table.column("_row").to_numpy()
        views: dict[tuple[tuple[str, ...] | None, tuple[int, ...] | None], View] = {}
        errors = self.matches.errors
        for number in self.index.candidates(data.found):
            if number in errors:
                continue
            variant = self.jobs[number].variant
            key = (variant.channels, variant.event_ids)
            view = views.get(key)
            if view is None:
                view = views[key] = View(data, data.rows(variant.channels, variant.event_ids))
            if not view.size:
                continue
            try:
                found = view.rows[np.flatnonzero(view.matches(self.tree(self.jobs[number])))]
            except (pa.ArrowException, ValueError) as error:
                errors[number] = str(error).splitlines()[0]
                continue
            if len(found):
                self.matches.rows[number].extend(row_ids[found].tolist())


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
