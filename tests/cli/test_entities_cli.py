"""`seawall entities`: the machines and accounts of the case, one of them with every observation
behind it, as one JSON document."""

from __future__ import annotations

from pathlib import Path

from seawall.case.store import CaseStore
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.evtx_rows import event, load_events


def _case(case_dir: Path) -> list[str]:
    logon = {
        "TargetUserName": "alice",
        "TargetDomainName": "CORP",
        "LogonType": "3",
        "IpAddress": "10.1.1.10",
        "WorkstationName": "WEB1",
        "TargetUserSid": "S-1-5-21-9-9-9-1001",
    }
    with CaseStore.open(case_dir) as store:
        load_events(
            store,
            [
                event(4624, logon, computer="FS1.corp.example", time="2024-03-01T10:00:00Z"),
                event(4624, logon, computer="FS1.corp.example", time="2024-03-01T11:00:00Z"),
                event(4688, {"CommandLine": "x"}, computer="WEB1.corp.example"),
            ],
        )
    return ["--case", str(case_dir), "entities"]


def test_overview_host_and_account(case_dir: Path, run_json: JsonRun) -> None:
    command = _case(case_dir)
    overview = run_json(command, ExitCode.OK)
    hosts = {h["host"]: h for h in overview["hosts"]}
    assert set(hosts) == {"fs1.corp.example", "web1.corp.example"}
    assert hosts["web1.corp.example"]["names"] == ["web1", "web1.corp.example"]
    assert hosts["web1.corp.example"]["addresses"] == ["10.1.1.10"]
    (alice,) = [a for a in overview["accounts"] if a["account"] == "CORP\\alice"]
    assert alice["sids"] == ["S-1-5-21-9-9-9-1001"]
    assert {k["kind"]: k["observations"] for k in overview["links"]} == {"logon": 2}
    host = run_json([*command, "--host", "10.1.1.10"], ExitCode.OK)
    assert host["host"] == "web1.corp.example" and host["inferred"] is True
    assert host["reasons"][0]["code"] == "identity.logon-source"
    (seen,) = host["addresses"]
    assert (seen["address"], seen["count"], seen["first_seen"]) == (
        "10.1.1.10",
        2,
        "2024-03-01T10:00:00+00:00",
    )
    assert host["links"][0]["source"] == "10.1.1.10" and host["links"][0]["count"] == 2
    account = run_json([*command, "--account", "alice@corp"], ExitCode.OK)
    assert account["account"] == "CORP\\alice" and account["hosts"] == ["fs1.corp.example"]
    assert account["link_kinds"] == {"logon": 1}


def test_refusals(case_dir: Path, run_json: JsonRun) -> None:
    command = _case(case_dir)
    both = run_json([*command, "--host", "x", "--account", "y"], ExitCode.USAGE)
    assert "not both" in both["error"]["message"]
    unknown = run_json([*command, "--host", "nas9"], ExitCode.USAGE)
    assert "nas9" in unknown["error"]["message"]
    nobody = run_json([*command, "--account", "CORP\\mallory"], ExitCode.USAGE)
    assert "no such account" in nobody["error"]["message"]
    missing = run_json(["--case", str(case_dir.parent / "nowhere"), "entities"], ExitCode.USAGE)
    assert "no case" in missing["error"]["message"]
