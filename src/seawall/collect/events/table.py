"""Rows of the ``events`` table built a batch at a time, in a DuckDB connection of the reader's own.

Per-record Python is what an EVTX reader's time goes to (``json.loads`` of a 1 KB record alone
costs several times the Rust parse), so the work is vectorised: the parser's JSON strings of a
batch become one Arrow column, and one prepared SQL statement (DuckDB's JSON functions) takes
the system fields out of all of them; ``EventData`` that is already a flat object of named
values, nine records in ten, *is* the ``data`` column as it is, and the user columns come from
it in the same statement. Only records with nested fields (unnamed ``Data`` lists,
``UserData``, attributes…) are flattened in Python (:mod:`seawall.collect.events.fields`),
from the EventData/UserData text the statement hands over. Small batches are built in Python
altogether (:mod:`seawall.collect.events.rows`), where a statement's fixed cost would dominate;
a test checks that both ways give the same rows for every record of the real corpus. The user
rule, which ``rows.user_of`` states in Python and this module in SQL:

- the account the event is about: ``TargetUserName``/``TargetDomainName`` with
  ``TargetUserSid`` (or ``TargetSid``) when ``TargetUserName`` names one (logons, failed
  logons, Kerberos, explicit credentials, account changes); else the acting account
  ``SubjectUserName``/``SubjectDomainName``/``SubjectUserSid``; else a ``User`` field
  (Sysmon's ``DOMAIN\\name``; ``user_sid`` NULL, Sysmon names no SID); ``-``, empty values and
  the NULL SID ``S-1-0-0`` name nobody;
- else the event's ``System/Security/@UserID`` (what Event Viewer shows as "User"), with the
  name an export resolved for it, or the well-known name of ``S-1-5-18/19/20``.

The three columns always describe one account: Sysmon's ``UserID`` is the Sysmon service
(``S-1-5-18``) whatever user the event names, so it is only the last resort.

The connection is in memory, never the case: a reader never touches the case.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from seawall.collect.events.fields import flatten_event
from seawall.collect.events.rows import WELL_KNOWN_SIDS, RowBuilder, dumps, user_of

# Batches smaller than this are built in Python: a statement's fixed cost (a few ms) would
# cost more than the Python path's ~30 µs a record.
SQL_FROM = 300

# What the first statement takes out of each record (DuckDB's json_transform structure): one
# parse per record. Each child of <Event> besides System is kept as JSON text.
_EVTX_STRUCTURE = json.dumps(
    {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "VARCHAR"}},
                "EventID": "JSON",
                "Level": "VARCHAR",
                "TimeCreated": {"#attributes": {"SystemTime": "VARCHAR"}},
                "EventRecordID": "UBIGINT",
                "Execution": {"#attributes": {"ProcessID": "BIGINT", "ThreadID": "BIGINT"}},
                "Channel": "VARCHAR",
                "Computer": "VARCHAR",
                "Security": {"#attributes": {"UserID": "VARCHAR"}},
            },
            "EventData": "JSON",
            "UserData": "JSON",
            "ProcessingErrorData": "JSON",
            "DebugData": "JSON",
            "BinaryEventData": "JSON",
            "RenderingInfo": "JSON",
        }
    }
)

_USER_FIELDS = (
    "TargetUserName",
    "TargetDomainName",
    "TargetUserSid",
    "TargetSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectUserSid",
    "User",
)
_USER_STRUCTURE = json.dumps(dict.fromkeys(_USER_FIELDS, "VARCHAR"))


def _named(field: str) -> str:
    return f"(u.{field} IS NOT NULL AND u.{field} NOT IN ('', '-'))"


def _sid(field: str) -> str:
    return f"CASE WHEN {_named(field)} AND u.{field} <> 'S-1-0-0' THEN u.{field} END"


def _well_known(part: int) -> str:
    cases = " ".join(f"WHEN '{sid}' THEN '{names[part]}'" for sid, names in WELL_KNOWN_SIDS.items())
    return f"CASE security_user_id {cases} END"


# One statement, one parse of each record. A flat EventData object is `{"Name":value,...}`
# with scalar values: no value starts an object or a list (a string holding `":{` only sends
# its record down the Python path). For those records, ``data`` is EventData's text and the
# user columns come from it (the rule of the module docstring, as ``rows.user_of`` states it
# in Python); for the others, ``data`` is NULL and EventData/UserData come out as text for
# Python (``whole`` when <Event> has other children, whose record Python reads whole).
_EVTX_SQL = f"""
WITH parsed AS (
    SELECT json_transform(record, '{_EVTX_STRUCTURE}').Event AS e, stamp, ref FROM records
),
shaped AS (
    SELECT e, stamp, ref,
        e.ProcessingErrorData IS NOT NULL OR e.DebugData IS NOT NULL
            OR e.BinaryEventData IS NOT NULL OR e.RenderingInfo IS NOT NULL AS whole,
        e.UserData IS NULL AND (e.EventData IS NULL
            OR (starts_with(e.EventData, '{{')
                AND NOT regexp_matches(e.EventData, '":[\\[{{]'))) AS flat,
        e.System.Security."#attributes".UserID AS security_user_id
    FROM parsed
),
fields AS (
    SELECT *,
        CASE WHEN flat AND NOT whole
            THEN json_transform(coalesce(e.EventData, '{{}}'), '{_USER_STRUCTURE}') END AS u
    FROM shaped
),
who AS (
    SELECT *,
        CASE WHEN {_named("TargetUserName")} THEN 1
             WHEN {_named("SubjectUserName")} THEN 2
             WHEN {_named("User")} THEN 3 ELSE 4 END AS source
    FROM fields
)
SELECT
    coalesce(
        try_cast(e.System.TimeCreated."#attributes".SystemTime AS TIMESTAMPTZ),
        try_cast(replace(stamp, ' UTC', '') AS TIMESTAMPTZ)
    ) AS time,
    e.System.Computer AS computer,
    e.System.Channel AS channel,
    e.System.Provider."#attributes".Name AS provider,
    try_cast(
        CASE WHEN starts_with(e.System.EventID, '{{')
            THEN e.System.EventID->>'$."#text"' ELSE e.System.EventID END AS INTEGER
    ) AS event_id,
    coalesce(e.System.EventRecordID, ref) AS record_id,
    try_cast(e.System.Level AS INTEGER) AS level,
    e.System.Execution."#attributes".ProcessID AS process_id,
    e.System.Execution."#attributes".ThreadID AS thread_id,
    security_user_id,
    CASE source
        WHEN 1 THEN coalesce({_sid("TargetUserSid")}, {_sid("TargetSid")})
        WHEN 2 THEN {_sid("SubjectUserSid")}
        WHEN 4 THEN nullif(security_user_id, '')
    END AS user_sid,
    CASE source
        WHEN 1 THEN u.TargetUserName
        WHEN 2 THEN u.SubjectUserName
        WHEN 3 THEN CASE WHEN contains(u.User, '\\')
                         THEN substr(u.User, strpos(u.User, '\\') + 1) ELSE u.User END
        WHEN 4 THEN {_well_known(0)}
    END AS user_name,
    CASE source
        WHEN 1 THEN nullif(nullif(u.TargetDomainName, ''), '-')
        WHEN 2 THEN nullif(nullif(u.SubjectDomainName, ''), '-')
        WHEN 3 THEN CASE WHEN contains(u.User, '\\') THEN split_part(u.User, '\\', 1) END
        WHEN 4 THEN {_well_known(1)}
    END AS user_domain,
    CASE WHEN flat AND NOT whole THEN coalesce(e.EventData::VARCHAR, '{{}}') END AS data,
    CASE WHEN NOT flat AND NOT whole THEN e.EventData::VARCHAR END AS event_data,
    CASE WHEN NOT flat AND NOT whole THEN e.UserData::VARCHAR END AS user_data,
    whole
FROM who
"""

_RECORDS = pa.schema([("record", pa.string()), ("stamp", pa.string()), ("ref", pa.uint64())])

_SYSTEM_COLUMNS = (
    "time",
    "computer",
    "channel",
    "provider",
    "event_id",
    "record_id",
    "level",
    "process_id",
    "thread_id",
)


class EventRows:
    """Builds ``events`` rows from EVTX records a batch at a time: in SQL (one in-memory DuckDB
    connection per reader, opened on first use) for batches of ``sql_from`` records or more,
    in Python below that, where a statement's fixed cost would dominate."""

    def __init__(self, threads: int | None = None, sql_from: int = SQL_FROM) -> None:
        self.threads = threads
        self.sql_from = sql_from
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
            if self.threads is not None:
                con.execute(f"SET threads = {max(1, self.threads)}")
            # Nothing here outlives a batch: keep DuckDB's own memory small.
            con.execute("SET memory_limit = '256MB'")
            con.execute("SET preserve_insertion_order = true")
            # prepared once (planning is most of a statement's fixed cost); each batch then
            # replaces the Arrow table the statement reads
            con.register("records", _RECORDS.empty_table())
            con.execute(f"PREPARE evtx_rows AS {_EVTX_SQL}")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def evtx(
        self,
        refs: list[int],
        stamps: list[str],
        records: list[str],
        fmt: str = "evtx",
        problems: list[tuple[int, str]] | None = None,
    ) -> pa.Table:
        """Rows from EVTX records as the parser renders them: the record header's id and time,
        and the record's JSON; ``record_ref`` is the header's id (the file's own numbering).
        What is wrong with a record is appended to ``problems`` as (record id, message)."""
        if len(records) >= self.sql_from:
            try:
                return self._evtx_sql(refs, stamps, records, fmt)
            except duckdb.InvalidInputException:
                pass  # a damaged record's text is not valid JSON: record by record, below
        builder = RowBuilder()
        for ref, stamp, text in zip(refs, stamps, records, strict=True):
            problem = builder.add_evtx(ref, stamp, text, fmt)
            if problem is not None and problems is not None:
                problems.append((ref, problem))
        return builder.table()

    def _evtx_sql(
        self, refs: list[int], stamps: list[str], records: list[str], fmt: str
    ) -> pa.Table:
        texts = pa.array(records, pa.string())
        batch = pa.table(
            {
                "record": texts,
                "stamp": pa.array(stamps, pa.string()),
                "ref": pa.array(refs, pa.uint64()),
            }
        )
        self.con.register("records", batch)
        try:
            rows = self.con.sql("EXECUTE evtx_rows").to_arrow_table()
        finally:  # the statement keeps its name; the batch's memory goes
            self.con.register("records", _RECORDS.empty_table())
        columns: dict[str, Any] = {name: rows.column(name) for name in _SYSTEM_COLUMNS}
        users = {name: rows.column(name) for name in ("user_sid", "user_name", "user_domain")}
        data = rows.column("data")
        if data.null_count:
            data = self._nested(rows, records, users)
        columns.update(users)
        columns["data"] = data
        columns["raw"] = texts
        columns["format"] = pa.array([fmt] * len(records), pa.string())
        columns["host"] = rows.column("computer")
        columns["record_ref"] = pa.array([str(ref) for ref in refs], pa.string())
        return pa.table(columns)

    @staticmethod
    def _nested(
        rows: pa.Table, records: list[str], users: dict[str, Any]
    ) -> pa.ChunkedArray | pa.Array:
        """``data`` and the user columns of the records SQL left to Python (nested fields):
        only those rows go through Python, the others' values stay in Arrow."""
        mask = pc.is_null(rows.column("data")).combine_chunks()
        where = pc.indices_nonzero(mask)

        def taken(name: str) -> list[Any]:
            return rows.column(name).take(where).to_pylist()  # type: ignore[no-any-return]

        event_data, user_data = taken("event_data"), taken("user_data")
        whole, security = taken("whole"), taken("security_user_id")
        data: list[str] = []
        found: list[tuple[str | None, str | None, str | None]] = []
        for position, index in enumerate(where.to_pylist()):
            if whole[position]:
                event = json.loads(records[index]).get("Event") or {}
            else:
                event = {
                    "EventData": json.loads(event_data[position]) if event_data[position] else None,
                    "UserData": json.loads(user_data[position]) if user_data[position] else None,
                }
            fields = flatten_event(event)
            data.append(dumps(fields))
            found.append(user_of(fields, security[position]))
        for column, name in enumerate(("user_sid", "user_name", "user_domain")):
            values = pa.array([user[column] for user in found], pa.string())
            users[name] = pc.replace_with_mask(users[name].combine_chunks(), mask, values)
        return pc.replace_with_mask(
            rows.column("data").combine_chunks(), mask, pa.array(data, pa.string())
        )
