"""Detections say what data they need; the hunt checks it first and names what is missing.

A hunt over a case that holds only Sysmon data must report the share-mapping detection as *not
evaluable* because no Security 5140/5145 events are there — never as "ran, found nothing".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.requires import preflight
from seawall.detect.schema import Alternatives, Requirement, parse_detection
from seawall.errors import BadInputError
from seawall.model.finding import CoverageEntry, ResultDocument
from tests.evtx_rows import SYSMON, event, load_events

BASE = """\
id: test.needs-data
title: Needs data
description: For the tests.
techniques: [T1021.002]
severity: low
sql: SELECT 'x' AS summary FROM events WHERE false
false_positives: []
triage: none
"""


def _detection(requires: str) -> str:
    return BASE + requires


def _coverage(document: ResultDocument, ident: str) -> CoverageEntry:
    return next(e for e in document.coverage if e.detection_id == ident)


def _sysmon_only() -> list[dict[str, object]]:
    return [
        event(
            1,
            {
                "Image": "C:\\Windows\\System32\\whoami.exe",
                "CommandLine": "whoami",
                "User": "CORP\\bob",
            },
            channel=SYSMON,
        ),
    ]


def test_plain_table_names_stay_valid() -> None:
    detection = parse_detection(_detection("requires: [events]\n"), "x.yml")
    assert detection.requires == ["events"]
    assert detection.requirements == [Requirement(table="events")]


def test_requirement_schema_errors_name_the_line() -> None:
    bad_table = "requires:\n  - table: auth\n    any_of:\n      - {channel: Security}\n"
    with pytest.raises(BadInputError, match="apply to events") as caught:
        parse_detection(_detection(bad_table), "x.yml")
    assert caught.value.location == "x.yml:10"
    bad_column = "requires:\n  - table: auth\n    any_of:\n      - {fields: [no_such]}\n"
    with pytest.raises(BadInputError, match="no column no_such"):
        parse_detection(_detection(bad_column), "x.yml")
    empty = "requires:\n  - table: events\n    any_of:\n      - {label: nothing}\n"
    with pytest.raises(BadInputError, match="give a channel"):
        parse_detection(_detection(empty), "x.yml")


def test_a_sysmon_only_case_makes_share_mapping_not_evaluable(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        load_events(store, _sysmon_only())
        document = hunt(store, HuntRequest(detection_ids=("evtx.admin-share-mapping",)))
    entry = _coverage(document, "evtx.admin-share-mapping")
    assert entry.status == "not-evaluable" and entry.findings == 0
    assert entry.reason is not None
    assert "no Security 5140/5145 events in the case" in entry.reason
    # The Sysmon process events are there, but none has a net use command line to read.
    technique = {t.technique: t for t in document.technique_coverage}["T1021.002"]
    assert technique.status == "not-evaluable"


def test_an_empty_table_is_not_run_not_not_evaluable(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest(detection_ids=("evtx.admin-share-mapping",)))
    entry = _coverage(document, "evtx.admin-share-mapping")
    assert entry.status == "not-run"
    assert entry.reason is not None and "table events is empty" in entry.reason


def test_4688_without_command_lines_names_the_policy(case_dir: Path, tmp_path: Path) -> None:
    requires = (
        "requires:\n  - table: events\n    any_of:\n"
        "      - channel: Security\n        event_ids: [4688]\n        fields: [CommandLine]\n"
        "        hint: enable 'Include command line in process creation events'\n"
    )
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "test.needs-data.yml").write_text(_detection(requires), encoding="utf-8")
    rows = [
        event(4688, {"NewProcessName": "C:\\Windows\\System32\\net.exe", "CommandLine": ""}),
        event(4688, {"NewProcessName": "C:\\Windows\\System32\\ipconfig.exe"}),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        document = hunt(
            store, HuntRequest(detection_ids=("test.needs-data",), detection_dirs=(folder,))
        )
    entry = document.coverage[0]
    assert entry.status == "not-evaluable"
    assert entry.reason == (
        "Security 4688 events (2) have no CommandLine: enable 'Include command line in process"
        " creation events'"
    )


def test_a_partly_present_source_runs_and_says_what_it_missed(case_dir: Path) -> None:
    rows = [
        *_sysmon_only(),
        event(
            4688,
            {
                "NewProcessName": "C:\\Windows\\System32\\ipconfig.exe",
                "SubjectUserName": "bob",
                "SubjectDomainName": "CORP",
            },
        ),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        checked = preflight(store.con, _loaded("evtx.admin-commands"))
        document = hunt(store, HuntRequest(detection_ids=("evtx.admin-commands",)))
    assert checked.outcome == "ok"
    entry = _coverage(document, "evtx.admin-commands")
    assert entry.status == "ran" and entry.findings == 2
    assert any(
        note.startswith("evaluated over Sysmon 1 (1)")
        and "Security 4688 events (1) have no CommandLine" in note
        for note in entry.notes
    ), entry.notes


def _loaded(ident: str):  # type: ignore[no-untyped-def]
    from seawall.detect.engine import load_detections

    return load_detections()[ident].detection


def test_every_shipped_event_detection_names_its_telemetry() -> None:
    """Each detection over events says which channel and event ids it needs."""
    from seawall.detect.engine import load_detections

    for ident, loaded in load_detections().items():
        entries = loaded.detection.requirements
        flat = [
            r for e in entries for r in (e.requirements if isinstance(e, Alternatives) else [e])
        ]
        for requirement in flat:
            if requirement.table == "events":
                assert requirement.any_of, f"{ident}: requires events without saying which"
                for source in requirement.any_of:
                    assert source.channel and source.event_ids, ident


def test_shipped_detections_agree_with_the_pack_and_their_context() -> None:
    """A detection's guidance items list it in the aa21-200a pack; the id it gives
    allowlisted() is its own; what it judges against is said in its context."""
    import re

    from seawall.detect.engine import load_detections
    from seawall.intel.packs.loader import load_pack

    pack = load_pack("aa21-200a")
    by_guidance = {m.id: set(m.detections) for m in pack.mitigations}
    named = set(pack.detection_ids())
    for ident, loaded in load_detections().items():
        if not ident.startswith(("evtx.", "auth.", "net.")) and ident not in (
            "web.webshell-request",
            "web.rare-post",
            "web.tunnel-page",
            "web.scanner-exploit",
        ):
            continue  # (the file detections predate this check)
        detection = loaded.detection
        assert ident in named, f"{ident} is in no technique or guidance item of aa21-200a"
        for item in detection.guidance:
            assert ident in by_guidance[item], f"{ident}: guidance {item} does not list it"
        sql = detection.sql or ""
        for called in re.findall(r"allowlisted\('([^']+)'", sql):
            assert called == ident, f"{ident} asks the allowlist about {called}"
        if "allowlisted(" in sql:
            assert "allowlist" in detection.context, ident
        if "FROM baselines" in sql:
            assert detection.baseline is not None and "baseline" in detection.context, ident
