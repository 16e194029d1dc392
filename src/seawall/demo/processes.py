"""Process creation events: Sysmon 1 on the servers that run Sysmon, Security 4688 on FS01.

One :class:`Processes` per host keeps the processes it started, so that a child names its
parent exactly as Windows would: Sysmon's ``ParentProcessGuid``/``ParentImage``/
``ParentCommandLine``, 4688's creator ``ProcessId`` and ``ParentProcessName``. The images'
version info and hashes are those of the binaries in the host's generated file tree (the same
generated PE, or PuTTY's real bytes), so the events and the files agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from seawall.demo.files import (
    IIS_TOOLS,
    PUTTY_INFO,
    RAR_INFO,
    SYSTEM_TOOLS,
    PuttyBuild,
    generated_pe,
)
from seawall.demo.pe import VersionInfo
from seawall.demo.winlog import SECURITY, SYSMON, SYSTEM_USER, EventLog, sysmon_time

_MS = "Microsoft Corporation"
_WINDOWS = "Microsoft® Windows® Operating System"


def _ms(original: str, description: str) -> VersionInfo:
    return VersionInfo(
        original,
        description,
        _MS,
        _WINDOWS,
        (10, 0, 17763, 1),
        file_version="10.0.17763.1 (WinBuild.160101.0800)",
    )


# Images that run but whose files the trees do not hold (or hold elsewhere): version info only.
OTHER_IMAGES: dict[str, tuple[VersionInfo | None, int]] = {
    "c:\\windows\\system32\\systeminfo.exe": (
        _ms("sysinfo.exe", "Displays system information"),
        40_000,
    ),
    "c:\\windows\\system32\\nltest.exe": (
        _ms("nltestrk.exe", "Microsoft® Logon Server Test Utility"),
        50_000,
    ),
    "c:\\windows\\system32\\userinit.exe": (
        _ms("USERINIT.EXE", "Userinit Logon Application"),
        30_000,
    ),
    "c:\\windows\\system32\\taskhostw.exe": (
        _ms("taskhostw.exe", "Host Process for Windows Tasks"),
        80_000,
    ),
    "c:\\windows\\system32\\wbem\\wmiprvse.exe": (_ms("Wmiprvse.exe", "WMI Provider Host"), 50_000),
    "c:\\windows\\microsoft.net\\framework64\\v4.0.30319\\csc.exe": (
        VersionInfo(
            "csc.exe",
            "Visual C# Command Line Compiler",
            _MS,
            "Microsoft® .NET Framework",
            (4, 8, 4084, 0),
        ),
        60_000,
    ),
    "c:\\windows\\microsoft.net\\framework64\\v4.0.30319\\cvtres.exe": (
        VersionInfo(
            "CVTRES.EXE",
            "Microsoft® Resource File To COFF Object Conversion Utility",
            _MS,
            "Microsoft® .NET Framework",
            (14, 10, 25028, 0),
        ),
        30_000,
    ),
    "c:\\windows\\system32\\mmc.exe": (_ms("MMC.EXE", "Microsoft Management Console"), 60_000),
    "c:\\windows\\system32\\iisreset.exe": (_ms("iisreset.exe", "IIS Restart Utility"), 15_000),
    "c:\\users\\public\\psexec64.exe": (
        VersionInfo(
            "psexec.c",
            "Execute processes remotely",
            "Sysinternals - www.sysinternals.com",
            "Sysinternals PsExec",
            (2, 43, 0, 0),
        ),
        400_000,
    ),
    "c:\\windows\\psexesvc.exe": (
        VersionInfo(
            "psexesvc.exe",
            "PsExec Service",
            "Sysinternals - www.sysinternals.com",
            "Sysinternals PsExec",
            (2, 43, 0, 0),
        ),
        200_000,
    ),
    "c:\\windows\\temp\\wuauhelp.exe": (None, 140_000),
}


@dataclass(frozen=True, slots=True)
class Proc:
    """A started process: what its children need to name it."""

    guid: str
    pid: int
    image: str
    command_line: str
    user: str


def windows_path(relative: str) -> str:
    return "C:\\" + relative.replace("/", "\\")


@cache
def _image_bytes(seed: int, image: str, putty: PuttyBuild) -> tuple[VersionInfo | None, bytes]:
    """The version info and bytes of the binary at Windows path ``image`` (lower case)."""
    for table in (SYSTEM_TOOLS, IIS_TOOLS):
        for relative, (info, size) in table.items():
            if windows_path(relative).lower() == image:
                name = relative.rsplit("/", 1)[-1].lower()
                return info, generated_pe(seed, name, info, size, False)
    if image.endswith("\\putty.exe"):
        return PUTTY_INFO, putty.putty
    if image.endswith("\\msadcs.exe") or image.endswith("\\rar.exe"):
        return RAR_INFO, generated_pe(seed, "rar.exe", RAR_INFO, 300_000, False)
    if image in OTHER_IMAGES:
        other, size = OTHER_IMAGES[image]
        name = image.rsplit("\\", 1)[-1]
        return other, generated_pe(seed, name, other, size, False)
    return None, hashlib.sha256(f"{seed}:{image}".encode()).digest()


EXPLORER = "C:\\Windows\\explorer.exe"
USERINIT = "C:\\Windows\\System32\\userinit.exe"


class Processes:
    """Process creations of one host, in Sysmon 1 or Security 4688 form."""

    def __init__(self, log: EventLog, putty: PuttyBuild, *, sysmon: bool) -> None:
        self.log = log
        self.putty = putty
        self.sysmon = sysmon
        self.count = 0
        self.sysmon_pid = 2248

    def start(
        self,
        time: datetime,
        image: str,
        command_line: str,
        *,
        user: str,
        parent: Proc | None,
        cwd: str = "C:\\Windows\\system32\\",
        integrity: str = "High",
        logon_id: str = "0x3e7",
        session: int = 0,
        item: str | None = None,
        user_sid: str = "S-1-5-18",
    ) -> Proc:
        """Record a process start; returns the process, to be the parent of others."""
        self.count += 1
        pid = 1000 + (self.count * 7919) % 60000 // 4 * 4
        guid = self.log.guid("process", self.count, time)
        proc = Proc(guid, pid, image, command_line, user)
        info, data = _image_bytes(self.log.seed, image.lower(), self.putty)
        if self.sysmon:
            self._sysmon(time, proc, info, data, parent, cwd, integrity, logon_id, session, item)
        else:
            self._security(time, proc, parent, integrity, logon_id, item, user_sid)
        return proc

    def desktop(
        self,
        time: datetime,
        shell_at: datetime,
        *,
        user: str,
        logon_id: str,
        session: int,
        integrity: str = "Medium",
    ) -> Proc:
        """An interactive session's start: userinit at ``time``, then the Explorer shell it
        starts at ``shell_at``; returns the shell, the parent of what the user runs."""
        init = self.start(
            time, USERINIT, USERINIT, user=user, parent=None, logon_id=logon_id, session=session
        )
        return self.start(
            shell_at,
            EXPLORER,
            EXPLORER,
            user=user,
            parent=init,
            logon_id=logon_id,
            session=session,
            integrity=integrity,
        )

    def _sysmon(
        self,
        time: datetime,
        proc: Proc,
        info: VersionInfo | None,
        data: bytes,
        parent: Proc | None,
        cwd: str,
        integrity: str,
        logon_id: str,
        session: int,
        item: str | None,
    ) -> None:
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest().upper()
        sha256 = hashlib.sha256(data).hexdigest().upper()
        fields = {
            "RuleName": "-",
            "UtcTime": sysmon_time(time),
            "ProcessGuid": proc.guid,
            "ProcessId": str(proc.pid),
            "Image": proc.image,
            "FileVersion": (info.file_version or ".".join(map(str, info.version))) if info else "-",
            "Description": info.description if info else "-",
            "Product": info.product if info else "-",
            "Company": info.company if info else "-",
            "OriginalFileName": info.original_name if info else "-",
            "CommandLine": proc.command_line,
            "CurrentDirectory": cwd,
            "User": proc.user,
            "LogonGuid": self.log.guid("logon", int(logon_id, 16), time.replace(hour=0, minute=0)),
            "LogonId": logon_id,
            "TerminalSessionId": str(session),
            "IntegrityLevel": integrity,
            "Hashes": f"MD5={md5},SHA256={sha256}",
            "ParentProcessGuid": parent.guid if parent else "-",
            "ParentProcessId": str(parent.pid) if parent else "-",
            "ParentImage": parent.image if parent else "-",
            "ParentCommandLine": parent.command_line if parent else "-",
            "ParentUser": parent.user if parent else "-",
        }
        self.log.add(
            time,
            SYSMON,
            1,
            fields,
            user=SYSTEM_USER,
            pid=self.sysmon_pid,
            tid=3000 + self.count % 900,
            item=item,
        )

    def _security(
        self,
        time: datetime,
        proc: Proc,
        parent: Proc | None,
        integrity: str,
        logon_id: str,
        item: str | None,
        user_sid: str,
    ) -> None:
        domain, _, name = proc.user.rpartition("\\")
        label = {"System": "S-1-16-16384", "High": "S-1-16-12288", "Medium": "S-1-16-8192"}
        fields = {
            "SubjectUserSid": user_sid,
            "SubjectUserName": name,
            "SubjectDomainName": domain,
            "SubjectLogonId": logon_id,
            "NewProcessId": hex(proc.pid),
            "NewProcessName": proc.image,
            "TokenElevationType": "%%1936",
            "ProcessId": hex(parent.pid) if parent else "0x4",
            "CommandLine": proc.command_line,
            "TargetUserSid": "S-1-0-0",
            "TargetUserName": "-",
            "TargetDomainName": "-",
            "TargetLogonId": "0x0",
            "ParentProcessName": parent.image if parent else "",
            "MandatoryLabel": label.get(integrity, "S-1-16-12288"),
        }
        self.log.add(
            time,
            SECURITY,
            4688,
            fields,
            keywords=("Audit Success",),
            pid=4,
            tid=5000 + self.count % 700,
            item=item,
        )
