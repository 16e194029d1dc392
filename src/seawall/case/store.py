"""Open, migrate and write the case store.

All writes go through :meth:`CaseStore.transaction`: DuckDB's write-ahead log plus one explicit
transaction per logical operation means a crash (or any exception) mid-import leaves the case as it
was. Bulk data enters as Arrow tables, never row by row (DuckDB row inserts are ~1,000x slower).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from seawall import __version__
from seawall.case.schema import CASE_TABLES, CREATE_STATEMENTS, LATEST_VERSION, MIGRATIONS
from seawall.errors import CaseError
from seawall.intel.lookup_sql import MACROS

DATABASE_NAME = "case.duckdb"

# Runs this process has started and not yet finished. Only one process at a time can open a
# case for writing, but one process may open it twice (DuckDB shares the database between the
# connections): a run listed here is in progress, not cut short.
_RUNS_IN_PROGRESS: set[str] = set()


def utcnow() -> datetime:
    """Now, as the naive UTC timestamp the store keeps (all stored times are UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def one_pass(table: pa.Table) -> pa.RecordBatchReader:
    """``table`` as a stream that DuckDB reads once, for a view that one statement reads.

    DuckDB keeps every Arrow *table* registered inside a transaction alive until the transaction
    ends, so a long transaction that writes through registered tables (a sweep) would hold every
    row it wrote; a stream's batches are freed once read. A view read by several statements, or
    twice by one, must stay a table: a second read of a stream finds it empty.
    """
    return pa.RecordBatchReader.from_batches(table.schema, iter(table.to_batches()))


class CaseStore:
    """One open case directory."""

    def __init__(self, case_dir: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.case_dir = case_dir
        self.con = connection
        self.discarded: list[str] = []
        """What opening the case rolled back: one sentence per run that had been cut short."""
        self._memory_caps: list[str] = []  # the caps of the memory_limit blocks we are in

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, case_dir: Path, *, create: bool = True) -> CaseStore:
        """Open (and create or upgrade) the case in ``case_dir``.

        With ``create=False`` a missing case is an error rather than silently made empty, so that a
        read-only command on a mistyped path says so instead of answering "nothing found".
        """
        database = case_dir / DATABASE_NAME
        if case_dir.exists() and not case_dir.is_dir():
            raise CaseError(
                f"--case {case_dir} is a file, not a case directory (give a directory: it is"
                " created on first use)"
            )
        if not database.exists():
            if not create:
                raise CaseError(
                    f"no case at {case_dir} (give --case DIR, or import something first)"
                )
            try:
                case_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise CaseError(
                    f"cannot create the case directory {case_dir}: {error.strerror or error}"
                ) from error
        try:
            connection = duckdb.connect(str(database))
            # DuckDB draws a progress bar on stdout for queries over two seconds: that would
            # break ``--json``'s one document on stdout (seen on re-sweeps of 200k files).
            connection.execute("SET enable_progress_bar = false")
            # Zone-aware times are read back in UTC, whatever this machine's zone.
            connection.execute("SET TimeZone = 'UTC'")
            connection.complete()
        except duckdb.Error as error:
            raise CaseError(f"cannot open case database {database}: {error}") from error
        store = cls(case_dir, connection)
        try:
            store._migrate()
            store._discard_interrupted_runs()
            for statement in MACROS:
                connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        return store

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > LATEST_VERSION:
            raise CaseError(
                f"case {self.case_dir} has schema version {current}, but this seawall "
                f"({__version__}) knows only up to {LATEST_VERSION}: upgrade seawall to open it"
            )
        pending = [m for m in MIGRATIONS if m.version > current]
        if not pending:
            return
        with self.transaction() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMP NOT NULL,"
                " seawall_version VARCHAR NOT NULL)"
            )
            if current == 0 and not self._has_tables():
                # A new case: its tables straight from the schema, at the latest version.
                for statement in CREATE_STATEMENTS:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, 'created', ?, ?)",
                    [LATEST_VERSION, utcnow(), __version__],
                )
                return
            for migration in pending:
                for statement in migration.statements:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?, ?)",
                    [migration.version, migration.description, utcnow(), __version__],
                )

    def _has_tables(self) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = 'main' AND table_name <> 'schema_version'"
        ).fetchone()
        return bool(row and row[0])

    def _discard_interrupted_runs(self) -> None:
        """Roll back what runs that never finished committed (a sweep commits in batches).

        A run still ``running`` when its case is opened, and not in progress in this process, was
        cut short (a crash, a kill): DuckDB lets one process at a time open a case for writing,
        and a finished or failed run says so. Its rows go, the previous state stays, and the run
        is marked ``interrupted``.
        """
        rows = self.con.execute(
            "SELECT run_id, command, started_at FROM runs WHERE status = 'running'"
            " ORDER BY started_at"
        ).fetchall()
        for run_id, command, started_at in rows:
            if run_id in _RUNS_IN_PROGRESS:
                continue
            count = self.discard_run(run_id, "interrupted")
            self.discarded.append(
                f"run {run_id} ({command}, started {started_at:%Y-%m-%d %H:%M:%S} UTC) was cut"
                f" short: discarded the {count:,} row{'' if count == 1 else 's'} it had written;"
                " the case is as it was before it"
            )

    def schema_version(self) -> int:
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not exists or exists[0] == 0:
            return 0
        row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All-or-nothing: commit when the block ends normally, roll back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def insert_arrow(self, table: str, data: pa.Table, *, ignore_existing: bool = False) -> int:
        """Append an Arrow table to ``table`` by column name (inside the caller's transaction).

        With ``ignore_existing`` rows whose primary key is already present are skipped: that is
        what makes re-importing the same intel idempotent.
        """
        if data.num_rows == 0:
            return 0
        view = f"_arrow_{uuid.uuid4().hex}"
        verb = "INSERT OR IGNORE" if ignore_existing else "INSERT"
        with self.registered(view, one_pass(data)):
            self.con.execute(f"{verb} INTO {table} BY NAME SELECT * FROM {view}").complete()
        return int(data.num_rows)

    @contextmanager
    def registered(self, name: str, data: pa.Table | pa.RecordBatchReader) -> Iterator[str]:
        """Make an Arrow table (or a :func:`one_pass` stream) queryable as ``name`` in the block.

        DuckDB 2 refuses to register while an earlier ``execute`` result is unfinished (even
        one whose single row was fetched), so that result is completed first.
        """
        self.con.complete()
        self.con.register(name, data)
        try:
            yield name
        finally:
            self.con.complete()
            self.con.unregister(name)

    @contextmanager
    def memory_limit(self, limit: str) -> Iterator[None]:
        """Cap DuckDB's memory in the block (then back to the cap it had: a block inside
        another's gets its own; outside any, DuckDB's default, 80% of RAM).

        DuckDB caches the blocks it writes up to its limit, so a long load's memory grows with
        what it loaded though nothing needs it; under a cap, blocks are evicted and operators
        that need more spill to the case's temporary directory.
        """
        before = self._memory_caps[-1] if self._memory_caps else None
        self._memory_caps.append(limit)
        self.con.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            self._memory_caps.pop()
            if before is None:
                self.con.execute("RESET memory_limit")
            else:
                self.con.execute(f"SET memory_limit = '{before}'")

    def start_run(self, command: str, arguments: dict[str, Any]) -> str:
        run_id = uuid.uuid4().hex
        self.con.execute(
            "INSERT INTO runs (run_id, command, arguments, started_at, status, seawall_version)"
            " VALUES (?, ?, ?, ?, 'running', ?)",
            [run_id, command, json.dumps(arguments, default=str), utcnow(), __version__],
        )
        _RUNS_IN_PROGRESS.add(run_id)
        return run_id

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            [utcnow(), status, json.dumps(summary, default=str), run_id],
        )
        _RUNS_IN_PROGRESS.discard(run_id)

    def discard_run(self, run_id: str, status: str) -> int:
        """Delete every row that run ``run_id`` wrote, in any table, give it ``status``, and
        say how many rows went."""
        tables = self.con.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE column_name = 'run_id' AND table_name <> 'runs' ORDER BY table_name"
        ).fetchall()
        deleted = 0
        with self.transaction() as con:
            for (table,) in tables:
                row = con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id]).fetchone()
                deleted += int(row[0]) if row else 0
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?",
                [utcnow(), status, run_id],
            )
        _RUNS_IN_PROGRESS.discard(run_id)
        return deleted

    # -- reading -------------------------------------------------------------------------------

    def table_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in CASE_TABLES:
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
