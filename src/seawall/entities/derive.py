"""Entity observations from the rows one run wrote, inside the run's last transaction.

:func:`derive_entities` is called by :meth:`seawall.collect.base.IngestRun.finish` for every
run, whatever the reader: readers know nothing of entities. For each evidence table the run
wrote, a few SQL statements read the run's rows (``WHERE run_id = $run_id``) and insert
observations into ``hosts``, ``host_addresses``, ``accounts`` and ``links``
(:mod:`seawall.model.tables`): one row per entity and run, with the first and last time it was
seen, how many rows showed it, and the provenance (file, SHA-256, record) of the first of them.
Rows are grouped on their raw values first and normalised after (:mod:`seawall.entities.names`),
so a million events with four distinct computers cost one grouping and four normalisations.

What each table gives:

=============  ==========================================================================
``events``     hosts: every computer; logon workstations (4624/4625/4776) and machine
               accounts (``NAME$``); addresses: a logon's workstation with its source
               address; accounts: every event's user (with SID); links: logons (4624,
               4625), share mappings (5140/5145), Kerberos (4768/4769/4771), NTLM (4776),
               explicit credentials (4648: this computer to the target server), Remote
               Desktop (1149, 21/24/25): source address or host → computer, with the
               account
``auth``       accounts (UPN), devices as hosts, device ↔ address (unless the sign-in was
               external: its address is the network's egress), sign-ins as links
``dns``        name ↔ address from A/AAAA answers and PTR answers; client → resolver links
``conn``       flows (client → server, ``proto/port``)
``smb``        client → server with the share; the share path's server name ↔ address
``http``       client → HTTP host (with the proxy's user), host ↔ server address
``web``        client → the web server (the row's host), the server's address, web users
``tls``        client → server with the SNI name, the name ↔ server address
``scan``       the scan's host names and their addresses
``disk``       the hosts of the snapshots
=============  ==========================================================================

A run that names its host (``collect files --host``, ``collect logs --host``) also records that
name (``seen_as`` ``collect-host``), so a swept host is known even when no row names it.
"""

from __future__ import annotations

from collections.abc import Iterable

from seawall.case.store import CaseStore
from seawall.entities.names import MACROS, PRIVATE_ADDRESS_SQL
from seawall.entities.resolve import has_entities
from seawall.errors import CaseError
from seawall.model.tables import ENTITY_TABLES

_PROVENANCE = (
    "{'host': host, 'source_file': source_file, 'source_sha256': source_sha256,"
    " 'record_ref': record_ref}"
)
_LAST = "'infinity'::TIMESTAMPTZ"


def observe(
    entity: str,
    source: str,
    keys: dict[str, str],
    derived: dict[str, str] | None = None,
    where: str = "true",
    *,
    aggregated: bool = False,
) -> str:
    """One INSERT of observations into ``entity``.

    ``source`` is a SELECT giving ``time`` and the provenance columns (``host``,
    ``source_file``, ``source_sha256``, ``record_ref``) plus the raw values ``keys`` read, or
    with ``aggregated`` rows already grouped on their raw values (``f``, ``l``: first and last
    time, ``n``: rows, ``p``: the first row's provenance as a struct). ``keys`` maps each output
    column to its expression over the raw values (evaluated once per distinct combination);
    ``derived`` maps further columns to expressions over the keys; ``where`` filters on the
    keys. A ``host`` key replaces the provenance's host.
    """
    derived = derived or {}
    raw_columns = ", ".join(f"{expression} AS {column}" for column, expression in keys.items())
    key_list = ", ".join(keys)
    host = "" if "host" in keys else "p.host AS host, "
    extra = "".join(f", {expression} AS {column}" for column, expression in derived.items())
    raw = (
        "SELECT * FROM src"
        if aggregated
        else f"""SELECT * EXCLUDE (time, host, source_file, source_sha256, record_ref),
        min(time) AS f, max(time) AS l, count(*) AS n,
        arg_min({_PROVENANCE}, coalesce(time, {_LAST})) AS p
    FROM src GROUP BY ALL"""
    )
    return f"""
INSERT INTO {entity} BY NAME
WITH src AS ({source}),
raw AS ({raw}),
shaped AS (SELECT {raw_columns}, f, l, n, p FROM raw),
grouped AS (
    SELECT {key_list}, min(f) AS first_seen, max(l) AS last_seen, sum(n)::BIGINT AS count,
        arg_min(p, coalesce(f, {_LAST})) AS p
    FROM shaped WHERE {where} GROUP BY {key_list}
)
SELECT {key_list}{extra}, first_seen, last_seen, count, $run_id AS run_id, {host}
    p.source_file AS source_file, p.source_sha256 AS source_sha256, p.record_ref AS record_ref
FROM grouped
"""


def _rows(table: str, columns: str, condition: str = "true") -> str:
    return (
        f"SELECT {columns}, time, host, source_file, source_sha256, record_ref FROM {table}"
        f" WHERE run_id = $run_id AND {condition}"
    )


_HOST_PARTS = {"short_name": "ent_short(name)", "domain": "ent_domain(name)"}


def _is_aggregated(source: str) -> bool:
    return source.startswith(_AUTH_ROWS)


def _hosts(source: str, value: str, seen_as: str) -> str:
    return observe(
        "hosts",
        source,
        {"name": f"ent_host({value})", "seen_as": f"'{seen_as}'"},
        _HOST_PARTS,
        "name IS NOT NULL",
        aggregated=_is_aggregated(source),
    )


def _addresses(source: str, name: str, address: str, seen_as: str) -> str:
    return observe(
        "host_addresses",
        source,
        {"name": f"ent_host({name})", "address": f"ent_ip({address})", "seen_as": f"'{seen_as}'"},
        where="name IS NOT NULL AND address IS NOT NULL",
        aggregated=_is_aggregated(source),
    )


def _accounts(source: str, name: str, domain: str, sid: str, seen_as: str, host: str) -> str:
    return observe(
        "accounts",
        source,
        {
            "name": f"ent_acct_name({name})",
            "domain": f"ent_acct_domain({name}, {domain})",
            "sid": f"nullif(nullif(upper(trim({sid})), ''), 'S-1-0-0')",
            "upn": f"ent_upn({name})",
            "seen_as": f"'{seen_as}'",
            "host": f"ent_host({host})",
        },
        None,
        "name IS NOT NULL",
        aggregated=_is_aggregated(source),
    )


def _links(
    source: str,
    kind: str,
    from_: tuple[str, str],
    to: tuple[str, str],
    account: str = "NULL",
    detail: str = "NULL",
) -> str:
    """Links ``from_`` → ``to``, each an (expression, type) pair; a NULL end drops the row."""
    return observe(
        "links",
        source,
        {
            "kind": kind,
            "source": from_[0],
            "source_type": from_[1],
            "target": to[0],
            "target_type": to[1],
            "account": account,
            "detail": detail,
        },
        # a logon of a host onto itself (a local logon naming its own workstation) links nothing
        where="source IS NOT NULL AND target IS NOT NULL AND kind IS NOT NULL"
        " AND source <> target AND NOT (source_type = 'host' AND target_type = 'host'"
        " AND ent_short(source) = ent_short(target))",
        aggregated=_is_aggregated(source),
    )


def _address_or_host(value: str) -> tuple[str, str]:
    return (
        f"coalesce(ent_ip({value}), ent_host({value}))",
        f"CASE WHEN ent_ip({value}) IS NOT NULL THEN 'address' ELSE 'host' END",
    )


# -- events ---------------------------------------------------------------------------------

_RDP_AUTH = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
_RDP_SESSION = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
_AUTH_FIELDS = (
    '{"IpAddress": "VARCHAR", "WorkstationName": "VARCHAR", "Workstation": "VARCHAR",'
    ' "LogonType": "VARCHAR", "ShareName": "VARCHAR", "TargetServerName": "VARCHAR",'
    ' "TargetUserName": "VARCHAR", "TargetDomainName": "VARCHAR", "SubjectUserName": "VARCHAR",'
    ' "SubjectDomainName": "VARCHAR", "TargetUserSid": "VARCHAR", "SubjectUserSid": "VARCHAR",'
    ' "EventXML.Param1": "VARCHAR", "Param1": "VARCHAR",'
    ' "EventXML.Param2": "VARCHAR", "Param2": "VARCHAR", "EventXML.Param3": "VARCHAR",'
    ' "Param3": "VARCHAR", "EventXML.User": "VARCHAR", "User": "VARCHAR",'
    ' "EventXML.Address": "VARCHAR", "Address": "VARCHAR"}'
)
# The authentication events of the run, grouped on their raw values (a domain controller's log
# is mostly 4624/4768/4769: this is where the volume is).
_EVENT_AUTH = f"""
CREATE OR REPLACE TEMP TABLE _entity_auth AS
WITH src AS (
    SELECT time, computer, user_name, user_domain, {_PROVENANCE} AS prov,
        CASE
            WHEN channel = 'Security' AND event_id = 4624 THEN 'logon'
            WHEN channel = 'Security' AND event_id = 4625 THEN 'failed-logon'
            WHEN channel = 'Security' AND event_id = 4648 THEN 'explicit-credentials'
            WHEN channel = 'Security' AND event_id = 4776 THEN 'ntlm'
            WHEN channel = 'Security' AND event_id IN (4768, 4769, 4771) THEN 'kerberos'
            WHEN channel = 'Security' AND event_id IN (5140, 5145) THEN 'share'
            WHEN event_id = 1149 THEN 'rdp'
            ELSE 'rdp-session'
        END AS kind,
        json_transform(data, '{_AUTH_FIELDS}') AS d
    FROM events
    WHERE run_id = $run_id AND (
        (channel = 'Security'
         AND event_id IN (4624, 4625, 4648, 4768, 4769, 4771, 4776, 5140, 5145))
        OR (channel = '{_RDP_AUTH}' AND event_id = 1149)
        OR (channel = '{_RDP_SESSION}' AND event_id IN (21, 24, 25)))
)
SELECT computer, kind,
    CASE kind
        WHEN 'rdp' THEN coalesce(d."EventXML.Param3", d.Param3)
        WHEN 'rdp-session' THEN coalesce(d."EventXML.Address", d.Address)
        ELSE d.IpAddress
    END AS ip,
    coalesce(d.WorkstationName, d.Workstation) AS workstation,
    ent_ip(ip) AS source_ip,
    ent_host(workstation) AS source_name,
    CASE kind
        WHEN 'rdp' THEN concat_ws('\\', nullif(coalesce(d."EventXML.Param2", d.Param2), ''),
                                  coalesce(d."EventXML.Param1", d.Param1))
        WHEN 'rdp-session' THEN coalesce(d."EventXML.User", d.User)
        WHEN 'share' THEN coalesce(nullif(d.SubjectUserName, '-'), user_name)
        ELSE coalesce(nullif(d.TargetUserName, '-'), user_name)
    END AS account_name,
    CASE kind
        WHEN 'rdp' THEN NULL
        WHEN 'rdp-session' THEN NULL
        WHEN 'share' THEN coalesce(nullif(d.SubjectDomainName, '-'), user_domain)
        ELSE coalesce(nullif(d.TargetDomainName, '-'), user_domain)
    END AS account_domain,
    CASE kind
        WHEN 'rdp' THEN NULL
        WHEN 'rdp-session' THEN NULL
        WHEN 'share' THEN d.SubjectUserSid
        ELSE d.TargetUserSid
    END AS account_sid,
    d.TargetUserName AS target_user,
    d.LogonType AS logon_type,
    upper(regexp_extract(d.ShareName, '([^\\\\]+)$', 1)) AS share,
    d.TargetServerName AS target_server,
    min(time) AS f, max(time) AS l, count(*) AS n, arg_min(prov, coalesce(time, {_LAST})) AS p
FROM src
GROUP BY ALL
"""

_AUTH_ROWS = "SELECT * FROM _entity_auth WHERE true"


def _event_statements() -> tuple[str, ...]:
    # normalised once per group in _entity_auth: nesting the macros repeats their work
    source_of = (
        "coalesce(source_ip, source_name)",
        "CASE WHEN source_ip IS NOT NULL THEN 'address' ELSE 'host' END",
    )
    account = (
        "ent_account(ent_acct_name(account_name), ent_acct_domain(account_name, account_domain))"
    )
    computer = ("ent_host(computer)", "'host'")
    return (
        _hosts(_rows("events", "computer"), "computer", "event-computer"),
        _EVENT_AUTH,
        _hosts(
            _AUTH_ROWS + " AND kind IN ('logon', 'failed-logon', 'ntlm')",
            "workstation",
            "logon-workstation",
        ),
        _hosts(
            _AUTH_ROWS + " AND ends_with(target_user, '$')",
            "rtrim(target_user, '$')",
            "machine-account",
        ),
        # A workstation name equal to the computer's own (some remote logons log it so) is
        # not the source's name.
        _addresses(
            _AUTH_ROWS + " AND kind IN ('logon', 'failed-logon')"
            " AND ent_short(source_name) IS DISTINCT FROM ent_short(ent_host(computer))",
            "workstation",
            "ip",
            "logon-source",
        ),
        _accounts(
            _rows("events", "user_name, user_domain, user_sid, computer"),
            "user_name",
            "user_domain",
            "user_sid",
            "event-user",
            "computer",
        ),
        _accounts(
            _AUTH_ROWS, "account_name", "account_domain", "account_sid", "logon-account", "computer"
        ),
        _links(
            _AUTH_ROWS + " AND kind <> 'explicit-credentials'",
            "kind",
            source_of,
            computer,
            account,
            "CASE WHEN kind = 'share' THEN share"
            " WHEN logon_type IS NOT NULL THEN 'logon type ' || logon_type END",
        ),
        _links(
            _AUTH_ROWS + " AND kind = 'explicit-credentials'",
            "kind",
            computer,
            _address_or_host("target_server"),
            account,
        ),
        "DROP TABLE IF EXISTS _entity_auth",
    )


# -- other tables ------------------------------------------------------------------------------


def _auth_statements() -> tuple[str, ...]:
    rows = _rows(
        "auth", "user_name, user_domain, source_ip, target, service, device, scope, result"
    )
    failed = "coalesce(lower(result), 'success') NOT IN ('success', 'succeeded', 'ok', 'allowed')"
    return (
        _accounts(rows, "user_name", "user_domain", "NULL", "auth-user", "device"),
        _hosts(rows, "device", "auth-device"),
        _addresses(
            rows + " AND scope IS DISTINCT FROM 'external'", "device", "source_ip", "auth-device"
        ),
        _links(
            rows,
            f"CASE WHEN {failed} THEN 'failed-sign-in' ELSE 'sign-in' END",
            ("ent_ip(source_ip)", "'address'"),
            ("lower(trim(coalesce(target, service)))", "'service'"),
            "ent_account(ent_acct_name(user_name), ent_acct_domain(user_name, user_domain))",
            "ent_host(device)",
        ),
    )


_PTR_ADDRESS = (
    "CASE WHEN regexp_full_match(lower(query), '(\\d+\\.){4}in-addr\\.arpa\\.?')"
    " THEN array_to_string(list_reverse(string_split(regexp_extract(lower(query),"
    " '^((\\d+\\.){3}\\d+)', 1), '.')), '.') END"
)


def _dns_statements() -> tuple[str, ...]:
    answers = (
        "SELECT query, unnest(answers) AS answer, time, host, source_file, source_sha256,"
        " record_ref FROM dns WHERE run_id = $run_id AND answers IS NOT NULL"
    )
    # Only answers with a private address: a public address is never a host of the case
    # (:mod:`seawall.entities.resolve`), and the internet's names are most of a DNS log's
    # distinct names (10M rows: 4M names; grouping them all took half of the collect).
    private = f"regexp_matches(lower(trim(answer)), {PRIVATE_ADDRESS_SQL})"
    return (
        _addresses(
            f"SELECT * FROM ({answers}) WHERE NOT ends_with(lower(query), '.arpa') AND {private}",
            "query",
            "answer",
            "dns-answer",
        ),
        _addresses(
            f"SELECT * FROM ({answers}) WHERE ends_with(lower(query), '.in-addr.arpa')",
            "answer",
            _PTR_ADDRESS,
            "dns-ptr",
        ),
        _links(
            _rows("dns", "client_ip, server_ip"),
            "'dns'",
            ("ent_ip(client_ip)", "'address'"),
            ("ent_ip(server_ip)", "'address'"),
        ),
    )


def _flow_statements() -> tuple[str, ...]:
    return (
        _links(
            _rows("conn", "client_ip, server_ip, proto, server_port, service"),
            "'flow'",
            ("ent_ip(client_ip)", "'address'"),
            ("ent_ip(server_ip)", "'address'"),
            detail="concat_ws('/', lower(proto), server_port::VARCHAR, lower(service))",
        ),
    )


_SHARE_SERVER = "regexp_extract(share_path, '^\\\\\\\\([^\\\\]+)\\\\', 1)"


def _smb_statements() -> tuple[str, ...]:
    rows = _rows("smb", "client_ip, server_ip, share_path")
    return (
        _links(
            rows,
            "'smb'",
            ("ent_ip(client_ip)", "'address'"),
            ("ent_ip(server_ip)", "'address'"),
            detail="lower(share_path)",
        ),
        _hosts(rows, _SHARE_SERVER, "share-path"),
        _addresses(rows, _SHARE_SERVER, "server_ip", "smb-share"),
    )


def _http_statements() -> tuple[str, ...]:
    rows = _rows("http", "client_ip, server_ip, http_host, user_name")
    return (
        _links(
            rows,
            "'http'",
            ("ent_ip(client_ip)", "'address'"),
            _address_or_host("http_host"),
            "ent_account(ent_acct_name(user_name), ent_acct_domain(user_name, NULL))",
        ),
        _accounts(rows, "user_name", "NULL", "NULL", "proxy-user", "NULL"),
        _addresses(rows, "http_host", "server_ip", "http-host"),
    )


def _web_statements() -> tuple[str, ...]:
    rows = _rows("web", "client_ip, server_ip, vhost, user_name, host AS server_host")
    return (
        _links(
            rows,
            "'web'",
            ("ent_ip(client_ip)", "'address'"),
            (
                "coalesce(ent_host(server_host), ent_ip(server_ip))",
                "CASE WHEN ent_host(server_host) IS NOT NULL THEN 'host' ELSE 'address' END",
            ),
            "ent_account(ent_acct_name(user_name), ent_acct_domain(user_name, NULL))",
            "lower(vhost)",
        ),
        _addresses(rows, "server_host", "server_ip", "web-server"),
        _accounts(rows, "user_name", "NULL", "NULL", "web-user", "server_host"),
    )


def _tls_statements() -> tuple[str, ...]:
    rows = _rows("tls", "client_ip, server_ip, server_name")
    return (
        _links(
            rows,
            "'tls'",
            ("ent_ip(client_ip)", "'address'"),
            ("ent_ip(server_ip)", "'address'"),
            detail="lower(server_name)",
        ),
        _addresses(rows, "server_name", "server_ip", "tls-server-name"),
    )


def _scan_statements() -> tuple[str, ...]:
    rows = _rows("scan", "hostname, address")
    return (
        _hosts(rows, "hostname", "scan"),
        _addresses(rows, "hostname", "address", "scan"),
    )


def _disk_statements() -> tuple[str, ...]:
    return (_hosts(_rows("disk", "host AS disk_host"), "disk_host", "disk"),)


STATEMENTS: dict[str, tuple[str, ...]] = {
    "events": _event_statements(),
    "auth": _auth_statements(),
    "dns": _dns_statements(),
    "conn": _flow_statements(),
    "smb": _smb_statements(),
    "http": _http_statements(),
    "web": _web_statements(),
    "tls": _tls_statements(),
    "scan": _scan_statements(),
    "disk": _disk_statements(),
}
"""The statements that derive entities from each evidence table (tables absent: none)."""

_NAMED_HOST = """
INSERT INTO hosts BY NAME
SELECT name, ent_short(name) AS short_name, ent_domain(name) AS domain,
    'collect-host' AS seen_as, now() AS first_seen, now() AS last_seen, $rows::BIGINT AS count,
    $run_id AS run_id, $host AS host
FROM (SELECT ent_host($host) AS name) WHERE name IS NOT NULL
"""


# DuckDB's memory while the entities are derived. The ingest writes under a small cap
# (``collect.base.INGEST_MEMORY``, 128 MB: writing needs no more), but grouping the rows of a
# large run (10M DNS rows: clients, resolvers and answers) needs hash tables that, even spilling,
# outgrow it: DuckDB then fails with "Out of Memory" instead of spilling. The hunt's cap.
DERIVE_MEMORY = "2GB"


def derive_entities(
    store: CaseStore,
    run_id: str,
    tables: Iterable[str],
    *,
    named_host: str | None = None,
    rows: int = 0,
) -> None:
    """Insert the entity observations of run ``run_id``, which wrote rows of ``tables``
    (call inside the run's last transaction); ``named_host`` is the host the user named for
    the whole run (``--host``), recorded with the number of ``rows`` the run wrote."""
    wanted = [name for name in dict.fromkeys(tables) if name in STATEMENTS]
    if not wanted and named_host is None:
        return
    store.con.complete()
    if not has_entities(store):
        raise CaseError(
            f"case {store.case_dir} has no entity tables ({', '.join(ENTITY_TABLES)}): it was"
            " made by a development build of seawall; collect into a new case"
        )
    for statement in MACROS:
        store.con.execute(statement)
    with store.memory_limit(DERIVE_MEMORY):
        for name in wanted:
            for statement in STATEMENTS[name]:
                parameters = {"run_id": run_id} if "$run_id" in statement else {}
                store.con.execute(statement, parameters).complete()
    if named_host is not None:
        store.con.execute(
            _NAMED_HOST, {"run_id": run_id, "host": named_host, "rows": rows}
        ).complete()
