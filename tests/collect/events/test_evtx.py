"""EVTX files into the ``events`` table: every record of the real corpus, the fields of known
events, damaged files, refusals, and the two ways rows are built agreeing on every record."""

from __future__ import annotations

import json
import random
import re
import struct
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli.app import app
from seawall.collect.base import IngestReport, Mediator, SourceFile, ingest_files
from seawall.collect.events import is_evtx, select_files
from seawall.collect.events.evtx import EvtxReader
from seawall.collect.events.evtxfile import CHUNK_SIZE, HEADER_SIZE
from seawall.collect.events.table import EventRows
from seawall.errors import BadInputError
from tests.conftest import shared

APPLICATION = "evtx/hayabusa-sample-evtx/DeepBlueCLI/many-events-application.evtx"


def _parser_count(path: Path) -> int:
    from evtx import PyEvtxParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sum(1 for _ in PyEvtxParser(str(path), skip_errors=True).records_json())


def _collect(case_dir: Path, *paths: Path, host: str | None = None) -> IngestReport:
    reader = EvtxReader()
    with CaseStore.open(case_dir) as store:
        return ingest_files(store, "collect evtx", list(paths), lambda _: reader, host=host)


def _query(case_dir: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with CaseStore.open(case_dir) as store:
        return store.con.execute(sql, list(args)).fetchall()


def _data(case_dir: Path, where: str, *args: Any) -> list[dict[str, Any]]:
    rows = _query(case_dir, f"SELECT data FROM events WHERE {where} ORDER BY record_ref", *args)
    return [json.loads(r[0]) for r in rows]


@pytest.fixture(scope="module")
def corpus_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestReport]:
    root = shared("evtx")
    case_dir = tmp_path_factory.mktemp("corpus") / "case"
    files = select_files([root], is_evtx).files
    return case_dir, _collect(case_dir, *files)


def test_every_record_of_every_file_lands(corpus_case: tuple[Path, IngestReport]) -> None:
    case_dir, report = corpus_case
    landed = dict(
        _query(case_dir, "SELECT source_sha256, count(*) FROM events GROUP BY source_sha256")
    )
    assert len(report.sources) > 300 and not report.refused and report.warning_count == 0
    for source in report.sources:
        # the same bytes under two names are one evidence file: counted under the first
        assert landed.get(source.sha256, 0) == _parser_count(Path(source.path)), source.path
    assert sum(landed.values()) == report.rows["events"]
    # every row has its time, system fields, provenance and a JSON object of fields (an ETW
    # trace saved as EVTX has no channel)
    assert _query(
        case_dir,
        "SELECT count(*) FROM events WHERE time IS NULL OR event_id IS NULL"
        " OR computer IS NULL OR host IS DISTINCT FROM computer OR record_ref IS NULL"
        " OR json_type(data) <> 'OBJECT' OR format <> 'evtx'",
    ) == [(0,)]


def test_known_events_are_flattened(corpus_case: tuple[Path, IngestReport]) -> None:
    case_dir, _ = corpus_case
    (sysmon,) = _data(
        case_dir,
        "event_id = 1 AND provider = 'Microsoft-Windows-Sysmon' AND data->>'ProcessId' = '6636'"
        " AND source_file LIKE '%UACME_59_Sysmon.evtx'",
    )
    assert sysmon["Image"] == r"C:\Windows\System32\cmd.exe"
    assert sysmon["CommandLine"] == "cmd.exe" and sysmon["ParentImage"].endswith("Taskmgr.exe")
    logon = _query(
        case_dir,
        "SELECT data->>'TargetUserName', data->>'LogonType', user_name, user_domain, user_sid"
        " FROM events WHERE event_id = 4624 AND source_file LIKE '%DE_RDP_Tunnel_5156.evtx'"
        " AND record_ref = '6'",
    )
    assert logon == [
        ("user01", "11", "user01", "EXAMPLE", "S-1-5-21-1587066498-1489273250-1035260531-1106")
    ]
    share = _query(
        case_dir,
        "SELECT data->>'ShareName', data->>'RelativeTargetName', user_name FROM events"
        " WHERE event_id = 5145 AND source_file LIKE '%CA_protectedstorage_5145_rpc_masterkey%'"
        " AND record_ref = '1'",
    )
    assert share == [(r"\\*\IPC$", "protected_storage", "backdoor")]
    services = _data(
        case_dir, "event_id = 7045 AND source_file LIKE '%LM_Remote_Service02_7045.evtx'"
    )
    assert [s["ServiceName"] for s in services][:2] == ["spoolfool", "spoolsv"]
    # 1102: UserData's element children, bare and under the element's name
    (cleared,) = _data(
        case_dir,
        "event_id = 1102 AND source_file LIKE '%DE_RDP_Tunnel_5156.evtx'",
    )
    assert cleared["SubjectUserName"] == cleared["LogFileCleared.SubjectUserName"] == "admin01"
    # classic PowerShell 400: unnamed Data values, 1-based, and all of them in Data
    engine = _data(
        case_dir,
        "event_id = 400 AND channel = 'Windows PowerShell' AND record_ref = '711'",
    )[0]
    assert engine["Data_1"] == "Available" and engine["Data_2"] == "None"
    assert "HostApplication=powershell calc" in engine["Data_3"]
    assert engine["Data"] == "\n".join([engine["Data_1"], engine["Data_2"], engine["Data_3"]])
    # Sysmon names its user as DOMAIN\name and no SID: the Sysmon service's UserID is not used
    assert _query(
        case_dir,
        "SELECT DISTINCT user_sid, user_name, user_domain FROM events WHERE event_id = 1"
        " AND source_file LIKE '%UACME_59_Sysmon.evtx' AND data->>'ProcessId' = '6636'",
    ) == [(None, "bouss", "LAPTOP-JU4M3I0E")]


def test_both_ways_of_building_rows_agree_on_every_record() -> None:
    """The SQL path (big batches) and the Python path (small ones) on the whole corpus."""
    from evtx import PyEvtxParser

    refs: list[int] = []
    stamps: list[str] = []
    texts: list[str] = []
    for path in select_files([shared("evtx")], is_evtx).files:
        for record in PyEvtxParser(str(path)).records_json():
            assert record is not None
            refs.append(record["event_record_id"])
            stamps.append(record["timestamp"])
            texts.append(record["data"])
    fast = EventRows(sql_from=1).evtx(refs, stamps, texts)
    slow = EventRows(sql_from=len(texts) + 1).evtx(refs, stamps, texts)
    assert fast.num_rows == slow.num_rows == len(texts) > 15_000
    for name in slow.column_names:
        left, right = fast.column(name).to_pylist(), slow.column(name).to_pylist()
        if name == "data":
            left, right = [json.loads(v) for v in left], [json.loads(v) for v in right]
        differing = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a != b]
        assert not differing, (name, left[differing[0]], right[differing[0]])


def test_collecting_again_adds_nothing_and_host_overrides(tmp_path: Path) -> None:
    path = shared(APPLICATION)
    first = _collect(tmp_path / "case", path, host="ws01")
    assert first.rows == {"events": 2216}
    again = _collect(tmp_path / "case", path)
    assert again.rows == {} and again.sources[0].already_collected
    assert _query(tmp_path / "case", "SELECT DISTINCT host FROM events") == [("ws01",)]


def _record_errors(report: IngestReport) -> int:
    """Records the parser reported and skipped (one warning each, at ``file#id``)."""
    return sum(
        1 for w in report.warnings if re.search(r"#\d+$", w.location) and "skipped" in w.message
    )


def _lost(report: IngestReport) -> int:
    """Records the chunk-level warnings say are lost."""
    total = 0
    for warning in report.warnings:
        found = re.search(r"([\d,]+) of its [\d,]+ records", warning.message)
        if found and "@" in warning.location:
            total += int(found.group(1).replace(",", ""))
    return total


def test_a_truncated_file_keeps_what_is_whole_and_says_what_is_lost(tmp_path: Path) -> None:
    original = shared(APPLICATION).read_bytes()
    cut = tmp_path / "cut.evtx"
    end = HEADER_SIZE + 3 * CHUNK_SIZE + 30_000  # inside the fourth chunk
    cut.write_bytes(original[:end])
    report = _collect(tmp_path / "case", cut)
    rows = report.rows["events"]
    assert rows == _parser_count(cut) and 0 < rows < 2216
    messages = {w.location: w.message for w in report.warnings}
    inside = messages[f"{cut}@{HEADER_SIZE + 3 * CHUNK_SIZE:#x}"]
    assert "the file ends inside chunk 3" in inside and "are lost" in inside
    assert "the file was cut short" in messages[str(cut)]
    # what the warnings count as lost, with what landed, is every record of the first four
    # chunks: the chunk headers of the whole file say how many those hold
    fourth_last = struct.unpack_from("<Q", original, HEADER_SIZE + 3 * CHUNK_SIZE + 32)[0]
    assert rows + _lost(report) == fourth_last


def test_a_damaged_chunk_costs_only_its_damaged_records(tmp_path: Path) -> None:
    original = bytearray(shared(APPLICATION).read_bytes())
    randomness = random.Random(3)
    start = HEADER_SIZE + 2 * CHUNK_SIZE + 512  # the records of the third chunk
    for _ in range(300):
        original[randomness.randrange(start, start + CHUNK_SIZE - 512)] ^= randomness.randrange(
            1, 256
        )
    damaged = tmp_path / "flipped.evtx"
    damaged.write_bytes(bytes(original))
    report = _collect(tmp_path / "case", damaged)
    rows = report.rows["events"]
    assert rows == _parser_count(damaged) and rows < 2216
    assert _record_errors(report) > 0  # the parser's own errors, one per record, with its id
    assert all(
        w.location.startswith(str(damaged) + "#") or w.location.startswith(str(damaged) + "@")
        for w in report.warnings
    )
    assert rows + _record_errors(report) + _lost(report) == 2216


def test_a_corrupt_chunk_header_skips_that_chunk_only(tmp_path: Path) -> None:
    original = bytearray(shared(APPLICATION).read_bytes())
    original[HEADER_SIZE + 5 * CHUNK_SIZE] ^= 0xFF  # the chunk's magic
    damaged = tmp_path / "chunk.evtx"
    damaged.write_bytes(bytes(original))
    report = _collect(tmp_path / "case", damaged)
    assert report.rows["events"] == _parser_count(damaged) == 2216 - 112
    (warning,) = report.warnings
    assert warning.location == f"{damaged}@{HEADER_SIZE + 5 * CHUNK_SIZE:#x}"
    assert "chunk 5 skipped" in warning.message and "ElfChnk" in warning.message


def test_a_file_that_is_not_evtx_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.evtx"
    text.write_text("hello\n")
    good = tmp_path / "good.evtx"
    good.write_bytes(shared(APPLICATION).read_bytes())
    result = CliRunner().invoke(
        app, ["--case", str(tmp_path / "case"), "collect", "evtx", str(text), str(good), "--json"]
    )
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    refused = [s for s in document["sources"] if s["refused"]]
    assert refused[0]["path"] == str(text)
    assert "not an EVTX file" in refused[0]["refused"] and "hello" in refused[0]["refused"]
    assert document["rows"] == {"events": 2216}


def test_a_file_with_an_unreadable_header_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.evtx"
    short.write_bytes(b"ElfFile\0" + b"\x07" * 100)
    report = _collect(tmp_path / "case", short)
    assert report.sources[0].refused is not None
    assert "not a readable EVTX file" in report.sources[0].refused


def test_folders_are_read_for_their_evtx_files_only(tmp_path: Path) -> None:
    folder = tmp_path / "evidence" / "logs"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("notes\n")
    (folder / "a.evtx").write_bytes(shared(APPLICATION).read_bytes())
    result = CliRunner().invoke(
        app, ["--case", str(tmp_path / "case"), "collect", "evtx", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [s["path"] for s in document["sources"]] == [str(folder / "a.evtx")]
    assert "skipped 1 file in the folders" in result.stderr


def test_a_worker_process_reads_the_same_rows_and_warnings(tmp_path: Path) -> None:
    """Large files are read in a worker process (``WORKER_FROM``): here a small damaged one."""
    original = bytearray(shared(APPLICATION).read_bytes())
    original[HEADER_SIZE + 5 * CHUNK_SIZE] ^= 0xFF
    damaged = tmp_path / "chunk.evtx"
    damaged.write_bytes(bytes(original))
    source = SourceFile(damaged, str(damaged), "0" * 64, damaged.stat().st_size)
    results = []
    for reader in (EvtxReader(worker_from=0), EvtxReader(worker_from=1 << 62)):
        mediator = Mediator()
        tables = [batch.data for batch in reader.read(source, mediator)]
        results.append((pa.concat_tables(tables), mediator.kept))
    (in_worker, worker_warnings), (inline, inline_warnings) = results
    assert in_worker.num_rows == inline.num_rows == 2216 - 112
    assert in_worker.equals(inline) and worker_warnings == inline_warnings
    assert len(worker_warnings) == 1 and "chunk 5 skipped" in worker_warnings[0].message
    with pytest.raises(BadInputError, match="not an EVTX file"):
        text = tmp_path / "text.evtx"
        text.write_text("hello\n")
        list(EvtxReader(worker_from=0).read(SourceFile(text, str(text), "0" * 64, 6), Mediator()))


def test_one_worker_process_reads_file_after_file(tmp_path: Path) -> None:
    """A reader's worker serves every large file of a command; a refused file leaves it
    running, a read stopped early ends it, and the next read starts a fresh one."""
    original = shared(APPLICATION)
    copy = tmp_path / "copy.evtx"
    copy.write_bytes(original.read_bytes())
    text = tmp_path / "text.evtx"
    text.write_text("hello\n")
    reader = EvtxReader(worker_from=0, batch_records=300)  # 8 batches a file

    def read(path: Path) -> pa.Table:
        source = SourceFile(path, str(path), "", path.stat().st_size)  # as the ingest gives it
        return pa.concat_tables(batch.data for batch in reader.read(source, Mediator()))

    inline = EvtxReader(worker_from=1 << 62, batch_records=300)
    expected = pa.concat_tables(
        batch.data
        for batch in inline.read(
            SourceFile(original, str(original), "0" * 64, original.stat().st_size), Mediator()
        )
    )
    first = read(original)
    process = reader.worker._process
    assert process is not None and process.poll() is None
    with pytest.raises(BadInputError, match="not an EVTX file"):
        read(text)
    second = read(copy)
    assert reader.worker._process is process  # the same worker, still running
    assert first.equals(expected) and second.equals(expected)
    batches = reader.read(SourceFile(copy, str(copy), "0" * 64, copy.stat().st_size), Mediator())
    assert isinstance(batches, Generator)
    next(batches)
    batches.close()  # the consumer stops early: that worker ends
    assert process.poll() is not None and reader.worker._process is None
    assert read(original).equals(expected)  # in a fresh worker
    restarted = reader.worker._process
    reader.ahead(copy)  # the ingest's next file: queued to the worker, which starts on it
    assert reader.worker._queued and read(copy).equals(expected)
    assert reader.worker._process is restarted and not reader.worker._queued
    reader.ahead(copy)  # a file then not read (collected already): the worker starts afresh
    assert read(original).equals(expected)
    assert reader.worker._process is not restarted and not reader.worker._queued
    last = reader.worker._process
    reader.close()
    assert restarted.poll() is not None and last is not None and last.poll() is not None
