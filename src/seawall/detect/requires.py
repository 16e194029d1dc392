"""Whether the case holds the data a detection needs: the pre-flight check before it runs.

A detection over Security 5140 events that runs on a case holding only Sysmon events returns
zero rows, and zero rows would read as "no admin share was mapped". This module counts, before
the query runs, the rows each of a detection's ``requires`` entries needs (see
:mod:`seawall.detect.schema`) and names what is missing in the words an analyst acts on: "no
Security 5140/5145 events in the case", "Security 4688 events (1,204) have no CommandLine:
enable 'Include command line in process creation events'". The engine reports such a detection
as ``not-evaluable`` (``not-run`` when the table itself is empty: nothing of that kind was
collected at all), and ``seawall coverage`` gives the same answers without running anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from seawall.detect.schema import Alternatives, DataSource, Detection, Requirement

# How messages name well-known channels.
SHORT_CHANNELS: dict[str, str] = {
    "security": "Security",
    "system": "System",
    "microsoft-windows-sysmon/operational": "Sysmon",
    "microsoft-windows-powershell/operational": "PowerShell",
    "windows powershell": "Windows PowerShell",
    "microsoft-windows-terminalservices-remoteconnectionmanager/operational": "RDP (RCM)",
    "microsoft-windows-terminalservices-localsessionmanager/operational": "RDP (LSM)",
}
_NETWORK = (
    "collect network logs (Zeek, DNS server, proxy, web server, pcap, flows, nmap:"
    " `seawall collect logs PATH`)"
)
# What fills each table, for "table X is empty: …" reasons.
TABLE_HINTS: dict[str, str] = {
    "files": "run `seawall collect files PATH`",
    "disk": "run `seawall collect disk`",
    "indicators": "import intel with `seawall intel import FILE`",
    "sightings": "import intel with `seawall intel import FILE`",
    "sources": "import intel with `seawall intel import FILE`",
    "events": "collect Windows event logs (`seawall collect evtx PATH`)",
    "auth": "collect VPN, SSO or Entra ID sign-in logs (`seawall collect logs PATH`)",
    **dict.fromkeys(("dns", "conn", "http", "web", "tls", "smb", "netlog", "scan"), _NETWORK),
}

Outcome = Literal["ok", "not-run", "not-evaluable"]


def _empty_value(expression: str) -> str:
    """SQL: ``expression`` carries no value (NULL, blank, or Windows' '-' placeholder)."""
    return f"coalesce(trim(CAST({expression} AS VARCHAR)), '') IN ('', '-')"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_label(source: DataSource) -> str:
    """ "Security 5140/5145", "Sysmon 1", "auth rows with mfa"…"""
    if source.label:
        return source.label
    origin = source.channel or source.provider
    name = SHORT_CHANNELS.get(origin.lower(), origin) if origin else ""
    ids = "/".join(str(i) for i in source.event_ids)
    text = " ".join(part for part in (name, ids) if part)
    return text or "rows"


@dataclass(frozen=True, slots=True)
class SourceState:
    """One alternative of a requirement as the case holds it."""

    label: str
    rows: int
    """Rows of that kind (channel, provider, ids)."""
    with_fields: int
    """Of those, rows where every required field carries a value."""
    fields: tuple[str, ...]
    hint: str | None
    table: str

    @property
    def present(self) -> bool:
        return self.with_fields > 0

    def missing(self) -> str:
        """Why this alternative cannot be evaluated (only meaningful when not present)."""
        if self.table == "events":
            what = f"{self.label} events"
        else:
            what = f"{self.table} rows" if self.label == "rows" else f"{self.label} rows"
        if self.rows == 0:
            return f"no {what} in the case"
        text = f"{what} ({self.rows:,}) have no {' or '.join(self.fields)}"
        return f"{text}: {self.hint}" if self.hint else text


@dataclass(frozen=True, slots=True)
class RequirementState:
    """One ``requires`` entry as the case holds it."""

    table: str
    rows: int
    sources: tuple[SourceState, ...]

    @property
    def table_empty(self) -> bool:
        return self.rows == 0

    @property
    def met(self) -> bool:
        return self.rows > 0 and (not self.sources or any(s.present for s in self.sources))

    def reason(self) -> str:
        if self.table_empty:
            return (
                f"table {self.table} is empty: "
                f"{TABLE_HINTS.get(self.table, 'collect evidence that fills it')}"
            )
        return "; ".join(s.missing() for s in self.sources if not s.present)

    def partial_note(self) -> str | None:
        """When some alternatives are present and others not: what it ran over, what it missed."""
        present = [s for s in self.sources if s.present]
        absent = [s for s in self.sources if not s.present]
        if not present or not absent:
            return None
        ran = ", ".join(f"{s.label} ({s.with_fields:,})" for s in present)
        return f"evaluated over {ran}; not over: " + "; ".join(s.missing() for s in absent)


@dataclass(frozen=True, slots=True)
class AlternativesState:
    """A ``requires`` entry met by any one of several tables (see
    :class:`seawall.detect.schema.Alternatives`)."""

    states: tuple[RequirementState, ...]

    @property
    def table(self) -> str:
        return " or ".join(s.table for s in self.states)

    @property
    def table_empty(self) -> bool:
        return all(s.table_empty for s in self.states)

    @property
    def met(self) -> bool:
        return any(s.met for s in self.states)

    def reason(self) -> str:
        return "none of its sources is in the case: " + "; ".join(
            s.reason() for s in self.states if not s.met
        )

    def partial_note(self) -> str | None:
        """What it ran over, and which alternatives it could not read."""
        present = [s for s in self.states if s.met]
        absent = [s for s in self.states if not s.met]
        if not present or not absent:
            return None
        ran = ", ".join(_described(s) for s in present)
        empty = [s.table for s in absent if s.table_empty]
        missing = ([f"{', '.join(empty)} (empty)"] if empty else []) + [
            s.reason() for s in absent if not s.table_empty
        ]
        return f"evaluated over {ran}; not over: " + "; ".join(missing)


def _described(state: RequirementState) -> str:
    shown = [f"{s.label} ({s.with_fields:,})" for s in state.sources if s.present]
    return ", ".join(shown) if shown else f"{state.table} ({state.rows:,} rows)"


State = RequirementState | AlternativesState


@dataclass(frozen=True, slots=True)
class Preflight:
    """The verdict on a whole detection: may it run, and if not, why."""

    outcome: Outcome
    reason: str | None
    notes: tuple[str, ...]
    states: tuple[State, ...]


def _source_sql(table: str, source: DataSource) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if source.channel is not None:
        conditions.append("lower(channel) = ?")
        params.append(source.channel.lower())
    if source.provider is not None:
        conditions.append("lower(provider) = ?")
        params.append(source.provider.lower())
    if source.event_ids:
        conditions.append(f"event_id IN ({', '.join('?' for _ in source.event_ids)})")
        params.extend(source.event_ids)
    where = " AND ".join(conditions) or "TRUE"
    if table == "events":
        values = [f"data->>{_quote(f)}" for f in source.fields]
    else:
        values = list(source.fields)
    carried = " AND ".join(f"NOT {_empty_value(v)}" for v in values) or "TRUE"
    sql = f"SELECT count(*), count(*) FILTER (WHERE {carried}) FROM {table} WHERE {where}"
    return sql, params


# Counts already made in this hunt (see :func:`shared_counts`), by connection and query.
_SHARED: ContextVar[dict[tuple[int, str, tuple[Any, ...]], tuple[int, ...]] | None] = ContextVar(
    "shared_counts", default=None
)


@contextlib.contextmanager
def shared_counts() -> Iterator[None]:
    """Within the block, a count asked twice is made once: a hunt's detections ask the same
    questions (Security 4688 with a command line, Sysmon 1…), and each is a scan of the
    table (with JSON reads of ``data``) while nothing is written to it."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _counts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> tuple[int, ...]:
    """One row of counts (the result is consumed: DuckDB 2 refuses work while one is open)."""
    shared = _SHARED.get()
    key = (id(con), sql, tuple(params))
    if shared is not None and key in shared:
        return shared[key]
    rows = con.sql(sql, params=params).fetchall()
    found = tuple(int(v or 0) for v in rows[0]) if rows else ()
    if shared is not None:
        shared[key] = found
    return found


def evaluate(con: duckdb.DuckDBPyConnection, requirement: Requirement) -> RequirementState:
    """Count what the case holds of ``requirement`` (one query per alternative)."""
    con.complete()
    rows = _counts(con, f"SELECT count(*) FROM {requirement.table}", [])[0]
    states: list[SourceState] = []
    for source in requirement.any_of:
        total, carried = 0, 0
        if rows:
            total, carried = _counts(con, *_source_sql(requirement.table, source))
        states.append(
            SourceState(
                label=source_label(source),
                rows=total,
                with_fields=carried,
                fields=tuple(source.fields),
                hint=source.hint,
                table=requirement.table,
            )
        )
    return RequirementState(requirement.table, rows, tuple(states))


def preflight(con: duckdb.DuckDBPyConnection, detection: Detection) -> Preflight:
    """Whether ``detection`` can look at this case: ``not-run`` when a table it reads is empty,
    ``not-evaluable`` when the tables hold rows but not the telemetry it needs."""
    states = tuple(_evaluate_entry(con, r) for r in detection.requirements)
    return judge(states)


def _evaluate_entry(con: duckdb.DuckDBPyConnection, entry: Requirement | Alternatives) -> State:
    if isinstance(entry, Alternatives):
        return AlternativesState(tuple(evaluate(con, r) for r in entry.requirements))
    return evaluate(con, entry)


def judge(states: Iterable[State]) -> Preflight:
    states = tuple(states)
    empty = [s for s in states if s.table_empty]
    if empty:
        return Preflight("not-run", "; ".join(s.reason() for s in empty), (), states)
    unmet = [s for s in states if not s.met]
    if unmet:
        return Preflight("not-evaluable", "; ".join(s.reason() for s in unmet), (), states)
    notes = tuple(note for s in states if (note := s.partial_note()) is not None)
    return Preflight("ok", None, notes, states)
