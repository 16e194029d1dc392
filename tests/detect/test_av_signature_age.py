"""evtx.av-signature-age on Microsoft Defender Operational events built as Defender writes them
(field names with spaces, as in the EVTX corpora's 1116 events): stale signatures carried
forward from the last health report or update, updates that keep failing, protection turned off
(and on again), tamper-protection blocks; hosts it cannot judge are named; without the channel
the detection is not evaluable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import Finding, ResultDocument
from tests.evtx_rows import event, load_events

DETECTION = "evtx.av-signature-age"
DEFENDER = "Microsoft-Windows-Windows Defender/Operational"


def defender(event_id: int, computer: str, day: int, **data: Any) -> dict[str, Any]:
    fields = {"Product Name": "%%827", "Product Version": "4.18.2205.7", **data}
    return event(
        event_id,
        {k.replace("_", " "): v for k, v in fields.items()},
        channel=DEFENDER,
        provider="Microsoft-Windows-Windows Defender",
        computer=computer,
        time=f"2024-03-{day:02d}T09:00:00Z",
    )


def health(computer: str, day: int, age: int) -> dict[str, Any]:
    return defender(
        1151,
        computer,
        day,
        Antivirus_signature_version="1.405.12.0",
        Antivirus_signature_age=str(age),
        Antispyware_signature_age=str(age),
        Last_full_scan_age="4294967295",
    )


def _hunt(case_dir: Path, rows: list[dict[str, Any]], **params: Any) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        return hunt(
            store,
            HuntRequest(
                detection_ids=(DETECTION,), parameters={DETECTION: params} if params else {}
            ),
        )


def _by_key(document: ResultDocument) -> dict[tuple[str, str], Finding]:
    found: dict[tuple[str, str], Finding] = {}
    for finding in document.findings:
        row = finding.evidence[0].row
        found[(finding.host or "", str(row.get("feature") or row["problem"]))] = finding
    return found


def test_stale_failing_and_disabled_protection(case_dir: Path) -> None:
    rows = [
        # stale: 2 days old on the 1st, nothing since, last Defender event on the 21st -> 22 days
        health("stale", 1, 2),
        defender(1150, "stale", 21),
        # fresh: an update on the 10th after an old report, last event on the 12th
        health("fresh", 1, 9),
        defender(2000, "fresh", 10, Current_Signature_Version="1.405.99.0"),
        defender(1150, "fresh", 12),
        # failing: a success, then three failures
        defender(2000, "failing", 1, Current_Signature_Version="1.405.1.0"),
        *[
            defender(
                2001,
                "failing",
                day,
                Error_Code="0x8024402c",
                Error_Description="The proxy server or target server name cannot be resolved.",
            )
            for day in (2, 3, 4)
        ],
        # off and never on again; off then on; a setting; a tamper-protection block
        defender(5001, "off", 3),
        defender(5001, "offon", 3),
        defender(5000, "offon", 4),
        defender(
            5007,
            "setting",
            5,
            Old_Value="",
            New_Value="HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Real-Time Protection\\"
            "DisableRealtimeMonitoring = 0x1",
        ),
        defender(5013, "blocked", 6),
        # a host with only "healthy" events: its age cannot be judged
        defender(1150, "unknown", 6),
    ]
    document = _hunt(case_dir, rows)
    (coverage,) = document.coverage
    assert coverage.status == "ran"
    assert any("unknown" in note and "not judged" in note for note in coverage.notes)
    found = _by_key(document)
    assert set(found) == {
        ("stale", "stale-signatures"),
        ("failing", "update-failures"),
        ("off", "real-time protection"),
        ("offon", "real-time protection"),
        ("setting", "settings"),
        ("blocked", "tamper protection"),
    }
    stale = found[("stale", "stale-signatures")]
    assert stale.evidence[0].row["age_days"] == 22.0
    assert stale.score == round(50 + 30 * (22 - 7) / 21, 1)
    assert stale.reasons[0].code == "av.signature-age" and stale.reasons[0].data["age_days"] == 22.0
    failing = found[("failing", "update-failures")]
    assert failing.evidence[0].row["failures"] == 3 and len(failing.evidence[0].records) == 3
    assert "proxy server" in failing.summary
    assert found[("off", "real-time protection")].severity == "high"
    assert found[("offon", "real-time protection")].severity == "medium"
    assert "on again" in found[("offon", "real-time protection")].summary
    assert found[("setting", "settings")].severity == "high"
    assert found[("blocked", "tamper protection")].score == 55
    assert all(f.techniques == ["T1562.001"] for f in document.findings)


def test_parameters_move_the_thresholds(case_dir: Path) -> None:
    rows = [health("h1", 1, 2), defender(1150, "h1", 6)]  # 7 days: not above 7
    assert _hunt(case_dir, rows).findings == []
    document = _hunt(case_dir.with_name("strict"), rows, max_signature_age_days=3)
    assert [f.host for f in document.findings] == ["h1"]


def test_without_defender_health_events_it_is_not_evaluable(case_dir: Path) -> None:
    rows = [defender(1116, "ws1", 1, Threat_Name="Trojan:PowerShell/Powersploit.M")]
    (coverage,) = _hunt(case_dir, rows).coverage
    assert coverage.status == "not-evaluable"
    assert "Microsoft Defender Operational" in (coverage.reason or "")
