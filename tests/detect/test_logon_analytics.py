"""Admin shares and remote authentication, judged against allowlists, trusted networks and
learned baselines given as data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from seawall.case.store import CaseStore
from seawall.detect.baseline import learn, with_baseline
from seawall.detect.engine import HuntRequest, hunt, load_detections
from seawall.errors import UsageError
from seawall.model.finding import Finding, ResultDocument
from tests.evtx_rows import event, load_events

RCM = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"


def _share(time: str, user: str, ip: str, share: str, target: str = "x", host: str = "fs1"):  # type: ignore[no-untyped-def]
    return event(
        5145,
        {
            "SubjectUserName": user,
            "SubjectDomainName": "CORP",
            "IpAddress": ip,
            "ShareName": f"\\\\*\\{share}",
            "RelativeTargetName": target,
        },
        time=time,
        computer=host,
    )


def _logon(
    time: str,
    user: str,
    ip: str,
    logon_type: int = 3,
    host: str = "srv1",
    event_id: int = 4624,
    **more: Any,
) -> dict[str, Any]:
    return event(
        event_id,
        {
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "LogonType": logon_type,
            "IpAddress": ip,
            "WorkstationName": "-",
            **more,
        },
        time=time,
        computer=host,
    )


def _run(
    store: CaseStore,
    *ids: str,
    params: dict[str, dict[str, Any]] | None = None,
    allowlists: tuple[Path, ...] = (),
) -> ResultDocument:
    return hunt(
        store, HuntRequest(detection_ids=ids, parameters=params or {}, allowlists=allowlists)
    )


def _found(document: ResultDocument, ident: str) -> list[Finding]:
    return [f for f in document.findings if f.detection_id == ident]


def test_share_mapping_with_allowlist_and_baseline(case_dir: Path, tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "allow:\n"
        "  - detection: evtx.admin-share-*\n"
        "    user: svc-backup\n"
        "    source: 10.1.0.0/16\n"
        "    item: 'ADMIN$'\n"
        "    reason: nightly backup from the backup servers\n",
        encoding="utf-8",
    )
    rows = [
        _share("2024-03-01T01:00:00Z", "svc-backup", "10.1.2.3", "ADMIN$"),
        _share("2024-03-01T02:00:00Z", "alice", "10.2.0.5", "C$", "Users\\bob\\doc.docx"),
        _share("2024-03-01T02:00:01Z", "alice", "10.2.0.5", "C$", "Users\\bob\\b.xlsx"),
        _share("2024-03-01T02:01:00Z", "FS2$", "10.2.0.9", "IPC$", "srvsvc"),
        # After the baseline period: alice again (known), mallory (new).
        _share("2024-03-05T09:00:00Z", "alice", "10.2.0.5", "C$"),
        _share("2024-03-05T09:30:00Z", "mallory", "10.9.9.9", "ADMIN$", "PSEXESVC.exe"),
        # Not an admin share.
        _share("2024-03-05T10:00:00Z", "mallory", "10.9.9.9", "Public"),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        first = _run(store, "evtx.admin-share-mapping", allowlists=(allow,))
        found = {
            (f.user, f.evidence[0].row["share"]): f
            for f in _found(first, "evtx.admin-share-mapping")
        }
        assert set(found) == {
            ("CORP\\svc-backup", "ADMIN$"),
            ("CORP\\alice", "C$"),
            ("CORP\\FS2$", "IPC$"),
            ("CORP\\mallory", "ADMIN$"),
        }
        backup = found[("CORP\\svc-backup", "ADMIN$")]
        assert backup.suppressed and backup.verdict == "suspicious"
        assert backup.suppression is not None and backup.suppression.kind == "allowlist"
        assert backup.suppression.entry == f"{allow}:2"
        assert backup.suppression.reason == "nightly backup from the backup servers"
        assert found[("CORP\\alice", "C$")].severity == "high"
        assert found[("CORP\\alice", "C$")].evidence[0].row["accesses"] == 3
        assert found[("CORP\\FS2$", "IPC$")].severity == "low"
        notes = first.coverage[0].notes
        assert any(n.startswith("no baseline learned") for n in notes), notes
        assert not any(n.startswith("no allowlist entry") for n in notes), notes

        chosen = with_baseline(load_detections().values(), ["evtx.admin-share-mapping"])
        report = learn(store, chosen, datetime(2024, 3, 2, tzinfo=UTC))
        assert report.learned[0].rows == 3
        second = _run(store, "evtx.admin-share-mapping")
    after = _found(second, "evtx.admin-share-mapping")
    assert [(f.user, f.evidence[0].row["share"]) for f in after] == [("CORP\\mallory", "ADMIN$")]
    assert "not seen before 2024-03-02 00:00:00Z" in after[0].summary
    assert any("the learned baseline" in r.text for r in after[0].reasons)


def test_remote_logons_outside_trusted_networks(case_dir: Path) -> None:
    rows = [
        _logon("2024-03-01T10:00:00Z", "alice", "203.0.113.9"),
        _logon("2024-03-01T10:05:00Z", "alice", "203.0.113.9", logon_type=10),
        _logon("2024-03-01T11:00:00Z", "bob", "192.168.1.20"),
        _logon("2024-03-01T11:00:00Z", "SRV2$", "198.51.100.1"),  # computer account: ignored
        _logon("2024-03-01T11:10:00Z", "carol", "198.51.100.2", logon_type=2),  # interactive
        _logon("2024-03-01T11:20:00Z", "dave", "::ffff:198.51.100.3"),
        event(
            1149,
            {
                "EventXML.Param1": "erin",
                "EventXML.Param2": "CORP",
                "EventXML.Param3": "2001:db8::7",
            },
            channel=RCM,
            computer="rdp1",
        ),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        default = _run(store, "evtx.remote-auth-audit")
        ours = _run(
            store,
            "evtx.remote-auth-audit",
            params={
                "evtx.remote-auth-audit": {
                    "trusted_networks": ["10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32"]
                }
            },
        )
    found = {
        (f.user, f.evidence[0].row["source"]): f for f in _found(default, "evtx.remote-auth-audit")
    }
    assert set(found) == {
        ("CORP\\alice", "203.0.113.9"),
        ("CORP\\dave", "198.51.100.3"),
        ("CORP\\erin", "2001:db8::7"),
    }
    assert found[("CORP\\alice", "203.0.113.9")].score == 90.0  # Remote Desktop among them
    assert "T1021.001" in found[("CORP\\alice", "203.0.113.9")].techniques
    assert found[("CORP\\dave", "198.51.100.3")].score == 80.0
    assert any(n.startswith("trusted_networks not given") for n in default.coverage[0].notes)
    narrowed = {
        (f.user, f.evidence[0].row["source"]) for f in _found(ours, "evtx.remote-auth-audit")
    }
    assert narrowed == {("CORP\\bob", "192.168.1.20"), ("CORP\\dave", "198.51.100.3")}


def test_remote_logon_pairs_new_since_the_baseline(case_dir: Path) -> None:
    rows = [
        _logon("2024-03-01T10:00:00Z", "alice", "10.0.0.5"),
        _logon("2024-03-06T10:00:00Z", "alice", "10.0.0.5"),
        _logon("2024-03-06T11:00:00Z", "alice", "10.0.0.99"),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        chosen = with_baseline(load_detections().values(), ["evtx.remote-auth-audit"])
        learn(store, chosen, datetime(2024, 3, 2, tzinfo=UTC))
        document = _run(store, "evtx.remote-auth-audit")
    found = _found(document, "evtx.remote-auth-audit")
    assert [(f.evidence[0].row["source"], f.severity) for f in found] == [("10.0.0.99", "medium")]


def test_failures_guessing_spraying_and_explicit_credentials(case_dir: Path) -> None:
    guess = [
        _logon(
            f"2024-03-01T10:{m:02d}:00Z",
            "alice",
            "10.0.0.66",
            event_id=4625,
            Status="0xc000006d",
            SubStatus="0xc000006a",
        )
        for m in range(12)
    ]
    success = [_logon("2024-03-01T10:20:00Z", "alice", "10.0.0.66")]
    spray = [
        _logon("2024-03-01T12:00:00Z", name, "10.0.0.77", event_id=4625, SubStatus="0xc000006a")
        for name in ("u1", "u2", "u3", "u4", "u5", "u6")
    ]
    explicit = [
        event(
            4648,
            {
                "SubjectUserName": "eve",
                "SubjectDomainName": "CORP",
                "TargetUserName": name,
                "TargetDomainName": "CORP",
                "TargetServerName": "dc1",
                "ProcessName": "C:\\Users\\eve\\s.exe",
            },
        )
        for name in ("a1", "a2", "a3", "a4", "a5")
    ] + [
        event(
            4648,
            {
                "SubjectUserName": "frank",
                "SubjectDomainName": "CORP",
                "TargetUserName": "admin-frank",
                "TargetDomainName": "CORP",
                "TargetServerName": "srv3",
                "ProcessName": "C:\\Windows\\System32\\runas.exe",
            },
        ),
        event(
            4648,
            {
                "SubjectUserName": "WS1$",
                "SubjectDomainName": "CORP",
                "TargetUserName": "gina",
                "TargetDomainName": "CORP",
                "TargetServerName": "localhost",
                "ProcessName": "C:\\Windows\\System32\\winlogon.exe",
            },
        ),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, [*guess, *success, *spray, *explicit])
        document = _run(store, "evtx.logon-failures", "evtx.explicit-credentials")
    failures = {f.evidence[0].row["source"]: f for f in _found(document, "evtx.logon-failures")}
    assert set(failures) == {"10.0.0.66", "10.0.0.77"}
    assert failures["10.0.0.66"].severity == "high" and failures["10.0.0.66"].score == 85.0
    assert "then logged on successfully" in failures["10.0.0.66"].summary
    assert failures["10.0.0.77"].evidence[0].row["accounts"] == 6
    assert "T1110.003" in failures["10.0.0.77"].techniques
    explicit_found = {f.user: f for f in _found(document, "evtx.explicit-credentials")}
    assert set(explicit_found) == {"CORP\\eve", "CORP\\frank"}
    assert explicit_found["CORP\\eve"].severity == "high"
    assert explicit_found["CORP\\eve"].evidence[0].row["target_accounts"] == [
        "CORP\\a1",
        "CORP\\a2",
        "CORP\\a3",
        "CORP\\a4",
        "CORP\\a5",
    ]
    assert explicit_found["CORP\\frank"].severity == "low"


def test_bad_parameters_fail_before_the_hunt(case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        with pytest.raises(UsageError, match="not an IP network"):
            _run(
                store,
                "evtx.remote-auth-audit",
                params={"evtx.remote-auth-audit": {"trusted_networks": ["10.0.0.0/33"]}},
            )
        with pytest.raises(UsageError, match="has no parameter trusted_nets"):
            _run(
                store,
                "evtx.remote-auth-audit",
                params={"evtx.remote-auth-audit": {"trusted_nets": []}},
            )
        runs = store.con.sql("SELECT count(*) FROM runs WHERE command = 'hunt'").fetchall()
    assert runs == [(0,)]
