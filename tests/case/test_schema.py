"""The tables are defined once (Arrow schemas in ``seawall.model.tables``): a new case is created
from them, an old one is upgraded by migrations, and both must end up with the same tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from seawall.case.schema import MIGRATIONS
from seawall.case.store import DATABASE_NAME, CaseStore
from seawall.model.columns import PROVENANCE_NAMES
from seawall.model.ddl import create_table_ddl, sql_type
from seawall.model.tables import TABLES

_COLUMNS = """
SELECT table_name, column_name, ordinal_position, data_type, is_nullable
FROM information_schema.columns WHERE table_name <> 'schema_version'
ORDER BY table_name, ordinal_position
"""
_CONSTRAINTS = """
SELECT table_name, constraint_type, constraint_column_names
FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')
ORDER BY ALL
"""


def _shape(con: duckdb.DuckDBPyConnection) -> tuple[list[Any], list[Any]]:
    return con.execute(_COLUMNS).fetchall(), con.execute(_CONSTRAINTS).fetchall()


def test_an_upgraded_case_has_exactly_the_tables_of_a_new_one(tmp_path: Path) -> None:
    old = duckdb.connect(str(tmp_path / "migrated.duckdb"))
    for migration in MIGRATIONS:
        for statement in migration.statements:
            old.execute(statement)
    with CaseStore.open(tmp_path / "new") as store:
        new_shape = _shape(store.con)
    migrated_shape = _shape(old)
    assert migrated_shape == new_shape


def test_a_case_of_version_6_is_upgraded_on_open(tmp_path: Path) -> None:
    """A case as the previous release left it (migrations 1-6 applied) opens at the latest
    version with the new evidence tables."""
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    con = duckdb.connect(str(case_dir / DATABASE_NAME))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER NOT NULL, description VARCHAR,"
        " applied_at TIMESTAMP NOT NULL, seawall_version VARCHAR NOT NULL)"
    )
    for migration in MIGRATIONS[:6]:
        for statement in migration.statements:
            con.execute(statement)
        con.execute(
            "INSERT INTO schema_version VALUES (?, ?, now(), 'old')",
            [migration.version, migration.description],
        )
    con.close()
    with CaseStore.open(case_dir) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        columns = [row[0] for row in store.con.execute("DESCRIBE events").fetchall()]
    assert "raw" in columns and "user_sid" in columns


def test_every_table_reads_back_with_its_arrow_types(tmp_path: Path) -> None:
    with CaseStore.open(tmp_path / "case") as store:
        for spec in TABLES:
            described = store.con.execute(f"DESCRIBE {spec.name}").fetchall()
            assert [row[0] for row in described] == list(spec.columns), spec.name
            assert [row[1] for row in described] == [sql_type(f) for f in spec.schema], spec.name
            # Rows built from the schema load as they are (readers hand the store such batches).
            store.insert_arrow(spec.name, _one_row(spec.schema))


def _one_row(schema: pa.Schema) -> pa.Table:
    values: dict[str, list[Any]] = {}
    for field in schema:
        if pa.types.is_list(field.type):
            values[field.name] = [["x"] if pa.types.is_string(field.type.value_type) else [1]]
        elif pa.types.is_string(field.type):
            values[field.name] = ["{}" if (field.metadata or {}).get(b"sql") else "x"]
        elif pa.types.is_timestamp(field.type):
            values[field.name] = [pa.scalar(0, field.type).as_py()]
        elif pa.types.is_boolean(field.type):
            values[field.name] = [True]
        else:
            values[field.name] = [1]
    return pa.table(values, schema=schema)


def test_evidence_tables_end_with_provenance() -> None:
    for spec in TABLES:
        if spec.evidence and spec.name != "files":  # files: later migrations appended columns
            assert spec.columns[-len(PROVENANCE_NAMES) :] == PROVENANCE_NAMES, spec.name
        if spec.evidence:
            assert set(PROVENANCE_NAMES) <= set(spec.columns), spec.name


def test_ddl_is_derived_from_the_schema() -> None:
    ddl = create_table_ddl(next(t for t in TABLES if t.name == "indicator_keys"))
    assert "key VARCHAR USING COMPRESSION uncompressed NOT NULL" in ddl
    ddl = create_table_ddl(next(t for t in TABLES if t.name == "sources"))
    assert "sha256 VARCHAR NOT NULL UNIQUE" in ddl and "PRIMARY KEY (source_id)" in ddl
