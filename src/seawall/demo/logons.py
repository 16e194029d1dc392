"""Security events of authentication and file sharing, as Windows writes their fields.

Logons (4624), failures (4625), logoffs (4634), Kerberos tickets (4768, 4769), share access
(5140) and share object checks (5145), Remote Desktop (RemoteConnectionManager 1149,
LocalSessionManager 21) and service installs (System 7045). Field names, ``%%`` message
codes and the spacing Windows leaves in them (``"User32 "``, ``"NtLmSsp "``) are Windows'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seawall.demo.scenario import DOMAIN, Account
from seawall.demo.winlog import (
    RDP_AUTH,
    RDP_SESSION,
    SECURITY,
    SYSTEM,
    SYSTEM_USER,
    EventLog,
    user_of,
)

NULL_SID = "S-1-0-0"
SUCCESS = ("Audit Success",)
FAILURE = ("Audit Failure",)


@dataclass(frozen=True, slots=True)
class Logon:
    """Who logs on, from where, and how (``package``: Kerberos, NTLM or Negotiate)."""

    account: Account | None
    logon_type: int
    source_ip: str
    workstation: str
    package: str = "Kerberos"
    computer_account: str | None = None
    """A machine account (``BKP01$``) logging on instead of a person."""


def logon(
    log: EventLog,
    time: datetime,
    session: Logon,
    logon_id: int,
    *,
    item: str | None = None,
    computer_sid: str = "",
) -> None:
    """4624: the session's logon (network, interactive, Remote Desktop, service)."""
    if session.computer_account is not None:
        target_sid, target_name, target_domain = computer_sid, session.computer_account, DOMAIN
    else:
        assert session.account is not None
        target_sid, target_name, target_domain = session.account.sid, session.account.name, DOMAIN
    network = session.logon_type in (3, 8)
    process_name = {
        2: "C:\\Windows\\System32\\svchost.exe",
        5: "C:\\Windows\\System32\\services.exe",
        10: "C:\\Windows\\System32\\svchost.exe",
    }.get(session.logon_type, "-")
    logon_process = {
        2: "User32 ",
        10: "User32 ",
        5: "Advapi  ",
    }.get(session.logon_type, "Kerberos" if session.package == "Kerberos" else "NtLmSsp ")
    fields = {
        "SubjectUserSid": NULL_SID if network else "S-1-5-18",
        "SubjectUserName": "-" if network else f"{log.host.name}$",
        "SubjectDomainName": "-" if network else DOMAIN,
        "SubjectLogonId": "0x0" if network else "0x3e7",
        "TargetUserSid": target_sid,
        "TargetUserName": target_name,
        "TargetDomainName": target_domain,
        "TargetLogonId": hex(logon_id),
        "LogonType": str(session.logon_type),
        "LogonProcessName": logon_process,
        "AuthenticationPackageName": session.package,
        "WorkstationName": session.workstation,
        "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TransmittedServices": "-",
        "LmPackageName": "NTLM V2" if session.package == "NTLM" else "-",
        "KeyLength": "128" if session.package == "NTLM" else "0",
        "ProcessId": "0x0" if network else "0x2c4",
        "ProcessName": process_name,
        "IpAddress": session.source_ip,
        "IpPort": str(49152 + logon_id % 16000) if session.source_ip != "-" else "-",
        "ImpersonationLevel": "%%1833",
        "RestrictedAdminMode": "%%1843" if session.logon_type == 10 else "-",
        "TargetOutboundUserName": "-",
        "TargetOutboundDomainName": "-",
        "VirtualAccount": "%%1843",
        "TargetLinkedLogonId": "0x0",
        "ElevatedToken": "%%1842",
    }
    log.add(
        time,
        SECURITY,
        4624,
        fields,
        keywords=SUCCESS,
        pid=716,
        tid=2000 + logon_id % 900,
        item=item,
    )


def logoff(log: EventLog, time: datetime, account: Account, logon_id: int, logon_type: int) -> None:
    fields = {
        "TargetUserSid": account.sid,
        "TargetUserName": account.name,
        "TargetDomainName": DOMAIN,
        "TargetLogonId": hex(logon_id),
        "LogonType": str(logon_type),
    }
    log.add(time, SECURITY, 4634, fields, keywords=SUCCESS, pid=716, tid=2100 + logon_id % 900)


def failed_logon(
    log: EventLog, time: datetime, account: Account, source_ip: str, workstation: str, port: int
) -> None:
    """4625: a mistyped password (``0xc000006a``) from a workstation."""
    fields = {
        "SubjectUserSid": NULL_SID,
        "SubjectUserName": "-",
        "SubjectDomainName": "-",
        "SubjectLogonId": "0x0",
        "TargetUserSid": NULL_SID,
        "TargetUserName": account.name,
        "TargetDomainName": DOMAIN,
        "Status": "0xc000006d",
        "FailureReason": "%%2313",
        "SubStatus": "0xc000006a",
        "LogonType": "3",
        "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": workstation,
        "TransmittedServices": "-",
        "LmPackageName": "-",
        "KeyLength": "0",
        "ProcessId": "0x0",
        "ProcessName": "-",
        "IpAddress": source_ip,
        "IpPort": str(port),
    }
    log.add(time, SECURITY, 4625, fields, keywords=FAILURE, pid=716, tid=2222)


def kerberos_tgt(log: EventLog, time: datetime, account: Account, source_ip: str) -> None:
    """4768 on the domain controller: a TGT for ``account``."""
    fields = {
        "TargetUserName": account.name,
        "TargetDomainName": DOMAIN,
        "TargetSid": account.sid,
        "ServiceName": "krbtgt",
        "ServiceSid": f"{account.sid.rsplit('-', 1)[0]}-502",
        "TicketOptions": "0x40810010",
        "Status": "0x0",
        "TicketEncryptionType": "0x12",
        "PreAuthType": "2",
        "IpAddress": f"::ffff:{source_ip}",
        "IpPort": "0",
        "CertIssuerName": "",
        "CertSerialNumber": "",
        "CertThumbprint": "",
    }
    log.add(time, SECURITY, 4768, fields, keywords=SUCCESS, pid=712, tid=1720)


def kerberos_service(
    log: EventLog, time: datetime, account: Account, source_ip: str, service: str
) -> None:
    """4769 on the domain controller: a service ticket (``service`` is e.g. ``FS01$``)."""
    fields = {
        "TargetUserName": f"{account.name}@{DOMAIN}",
        "TargetDomainName": DOMAIN,
        "ServiceName": service,
        "ServiceSid": f"{account.sid.rsplit('-', 1)[0]}-{1000 + len(service)}",
        "TicketOptions": "0x40810000",
        "TicketEncryptionType": "0x12",
        "IpAddress": f"::ffff:{source_ip}",
        "IpPort": "0",
        "Status": "0x0",
        "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TransmittedServices": "-",
    }
    log.add(time, SECURITY, 4769, fields, keywords=SUCCESS, pid=712, tid=1724)


def share_access(
    log: EventLog,
    time: datetime,
    who: tuple[str, str, str],
    logon_id: int,
    source_ip: str,
    share: str,
    local_path: str,
    *,
    target: str | None = None,
    item: str | None = None,
) -> None:
    """5140 (``target`` None) or 5145 for ``\\\\*\\SHARE``; ``who`` is (sid, name, domain)."""
    sid, name, domain = who
    fields = {
        "SubjectUserSid": sid,
        "SubjectUserName": name,
        "SubjectDomainName": domain,
        "SubjectLogonId": hex(logon_id),
        "ObjectType": "File",
        "IpAddress": source_ip,
        "IpPort": str(49152 + logon_id % 16000),
        "ShareName": f"\\\\*\\{share}",
        "ShareLocalPath": local_path,
    }
    event_id = 5140
    if target is not None:
        event_id = 5145
        fields["RelativeTargetName"] = target
        fields["AccessMask"] = "0x100081"
        fields["AccessReason"] = "-"
    else:
        fields["AccessMask"] = "0x1"
        fields["AccessList"] = "%%4416\n\t\t\t\t"
    log.add(
        time,
        SECURITY,
        event_id,
        fields,
        keywords=SUCCESS,
        pid=4,
        tid=4400 + logon_id % 90,
        item=item,
    )


def rdp_authenticated(
    log: EventLog, time: datetime, account: Account, source_ip: str, item: str | None = None
) -> None:
    """RemoteConnectionManager 1149: "Remote Desktop Services: User authentication succeeded"."""
    fields = {"Param1": account.name, "Param2": DOMAIN, "Param3": source_ip}
    log.add(
        time,
        RDP_AUTH,
        1149,
        fields,
        user_data="EventXML",
        user=user_of("NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20"),
        pid=1136,
        tid=3320,
        item=item,
    )


def rdp_session(
    log: EventLog,
    time: datetime,
    account: Account,
    source_ip: str,
    session: int,
    item: str | None = None,
) -> None:
    """LocalSessionManager 21: "Remote Desktop Services: Session logon succeeded"."""
    fields = {"User": account.qualified, "SessionID": str(session), "Address": source_ip}
    log.add(
        time,
        RDP_SESSION,
        21,
        fields,
        user_data="EventXML",
        user=SYSTEM_USER,
        pid=1020,
        tid=1444,
        item=item,
    )


def service_installed(
    log: EventLog,
    time: datetime,
    name: str,
    image_path: str,
    installer: Account | None,
    *,
    start_type: str = "demand start",
    account: str = "LocalSystem",
    item: str | None = None,
) -> None:
    """System 7045 "A service was installed in the system" (the installer as its UserID)."""
    fields = {
        "ServiceName": name,
        "ImagePath": image_path,
        "ServiceType": "user mode service",
        "StartType": start_type,
        "AccountName": account,
    }
    user = user_of(installer.name, DOMAIN, installer.sid) if installer else SYSTEM_USER
    log.add(time, SYSTEM, 7045, fields, user=user, pid=720, tid=3960, item=item)
