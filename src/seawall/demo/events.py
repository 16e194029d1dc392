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

from seawall.demo.clock import BASE, DAYS, at
from seawall.demo.evidence import EvidenceFile, Manifest
from seawall.demo.files import PuttyBuild
from seawall.demo.hostlog import (
    CMD,
    POOL_USER,
    SVCHOST,
    SYSTEM,
    UPDATE_DAY,
    VPN_POOL,
    W3WP,
    HostLog,
    computer_sid,
    workday,
)
from seawall.demo.intrusion import attack
from seawall.demo.logons import (
    Logon,
    failed_logon,
    kerberos_service,
    kerberos_tgt,
    logoff,
    logon,
    rdp_authenticated,
    rdp_session,
    share_access,
)
from seawall.demo.processes import Proc
from seawall.demo.scenario import APP_POOL, DOMAIN, Account, Scenario


def _person_logon(
    host: HostLog,
    time: datetime,
    who: Account,
    ip: str,
    workstation: str,
    hours: float,
    share: bool,
) -> None:
    """A person's network session on a server: logon, the Projects share, logoff."""
    ident = host.logon_id()
    logon(host.log, time, Logon(who, 3, ip, workstation), ident)
    if share:
        rng = random.Random(f"{host.scenario.seed}:share:{ident}")
        me = (who.sid, who.name, DOMAIN)
        share_access(
            host.log,
            time + timedelta(seconds=1),
            me,
            ident,
            ip,
            "Projects",
            "\\??\\C:\\Shares\\Projects",
        )
        for _ in range(rng.randint(1, 4)):
            project = rng.choice(("Hull-Design", "Ferry-Refit", "Tug-Series-7", "Barge-2024"))
            share_access(
                host.log,
                time + timedelta(seconds=rng.randint(2, 3000)),
                me,
                ident,
                ip,
                "Projects",
                "\\??\\C:\\Shares\\Projects",
                target=f"{project}\\Drawings",
            )
    logoff(host.log, time + timedelta(hours=hours), who, ident, 3)


def _people(scenario: Scenario, dc: HostLog, fs: HostLog, rng: random.Random, day: int) -> None:
    """Everyone's working day ``day``: tickets and logons at the DC, sessions on the file server."""
    for index, person in enumerate(scenario.users):
        station, ip = scenario.workstation_of(person)
        if not workday(day) and rng.random() > 0.05:
            continue
        remote = rng.random() < 0.1
        source = f"{VPN_POOL}{10 + index % 200}" if remote else ip
        start = at(day, 0, rng.randint(0, 90), rng.uniform(0, 59))
        if rng.random() < 0.06:  # a mistyped password first
            failed_logon(
                dc.log,
                start - timedelta(seconds=rng.randint(5, 40)),
                person,
                source,
                station,
                50_000 + index,
            )
        kerberos_tgt(dc.log, start, person, source)
        kerberos_service(dc.log, start + timedelta(seconds=1), person, source, f"{station}$")
        ident = dc.logon_id()
        logon(dc.log, start + timedelta(seconds=2), Logon(person, 3, source, station), ident)
        logoff(dc.log, start + timedelta(seconds=3), person, ident, 3)
        for _ in range(rng.randint(1, 3)):
            when = start + timedelta(minutes=rng.randint(2, 480))
            kerberos_service(dc.log, when - timedelta(seconds=1), person, source, "FS01$")
            _person_logon(fs, when, person, source, station, rng.uniform(0.2, 3), True)


def _backups(scenario: Scenario, fs: HostLog, day: int) -> None:
    """BKP01's computer account maps C$ on the file server every night (allowlisted)."""
    bkp_ip = scenario.hosts["BKP01"].ip
    who = (computer_sid("BKP01"), "BKP01$", DOMAIN)
    time = at(day, 18, 0, 4)
    ident = fs.logon_id()
    logon(
        fs.log,
        time,
        Logon(None, 3, bkp_ip, "BKP01", computer_account="BKP01$"),
        ident,
        computer_sid=who[0],
    )
    share_access(fs.log, time + timedelta(seconds=1), who, ident, bkp_ip, "C$", "\\??\\C:\\")
    share_access(
        fs.log,
        time + timedelta(seconds=2),
        who,
        ident,
        bkp_ip,
        "C$",
        "\\??\\C:\\",
        target="Shares\\Projects",
    )


def _admin_checks(
    scenario: Scenario, adm: HostLog, fs: HostLog, web: HostLog, rng: random.Random, day: int
) -> None:
    """The administrator's working days on ADM01: discovery commands (routine for them),
    weekly C$ checks on the file server and Remote Desktop maintenance of the web server."""
    admin = scenario.accounts["adm-kpatel"]
    adm_ip = scenario.hosts["ADM01"].ip
    qualified = admin.qualified
    if not workday(day):
        return
    start = at(day - 1, 23, 50, rng.uniform(0, 50))
    ident = adm.logon_id()
    logon(adm.log, start, Logon(admin, 2, "127.0.0.1", "ADM01", "Negotiate"), ident)
    lid = hex(ident)
    shell = adm.procs.desktop(
        start + timedelta(seconds=5),
        start + timedelta(seconds=6),
        user=qualified,
        logon_id=lid,
        session=1,
    )
    checks = start + timedelta(minutes=25)
    cmd = adm.procs.start(
        checks,
        CMD,
        '"C:\\Windows\\system32\\cmd.exe"',
        user=qualified,
        parent=shell,
        logon_id=lid,
        session=1,
        cwd="C:\\Users\\adm-kpatel\\",
    )
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
        adm.procs.start(
            when,
            image,
            line,
            user=qualified,
            parent=cmd,
            logon_id=lid,
            session=1,
            cwd="C:\\Users\\adm-kpatel\\",
        )
    if day in (1, 8):  # weekly look at the file server's disk
        when += timedelta(minutes=4)
        adm.procs.start(
            when,
            "C:\\Windows\\System32\\net.exe",
            "net use \\\\fs01\\C$",
            user=qualified,
            parent=cmd,
            logon_id=lid,
            session=1,
        )
        fs_id = fs.logon_id()
        logon(fs.log, when + timedelta(seconds=1), Logon(admin, 3, adm_ip, "ADM01"), fs_id)
        me = (admin.sid, admin.name, DOMAIN)
        share_access(fs.log, when + timedelta(seconds=1), me, fs_id, adm_ip, "C$", "\\??\\C:\\")
        logoff(fs.log, when + timedelta(minutes=9), admin, fs_id, 3)
    if day in (2, 9):  # Remote Desktop maintenance of the web server
        _admin_rdp(web, adm, admin, when + timedelta(minutes=30), cmd, lid)


def _admin_rdp(
    web: HostLog, adm: HostLog, admin: Account, time: datetime, cmd: Proc, lid: str
) -> None:
    adm.procs.start(
        time,
        "C:\\Windows\\System32\\mstsc.exe",
        "mstsc.exe /v:web01",
        user=admin.qualified,
        parent=cmd,
        logon_id=lid,
        session=1,
        integrity="Medium",
    )
    adm_ip = adm.log.host.ip
    rdp_authenticated(web.log, time + timedelta(seconds=4), admin, adm_ip)
    ident = web.logon_id()
    logon(
        web.log, time + timedelta(seconds=5), Logon(admin, 10, adm_ip, "ADM01", "Negotiate"), ident
    )
    rdp_session(web.log, time + timedelta(seconds=7), admin, adm_ip, 2)
    wid = hex(ident)
    shell = web.procs.desktop(
        time + timedelta(seconds=8),
        time + timedelta(seconds=9),
        user=admin.qualified,
        logon_id=wid,
        session=2,
        integrity="High",
    )
    web.procs.start(
        time + timedelta(minutes=2),
        "C:\\Windows\\System32\\mmc.exe",
        '"C:\\Windows\\system32\\mmc.exe" "C:\\Windows\\system32\\inetsrv\\iis.msc"',
        user=admin.qualified,
        parent=shell,
        logon_id=wid,
        session=2,
    )
    web.procs.start(
        time + timedelta(minutes=6),
        "C:\\Windows\\System32\\inetsrv\\appcmd.exe",
        "appcmd list apppool",
        user=admin.qualified,
        parent=shell,
        logon_id=wid,
        session=2,
    )
    logoff(web.log, time + timedelta(minutes=21), admin, ident, 10)


def _iis_workers(web: HostLog) -> list[tuple[datetime, Proc]]:
    """IIS starts its worker at boot and recycles it every 29 hours (the default); ASP.NET
    compiles the site on the first start."""
    was = web.procs.start(
        at(0, 0, 0, 40),
        SVCHOST,
        "C:\\Windows\\system32\\svchost.exe -k iissvcs",
        user=SYSTEM,
        parent=None,
        integrity="System",
    )
    workers: list[tuple[datetime, Proc]] = []
    start = web.scenario.times["iis_start"]
    line = (
        f'c:\\windows\\system32\\inetsrv\\w3wp.exe -ap "{APP_POOL}" -v "v4.0" -l'
        ' "webengine4.dll" -a \\\\.\\pipe\\iisipm8d5c6f1e-2c51-4bf8-a8ad-0f25b0ef4ab3 -h'
        f' "C:\\inetpub\\temp\\apppools\\{APP_POOL}\\{APP_POOL}.config" -w "" -m 0'
    )
    while start < at(DAYS):
        worker = web.procs.start(
            start, W3WP, line, user=POOL_USER, parent=was, cwd="C:\\Windows\\system32\\inetsrv\\"
        )
        workers.append((start, worker))
        if len(workers) == 1:
            csc = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe"
            compiled = web.procs.start(
                start + timedelta(seconds=14),
                csc,
                f'"{csc}" /noconfig /fullpaths @"C:\\Windows\\Microsoft.NET\\Framework64\\'
                'v4.0.30319\\Temporary ASP.NET Files\\root\\6f3a1c2e\\b6d1f0a4\\xk4lmzqv.cmdline"',
                user=POOL_USER,
                parent=worker,
            )
            cvtres = "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\cvtres.exe"
            web.procs.start(
                start + timedelta(seconds=15),
                cvtres,
                f'"{cvtres}" /NOLOGO /READONLY /MACHINE:IX86 "/OUT:C:\\Windows\\TEMP\\RES6A1F.tmp"',
                user=POOL_USER,
                parent=compiled,
            )
        start += timedelta(hours=29)
    return workers


def write_events(scenario: Scenario, evidence: Path, manifest: Manifest, putty: PuttyBuild) -> None:
    """Write ``evidence/events/HOST.winlogbeat.ndjson`` for DC01, FS01, WEB01 and ADM01."""
    rng = scenario.rng("events")
    web = HostLog(scenario, "WEB01", putty, sysmon=True)
    fs = HostLog(scenario, "FS01", putty, sysmon=False)
    dc = HostLog(scenario, "DC01", putty, sysmon=False)
    adm = HostLog(scenario, "ADM01", putty, sysmon=True)
    folder = evidence / "events"
    firsts = {"WEB01": 1_204_553, "FS01": 3_908_211, "DC01": 18_330_406, "ADM01": 402_118}
    hosts = (dc, fs, web, adm)
    for host in hosts:
        name = host.log.host.name
        host.log.open(folder / f"{name}.winlogbeat.ndjson", manifest, firsts[name])
    per_day = 24 * scenario.scale
    beats = {h.log.host.name: scenario.rng(f"events:heartbeat:{h.log.host.name}") for h in hosts}
    people, admin = scenario.rng("events:people"), scenario.rng("events:admin")
    workers = _iis_workers(web)
    # Day by day, writing as it goes (memory stays that of a day whatever the scale): what a
    # day adds is never earlier than the evening before, so everything before then is final.
    for day in range(DAYS):
        for host in (web, fs, adm):
            host.heartbeats(beats[host.log.host.name], per_day, day)
            if day == UPDATE_DAY:  # the backup agent's update reinstalls its service
                host.service_update(rng)
        _people(scenario, dc, fs, people, day)
        _backups(scenario, fs, day)
        _admin_checks(scenario, adm, fs, web, admin, day)
        if day == (scenario.times["recon_start"] - BASE).days:
            attack(scenario, web, fs, dc, workers, scenario.rng("events:attack"))
        for host in hosts:
            host.log.flush(at(day) - timedelta(hours=1))
    total = sum(host.log.close() for host in hosts)
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
