"""The case store: creation, migrations, version refusal, all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from seawall.case.schema import CASE_TABLES, LATEST_VERSION
from seawall.case.store import DATABASE_NAME, CaseStore, utcnow
from seawall.errors import CaseError
from tests.conftest import cut_short


def test_new_case_has_every_table_at_the_latest_version(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        assert store.schema_version() == LATEST_VERSION
        counts = store.table_counts()
    assert set(counts) == set(CASE_TABLES)
    assert all(count == 0 for count in counts.values())


def test_missing_case_is_an_error_for_readers(case_dir: Path) -> None:
    with pytest.raises(CaseError, match="no case at"):
        CaseStore.open(case_dir, create=False)
    assert not case_dir.exists()


def test_case_from_a_newer_seawall_is_refused(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        store.con.execute(
            "INSERT INTO schema_version VALUES (?, 'future', ?, '99.0')",
            [LATEST_VERSION + 1, utcnow()],
        )
    with pytest.raises(CaseError, match="upgrade seawall"):
        CaseStore.open(case_dir)


def test_older_case_is_upgraded(case_dir: Path) -> None:
    """A database at schema version 0 (made before any migration) is brought up to date."""
    case_dir.mkdir()
    duckdb.connect(str(case_dir / DATABASE_NAME)).close()
    with CaseStore.open(case_dir) as store:
        assert store.schema_version() == LATEST_VERSION
        assert store.table_counts()["findings"] == 0


def test_a_failed_transaction_leaves_the_case_unchanged(case_dir: Path) -> None:
    rows = pa.table({"type": ["domain"], "value": ["evil.example.net"], "first_added": [utcnow()]})
    with CaseStore.open(case_dir) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.insert_arrow("indicators", rows)
            raise RuntimeError("crash mid-import")
        assert store.table_counts()["indicators"] == 0
        with store.transaction():
            store.insert_arrow("indicators", rows)
        assert store.table_counts()["indicators"] == 1


def test_insert_or_ignore_is_idempotent(case_dir: Path) -> None:
    rows = pa.table({"type": ["md5"], "value": ["0" * 32], "first_added": [utcnow()]})
    with CaseStore.open(case_dir) as store, store.transaction():
        store.insert_arrow("indicators", rows, ignore_existing=True)
        store.insert_arrow("indicators", rows, ignore_existing=True)
        assert store.table_counts()["indicators"] == 1


def test_no_progress_bar_reaches_stdout(case_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """DuckDB draws a progress bar on stdout for queries over two seconds (shown here with the
    delay set to zero, which also switches the bar on); ``--json`` must own stdout, so the
    case's connection has it switched off."""
    raw = duckdb.connect()
    raw.execute("SET progress_bar_time = 0")
    raw.sql("SELECT sum(hash(i)) FROM range(30000000) t(i)").fetchall()
    assert "100%" in capfd.readouterr().out
    with CaseStore.open(case_dir) as store:
        store.con.complete()
        setting = store.con.sql("SELECT current_setting('enable_progress_bar')").fetchall()
    assert setting == [(False,)]


def test_memory_limit_applies_to_the_block_only(case_dir: Path) -> None:
    def limit(store: CaseStore) -> str:
        row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None
        return str(row[0])

    with CaseStore.open(case_dir) as store:
        default = limit(store)
        with store.memory_limit("64MB"):
            assert limit(store) == "61.0 MiB"  # DuckDB reports MB as MiB
            with store.memory_limit("2GB"):  # e.g. an ingest's entities, derived at its end
                assert limit(store) == "1.8 GiB"
            assert limit(store) == "61.0 MiB"  # the outer block's cap again
        assert limit(store) == default


def test_an_unfinished_run_is_discarded_when_the_case_is_opened(case_dir: Path) -> None:
    """What a run that never finished committed (a killed sweep) goes; the rest stays."""
    row = {"path": ["/a"], "host": ["h"]}
    with CaseStore.open(case_dir) as store:
        done = store.start_run("collect files", {})
        store.insert_arrow("files", pa.table({**row, "run_id": [done]}))
        store.finish_run(done, "ok", {})
        cut = store.start_run("collect files", {})
        store.insert_arrow("files", pa.table({"path": ["/b"], "host": ["h"], "run_id": [cut]}))
        with CaseStore.open(case_dir) as second:  # the same process: the run is in progress
            assert second.discarded == []
    cut_short(cut)
    with CaseStore.open(case_dir) as store:
        paths = store.con.execute("SELECT path FROM files").fetchall()
        runs = dict(store.con.execute("SELECT run_id, status FROM runs").fetchall())
        discarded = store.discarded
    assert paths == [("/a",)]
    assert runs == {done: "ok", cut: "interrupted"}
    assert len(discarded) == 1
    assert f"run {cut} (collect files, started " in discarded[0]
    assert "discarded the 1 row it had written" in discarded[0]
    with CaseStore.open(case_dir) as store:
        assert store.discarded == []  # said once
