"""Sysmon event 22 (DnsQuery) rows of ``events`` read as ``dns`` rows, for the DNS analytics.

Sysmon's DNS events are collected with the other Windows events (``collect evtx`` and the JSON
event readers) and stay in ``events``; copying them into ``dns`` would store them twice and go
stale when events are collected again. Instead, ``DNS_ROWS_SQL`` is one relation of the ``dns``
table's columns over both: the ``dns`` rows as they are, and each Sysmon 22 event as a
``query+response`` row of the host that asked (``client_ip`` is NULL: the event names the
process, not an address; ``message`` says ``sysmon``). A DNS analytic selects from it
(``FROM ({DNS_ROWS_SQL}) AS dns``) to see both sources.

Sysmon writes ``QueryStatus`` as a Windows error code (0 success, 9003 name error, 9501 no
records) and ``QueryResults`` as ``type:  5 name;::ffff:192.0.2.1;`` (CNAMEs as ``type: 5``
entries, IPv4 answers IPv4-mapped); both are turned into the ``dns`` forms.
"""

from __future__ import annotations

from seawall.model.ddl import sql_type
from seawall.model.log_tables import DNS

_STATUS = """CASE e.data->>'QueryStatus'
      WHEN '0' THEN 'NOERROR' WHEN '9501' THEN 'NOERROR' WHEN '9003' THEN 'NXDOMAIN'
      WHEN '9002' THEN 'SERVFAIL' WHEN '9005' THEN 'REFUSED' WHEN '1460' THEN 'TIMEOUT'
      ELSE e.data->>'QueryStatus' END"""

_ANSWERS = """list_transform(
      list_filter(string_split(coalesce(e.data->>'QueryResults', ''), ';'),
                  lambda x: trim(x) <> ''),
      lambda x: lower(regexp_replace(regexp_replace(trim(x), '^type:\\s+\\d+\\s+', ''),
                                '^::ffff:(\\d+\\.\\d+\\.\\d+\\.\\d+)$', '\\1')))"""

_SYSMON: dict[str, str] = {
    "time": "e.time",
    "query": "nullif(rtrim(lower(e.data->>'QueryName'), '.'), '')",
    "rcode": _STATUS,
    "answers": _ANSWERS,
    "message": "'query+response (sysmon)'",
    "run_id": "e.run_id",
    "host": "coalesce(e.host, e.computer)",
    "source_file": "e.source_file",
    "source_sha256": "e.source_sha256",
    "record_ref": "e.record_ref",
}


def _sysmon_select() -> str:
    columns = []
    for field in DNS.schema:
        expression = _SYSMON.get(field.name, "NULL")
        columns.append(f"CAST({expression} AS {_sql(field.name)}) AS {field.name}")
    return (
        "SELECT " + ",\n       ".join(columns) + "\nFROM events e\n"
        "WHERE e.event_id = 22 AND e.provider ILIKE '%sysmon%'"
    )


def _sql(name: str) -> str:
    return sql_type(DNS.schema.field(name))


DNS_ROWS_SQL = f"SELECT {', '.join(DNS.columns)} FROM dns\nUNION ALL BY NAME\n{_sysmon_select()}"
"""Every DNS row of the case: the ``dns`` table and Sysmon event 22 from ``events``."""
