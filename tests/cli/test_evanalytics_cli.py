"""The commands around the event-log analytics: coverage, baselines, hunt parameters and
allowlists, and authentication logs refused with exit 3."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.conftest import TEST_DATA
from tests.evtx_rows import SYSMON, event, load_events

AUTH = TEST_DATA / "auth"


def _sysmon_case(case_dir: Path) -> None:
    rows = [
        event(
            1,
            {
                "Image": "C:\\Windows\\System32\\whoami.exe",
                "CommandLine": "whoami",
                "User": "CORP\\bob",
                "ParentImage": "C:\\Windows\\System32\\cmd.exe",
            },
            channel=SYSMON,
        ),
        event(
            4688,
            {
                "NewProcessName": "C:\\Windows\\System32\\net.exe",
                "SubjectUserName": "bob",
                "SubjectDomainName": "CORP",
            },
        ),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)


def test_coverage_knows_the_data(run_json: JsonRun, case_dir: Path) -> None:
    _sysmon_case(case_dir)
    result = run_json(["--case", str(case_dir), "coverage", "--pack", "aa21-200a"], ExitCode.OK)
    data = result["data"]
    assert data["tables"]["events"] == 2 and data["sysmon"] is True
    assert data["process_creation"] == {
        "security_4688": 1,
        "security_4688_with_command_line": 0,
        "sysmon_1": 1,
    }
    assert any("have no command lines" in note for note in data["notes"])
    detections = {d["id"]: d for d in result["detections"]}
    assert detections["evtx.admin-commands"]["status"] == "evaluable"
    share = detections["evtx.admin-share-mapping"]
    assert share["status"] == "not-evaluable"
    assert "no Security 5140/5145 events in the case" in share["reason"]
    assert any(c.startswith("no baseline learned") for c in share["context"])
    assert detections["ioc.file-hash"]["status"] == "not-run"
    items = {(i["kind"], i["id"]): i for i in result["items"]}
    assert items[("guidance", "M-CRED-4")]["status"] == "evaluated"
    net6 = items[("guidance", "M-NET-6")]
    assert net6["status"] == "evaluated"  # the client side (net use) is evaluable
    assert any(
        m.startswith("evtx.admin-share-mapping: no Security 5140/5145") for m in net6["missing"]
    )
    assert any(m.startswith("net.admin-share-mapping: table smb is empty") for m in net6["missing"])
    assert items[("guidance", "M-NET-3")]["status"] == "not-evaluable"  # no DNS in the case
    assert items[("guidance", "M-NET-9")]["status"] == "not-checkable"
    assert items[("technique", "T1585.001")]["status"] == "no-detection"
    assert items[("guidance", "M-CRED-3")]["status"] == "not-evaluable"  # no auth logs


def test_baseline_learn_show_clear(run_json: JsonRun, case_dir: Path) -> None:
    _sysmon_case(case_dir)
    base = ["--case", str(case_dir), "baseline"]
    learned = run_json([*base, "learn", "--until", "2024-03-02"], ExitCode.OK)
    ids = {item["detection_id"] for item in learned["learned"]}
    assert {"evtx.admin-share-mapping", "evtx.remote-auth-audit", "auth.anomalous-user"} <= ids
    assert all(
        item["learned_until"].startswith("2024-03-02T00:00:00") for item in learned["learned"]
    )
    shown = run_json([*base, "show"], ExitCode.OK)
    assert {row["detection_id"] for row in shown["baselines"]} == ids
    bad = run_json([*base, "learn", "--detection", "evtx.admin-commands"], ExitCode.USAGE)
    assert "learns no baseline" in bad["error"]["message"]
    bad_time = run_json([*base, "learn", "--until", "yesterday"], ExitCode.USAGE)
    assert "ISO 8601" in bad_time["error"]["message"]
    cleared = run_json([*base, "clear", "--detection", "evtx.remote-auth-audit"], ExitCode.OK)
    assert cleared["removed"] == 1  # its period row: nothing was seen
    shown = run_json([*base, "show"], ExitCode.OK)
    assert "evtx.remote-auth-audit" not in {row["detection_id"] for row in shown["baselines"]}


def test_hunt_param_and_allowlist_options(
    run_json: JsonRun, case_dir: Path, tmp_path: Path
) -> None:
    _sysmon_case(case_dir)
    hunt = ["--case", str(case_dir), "hunt", "--detection", "evtx.admin-commands"]
    found = run_json([*hunt, "--param", "evtx.admin-commands.max_records=1"], ExitCode.FINDINGS)
    assert found["run_id"] and found["findings"]
    bad = run_json([*hunt, "--param", "evtx.admin-commands"], ExitCode.USAGE)
    assert "DETECTION.KEY=VALUE" in bad["error"]["message"]
    unknown = run_json([*hunt, "--param", "evtx.nothing.x=1"], ExitCode.USAGE)
    assert "names no detection" in unknown["error"]["message"]
    allow = tmp_path / "allow.csv"
    allow.write_text(
        "detection,user,item,reason\n"
        "evtx.admin-commands,bob,whoami,our admin\n"
        "evtx.*,CORP\\bob,net,our admin's net\n",
        encoding="utf-8",
    )
    allowed = run_json([*hunt, "--allowlist", str(allow)], ExitCode.OK)
    entries = sorted(
        (f["suppression"]["entry"], f["suppression"]["reason"])
        for f in allowed["findings"]
        if f["suppressed"]
    )
    assert entries == [(f"{allow}:2", "our admin"), (f"{allow}:3", "our admin's net")]
    broken = tmp_path / "broken.csv"
    broken.write_text("user,reason\nbob\n", encoding="utf-8")
    refused = run_json([*hunt, "--allowlist", str(broken)], ExitCode.BAD_INPUT)
    assert refused["error"]["location"] == f"{broken}:2"


def test_collect_auth_refuses_what_is_not_json(
    run_json: JsonRun, case_dir: Path, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n", encoding="utf-8")
    result = run_json(
        [
            "--case",
            str(case_dir),
            "collect",
            "logs",
            str(text),
            str(AUTH / "sso.jsonl"),
            "--format",
            "auth-json",
        ],
        ExitCode.BAD_INPUT,
    )
    refused = [s for s in result["sources"] if s["refused"]]
    assert len(refused) == 1 and "not JSON records" in refused[0]["refused"]
    assert result["rows"] == {"auth": 3}


def test_coverage_text_keeps_every_detection_id_whole(
    case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 80 columns (stdout not a terminal) every detection id the report names is printed
    whole somewhere on one line: it is what the reader types next."""
    _sysmon_case(case_dir)
    assert run(["--case", str(case_dir), "coverage", "--pack", "aa21-200a"]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert run(["--case", str(case_dir), "coverage", "--pack", "aa21-200a", "--json"]) == 0
    ids = {d["id"] for d in json.loads(capsys.readouterr().out)["detections"]}
    missing = [i for i in ids if not any(i in line for line in lines)]
    assert missing == []
    cut = [line for line in lines if re.search(r"\b[a-z]+\.[a-z-]*…", line)]
    assert cut == []  # no id ends in an ellipsis in any table
