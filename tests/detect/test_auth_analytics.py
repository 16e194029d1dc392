"""External authentication against internal use: mismatched credentials, impossible travel,
sign-ins without MFA — on the fixtures of tests/data/auth and events built as Windows writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.collect.base import ingest_files
from seawall.collect.logs import choose_logs
from seawall.detect.baseline import learn, with_baseline
from seawall.detect.engine import HuntRequest, hunt, load_detections
from seawall.model.finding import Finding, ResultDocument
from tests.conftest import TEST_DATA
from tests.evtx_rows import event, load_events

AUTH = TEST_DATA / "auth"
IDS = ("auth.credential-mismatch", "auth.anomalous-user", "auth.no-mfa")


def _found(document: ResultDocument, ident: str) -> list[Finding]:
    return [f for f in document.findings if f.detection_id == ident]


def _case(store: CaseStore, *names: str) -> None:
    paths = [AUTH / name for name in names]
    ingest_files(store, "collect logs", paths, choose_logs())


def test_external_accounts_never_seen_inside(case_dir: Path) -> None:
    internal = [
        event(
            4624,
            {
                "TargetUserName": "alice",
                "TargetDomainName": "CORP",
                "LogonType": 3,
                "IpAddress": "10.0.0.5",
            },
            time="2024-03-01T07:00:00Z",
        ),
        event(
            4624,
            {"TargetUserName": "Bob", "TargetDomainName": "CORP", "LogonType": 2, "IpAddress": "-"},
            time="2024-03-05T07:00:00Z",
        ),
        event(
            4625,
            {
                "TargetUserName": "frank",
                "TargetDomainName": "CORP",
                "LogonType": 3,
                "IpAddress": "10.0.0.6",
            },
            time="2024-03-02T07:00:00Z",
        ),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, internal)
        _case(store, "vpn.csv", "sso.jsonl", "entra-graph.json", "entra-portal.csv")
        document = hunt(store, HuntRequest(detection_ids=IDS))
    mismatched = {str(f.user): f for f in _found(document, "auth.credential-mismatch")}
    # alice and bob log on inside (as CORP\alice and CORP\Bob); frank's and dave's external
    # sign-ins failed (not a use of the credentials); erin's log is internal.
    assert set(mismatched) == {"svc-legacy"}
    legacy = mismatched["svc-legacy"]
    assert legacy.evidence[0].row["names"] == ["svc-legacy", "svc-legacy@corp.example"]
    assert legacy.score == 70.0  # never with MFA
    assert "2024-03-01 07:00:00Z to 2024-03-05 07:00:00Z" in legacy.reasons[0].text


def test_impossible_travel_and_new_countries(case_dir: Path, tmp_path: Path) -> None:
    later = tmp_path / "later.csv"
    later.write_text(
        "time,user,country,result\n"
        "2024-03-10T10:00:00Z,alice,JP,success\n"
        "2024-03-10T11:00:00Z,bob,FR,success\n",
        encoding="utf-8",
    )
    with CaseStore.open(case_dir) as store:
        _case(store, "vpn.csv", "entra-graph.json", "entra-portal.csv")
        first = hunt(store, HuntRequest(detection_ids=("auth.anomalous-user",)))
        chosen = with_baseline(load_detections().values(), ["auth.anomalous-user"])
        learn(store, chosen, datetime(2024, 3, 2, tzinfo=UTC))
        ingest_files(store, "collect logs", [later], choose_logs())
        second = hunt(store, HuntRequest(detection_ids=("auth.anomalous-user",)))
    travel = _found(first, "auth.anomalous-user")
    assert len(travel) == 1
    assert travel[0].user == "alice" and "FR and 0.48 hours later from AU" in travel[0].summary
    assert "(16960 km: 35091 km/h)" in travel[0].summary
    assert [e.provenance.record_ref for e in travel[0].evidence] == ["line 3", "line 2"]
    new = {
        (f.user, f.evidence[0].row["country_after"])
        for f in _found(second, "auth.anomalous-user")
        if f.severity == "medium"
    }
    # Before the baseline's end alice signed in from FR and AU, bob from FR; after it alice's
    # sign-ins from AU (Graph) and FR (portal) are known countries, JP is new.
    assert new == {("alice", "JP")}


def test_sign_ins_without_mfa_and_logs_that_do_not_say(case_dir: Path, tmp_path: Path) -> None:
    silent = tmp_path / "silent.csv"
    silent.write_text(
        "time,user,source_ip,service,result\n2024-03-01T10:00:00Z,zed,198.51.100.5,vpn,success\n",
        encoding="utf-8",
    )
    with CaseStore.open(case_dir) as store:
        ingest_files(store, "collect logs", [silent], choose_logs())
        blind = hunt(store, HuntRequest(detection_ids=("auth.no-mfa",)))
        ingest_files(store, "collect logs", [AUTH / "entra-portal.csv"], choose_logs())
        seen = hunt(store, HuntRequest(detection_ids=("auth.no-mfa",)))
    entry = blind.coverage[0]
    assert entry.status == "not-evaluable"
    assert entry.reason == "sign-ins recording MFA rows (1) have no mfa"
    found = {f.user: f for f in _found(seen, "auth.no-mfa")}
    assert set(found) == {"svc-legacy@corp.example"}  # bob's single-factor sign-in failed
    assert found["svc-legacy@corp.example"].severity == "high"  # IMAP4: legacy
