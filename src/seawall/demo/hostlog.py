"""One Windows host's event log while the demo writes it: its processes, its logon ids, and
the background every Windows server has (agents' heartbeats, WMI, scheduled tasks, an agent
update installing its service again)."""

from __future__ import annotations

import random

from seawall.demo.clock import at
from seawall.demo.files import PuttyBuild
from seawall.demo.logons import service_installed
from seawall.demo.processes import Proc, Processes
from seawall.demo.scenario import APP_POOL, DOMAIN, DOMAIN_SID, Scenario
from seawall.demo.winlog import EventLog

SYSTEM = "NT AUTHORITY\\SYSTEM"
POOL_USER = f"IIS APPPOOL\\{APP_POOL}"
W3WP = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"
SVCHOST = "C:\\Windows\\System32\\svchost.exe"
SERVICES = "C:\\Windows\\System32\\services.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"
AGENT = "C:\\Program Files\\Keelson Backup\\bkagent.exe"
WEBSHELL_DIR = "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\"
VPN_POOL = "10.30.0."
UPDATE_DAY = 6
"""The day the backup agent's update reinstalls its service on every server."""
COMPUTER_RID = {"WEB01": 1104, "FS01": 1105, "DC01": 1000, "ADM01": 1110, "BKP01": 1106}


def workday(day: int) -> bool:
    return day % 7 < 5


def computer_sid(name: str) -> str:
    return f"{DOMAIN_SID}-{COMPUTER_RID[name]}"


class HostLog:
    """One host's log, its processes and its logon ids."""

    def __init__(self, scenario: Scenario, name: str, putty: PuttyBuild, sysmon: bool) -> None:
        self.scenario = scenario
        self.log = EventLog(scenario.hosts[name], scenario.seed)
        self.procs = Processes(self.log, putty, sysmon=sysmon)
        self.next_logon = 0x3A000 + COMPUTER_RID[name] * 0x100
        self.sysmon = sysmon
        self._services: Proc | None = None
        self._agent: Proc | None = None

    @property
    def services(self) -> Proc:
        """The Service Control Manager's process (its start recorded when first needed: a host
        whose process creation is not audited never asks)."""
        if self._services is None:
            account = SYSTEM if self.sysmon else f"{DOMAIN}\\{self.log.host.name}$"
            self._services = self.procs.start(
                at(0, 0, 0, 30), SERVICES, SERVICES, user=account, parent=None, integrity="System"
            )
        return self._services

    def logon_id(self) -> int:
        self.next_logon += 0x1F3
        return self.next_logon

    def heartbeats(self, rng: random.Random, per_day: int, day: int) -> None:
        """Agents and Windows' own background processes, all day ``day`` long."""
        if self._agent is None:
            command = f'"{AGENT}" --service'
            self._agent = self.procs.start(
                at(0, 0, 1, 2),
                AGENT,
                command,
                user=SYSTEM,
                parent=self.services,
                integrity="System",
            )
        wmi = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"
        tasks = "C:\\Windows\\System32\\taskhostw.exe"
        for index in range(per_day):
            time = at(day, seconds=(index + rng.random()) * 86_400 / per_day)
            kind = rng.random()
            if kind < 0.5:
                line, image, parent, user = (
                    f'"{AGENT}" --heartbeat --quiet',
                    AGENT,
                    self._agent,
                    SYSTEM,
                )
            elif kind < 0.8:
                line = "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding"
                image, parent, user = wmi, None, "NT AUTHORITY\\NETWORK SERVICE"
            else:
                line, image, parent, user = "taskhostw.exe Install $(Arg0)", tasks, None, SYSTEM
            self.procs.start(time, image, line, user=user, parent=parent, integrity="System")

    def service_update(self, rng: random.Random) -> None:
        service_installed(
            self.log,
            at(UPDATE_DAY, 18, rng.randint(5, 40)),
            "KeelsonAgent",
            f'"{AGENT}" --service',
            None,
            start_type="auto start",
        )
