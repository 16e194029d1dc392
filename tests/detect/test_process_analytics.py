"""The process-based analytics on events built as Windows and Sysmon write them: the admin
command inventory, bursts, unusual parents, server shells, encoded PowerShell, archives, LSASS
reads, services, log clearing and privileged groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import Finding, ResultDocument
from tests.evtx_rows import POWERSHELL, SYSMON, SYSTEM, event, load_events

W = "C:\\Windows\\System32\\"


def _hunt(case_dir: Path, rows: list[dict[str, Any]], *ids: str, **params: Any) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
        document = hunt(
            store,
            HuntRequest(detection_ids=ids, parameters={ids[0]: params} if params else {}),
        )
    assert all(e.status == "ran" for e in document.coverage), document.coverage
    return document


def _found(document: ResultDocument, ident: str) -> list[Finding]:
    return [f for f in document.findings if f.detection_id == ident]


def sysmon1(
    image: str,
    command_line: str,
    *,
    parent: str = W + "cmd.exe",
    user: str = "CORP\\bob",
    time: str = "2024-03-01T10:00:00Z",
    guid: str = "",
    parent_guid: str = "",
    original: str | None = None,
    computer: str = "ws1",
) -> dict[str, Any]:
    data = {
        "Image": image,
        "CommandLine": command_line,
        "ParentImage": parent,
        "User": user,
        "ProcessGuid": guid,
        "ParentProcessGuid": parent_guid,
    }
    if original is not None:
        data["OriginalFileName"] = original
    return event(1, data, channel=SYSMON, time=time, computer=computer)


def test_admin_command_inventory(case_dir: Path) -> None:
    rows = [
        sysmon1(W + "whoami.exe", "whoami /all", time="2024-03-01T10:00:00Z"),
        sysmon1(W + "whoami.exe", "whoami", time="2024-03-01T11:00:00Z"),
        # net.exe starts net1.exe with the same arguments: one run.
        sysmon1(W + "net.exe", 'net group "domain admins" /domain', guid="{n}"),
        sysmon1(
            W + "net1.exe",
            'C:\\Windows\\system32\\net1 group "domain admins" /domain',
            parent=W + "net.exe",
            parent_guid="{n}",
        ),
        # A renamed ipconfig is known by the name its PE carries.
        sysmon1("C:\\Users\\Public\\i.exe", "i.exe /all", original="ipconfig.exe"),
        # Windows' own build names differ from the names typed: nltestrk.exe, sysinfo.exe.MUI
        sysmon1(W + "nltest.exe", "nltest /dclist:corp", original="nltestrk.exe"),
        sysmon1(W + "systeminfo.exe", "systeminfo", original="sysinfo.exe.MUI"),
        # Not discovery: a net sub-command, registry writes.
        sysmon1(W + "reg.exe", "reg add HKCU\\x /v y /d z"),
        event(
            4688,
            {
                "NewProcessName": W + "ipconfig.exe",
                "CommandLine": "ipconfig",
                "SubjectUserName": "alice",
                "SubjectDomainName": "CORP",
                "TargetUserName": "-",
            },
        ),
        # PowerShell: a command where a statement starts counts, the word in a comment not.
        event(
            4104,
            {"ScriptBlockText": "# route the output\n$x = 1; nltest /dclist:corp\n"},
            channel=POWERSHELL,
            user_name="CORP\\carol",
        ),
    ]
    document = _hunt(case_dir, rows, "evtx.admin-commands")
    found = {
        (f.user, f.evidence[0].row["command"]): f for f in _found(document, "evtx.admin-commands")
    }
    assert set(found) == {
        ("CORP\\bob", "whoami"),
        ("CORP\\bob", "net group"),
        ("CORP\\bob", "ipconfig"),
        ("CORP\\alice", "ipconfig"),
        ("CORP\\carol", "nltest"),
        ("CORP\\bob", "nltest"),
        ("CORP\\bob", "systeminfo"),
    }
    whoami = found[("CORP\\bob", "whoami")]
    assert whoami.evidence[0].row["runs"] == 2 and whoami.severity == "info"
    assert whoami.techniques == ["T1033"]
    assert [e.provenance.record_ref for e in whoami.evidence[1:]] == ["record 1", "record 2"]
    assert found[("CORP\\bob", "net group")].evidence[0].row["runs"] == 1
    assert found[("CORP\\bob", "net group")].techniques == ["T1069", "T1087"]
    assert found[("CORP\\carol", "nltest")].evidence[0].row["seen_in"] == ["PowerShell 4104"]


def test_burst_needs_several_commands_within_the_window(case_dir: Path) -> None:
    rows = [
        sysmon1(W + "whoami.exe", "whoami", time="2024-03-01T10:00:00Z"),
        sysmon1(W + "ipconfig.exe", "ipconfig /all", time="2024-03-01T10:02:00Z"),
        sysmon1(W + "systeminfo.exe", "systeminfo", time="2024-03-01T10:05:00Z"),
        sysmon1(W + "nltest.exe", "nltest /domain_trusts", time="2024-03-01T10:09:00Z"),
        # An hour later: a new episode, with only two commands (and ping does not count).
        sysmon1(W + "whoami.exe", "whoami", time="2024-03-01T11:30:00Z"),
        sysmon1(W + "ping.exe", "ping dc1", time="2024-03-01T11:31:00Z"),
        sysmon1(W + "netstat.exe", "netstat -ano", time="2024-03-01T11:32:00Z"),
        # Another account on the same host at the same time: its own burst count.
        sysmon1(W + "hostname.exe", "hostname", user="CORP\\svc", time="2024-03-01T10:01:00Z"),
    ]
    document = _hunt(case_dir, rows, "evtx.recon-burst")
    bursts = _found(document, "evtx.recon-burst")
    assert len(bursts) == 1
    burst = bursts[0]
    assert burst.user == "CORP\\bob" and burst.score == 58.0
    assert burst.evidence[0].row["commands"] == ["ipconfig", "nltest", "systeminfo", "whoami"]
    assert burst.first_seen is not None and burst.first_seen.hour == 10
    assert set(burst.techniques) == {"T1016", "T1018", "T1033", "T1082", "T1482"}
    narrower = _hunt(case_dir, [], "evtx.recon-burst", window_minutes=2)
    assert _found(narrower, "evtx.recon-burst") == []


def test_unusual_parent_through_the_grandparent(case_dir: Path) -> None:
    w3wp = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"
    rows = [
        sysmon1(
            W + "cmd.exe",
            'cmd /c "cd /d C:\\inetpub&whoami"',
            parent=w3wp,
            user="IIS APPPOOL\\web",
            guid="{cmd}",
            parent_guid="{w3wp}",
        ),
        sysmon1(
            W + "whoami.exe",
            "whoami",
            user="IIS APPPOOL\\web",
            guid="{who}",
            parent_guid="{cmd}",
            time="2024-03-01T10:00:01Z",
        ),
        # 4688 only knows process ids: the grandparent is the latest earlier creation.
        event(
            4688,
            {
                "NewProcessName": W + "cmd.exe",
                "NewProcessId": "0x100",
                "ProcessId": "0x50",
                "ParentProcessName": "C:\\Program Files\\Microsoft "
                "Office\\root\\Office16\\WINWORD.EXE",
                "CommandLine": "cmd /c ipconfig",
                "SubjectUserName": "dave",
                "SubjectDomainName": "CORP",
            },
            time="2024-03-01T09:00:00Z",
            computer="ws2",
        ),
        event(
            4688,
            {
                "NewProcessName": W + "ipconfig.exe",
                "NewProcessId": "0x200",
                "ProcessId": "0x100",
                "ParentProcessName": W + "cmd.exe",
                "CommandLine": "ipconfig",
                "SubjectUserName": "dave",
                "SubjectDomainName": "CORP",
            },
            time="2024-03-01T09:00:01Z",
            computer="ws2",
        ),
        # An administrator's shell: not unusual.
        sysmon1(W + "whoami.exe", "whoami", parent=W + "cmd.exe", guid="{x}", parent_guid="{y}"),
    ]
    document = _hunt(case_dir, rows, "evtx.recon-unusual-parent")
    found = {f.host: f for f in _found(document, "evtx.recon-unusual-parent")}
    assert set(found) == {"ws1", "ws2"}
    assert "under w3wp.exe (a server process, through cmd.exe)" in found["ws1"].summary
    assert "under winword.exe (an Office application, through cmd.exe)" in found["ws2"].summary
    assert "T1505.003" in found["ws1"].techniques and found["ws1"].severity == "high"


def test_server_shells_and_encoded_powershell(case_dir: Path) -> None:
    encoded = "dwBoAG8AYQBtAGkAOwAgAGkAcABjAG8AbgBmAGkAZwA="  # "whoami; ipconfig" (UTF-16LE)
    rows = [
        sysmon1(W + "cmd.exe", "cmd /c dir", parent="C:\\Program Files\\Apache\\bin\\httpd.exe"),
        sysmon1(W + "cmd.exe", "cmd /c set", parent="C:\\MSSQL\\Binn\\sqlservr.exe"),
        sysmon1(W + "cmd.exe", "cmd /c build.bat", parent=W + "explorer.exe"),
        sysmon1(
            W + "WindowsPowerShell\\v1.0\\powershell.exe",
            f"powershell -NoP -W Hidden -enC {encoded}",
        ),
        event(
            7045,
            {
                "ServiceName": "upd",
                "ImagePath": '%COMSPEC% /c powershell -nop -c "IEX([Text.Encoding]::UTF8.GetString('
                "[Convert]::FromBase64String('aWV4')))\"",
            },
            channel=SYSTEM,
        ),
        event(
            4104,
            {"ScriptBlockText": "$a = [Convert]::FromBase64String($b); IEX $c"},
            channel=POWERSHELL,
        ),
        # Windows PowerShell 400: unnamed <Data> values, joined as the EVTX reader writes them.
        event(
            400,
            {
                "Data": f"Available\n\tHostApplication=powershell.exe -e {encoded}\r\n\tEngine",
                "Data_1": "Available",
            },
            channel="Windows PowerShell",
            provider="PowerShell",
        ),
    ]
    document = _hunt(case_dir, rows, "evtx.webserver-shell", "evtx.encoded-powershell")
    shells = {
        f.evidence[0].row["parent_image"]: f for f in _found(document, "evtx.webserver-shell")
    }
    assert len(shells) == 2
    assert shells["C:\\MSSQL\\Binn\\sqlservr.exe"].techniques == ["T1505.001"]
    assert shells["C:\\Program Files\\Apache\\bin\\httpd.exe"].techniques == ["T1505.003"]
    encoded_findings = _found(document, "evtx.encoded-powershell")
    assert len(encoded_findings) == 4
    assert "Windows PowerShell 400" in {f.evidence[0].row["seen_in"] for f in encoded_findings}
    decoded = [f.evidence[0].row.get("decoded") for f in encoded_findings]
    assert "whoami; ipconfig" in decoded


def test_archives_lsass_services_logs_and_groups(case_dir: Path) -> None:
    rows = [
        # A renamed rar with a password: found by its syntax; the password is masked.
        sysmon1("C:\\PerfLogs\\r.exe", "r.exe a -hpS3cret! -r C:\\PerfLogs\\out.rar C:\\Users"),
        sysmon1("C:\\Program Files\\7-Zip\\7z.exe", "7z x update.7z"),
        event(
            10,
            {
                "SourceImage": "C:\\Users\\bob\\pd.exe",
                "TargetImage": W + "lsass.exe",
                "GrantedAccess": "0x1fffff",
                "CallTrace": "ntdll.dll|dbghelp.dll+1",
            },
            channel=SYSMON,
        ),
        event(
            10,
            {
                "SourceImage": W + "csrss.exe",
                "TargetImage": W + "lsass.exe",
                "GrantedAccess": "0x1fffff",
                "CallTrace": "ntdll.dll",
            },
            channel=SYSMON,
        ),
        event(
            10,
            {
                "SourceImage": "C:\\tools\\q.exe",
                "TargetImage": W + "lsass.exe",
                "GrantedAccess": "0x1000",
                "CallTrace": "ntdll.dll",
            },
            channel=SYSMON,
        ),
        event(
            7045,
            {
                "ServiceName": "PSEXESVC",
                "ImagePath": "%SystemRoot%\\PSEXESVC.exe",
                "AccountName": "LocalSystem",
            },
            channel=SYSTEM,
        ),
        event(
            7045,
            {
                "ServiceName": "Acme Agent",
                "ImagePath": '"C:\\Program Files\\Acme\\agent.exe"',
                "AccountName": "LocalSystem",
            },
            channel=SYSTEM,
        ),
        event(
            1102,
            {"LogFileCleared.SubjectUserName": "eve", "LogFileCleared.SubjectDomainName": "CORP"},
            provider="Microsoft-Windows-Eventlog",
        ),
        event(
            104,
            {"SubjectUserName": "eve", "SubjectDomainName": "CORP", "Channel": "System"},
            channel=SYSTEM,
            provider="Microsoft-Windows-Eventlog",
        ),
        # A member added to the Administrators group of a French Windows: known by its SID.
        event(
            4732,
            {
                "MemberSid": "S-1-5-21-1-2-3-1104",
                "MemberName": "-",
                "TargetUserName": "Administrateurs",
                "TargetDomainName": "Builtin",
                "TargetSid": "S-1-5-32-544",
                "SubjectUserName": "eve",
                "SubjectDomainName": "CORP",
            },
        ),
        event(
            4732,
            {
                "MemberSid": "S-1-5-21-1-2-3-1105",
                "TargetUserName": "Print Users",
                "TargetSid": "S-1-5-21-1-2-3-2001",
                "SubjectUserName": "eve",
            },
        ),
    ]
    ids = (
        "evtx.archive-password",
        "evtx.lsass-access",
        "evtx.service-install",
        "evtx.log-cleared",
        "evtx.privileged-group-change",
    )
    document = _hunt(case_dir, rows, *ids)
    archive = _found(document, "evtx.archive-password")
    assert len(archive) == 1 and archive[0].severity == "high"
    assert "-hp********" in archive[0].summary and "S3cret" not in archive[0].summary
    lsass = _found(document, "evtx.lsass-access")
    assert [f.evidence[0].row["source_image"] for f in lsass] == ["C:\\Users\\bob\\pd.exe"]
    assert lsass[0].score == 95.0
    services = {f.evidence[0].row["service"]: f for f in _found(document, "evtx.service-install")}
    assert services["PSEXESVC"].score == 80.0 and services["PSEXESVC"].severity == "high"
    assert services["Acme Agent"].score == 30.0 and services["Acme Agent"].severity == "low"
    cleared = sorted(
        str(f.evidence[0].row["cleared_log"]) for f in _found(document, "evtx.log-cleared")
    )
    assert cleared == ["Security", "System"]
    assert all(f.user == "CORP\\eve" for f in _found(document, "evtx.log-cleared"))
    groups = _found(document, "evtx.privileged-group-change")
    assert len(groups) == 1 and "Builtin\\Administrateurs" in groups[0].summary
