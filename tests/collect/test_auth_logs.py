"""`collect logs` for authentication: seawall's CSV/JSON schema and Entra ID sign-in exports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from seawall.case.store import CaseStore
from seawall.collect.base import ingest_files
from seawall.collect.logs import choose_logs, formats, sniffed
from tests.conftest import TEST_DATA

AUTH = TEST_DATA / "auth"


def _collect(case_dir: Path, *paths: Path, forced: str | None = None) -> Any:
    with CaseStore.open(case_dir) as store:
        report = ingest_files(store, "collect logs", list(paths), choose_logs(forced))
        rows = store.con.sql(
            "SELECT user_name, time, source_ip, country, latitude, result, mfa, method,"
            " logon_type, service, scope, record_ref FROM auth ORDER BY time, user_name"
        ).fetchall()
    return report, rows


def test_formats_are_registered_and_told_by_content() -> None:
    known = formats()
    assert {"auth-csv", "auth-json", "entra"} <= set(known)
    for name, fmt in (
        ("vpn.csv", "auth-csv"),
        ("sso.jsonl", "auth-json"),
        ("entra-graph.json", "entra"),
        ("entra-portal.csv", "entra"),
    ):
        found = sniffed((AUTH / name).read_bytes()[:65536])
        assert found is not None and found.name == fmt, name
    # Other CSV and JSON are not taken for authentication logs.
    assert sniffed(b"time,host,mount,total_bytes,used_bytes\n") is None
    zeek = sniffed(b'{"ts": 1, "uid": "C1", "id.orig_h": "10.0.0.1"}\n')
    assert zeek is None or zeek.name not in ("auth-csv", "auth-json", "entra")


def test_schema_csv_rows_and_bad_rows(case_dir: Path) -> None:
    report, rows = _collect(case_dir, AUTH / "vpn.csv")
    assert report.rows == {"auth": 5}
    assert [(w.location, w.message) for w in report.warnings] == [
        (
            f"{AUTH / 'vpn.csv'}:6",
            "row skipped: time 'not-a-time' is neither ISO 8601 nor epoch seconds",
        )
    ]
    first = rows[0]
    assert first[0] == "alice" and first[2] == "198.51.100.7" and first[3] == "FR"
    assert first[4] == pytest.approx(48.8566)
    assert (first[5], first[6], first[10], first[11]) == ("success", "mfa", "external", "line 2")
    assert rows[1][6] == "single-factor"


def test_schema_json_lines(case_dir: Path) -> None:
    report, rows = _collect(case_dir, AUTH / "sso.jsonl")
    assert report.rows == {"auth": 3} and report.warning_count == 2
    by_user = {r[0]: r for r in rows}
    # an offset is honoured; epoch seconds are read
    assert by_user["alice@corp.example"][1].isoformat() == "2024-03-02T06:00:00+00:00"
    assert by_user["CORP\\dave"][1].isoformat() == "2024-03-02T08:00:00+00:00"
    assert (by_user["CORP\\dave"][5], by_user["CORP\\dave"][6]) == ("failure", "single-factor")
    assert by_user["alice@corp.example"][6] == "mfa"  # a method name means yes
    assert by_user["erin"][10] == "internal"
    messages = [w.message for w in report.warnings]
    assert "record skipped: scope 'elsewhere' is neither external nor internal" in messages


def test_entra_graph_page_and_portal_csv(case_dir: Path) -> None:
    report, rows = _collect(case_dir, AUTH / "entra-graph.json", AUTH / "entra-portal.csv")
    assert report.rows == {"auth": 5}
    assert [s.format for s in report.sources] == ["entra", "entra"]
    assert [w.location for w in report.warnings] == [f"{AUTH / 'entra-graph.json'}#3"]
    by_key = {(r[0], r[11]): r for r in rows}
    sydney = by_key[("alice@corp.example", "record 1")]
    assert (sydney[3], sydney[5], sydney[6], sydney[7]) == (
        "AU",
        "success",
        "single-factor",
        "Password",
    )
    assert sydney[1].isoformat() == "2024-03-03T10:15:30.123456+00:00"
    frank = by_key[("frank@corp.example", "record 2")]
    assert (frank[5], frank[6]) == ("failure", "mfa")
    legacy = by_key[("svc-legacy@corp.example", "line 3")]
    assert (legacy[8], legacy[6], legacy[3]) == ("IMAP4", "single-factor", "US")


def test_large_graph_export_is_streamed_and_a_broken_record_stops_the_array(
    case_dir: Path, tmp_path: Path
) -> None:
    records = [
        {
            "createdDateTime": f"2024-03-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "userPrincipalName": f"user{i % 97}@corp.example",
            "ipAddress": "198.51.100.1",
            "status": {"errorCode": 0},
            "authenticationRequirement": "multiFactorAuthentication",
        }
        for i in range(25_000)
    ]
    big = tmp_path / "signins.json.gz"
    with gzip.open(big, "wt", encoding="utf-8") as handle:
        json.dump({"@odata.context": "x", "value": records}, handle)
    broken = tmp_path / "broken.json"
    text = json.dumps(records[:3])
    broken.write_text(text[: text.rindex("{")] + '{"createdDateTime": oops}]', encoding="utf-8")
    report, rows = _collect(case_dir, big, broken, forced="entra")
    assert report.rows == {"auth": 25_002} and len(rows) == 25_002
    assert [(w.location, w.message.split(":")[0]) for w in report.warnings] == [
        (f"{broken}#3", "invalid JSON, the rest of the array is skipped")
    ]
