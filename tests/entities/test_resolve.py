"""One host per machine and one account per person, from the case's entities, saying what was
inferred and from which observation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.base import IngestRun
from seawall.entities.resolve import Identities
from tests.evtx_rows import event, load_events


def _logon(day: int, computer: str, user: str, ip: str, workstation: str) -> dict[str, Any]:
    return event(
        4624,
        {
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "LogonType": "3",
            "IpAddress": ip,
            "WorkstationName": workstation,
        },
        time=f"2024-03-{day:02d}T10:00:00Z",
        computer=computer,
    )


def _identities(case_dir: Path) -> Identities:
    with CaseStore.open(case_dir) as store:
        load_events(
            store,
            [
                _logon(1, "FS1.corp.example", "alice", "10.1.1.50", "WS1"),
                _logon(2, "FS1.corp.example", "alice", "10.1.1.50", "WS1"),
                _logon(10, "FS1.corp.example", "carol", "10.1.1.50", "WS2"),
                _logon(11, "FS1.corp.example", "carol", "10.1.1.50", "WS2"),
                _logon(3, "WEB1.corp.example", "alice", "10.1.1.60", "WS3"),
                _logon(3, "APP1.corp.example", "alice", "10.1.1.60", "WS3"),
                _logon(3, "APP1.other.example", "bob", "10.9.9.9", "WS9"),
                _logon(3, "APP1.corp.example", "bob", "10.9.9.9", "WS9"),
                _logon(4, "FS1.corp.example", "SYSTEM", "10.1.1.60", "WS3"),
                event(
                    4624,
                    {
                        "TargetUserName": "bob",
                        "TargetDomainName": "LAB",
                        "LogonType": "3",
                        "IpAddress": "10.9.9.8",
                        "WorkstationName": "WS8",
                    },
                    computer="FS1.corp.example",
                ),
                # an attacker's machine name from a public address
                _logon(5, "WEB1.corp.example", "alice", "203.0.113.9", "DESKTOP-X1"),
            ],
        )
        sign_in = pa.table(
            {
                "time": pa.array([datetime(2024, 3, 5, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
                "user_name": ["alice@corp.example"],
                "user_domain": ["corp.example"],
                "source_ip": ["198.51.100.4"],
                "device": ["WS1.corp.example"],
                "scope": ["external"],
                "record_ref": ["record 1"],
            }
        )
        with IngestRun(store, "test auth", {}) as run:
            run.write("auth", sign_in, None)
            run.finish({})
        return Identities.load(store)


def test_hosts_by_name_short_name_and_address(case_dir: Path) -> None:
    found = _identities(case_dir)
    given = found.host("FS1.corp.example")
    assert given is not None and (given.host, given.inferred) == ("fs1.corp.example", False)
    short = found.host("fs1")
    assert short is not None and short.host == "fs1.corp.example" and short.inferred
    assert short.reasons[0].code == "identity.name"
    # ws1 is seen as a logon workstation and as an Entra device: one machine
    assert found.host("WS1") is not None and found.host("WS1").host == "ws1.corp.example"  # type: ignore[union-attr]
    # app1 exists in two domains: the short name is kept apart, never guessed
    app = found.host("APP1")
    assert app is not None and app.host == "app1" and not app.inferred
    assert app.reasons[0].code == "identity.ambiguous"
    assert {"app1.corp.example", "app1.other.example"} <= set(found.hosts)
    # one address, two machines over time: the one seen with it at the finding's time
    early = found.host("10.1.1.50", datetime(2024, 3, 2, 12, tzinfo=UTC))
    late = found.host("::ffff:10.1.1.50", datetime(2024, 3, 10, 12, tzinfo=UTC))
    assert early is not None and early.host == "ws1.corp.example" and early.inferred
    assert late is not None and late.host == "ws2"
    assert early.reasons[0].code == "identity.logon-source"
    assert early.reasons[0].data["record_ref"] == "record 1"
    # a public address is no host of the case, whatever name its logons gave
    public = found.host("203.0.113.9")
    assert public is not None and public.host is None and public.address == "203.0.113.9"
    assert public.reasons[0].code == "identity.external"
    assert "desktop-x1" in public.reasons[0].text
    unknown = found.host("nas7")
    assert unknown is not None and unknown.host == "nas7" and not unknown.inferred


def test_accounts_by_spelling(case_dir: Path) -> None:
    found = _identities(case_dir)
    windows = found.account("CORP\\alice")
    upn = found.account("alice@corp.example")
    kerberos = found.account("alice@CORP")
    bare = found.account("alice")
    assert windows is not None and upn is not None and kerberos is not None and bare is not None
    assert {windows.key, upn.key, kerberos.key, bare.key} == {"CORP\\alice"}
    assert not windows.inferred and not kerberos.inferred
    assert upn.inferred and upn.reasons[0].code == "identity.account-domain"
    assert bare.inferred and bare.reasons[0].code == "identity.account-name"
    # bob exists in two domains: a bare "bob" is not guessed
    bob = found.account("bob")
    assert bob is not None and bob.key == "bob" and not bob.inferred
    # a machine's own account is one per host
    one = found.account("NT AUTHORITY\\SYSTEM", "fs1.corp.example")
    two = found.account("NT AUTHORITY\\SYSTEM", "web1.corp.example")
    assert one is not None and two is not None and one.local and one.key != two.key
