"""The DuckDB DDL of the case's tables, derived from their Arrow schemas
(:mod:`seawall.model.tables`): a column's Arrow type gives its SQL type, field metadata adds
``sql`` (e.g. ``JSON``), ``unique`` and ``compression``; a non-nullable field is ``NOT NULL``."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from seawall.model.columns import NAIVE_TIME, UTC_TIME, Table
from seawall.model.tables import table

_SQL_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.binary(): "BLOB",
    pa.date32(): "DATE",
    NAIVE_TIME: "TIMESTAMP",
    UTC_TIME: "TIMESTAMP WITH TIME ZONE",
}


def sql_type(field: pa.Field) -> str:
    """The DuckDB type of an Arrow field (its ``sql`` metadata wins)."""
    meta = field.metadata or {}
    if b"sql" in meta:
        return str(meta[b"sql"].decode())
    kind = field.type
    if pa.types.is_list(kind):
        return sql_type(pa.field("item", kind.value_type)) + "[]"
    if kind in _SQL_TYPES:
        return _SQL_TYPES[kind]
    raise TypeError(f"column {field.name}: no DuckDB type for Arrow {kind}")


def column_ddl(field: pa.Field) -> str:
    meta = field.metadata or {}
    parts = [field.name, sql_type(field)]
    if b"compression" in meta:
        parts.append(f"USING COMPRESSION {meta[b'compression'].decode()}")
    if not field.nullable:
        parts.append("NOT NULL")
    if meta.get(b"unique") == b"true":
        parts.append("UNIQUE")
    return " ".join(parts)


def create_table_ddl(spec: Table) -> str:
    """``CREATE TABLE`` for ``spec``, derived from its Arrow schema."""
    columns = [column_ddl(f) for f in spec.schema]
    if spec.key:
        columns.append(f"PRIMARY KEY ({', '.join(spec.key)})")
    body = ",\n    ".join(columns)
    return f"CREATE TABLE {spec.name} (\n    {body}\n)"


def create_tables_ddl(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(create_table_ddl(table(name)) for name in names)
