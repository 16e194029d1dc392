"""Allowlist entries matched against findings, for ``triage apply`` and for what SQL cannot judge.

A detection's SQL judges its own rows with ``allowlisted(...)`` (account, source, host, item,
time), but a stored finding must be judgeable without running the detection again (``seawall
triage apply``), entries may name a ``path`` or a ``value`` that no query passes to
``allowlisted``, and Python analytics ask nothing. The same entry is therefore matched here
against the finding itself:

- ``detection``: the finding's detection id; ``host``: its host (full name or first label);
  ``user``: its account;
- ``source``: an evidence value of a source column (:data:`SOURCE_KEYS`): an address inside the
  network, or a host name matching the glob;
- ``item`` and ``value``: any evidence value (every column of every evidence row, nested lists
  and structs included) or the indicator it matched;
- ``path``: any evidence value that is a path (it holds ``\\`` or ``/``), with ``\\`` and ``/``
  compared alike;
- ``from``/``to``: the finding's first and last record lie inside the window (a finding with no
  time never matches a window).

All fields an entry names must match. Globs are case-insensitive full matches, as in SQL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import JsonValue

from seawall.model.finding import Finding
from seawall.triage.allowlist import Located, glob_regex, user_regex, utc

# Evidence columns that say where activity came from (what detections pass as ``source``).
SOURCE_KEYS = frozenset(
    {
        "source",
        "source_ip",
        "source_address",
        "source_host",
        "src",
        "src_ip",
        "client_ip",
        "ip_address",
        "origin",
        "workstation",
    }
)
# Values looked at per finding: an aggregate's evidence can be long, but never unbounded.
MAX_VALUES = 100_000


def _naive(value: datetime | None) -> datetime | None:
    aware = utc(value)
    return None if aware is None else aware.astimezone(UTC).replace(tzinfo=None)


def _compile(pattern: str | None, *, user: bool = False) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    return re.compile(user_regex(pattern) if user else glob_regex(pattern), re.DOTALL)


def _as_path(text: str) -> str:
    return text.replace("\\", "/")


@dataclass(frozen=True, slots=True)
class Facts:
    """What entries are matched against, gathered once per finding."""

    values: tuple[str, ...]
    paths: tuple[str, ...]
    sources: tuple[str, ...]

    @classmethod
    def of(cls, finding: Finding) -> Facts:
        values: list[str] = []
        sources: list[str] = []
        for item in finding.evidence:
            _walk(item.row, values, sources)
            if item.indicator is not None:
                values.append(item.indicator.value.lower())
        paths = tuple(_as_path(v) for v in values if "\\" in v or "/" in v)
        return cls(tuple(dict.fromkeys(values)), paths, tuple(dict.fromkeys(sources)))


def _walk(value: JsonValue, values: list[str], sources: list[str], key: str | None = None) -> None:
    if len(values) >= MAX_VALUES:
        return
    if isinstance(value, dict):
        for name, inner in value.items():
            _walk(inner, values, sources, name)
    elif isinstance(value, list):
        for inner in value:
            _walk(inner, values, sources, key)
    elif value is not None and not isinstance(value, bool):
        text = str(value).lower()
        values.append(text)
        if key in SOURCE_KEYS:
            sources.append(text)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One entry, compiled."""

    located: Located
    detection: re.Pattern[str] | None
    user: re.Pattern[str] | None
    host: re.Pattern[str] | None
    item: re.Pattern[str] | None
    path: re.Pattern[str] | None
    value: re.Pattern[str] | None
    source_net: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    source: re.Pattern[str] | None
    window_from: datetime | None
    window_to: datetime | None

    @classmethod
    def of(cls, located: Located) -> Matcher:
        entry = located.entry
        network = None
        source = None
        if entry.source is not None:
            try:
                network = ipaddress.ip_network(entry.source.strip(), strict=False)
            except ValueError:
                source = _compile(entry.source)
        return cls(
            located=located,
            detection=_compile(entry.detection),
            user=_compile(entry.user, user=True),
            host=_compile(entry.host),
            item=_compile(entry.item),
            path=None if entry.path is None else re.compile(glob_regex(_as_path(entry.path))),
            value=_compile(entry.value),
            source_net=network,
            source=source,
            window_from=_naive(entry.window_from),
            window_to=_naive(entry.to),
        )

    def matches(self, finding: Finding, facts: Facts) -> bool:
        """Whether every field the entry names matches the finding (module docstring)."""
        checks = (
            self.detection is None or bool(self.detection.fullmatch(finding.detection_id)),
            self.host is None or _host_matches(self.host, finding.host),
            self.user is None or bool(self.user.fullmatch((finding.user or "").lower())),
            self._window(finding),
            self._source(facts),
            self.item is None or any(self.item.fullmatch(v) for v in facts.values),
            self.value is None or any(self.value.fullmatch(v) for v in facts.values),
            self.path is None or any(self.path.fullmatch(p) for p in facts.paths),
        )
        return all(checks)

    def _window(self, finding: Finding) -> bool:
        if self.window_from is None and self.window_to is None:
            return True
        first = finding.first_seen or finding.last_seen
        last = finding.last_seen or finding.first_seen
        if first is None or last is None:
            return False
        first, last = _naive(first), _naive(last)
        assert first is not None and last is not None
        after = self.window_from is None or first >= self.window_from
        before = self.window_to is None or last <= self.window_to
        return after and before

    def _source(self, facts: Facts) -> bool:
        if self.source_net is None and self.source is None:
            return True
        for value in facts.sources:
            if self.source is not None and self.source.fullmatch(value):
                return True
            if self.source_net is not None and _in_network(value, self.source_net):
                return True
        return False


def _host_matches(pattern: re.Pattern[str], host: str | None) -> bool:
    name = (host or "").lower()
    return bool(pattern.fullmatch(name) or pattern.fullmatch(name.split(".", 1)[0]))


def _in_network(text: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version == network.version and address in network


def compile_entries(entries: Iterable[Located]) -> list[Matcher]:
    return [Matcher.of(located) for located in entries]


def first_match(matchers: Sequence[Matcher], finding: Finding) -> Located | None:
    """The first entry (in file order) that matches the finding, or None."""
    if not matchers:
        return None
    facts = Facts.of(finding)
    return next((m.located for m in matchers if m.matches(finding, facts)), None)


def matches_by_entry(
    matchers: Sequence[Matcher], findings: Iterable[Finding]
) -> Iterator[tuple[Finding, Located]]:
    """Each finding some entry matches, with the first such entry."""
    for finding in findings:
        found = first_match(matchers, finding)
        if found is not None:
            yield finding, found
