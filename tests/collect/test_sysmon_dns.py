"""Sysmon event 22 rows of ``events`` join the ``dns`` rows through ``DNS_ROWS_SQL``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.logs.sysmon_dns import DNS_ROWS_SQL
from seawall.model.tables import EVENTS

from ..conftest import TEST_DATA
from .netlogs import ingest


def test_sysmon_22_reads_as_dns_rows(tmp_path: Path) -> None:
    ingest(tmp_path / "case", TEST_DATA / "network" / "unbound.log", year=2024)
    when = datetime(2024, 3, 15, 9, 0, tzinfo=UTC)
    event = {
        "time": when,
        "computer": "WS01.corp.example",
        "provider": "Microsoft-Windows-Sysmon",
        "event_id": 22,
        "data": json.dumps(
            {
                "QueryName": "Login.Example.",
                "QueryStatus": "0",
                "QueryResults": "type:  5 edge.example;::ffff:192.0.2.44;2001:db8::44;",
                "Image": "C:\\Windows\\System32\\svchost.exe",
            }
        ),
        "record_ref": "4711",
    }
    other = {**event, "event_id": 1, "record_ref": "4712"}
    with CaseStore.open(tmp_path / "case") as store:
        schema = pa.schema([EVENTS.schema.field(n) for n in event])
        store.insert_arrow("events", pa.Table.from_pylist([event, other], schema))
        got = store.con.execute(
            f"SELECT query, rcode, answers, message, host, client_ip, record_ref"
            f" FROM ({DNS_ROWS_SQL}) WHERE message LIKE '%sysmon%'"
        ).fetchall()
        total = store.con.execute(f"SELECT count(*) FROM ({DNS_ROWS_SQL})").fetchone()
    assert got == [
        (
            "login.example",
            "NOERROR",
            ["edge.example", "192.0.2.44", "2001:db8::44"],
            "query+response (sysmon)",
            "WS01.corp.example",
            None,
            "4711",
        )
    ]
    assert total == (5,)  # the 4 unbound rows and the one Sysmon 22 event
