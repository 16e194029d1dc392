"""Windows events as Winlogbeat 8 writes them (ECS NDJSON, one event a line).

A Winlogbeat agent on each server ships its Security, System, Sysmon and Remote Desktop
channels; its file output (or an Elasticsearch export of the index) is one JSON object a line:
``@timestamp``, ``agent``, ``ecs``, ``event`` (code, provider, created, kind), ``host``, ``log``
and ``winlog`` (channel, computer_name, event_id, record_id, provider, process, the resolved
``user`` of the event's ``Security/@UserID``, and ``event_data`` or ``user_data`` with the
event's own fields under their Windows names, values as text). The agents here drop the
rendered ``message`` (``processors: [drop_fields: {fields: [message]}]``), a common setting
that halves the index. :class:`EventLog` collects one host's events, numbers them per channel
in time order (as Windows does) and writes them sorted by time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from seawall.demo.clock import BASE
from seawall.demo.evidence import Manifest, json_line, stamp
from seawall.demo.scenario import DNS_DOMAIN, Host

SECURITY = "Security"
SYSTEM = "System"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
RDP_AUTH = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
RDP_SESSION = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"

_PROVIDERS: dict[str, tuple[str, str]] = {
    SECURITY: ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}"),
    SYSTEM: ("Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
    SYSMON: ("Microsoft-Windows-Sysmon", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"),
    RDP_AUTH: (
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        "{c76baa63-ae81-421c-b425-340b4b24157f}",
    ),
    RDP_SESSION: (
        "Microsoft-Windows-TerminalServices-LocalSessionManager",
        "{5d896912-022d-40aa-a3a8-4fa5515c76d7}",
    ),
}
_TASKS: dict[tuple[str, int], str] = {
    (SYSMON, 1): "Process Create (rule: ProcessCreate)",
    (SECURITY, 4624): "Logon",
    (SECURITY, 4625): "Logon",
    (SECURITY, 4634): "Logoff",
    (SECURITY, 4688): "Process Creation",
    (SECURITY, 4768): "Kerberos Authentication Service",
    (SECURITY, 4769): "Kerberos Service Ticket Operations",
    (SECURITY, 5140): "File Share",
    (SECURITY, 5145): "Detailed File Share",
    (SYSTEM, 7045): "None",
}
SYSTEM_USER = {"identifier": "S-1-5-18", "domain": "NT AUTHORITY", "name": "SYSTEM", "type": "User"}
SYSMON_VERSION = 5


@dataclass(slots=True)
class _Event:
    time: datetime
    order: int
    channel: str
    event_id: int
    data: dict[str, Any]
    user_data: str | None
    user: Mapping[str, str] | None
    keywords: tuple[str, ...]
    level: str
    pid: int
    tid: int
    item: str | None


@dataclass(slots=True)
class EventLog:
    """One host's events, written as its Winlogbeat export."""

    host: Host
    seed: int
    events: list[_Event] = field(default_factory=list)
    # The export being written (see open, flush, close).
    _path: Path | None = field(default=None, init=False)
    _manifest: Manifest | None = field(default=None, init=False)
    _handle: TextIO | None = field(default=None, init=False)
    _first: int = field(default=0, init=False)
    _counters: dict[str, int] = field(default_factory=dict, init=False)
    _written: int = field(default=0, init=False)
    _last: datetime = field(default=BASE, init=False)

    @property
    def computer(self) -> str:
        return f"{self.host.name}.{DNS_DOMAIN}"

    def add(
        self,
        time: datetime,
        channel: str,
        event_id: int,
        data: dict[str, Any],
        *,
        user: Mapping[str, str] | None = None,
        user_data: str | None = None,
        keywords: tuple[str, ...] = (),
        level: str = "information",
        pid: int = 4,
        tid: int = 0,
        item: str | None = None,
    ) -> None:
        """One event; ``user_data`` names the UserData element when the fields are UserData
        (``EventXML``), and ``item`` the ground-truth item it is evidence of."""
        self.events.append(
            _Event(
                time,
                len(self.events),
                channel,
                event_id,
                data,
                user_data,
                user,
                keywords,
                level,
                pid,
                tid,
                item,
            )
        )

    def guid(self, kind: str, number: int, time: datetime) -> str:
        """A Sysmon-style GUID: the machine's part, then the time and a counter."""
        machine = hashlib.sha256(f"{self.seed}:{self.host.name}:{kind}".encode()).hexdigest()
        seconds = int(time.timestamp())
        return (
            f"{{{machine[:8]}-{seconds >> 16 & 0xFFFF:04x}-{seconds & 0xFFFF:04x}-"
            f"{number >> 16 & 0xFFFF:04x}-{number & 0xFFFF:012x}}}"
        )

    def _record(self, event: _Event, record_id: int) -> dict[str, Any]:
        provider, provider_guid = _PROVIDERS[event.channel]
        stamp = _iso(event.time)
        created = _iso(event.time + timedelta(seconds=1 + event.order % 4, milliseconds=137))
        winlog: dict[str, Any] = {
            "api": "wineventlog",
            "channel": event.channel,
            "computer_name": self.computer,
        }
        if event.user_data is None:
            winlog["event_data"] = event.data
        else:
            winlog["user_data"] = {**event.data, "xml_name": event.user_data}
        winlog["event_id"] = str(event.event_id)
        if event.keywords:
            winlog["keywords"] = list(event.keywords)
        winlog["opcode"] = "Info"
        winlog["process"] = {"pid": event.pid, "thread": {"id": event.tid}}
        winlog["provider_guid"] = provider_guid
        winlog["provider_name"] = provider
        winlog["record_id"] = str(record_id)
        task = _TASKS.get((event.channel, event.event_id))
        if task:
            winlog["task"] = task
        if event.user is not None:
            winlog["user"] = dict(event.user)
        if event.channel == SYSMON:
            winlog["version"] = SYSMON_VERSION
        outcome = {"Audit Success": "success", "Audit Failure": "failure"}
        kind: dict[str, Any] = {
            "code": str(event.event_id),
            "kind": "event",
            "provider": provider,
            "created": created,
        }
        for keyword in event.keywords:
            if keyword in outcome:
                kind["outcome"] = outcome[keyword]
        return {
            "@timestamp": stamp,
            "agent": {
                "type": "winlogbeat",
                "version": "8.12.2",
                "name": self.host.name,
                "hostname": self.host.name,
                "id": self._agent_id(),
            },
            "ecs": {"version": "8.0.0"},
            "event": kind,
            "host": {"name": self.computer, "hostname": self.host.name, "ip": [self.host.ip]},
            "log": {"level": event.level},
            "winlog": winlog,
        }

    def _agent_id(self) -> str:
        digest = hashlib.sha256(f"{self.seed}:agent:{self.host.name}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"

    def open(self, path: Path, manifest: Manifest, first_record: int) -> None:
        """Start the export at ``path``; record ids per channel count from ``first_record``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._manifest = manifest
        self._handle = path.open("w", encoding="utf-8", newline="\n")
        self._first = first_record
        self._counters = {}
        self._written = 0
        self._last = BASE

    def flush(self, before: datetime | None = None) -> None:
        """Write, in time order, the events earlier than ``before`` (all of them when None):
        the caller promises that no event added later is earlier than that. Each attack
        event's line is noted for the ground truth."""
        if self._handle is None or self._path is None or self._manifest is None:
            raise RuntimeError("EventLog.flush before open")
        self.events.sort(key=lambda e: (e.time, e.order))
        cut = len(self.events)
        if before is not None:
            cut = next((i for i, e in enumerate(self.events) if e.time >= before), cut)
        for event in self.events[:cut]:
            channel = event.channel
            self._counters[channel] = self._counters.get(channel, self._first) + 1
            self._handle.write(json_line(self._record(event, self._counters[channel])) + "\n")
            self._written += 1
            self._last = event.time
            if event.item is not None:
                self._manifest.note(
                    event.item, self._path, line=self._written, event_id=event.event_id
                )
        del self.events[:cut]

    def close(self) -> int:
        """Write what is left, close the export; returns the number of events written."""
        self.flush()
        assert self._handle is not None and self._path is not None
        self._handle.close()
        stamp(self._path, self._last + timedelta(minutes=5))
        return self._written


def _iso(time: datetime) -> str:
    """ECS time: UTC, milliseconds, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z"


def sysmon_time(time: datetime) -> str:
    """Sysmon's own ``UtcTime`` field: ``2024-03-12 06:05:03.123``."""
    return time.strftime("%Y-%m-%d %H:%M:%S.") + f"{time.microsecond // 1000:03d}"


def user_of(name: str, domain: str, sid: str) -> dict[str, str]:
    """``winlog.user``: the event's ``Security/@UserID`` as Winlogbeat resolves it."""
    return {"identifier": sid, "domain": domain, "name": name, "type": "User"}
