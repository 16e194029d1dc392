"""The building blocks of the case's table definitions (:mod:`seawall.model.tables`): Arrow
types, the provenance columns every evidence table ends with, and :class:`Table`."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_TIME = pa.timestamp("us", tz="UTC")
NAIVE_TIME = pa.timestamp("us")
TEXT = pa.string()
TEXT_LIST = pa.list_(pa.string())


def json_field(name: str, nullable: bool = True) -> pa.Field:
    """A column DuckDB stores as ``JSON`` (Arrow carries it as a string)."""
    return pa.field(name, pa.string(), nullable=nullable, metadata={"sql": "JSON"})


def required(name: str, kind: pa.DataType) -> pa.Field:
    return pa.field(name, kind, nullable=False)


PROVENANCE: tuple[pa.Field, ...] = (
    pa.field("run_id", TEXT),
    pa.field("host", TEXT),
    pa.field("source_file", TEXT),
    pa.field("source_sha256", TEXT),
    pa.field("record_ref", TEXT),
)
PROVENANCE_NAMES = tuple(f.name for f in PROVENANCE)


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the case: its name, schema, primary key, and whether it holds evidence."""

    name: str
    schema: pa.Schema
    doc: str
    key: tuple[str, ...] = ()
    evidence: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    def empty(self) -> pa.Table:
        return self.schema.empty_table()


def evidence_table(name: str, doc: str, *fields: pa.Field) -> Table:
    """A table of evidence rows: ``fields``, then the provenance columns."""
    return Table(name, pa.schema([*fields, *PROVENANCE]), doc, evidence=True)
