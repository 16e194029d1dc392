"""JSON exports of Windows events: every format onto the same columns and field names, bad
records as warnings at their line, archives read member by member, refusals."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli.app import app, run
from seawall.collect.base import IngestReport, ingest_files
from seawall.collect.events.jsonevents import JsonEventsReader
from seawall.errors import UsageError
from tests.conftest import TEST_DATA

EVENTS = TEST_DATA / "events"
# fixture file -> (format, events in it, the line of its malformed record)
FIXTURES = {
    "winlogbeat.ndjson": ("winlogbeat", 4, 3),
    "velociraptor.jsonl": ("velociraptor", 4, 2),
    "evtxecmd.json": ("evtxecmd", 4, 4),
    "get-winevent.json": ("get-winevent", 2, 94),
    "otrf-flat.json": ("flat", 3, 2),
    "evtx-dump.jsonl": ("evtx-json", 3, 4),
}


def _collect(case_dir: Path, *paths: Path, forced: str | None = None) -> IngestReport:
    with CaseStore.open(case_dir) as store:
        return ingest_files(
            store, "collect events", list(paths), lambda _: JsonEventsReader(forced)
        )


def _rows(case_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with CaseStore.open(case_dir) as store:
        return store.con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestReport]:
    case_dir = tmp_path_factory.mktemp("json") / "case"
    return case_dir, _collect(case_dir, EVENTS)


def test_each_format_is_told_from_content(collected: tuple[Path, IngestReport]) -> None:
    _, report = collected
    found = {Path(s.path).name: (s.format, s.rows.get("events")) for s in report.sources}
    assert found == {name: (fmt, count) for name, (fmt, count, _) in FIXTURES.items()}
    bad = {
        (Path(w.location.rsplit(":", 1)[0]).name, int(w.location.rsplit(":", 1)[1]))
        for w in report.warnings
    }
    assert bad == {(name, line) for name, (_, _, line) in FIXTURES.items()}
    assert all("not valid JSON" in w.message for w in report.warnings)


def test_the_same_event_reads_the_same_in_every_format(
    collected: tuple[Path, IngestReport],
) -> None:
    case_dir, _ = collected
    sysmon = _rows(
        case_dir,
        "SELECT format, time, computer, host, channel, provider, record_id, process_id,"
        " thread_id, user_sid, user_name, user_domain, data->>'CommandLine', data->>'Image',"
        " data->>'ParentImage', data->>'ProcessId', data->>'User'"
        " FROM events WHERE event_id = 1 AND data->>'CommandLine' = 'cmd.exe /c whoami /all'"
        " ORDER BY format",
    )
    assert [r[0] for r in sysmon] == [
        "evtx-json",
        "evtxecmd",
        "flat",
        "get-winevent",
        "velociraptor",
        "winlogbeat",
    ]
    for row in sysmon:
        assert row[1].replace(microsecond=0).isoformat() == "2021-07-19T10:15:30+00:00"
        assert row[2:] == (
            "WS01.corp.example",
            "WS01.corp.example",
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            1001,
            2248,
            3412,
            None,  # Sysmon names no SID for its User: the service's UserID is not used
            "jdoe",
            "CORP",
            "cmd.exe /c whoami /all",
            r"C:\Windows\System32\cmd.exe",
            r"C:\Windows\explorer.exe",
            "4712",
            r"CORP\jdoe",
        ), row[0]
    logons = _rows(
        case_dir,
        "SELECT format, user_sid, user_name, user_domain, data->>'LogonType',"
        " data->>'IpAddress' FROM events WHERE event_id = 4624 AND format <> 'get-winevent'",
    )
    assert len(logons) == 4
    assert {r[1:] for r in logons} == {
        ("S-1-5-21-1111111111-2222222222-3333333333-1104", "jdoe", "CORP", "3", "10.1.2.3")
    }
    cleared = _rows(
        case_dir,
        "SELECT format, data->>'SubjectUserName', data->>'LogFileCleared.SubjectUserName',"
        " user_name FROM events WHERE event_id = 1102",
    )
    assert {r[1:] for r in cleared} == {("admin", "admin", "admin")} and len(cleared) == 4


def test_unnamed_data_values_are_numbered(collected: tuple[Path, IngestReport]) -> None:
    case_dir, _ = collected
    engine = _rows(
        case_dir,
        "SELECT format, data->>'Data_1', data->>'Data_2', data->>'Data' FROM events"
        " WHERE event_id = 400 AND format <> 'winlogbeat'",
    )
    assert len(engine) == 3
    for _, first, second, joined in engine:
        assert (first, second) == ("Available", "None")
        assert joined.startswith("Available\nNone\n") and "HostApplication=powershell" in joined
    # Winlogbeat names them param1…: kept (README, "Event logs")
    assert _rows(
        case_dir,
        "SELECT data->>'param1' FROM events WHERE event_id = 400 AND format = 'winlogbeat'",
    ) == [("Available",)]
    # Get-WinEvent without Sysmon's "Name: value" message: the properties, numbered
    assert _rows(
        case_dir,
        "SELECT data->>'Data_6', data->>'Data_9' FROM events"
        " WHERE event_id = 4624 AND format = 'get-winevent'",
    ) == [("jdoe", "3")]


def _archives(folder: Path) -> list[Path]:
    names = ["winlogbeat.ndjson", "evtxecmd.json"]
    zipped = folder / "export.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(EVENTS / name, f"logs/{name}")
        archive.writestr("logs/notes.txt", "collected by hand\n")
    gzipped = folder / "velociraptor.jsonl.gz"
    gzipped.write_bytes(gzip.compress((EVENTS / "velociraptor.jsonl").read_bytes()))
    tarred = folder / "kape.tar.gz"
    with tarfile.open(tarred, "w:gz") as archive:
        data = (EVENTS / "evtx-dump.jsonl").read_bytes()
        info = tarfile.TarInfo("out/evtx-dump.jsonl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return [zipped, gzipped, tarred]


def test_archives_are_read_member_by_member(tmp_path: Path) -> None:
    zipped, gzipped, tarred = _archives(tmp_path)
    report = _collect(tmp_path / "case", zipped, gzipped, tarred)
    by_file = {Path(s.path).name: (s.format, s.rows.get("events")) for s in report.sources}
    assert by_file == {
        "export.zip": ("mixed", 8),
        "velociraptor.jsonl.gz": ("velociraptor", 4),
        "kape.tar.gz": ("evtx-json", 3),
    }
    locations = {w.location for w in report.warnings}
    assert f"{zipped}!logs/notes.txt" in locations  # not JSON: a warning, the rest is read
    assert f"{zipped}!logs/winlogbeat.ndjson:3" in locations
    refs = _rows(
        tmp_path / "case", "SELECT source_file, record_ref FROM events WHERE event_id = 1102"
    )
    assert set(refs) == {
        (f"{tarred}!out/evtx-dump.jsonl", "out/evtx-dump.jsonl:2"),
        (str(gzipped), "4"),
        (f"{zipped}!logs/evtxecmd.json", "logs/evtxecmd.json:3"),
        (f"{zipped}!logs/winlogbeat.ndjson", "logs/winlogbeat.ndjson:4"),
    }
    again = _collect(tmp_path / "case", zipped, gzipped, tarred)
    assert again.rows == {} and all(s.already_collected for s in again.sources)


def test_files_that_hold_no_events_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "config.json"
    other.write_text('{"servers": ["a", "b"], "port": 53}\n')
    text = tmp_path / "notes.txt"
    text.write_text("not json\n")
    evtx = tmp_path / "Security.evtx"
    evtx.write_bytes(b"ElfFile\0" + bytes(4088))
    report = _collect(tmp_path / "case", other, text, evtx, EVENTS / "evtx-dump.jsonl")
    refused = {Path(s.path).name: s.refused for s in report.sources if s.refused}
    assert "read it with 'seawall collect evtx'" in refused["Security.evtx"]
    assert "keys servers, port" in refused["config.json"]
    assert "not a JSON export of events" in refused["notes.txt"]
    assert "its first line is 'not json'" in refused["notes.txt"]
    assert report.rows == {"events": 3}


def test_a_forced_format_and_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="known event export"):
        JsonEventsReader("syslog")
    result = CliRunner().invoke(
        app,
        [
            "--case",
            str(tmp_path / "case"),
            "collect",
            "events",
            str(EVENTS / "winlogbeat.ndjson"),
            "--format",
            "winlogbeat",
            "--host",
            "dc01",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == {"events": 4}
    assert _rows(tmp_path / "case", "SELECT DISTINCT host, computer FROM events") == [
        ("dc01", "WS01.corp.example")
    ]
    wrong = run(
        ["--case", str(tmp_path / "case2"), "collect", "events", str(EVENTS), "--format", "x"]
    )
    assert wrong == 2
