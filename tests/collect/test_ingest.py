"""The one ingest path: provenance, batches, re-collection by SHA-256, all-or-nothing runs.

A small reader of this test's own (``address,port`` lines into ``scan``) exercises the contract
that every shipped reader follows; the store, the run bookkeeping and the writes are the real
ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from seawall.case.store import CaseStore
from seawall.collect import base
from seawall.collect.base import (
    Batch,
    IngestReport,
    IngestRun,
    Mediator,
    SourceFile,
    ingest_file,
    ingest_files,
    sha256_of,
)
from seawall.collect.lines import Lines
from seawall.errors import BadInputError, UsageError


class PortLines:
    """``address,port`` per line; a bad line is a warning; a file not starting ``#ports`` is
    refused; a line ``boom`` is a reader bug (it raises)."""

    format = "ports"

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        with source.path.open("rb") as handle:
            lines = Lines(handle, source.display, mediator)
            rows: list[dict[str, object]] = []
            for line in lines:
                if lines.number == 1:
                    if line != "#ports":
                        raise BadInputError("not a ports list", lines.where)
                    continue
                if line == "boom":
                    raise RuntimeError("reader bug")
                address, _, port = line.partition(",")
                if not port.isdigit():
                    mediator.warn(lines.where, f"no port in {line!r}")
                    continue
                rows.append(
                    {"address": address, "port": int(port), "record_ref": str(lines.number)}
                )
                if len(rows) == 2:  # tiny batches: the run must join them
                    yield Batch("scan", pa.Table.from_pylist(rows), lines.position)
                    rows = []
            yield Batch("scan", pa.Table.from_pylist(rows, _SCHEMA), lines.position)


_SCHEMA = pa.schema([("address", pa.string()), ("port", pa.int32()), ("record_ref", pa.string())])


def _ingest(
    case_dir: Path, *paths: Path, host: str | None = None, commit_rows: int | None = 2_000_000
) -> IngestReport:
    with CaseStore.open(case_dir) as store:
        return ingest_files(
            store,
            "collect test",
            list(paths),
            lambda _: PortLines(),
            host=host,
            batch_rows=3,
            commit_rows=commit_rows,
        )


def _rows(case_dir: Path) -> list[tuple[object, ...]]:
    with CaseStore.open(case_dir) as store:
        return store.con.execute(
            "SELECT address, port, host, source_file, source_sha256, record_ref, run_id IS NULL"
            " FROM scan ORDER BY source_file, record_ref::INT"
        ).fetchall()


# files hashed before they are read, or (from HASH_AHEAD_FROM) in a thread while they are
@pytest.mark.parametrize("hash_ahead_from", [1 << 62, 0])
def test_rows_carry_provenance_and_recollection_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hash_ahead_from: int
) -> None:
    monkeypatch.setattr(base, "HASH_AHEAD_FROM", hash_ahead_from)
    good = tmp_path / "a.txt"
    good.write_bytes(b"#ports\n10.0.0.1,22\n10.0.0.2,x\n10.0.0.3,80\n10.0.0.4,443\n\xff\n")
    # the case lies in the evidence folder: it is not read as evidence
    report = _ingest(tmp_path / "case", tmp_path, host="sensor1")
    assert report.rows == {"scan": 3} and report.warning_count == 2
    assert [w.location for w in report.warnings] == [f"{good}:3", f"{good}:6"]
    sha = sha256_of(good)
    assert _rows(tmp_path / "case") == [
        ("10.0.0.1", 22, "sensor1", str(good), sha, "2", False),
        ("10.0.0.3", 80, "sensor1", str(good), sha, "4", False),
        ("10.0.0.4", 443, "sensor1", str(good), sha, "5", False),
    ]
    copy = tmp_path / "b" / "copy.txt"
    copy.parent.mkdir()
    copy.write_bytes(good.read_bytes())  # the same bytes under another name
    again = _ingest(tmp_path / "case", good, copy)
    assert [s.already_collected for s in again.sources] == [True, True]
    assert again.rows == {} and len(_rows(tmp_path / "case")) == 3
    assert again.warning_count == 0  # a file collected already: its bad lines are not again


def test_a_refused_file_costs_only_itself(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1-not.txt").write_text("hello\n")
    (tmp_path / "in" / "2-ok.txt").write_text("#ports\n10.0.0.9,25\n")
    report = _ingest(tmp_path / "case", tmp_path / "in")
    assert [s.refused for s in report.sources] == ["not a ports list", None]
    assert report.warnings[0].location == f"{tmp_path / 'in' / '1-not.txt'}:1"
    assert [r[:2] for r in _rows(tmp_path / "case")] == [("10.0.0.9", 25)]
    with CaseStore.open(tmp_path / "case") as store:
        known = store.con.execute("SELECT path, rows FROM evidence_sources").fetchall()
    assert known == [(str(tmp_path / "in" / "2-ok.txt"), 1)]  # the refused one can come again


# every batch committed; batches committed by fours with the last ones still open; one open
# transaction for the whole run (what collect commands do: ``COMMIT_ROWS``)
@pytest.mark.parametrize("commit_rows", [None, 4, 2_000_000])
def test_a_failing_run_leaves_the_case_as_it_was(tmp_path: Path, commit_rows: int | None) -> None:
    first = tmp_path / "1.txt"
    first.write_text("#ports\n" + "".join(f"10.0.1.{i},{i}\n" for i in range(10)))
    second = tmp_path / "2.txt"
    second.write_text("#ports\n10.0.2.1,1\nboom\n")
    with pytest.raises(RuntimeError, match="reader bug"):
        _ingest(tmp_path / "case", first, second, commit_rows=commit_rows)
    assert _rows(tmp_path / "case") == []
    with CaseStore.open(tmp_path / "case") as store:
        assert store.con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
        assert store.con.execute("SELECT count(*) FROM evidence_sources").fetchone() == (0,)


# every batch committed; committed by fours, the last two rows in a transaction still open
@pytest.mark.parametrize(("commit_rows", "committed"), [(None, 10), (4, 8)])
def test_a_run_cut_short_is_discarded_when_the_case_is_next_opened(
    tmp_path: Path, commit_rows: int | None, committed: int
) -> None:
    """A child process commits some batches of a run and dies without finishing it."""
    path = tmp_path / "1.txt"
    path.write_text("#ports\n" + "".join(f"10.0.1.{i},{i}\n" for i in range(10)))
    pid = os.fork()
    if pid == 0:  # the collector, killed mid-run: no exception handler, no finish
        with CaseStore.open(tmp_path / "case") as store:
            run = IngestRun(
                store, "collect test", {}, batch_rows=3, commit_rows=commit_rows
            ).__enter__()
            ingest_file(run, path, lambda _: PortLines(), Mediator())
            run.flush()
            if commit_rows is None:
                store.con.execute("CHECKPOINT")
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    with CaseStore.open(tmp_path / "case") as store:
        assert store.discarded and "was cut short" in store.discarded[0]
        assert f"discarded the {committed} rows" in store.discarded[0]
        assert store.con.execute("SELECT count(*) FROM scan").fetchone() == (0,)
        assert store.con.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        _ingest(tmp_path / "case", tmp_path / "nope")
