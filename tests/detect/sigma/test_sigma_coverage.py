"""Every Sigma rule is run or listed with the exact reason it was not; findings carry the rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli.app import app, run
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.sigma.hunt import run_sigma
from seawall.errors import ExitCode
from tests.detect.sigma.helpers import SYSMON, sysmon, write_events, write_rule

SHARE = """title: Access to an admin share
id: 10000000-0000-0000-0000-000000005140
level: medium
tags: [attack.lateral-movement, attack.t1021.002]
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: [5140, 5145]
        ShareName|endswith: 'C$'
    condition: selection
"""
WHOAMI = """title: Whoami execution
id: 10000000-0000-0000-0000-000000000001
level: high
tags: [attack.discovery, attack.t1033]
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
"""
EXPAND = """title: Needs a placeholder
id: 10000000-0000-0000-0000-000000000002
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        ComputerName|expand: '%domain_controllers%'
    condition: selection
"""
LINUX = """title: A Linux rule
id: 10000000-0000-0000-0000-000000000003
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith: '/whoami'
    condition: selection
"""
CORRELATION = """title: Many whoami
id: 10000000-0000-0000-0000-000000000004
correlation:
    type: event_count
    rules: [10000000-0000-0000-0000-000000000001]
    group-by: [Computer]
    timespan: 1h
    condition:
        gte: 5
"""
BROKEN = "title: broken\nid: x\ndetection:\n  selection: [a\n  condition: selection\n"


@pytest.fixture
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEAWALL_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "rules"
    for name, text in {
        "share.yml": SHARE,
        "whoami.yml": WHOAMI,
        "expand.yml": EXPAND,
        "linux.yml": LINUX,
        "correlation.yml": CORRELATION,
        "broken.yml": BROKEN,
    }.items():
        write_rule(folder, name, text)
    return folder


@pytest.fixture
def sysmon_case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    with CaseStore.open(case) as store:
        write_events(
            store,
            [
                sysmon(1, Image="C:\\Windows\\System32\\whoami.exe", CommandLine="whoami"),
                sysmon(2, Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd"),
            ],
        )
    return case


def test_every_rule_is_run_or_listed_with_its_reason(rules_dir: Path, sysmon_case: Path) -> None:
    with CaseStore.open(sysmon_case) as store:
        document = hunt(store, HuntRequest(sigma_dirs=(rules_dir,)))
    sigma = {e.detection_id: e for e in document.coverage if e.detection_id.startswith("sigma.")}
    assert len(sigma) == 6
    share = sigma["sigma.10000000-0000-0000-0000-000000005140"]
    assert (share.status, share.reason) == (
        "not-evaluable",
        "not evaluable: no Security 5140/5145 events in the case",
    )
    assert share.techniques == ["T1021.002"]
    whoami = sigma["sigma.10000000-0000-0000-0000-000000000001"]
    assert (whoami.status, whoami.findings) == ("ran", 1)
    # its Security 4688 form could not run, and the entry says so
    assert whoami.notes == [
        "no Security 4688 events in the case: that form of the rule was not run",
        "1 event records matched on 1 host(s)",
    ]
    expand = sigma["sigma.10000000-0000-0000-0000-000000000002"]
    assert expand.status == "not-run" and "placeholder %domain_controllers%" in (
        expand.reason or ""
    )
    linux = sigma["sigma.10000000-0000-0000-0000-000000000003"]
    assert linux.reason == "log source product linux: seawall hunts Windows events with Sigma"
    correlation = sigma["sigma.10000000-0000-0000-0000-000000000004"]
    assert correlation.status == "not-run"
    assert (correlation.reason or "").startswith("Sigma correlation rule (event_count)")
    broken = sigma[f"sigma.{rules_dir / 'broken.yml'}"]
    assert broken.status == "not-run"
    assert (broken.reason or "").startswith(f"{rules_dir / 'broken.yml'}:5: not valid YAML")


def test_finding_carries_rule_and_event_with_provenance(rules_dir: Path, sysmon_case: Path) -> None:
    with CaseStore.open(sysmon_case) as store:
        document = hunt(store, HuntRequest(sigma_dirs=(rules_dir,)))
        again = hunt(store, HuntRequest(sigma_dirs=(rules_dir,)))
        stored = store.con.execute(
            "SELECT count(*) FROM findings WHERE detection_id LIKE 'sigma.%'"
        ).fetchone()
    [finding] = [f for f in document.findings if f.detection_id.startswith("sigma.")]
    assert finding.detection_id == "sigma.10000000-0000-0000-0000-000000000001"
    assert (finding.host, finding.summary) == (
        "WS1",
        f"Whoami execution: 1 event(s) on WS1 ({SYSMON} 1)",
    )
    assert (finding.title, finding.severity) == ("Whoami execution", "high")
    assert finding.techniques == ["T1033"]
    assert "tags: attack.discovery, attack.t1033" in [r.text for r in finding.reasons]
    [evidence] = finding.evidence
    assert evidence.row["data"]["Image"] == "C:\\Windows\\System32\\whoami.exe"  # type: ignore[index,call-overload]
    assert evidence.provenance.source_file == "built.json"
    assert evidence.provenance.record_ref == "1"
    assert evidence.provenance.source_sha256
    # hunting again replaces, never adds
    assert [f.finding_id for f in again.findings] == [f.finding_id for f in document.findings]
    assert stored == (1,)


def test_cli_hunt_sigma(rules_dir: Path, sysmon_case: Path) -> None:
    result = CliRunner().invoke(
        app, ["--case", str(sysmon_case), "hunt", "--sigma", str(rules_dir), "--json"]
    )
    assert result.exit_code == 1, result.output  # unsuppressed findings
    document = json.loads(result.stdout)
    ids = [f["detection_id"] for f in document["findings"]]
    assert "sigma.10000000-0000-0000-0000-000000000001" in ids
    text = CliRunner().invoke(
        app, ["--case", str(sysmon_case), "hunt", "--sigma", str(rules_dir)], env={"COLUMNS": "300"}
    )
    assert "not evaluable: no Security 5140/5145 events in the case" in text.stdout


def test_detection_globs_select_sigma_rules_or_shipped_detections(
    rules_dir: Path, sysmon_case: Path
) -> None:
    base = ["--case", str(sysmon_case), "hunt", "--sigma", str(rules_dir), "--json"]
    only_sigma = CliRunner().invoke(app, [*base, "--detection", "sigma.*"])
    ids = [e["detection_id"] for e in json.loads(only_sigma.stdout)["coverage"]]
    assert len(ids) == 6 and all(i.startswith("sigma.") for i in ids), ids
    one = CliRunner().invoke(
        app, [*base, "--detection", "sigma.10000000-0000-0000-0000-00000000000?"]
    )
    ids = [e["detection_id"] for e in json.loads(one.stdout)["coverage"]]
    assert sorted(ids) == [f"sigma.10000000-0000-0000-0000-00000000000{n}" for n in range(1, 5)]
    shipped = CliRunner().invoke(app, [*base, "--detection", "evtx.*"])
    document = json.loads(shipped.stdout)
    ids = [e["detection_id"] for e in document["coverage"]]
    assert ids and all(i.startswith("evtx.") for i in ids), ids
    warning = "--sigma was given but no --detection names a Sigma rule: none ran"
    assert warning in document["warnings"]
    both = CliRunner().invoke(
        app, [*base, "--detection", "evtx.log-cleared", "--detection", "sigma.*"]
    )
    ids = [e["detection_id"] for e in json.loads(both.stdout)["coverage"]]
    assert ids[0] == "evtx.log-cleared" and len(ids) == 7


def test_detection_selector_naming_nothing_is_a_usage_error(
    rules_dir: Path, sysmon_case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--case", str(sysmon_case), "hunt", "--json"]
    for extra, message in (
        (["--sigma", str(rules_dir), "--detection", "nothing.*"], "matches no detection"),
        (["--sigma", str(rules_dir), "--detection", "sigma.no-such"], "names no detection"),
        (["--detection", "sigma.*"], "Sigma rules run only with --sigma"),
    ):
        capsys.readouterr()
        assert run([*base, *extra]) == ExitCode.USAGE, extra
        assert message in json.loads(capsys.readouterr().out)["error"]["message"]


def test_one_finding_per_rule_and_host_with_the_first_events(
    rules_dir: Path, tmp_path: Path
) -> None:
    with CaseStore.open(tmp_path / "many") as store:
        events = [
            sysmon(n, Image="C:\\Windows\\System32\\whoami.exe", CommandLine=f"whoami {n}")
            for n in range(1, 6)
        ]
        for number, event in enumerate(events):
            event["time"] = datetime(2026, 1, 1, 12, 5 - number, tzinfo=UTC)
        events[4]["computer"] = "WS2"
        write_events(store, events)
        write_events(store, events[:2], name="again.json")  # another file: other provenance
        outcomes = run_sigma(store, [rules_dir / "whoami.yml"], max_evidence=2)
    [outcome] = outcomes
    by_host = {f.host: f for f in outcome.findings}
    assert sorted(h or "" for h in by_host) == ["WS1", "WS2"]
    ws1 = by_host["WS1"]
    assert [e.provenance.record_ref for e in ws1.evidence] == ["4", "3"]
    assert "6 event records matched; the first 2 are shown" in [r.text for r in ws1.reasons]
    assert (ws1.first_seen, ws1.last_seen) == (
        datetime(2026, 1, 1, 12, 2),
        datetime(2026, 1, 1, 12, 5),
    )
    assert outcome.entry.notes[-1] == "7 event records matched on 2 host(s)"
