"""A finding as correlation sees it: its host and account as the entities identify them, its
evidence plane, its ATT&CK tactics, the values it rests on and, for a lateral movement, where
it went from and to.

Everything here is read from the finding itself (the result document carries it), so that a
user's detection gets the same treatment as a shipped one:

- **plane**: from the tables the detection requires (``files`` → file, ``events`` → event, the
  network tables → network, ``auth`` → identity, ``disk`` → host telemetry), else from its id's
  family;
- **tactics**: the tactics of its techniques (``Finding.attack``) in kill-chain order, and its
  primary tactic: the one its techniques point at most specifically (a technique of one tactic
  counts whole, one of four tactics a quarter);
- **values**: the indicators its evidence matched, the file hashes, public addresses and domain
  names in its evidence rows (columns named for them);
- **movement**: a finding of the lateral-movement tactic, or of remote services and service
  execution, goes from a ``source``/``client`` column of its evidence to its host, or from its
  host to a ``server``/``target`` column; with neither, its source is looked for in the
  entities' links (:mod:`seawall.detect.correlation.sources`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from pydantic import JsonValue

from seawall.detect.schema import Alternatives, LoadedDetection
from seawall.entities.names import address, host_name, is_private
from seawall.entities.resolve import (
    AccountIdentification,
    HostIdentification,
    Identities,
    utc,
)
from seawall.intel.attack import CURRENT_VERSION, AttackKB
from seawall.model.finding import EdgeKind, Finding, Plane

_PLANES: dict[str, Plane] = {
    "files": "file",
    "events": "event",
    "dns": "network",
    "conn": "network",
    "http": "network",
    "web": "network",
    "tls": "network",
    "smb": "network",
    "netlog": "network",
    "scan": "network",
    "auth": "identity",
    "disk": "host-telemetry",
}
_FAMILIES: tuple[tuple[str, Plane], ...] = (
    ("ioc.file", "file"),
    ("ioc.path", "file"),
    ("ioc.yara", "file"),
    ("web.webshell", "file"),
    ("host.disk", "host-telemetry"),
    ("host.", "file"),
    ("evtx.", "event"),
    ("sigma.", "event"),
    ("net.", "network"),
    ("web.", "network"),
    ("auth.", "identity"),
)
HASH_COLUMNS = frozenset({"md5", "sha1", "sha256", "sha512"})
DOMAIN_COLUMNS = frozenset(
    {"domain", "query", "destination", "http_host", "server_name", "top_domain", "vhost"}
)
SOURCE_COLUMNS = ("source", "source_ip", "client", "client_ip", "src", "src_ip", "ip_address")
TARGET_COLUMNS = ("server", "target_host", "server_ip", "target_server", "dst", "dst_ip")
_SERVICE = ("T1569.002", "T1543.003")
_ADMIN_SHARE = ("T1021.002",)
_REMOTE_LOGON = ("T1021.001",)


@cache
def kill_chain() -> tuple[tuple[str, str], ...]:
    """The tactics (short name, name) in the shipped ATT&CK's kill-chain order."""
    return tuple((t.shortname, t.name) for t in AttackKB.load(CURRENT_VERSION).tactics())


def tactic_rank(tactic: str) -> int:
    names = [short for short, _ in kill_chain()]
    return names.index(tactic) if tactic in names else len(names)


@dataclass(frozen=True, slots=True)
class Move:
    """A lateral movement a finding shows: ``kind`` (an :data:`EdgeKind`), the ends as the
    evidence names them (None when it does not: the source is then looked for)."""

    kind: EdgeKind
    source: str | None
    target: str | None


@dataclass(slots=True)
class Member:
    """One finding, ready for grouping (see the module docstring)."""

    finding: Finding
    time: datetime | None
    end: datetime | None
    host: HostIdentification | None
    account: AccountIdentification | None
    plane: Plane
    tactics: list[str]
    primary: str | None
    values: set[tuple[str, str]] = field(default_factory=set)
    move: Move | None = None

    @property
    def id(self) -> str:
        return self.finding.finding_id

    @property
    def host_key(self) -> str | None:
        return None if self.host is None else self.host.host

    @property
    def account_key(self) -> str | None:
        return None if self.account is None else self.account.key


def plane_of(finding: Finding, detections: Mapping[str, LoadedDetection]) -> Plane:
    loaded = detections.get(finding.detection_id)
    if loaded is not None:
        for item in loaded.detection.requirements:
            # alternatives (DNS questions from dns or from Sysmon 22) are one plane: the first's
            requirement = item.requirements[0] if isinstance(item, Alternatives) else item
            if requirement.table in _PLANES:
                return _PLANES[requirement.table]
    for prefix, plane in _FAMILIES:
        if finding.detection_id.startswith(prefix):
            return plane
    return "other"


def tactics_of(finding: Finding) -> tuple[list[str], str | None]:
    """All tactics of the finding's techniques (kill-chain order) and its primary tactic."""
    weights: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for ref in finding.attack:
        for tactic in ref.tactics:
            weights[tactic] = weights.get(tactic, 0.0) + 1.0 / len(ref.tactics)
            first_seen.setdefault(tactic, len(first_seen))
    ordered = sorted(weights, key=tactic_rank)
    if not weights:
        return [], None
    primary = max(weights, key=lambda t: (weights[t], -first_seen[t]))
    return ordered, primary


def _scalars(value: JsonValue) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item


def _domain(text: str) -> str | None:
    name = host_name(text)
    if name is None or "." not in name or address(text) is not None:
        return None
    return name


def values_of(finding: Finding) -> set[tuple[str, str]]:
    """The values a finding rests on: ``(kind, value)`` with kind ``indicator``, ``hash``,
    ``address`` (public addresses only: private ones are hosts) or ``domain``."""
    found: set[tuple[str, str]] = set()
    for item in finding.evidence:
        if item.indicator is not None:
            found.add(("indicator", item.indicator.value.lower()))
        for column, value in item.row.items():
            name = column.lower()
            for text in _scalars(value):
                if name in HASH_COLUMNS:
                    if len(text) >= 32 and text.isalnum():
                        found.add(("hash", text.lower()))
                    continue
                if name in DOMAIN_COLUMNS and (domain := _domain(text)) is not None:
                    found.add(("domain", domain))
                    continue
                addr = address(text) if len(text) <= 45 else None
                if addr is not None and not is_private(addr):
                    found.add(("address", addr))
    return found


def _first_text(row: Mapping[str, JsonValue], columns: Iterable[str]) -> str | None:
    for column in columns:
        value = row.get(column)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            return value[0]
    return None


def move_of(finding: Finding, tactics: list[str]) -> Move | None:
    """The lateral movement the finding shows, if it shows one."""
    techniques = set(finding.techniques)
    kind: EdgeKind
    if any(t in techniques for t in _SERVICE):
        kind = "service-install"
    elif any(t in techniques for t in _ADMIN_SHARE):
        kind = "admin-share"
    elif any(t in techniques for t in _REMOTE_LOGON):
        kind = "remote-logon"
    elif "lateral-movement" in tactics or any(t.startswith("T1021") for t in techniques):
        kind = "remote-service"
    else:
        return None
    for item in finding.evidence:
        source = _first_text(item.row, SOURCE_COLUMNS)
        if source is not None:
            return Move(kind, source, finding.host)
        target = _first_text(item.row, TARGET_COLUMNS)
        if target is not None:
            return Move(kind, finding.host, target)
    return Move(kind, None, finding.host)


def members(
    findings: Iterable[Finding],
    identities: Identities,
    detections: Mapping[str, LoadedDetection],
) -> list[Member]:
    """Every finding as a :class:`Member` (resolution done once for all correlations)."""
    made: list[Member] = []
    for finding in findings:
        time = utc(finding.first_seen)
        end = utc(finding.last_seen) or time
        host = identities.host(finding.host, time)
        host_key = None if host is None else host.host
        tactics, primary = tactics_of(finding)
        values = values_of(finding)
        outside = host.address if host is not None and host.host is None else None
        if outside is not None and not is_private(outside):
            values.add(("address", outside))  # a finding about a public address rests on it
        made.append(
            Member(
                finding=finding,
                time=time,
                end=end,
                host=host,
                account=identities.account(finding.user, host_key),
                plane=plane_of(finding, detections),
                tactics=tactics,
                primary=primary,
                values=values,
                move=move_of(finding, tactics),
            )
        )
    return made
