"""How a case gets its tables: created from the schema, or upgraded by migrations.

The tables are defined once, as Arrow schemas, in :mod:`seawall.model.tables`: a new case is
created from them directly (``CREATE_STATEMENTS``) at ``LATEST_VERSION``. A case made by an older
seawall records the highest migration applied in ``schema_version`` and gets the missing ones
(a newer seawall upgrades an older case); a case whose version is higher than
``LATEST_VERSION`` was written by a newer seawall and is refused rather than misread.

``MIGRATIONS`` is history: its statements bring a case of any earlier version to the current
tables, and a test checks that an upgraded case and a new one have exactly the same columns,
types and keys. Migrations 1 to 6 are the SQL of their day, kept as it was. From 7 on, a
migration that creates a table derives it from the table's current schema, so a later change to
that table must be written so that it also holds after such a creation (``ADD COLUMN IF NOT
EXISTS``, ``DROP COLUMN IF EXISTS``).
"""

from __future__ import annotations

from dataclasses import dataclass

from seawall.model.ddl import create_tables_ddl
from seawall.model.tables import TABLES

PROVENANCE = """
    run_id VARCHAR,
    host VARCHAR,
    source_file VARCHAR,
    source_sha256 VARCHAR,
    record_ref VARCHAR
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR NOT NULL,
        arguments JSON,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        status VARCHAR NOT NULL,
        seawall_version VARCHAR NOT NULL,
        summary JSON
    )""",
    """CREATE TABLE sources (
        source_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        path VARCHAR,
        sha256 VARCHAR NOT NULL UNIQUE,
        size BIGINT,
        format VARCHAR NOT NULL,
        title VARCHAR,
        producer VARCHAR,
        techniques VARCHAR[],
        imported_at TIMESTAMP NOT NULL,
        run_id VARCHAR,
        indicator_count INTEGER,
        warning_count INTEGER
    )""",
    """CREATE TABLE indicators (
        type VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        benign_reason VARCHAR,
        rejected_reason VARCHAR,
        -- Summaries of the sightings, kept current by every import so that a lookup needs no
        -- join with sightings: best confidence (a source that states none counts as 100),
        -- latest valid_until (NULL when some source sets no end), number of sources.
        confidence INTEGER,
        valid_until TIMESTAMP,
        source_count INTEGER,
        first_added TIMESTAMP NOT NULL,
        PRIMARY KEY (type, value)
    )""",
    """CREATE TABLE sightings (
        type VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        source_id VARCHAR NOT NULL,
        original VARCHAR,
        location VARCHAR,
        external_id VARCHAR,
        title VARCHAR,
        description VARCHAR,
        confidence INTEGER,
        valid_from TIMESTAMP,
        valid_until TIMESTAMP,
        first_seen TIMESTAMP,
        last_seen TIMESTAMP,
        techniques VARCHAR[],
        tags VARCHAR[],
        context JSON,
        PRIMARY KEY (type, value, source_id)
    )""",
    f"""CREATE TABLE files (
        path VARCHAR, name VARCHAR, size BIGINT,
        mtime TIMESTAMP, atime TIMESTAMP, ctime TIMESTAMP, btime TIMESTAMP,
        owner VARCHAR, mode INTEGER, inode UBIGINT, device UBIGINT,
        md5 VARCHAR, sha1 VARCHAR, sha256 VARCHAR, file_type VARCHAR,
        pe_original_name VARCHAR, pe_company VARCHAR, pe_product VARCHAR,
        pe_description VARCHAR, imphash VARCHAR, signature_status VARCHAR, signer VARCHAR,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE events (
        time TIMESTAMP, channel VARCHAR, provider VARCHAR, event_id INTEGER,
        record_id UBIGINT, computer VARCHAR, user_name VARCHAR, data JSON,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE dns (
        time TIMESTAMP, client_ip VARCHAR, server_ip VARCHAR, query VARCHAR,
        qtype VARCHAR, rcode VARCHAR, answers VARCHAR[],
        {PROVENANCE}
    )""",
    f"""CREATE TABLE http (
        time TIMESTAMP, client_ip VARCHAR, server_ip VARCHAR, method VARCHAR, url VARCHAR,
        host_header VARCHAR, user_agent VARCHAR, status INTEGER, bytes_out BIGINT,
        bytes_in BIGINT,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE conn (
        time TIMESTAMP, client_ip VARCHAR, client_port INTEGER, server_ip VARCHAR,
        server_port INTEGER, proto VARCHAR, service VARCHAR, duration DOUBLE,
        bytes_out BIGINT, bytes_in BIGINT, uid VARCHAR,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE auth (
        time TIMESTAMP, user_name VARCHAR, user_domain VARCHAR, source_ip VARCHAR,
        target VARCHAR, logon_type VARCHAR, method VARCHAR, result VARCHAR, service VARCHAR,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE disk (
        time TIMESTAMP, mount VARCHAR, device VARCHAR, fs_type VARCHAR, path VARCHAR,
        total_bytes BIGINT, used_bytes BIGINT,
        {PROVENANCE}
    )""",
    f"""CREATE TABLE web (
        time TIMESTAMP, client_ip VARCHAR, vhost VARCHAR, method VARCHAR, uri VARCHAR,
        status INTEGER, bytes BIGINT, referrer VARCHAR, user_agent VARCHAR,
        {PROVENANCE}
    )""",
    """CREATE TABLE findings (
        finding_id VARCHAR PRIMARY KEY,
        run_id VARCHAR,
        detection_id VARCHAR NOT NULL,
        title VARCHAR,
        severity VARCHAR,
        score DOUBLE,
        host VARCHAR,
        user_name VARCHAR,
        techniques VARCHAR[],
        first_seen TIMESTAMP,
        last_seen TIMESTAMP,
        verdict VARCHAR,
        document JSON
    )""",
)

# What `seawall collect files` needs beyond migration 1: the exact mtime (nanoseconds) that the
# incremental re-sweep compares, the evidence's OS and its mapped Windows path (matching is
# case-insensitive on Windows, so the path is stored lower-cased), whether the row is a regular
# file or a symlink, numeric owner ids (a mounted image's owners are not this machine's users), and
# a note saying why a row has no hashes (too large, unreadable, symlink) without raising a warning.
_V2 = (
    "ALTER TABLE files ADD COLUMN mtime_ns BIGINT",
    "ALTER TABLE files ADD COLUMN os VARCHAR",
    "ALTER TABLE files ADD COLUMN windows_path VARCHAR",
    "ALTER TABLE files ADD COLUMN file_kind VARCHAR",
    "ALTER TABLE files ADD COLUMN uid BIGINT",
    "ALTER TABLE files ADD COLUMN gid BIGINT",
    "ALTER TABLE files ADD COLUMN note VARCHAR",
)

# The probe index of the reputation lookup: every key a looked-up value can meet a usable
# (not rejected) indicator by, so that a bulk lookup joins against a stored table instead of
# deriving the keys from `indicators` on every call. Keys: the value itself; a URL's lower-cased
# form (query URLs are lower-cased, paths included); and for an IPv4 network a
# ' net <prefix length>/<network as integer>' key that an address's own prefix of that length
# meets by equality (the leading space keeps it apart from any trimmed query value).
# The join runs on the integer `h`, not on the string: DuckDB's hash() of the key, or for a
# network key the exact code (prefix length << 32 | network), so a lookup never builds a network
# key string. Equal `h` is only a candidate: the lookup then compares `key` (or, for a network
# probe, checks that the row is a network key), so a hash collision never makes a match.
# `value` is the indicator's value only where it differs from `key` (URLs, networks), which keeps
# the column the join carries almost empty; the verdict columns are copies of the indicator's;
# `net_plen` and `labels` (a domain's label count) tell a lookup which probes can match at all.
# The importer keeps the table current inside its transaction (`INDICATOR_KEYS_SQL`, filtered to
# the indicators it touched); this migration fills it for cases imported before it existed.
# An IPv4 address's number from the list ``octets`` of its four octets (the lookup's SQL path
# numbers a URL's address host with it too).
IPV4_NUMBER = """((octets[1]::UBIGINT << 24) + (octets[2]::UBIGINT << 16)
        + (octets[3]::UBIGINT << 8) + octets[4]::UBIGINT)"""

INDICATOR_KEYS_SQL = f"""
WITH usable AS (
    SELECT type, value, benign_reason, confidence, valid_until FROM indicators
    WHERE rejected_reason IS NULL AND ({{where}})
),
networks AS (
    SELECT *, (ip >> (32 - plen)) << (32 - plen) AS network
    FROM (
        SELECT *, {IPV4_NUMBER} AS ip
        FROM (
            SELECT *, split_part(value, '/', 2)::UBIGINT AS plen,
                string_split(split_part(value, '/', 1), '.') AS octets
            FROM usable WHERE type = 'cidr' AND NOT contains(value, ':')
        )
    )
)
SELECT value AS key, hash(value) AS h, type, NULL AS value, benign_reason, confidence,
    valid_until, NULL::UTINYINT AS net_plen,
    CASE WHEN type = 'domain' THEN length(value) - length(replace(value, '.', '')) + 1 END
        ::UTINYINT AS labels
FROM usable
UNION ALL
SELECT lower(value), hash(lower(value)), type, value, benign_reason, confidence, valid_until,
    NULL, NULL
FROM usable WHERE type = 'url' AND value <> lower(value)
UNION ALL
SELECT ' net ' || plen || '/' || network, (plen << 32) | network, type, value, benign_reason,
    confidence, valid_until, plen::UTINYINT, NULL
FROM networks
"""

_V3 = (
    """CREATE TABLE indicator_keys (
        key VARCHAR NOT NULL,
        h UBIGINT NOT NULL,
        type VARCHAR NOT NULL,
        value VARCHAR,
        benign_reason VARCHAR,
        confidence INTEGER,
        valid_until TIMESTAMP,
        net_plen UTINYINT,
        labels UTINYINT
    )""",
    "INSERT INTO indicator_keys BY NAME " + INDICATOR_KEYS_SQL.format(where="true"),
)

# Web-shell features extracted at collect time, like hashes and PE metadata: a hunt then judges
# web-root scripts from the case alone, even once the evidence is out of reach.
_V4 = ("ALTER TABLE files ADD COLUMN webshell JSON",)

# A file sweep commits its rows in batches (one transaction would hold them all in memory) and
# makes them the host's state only in its last transaction. Until then a re-sweep notes here each
# previous row it keeps (an unchanged file: the row is neither read nor rewritten), so that the
# last transaction can delete the previous rows it did not keep. A crash leaves the run
# 'running': the next open discards its rows (CaseStore.discard_run), the previous ones intact.
_V5 = (
    """CREATE TABLE sweep_kept (
        run_id VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        device UBIGINT,
        inode UBIGINT,
        size BIGINT,
        mtime_ns BIGINT
    )""",
)

# The lookup scans every row of the probe index for each bulk lookup: its text columns are kept
# uncompressed, which makes that scan about three times cheaper (decoding dictionary/FSST
# strings was a tenth of a lookup's CPU) for about a quarter more disk for the index. A column's
# compression is fixed when its table is created, so the table is made anew and refilled.
_V6 = (
    "CREATE TEMPORARY TABLE _indicator_keys_v5 AS SELECT * FROM indicator_keys",
    "DROP TABLE indicator_keys",
    """CREATE TABLE indicator_keys (
        key VARCHAR USING COMPRESSION uncompressed NOT NULL,
        h UBIGINT NOT NULL,
        type VARCHAR USING COMPRESSION uncompressed NOT NULL,
        value VARCHAR USING COMPRESSION uncompressed,
        benign_reason VARCHAR USING COMPRESSION uncompressed,
        confidence INTEGER,
        valid_until TIMESTAMP,
        net_plen UTINYINT,
        labels UTINYINT
    )""",
    "INSERT INTO indicator_keys BY NAME SELECT * FROM _indicator_keys_v5",
    "DROP TABLE _indicator_keys_v5",
)

# The reader contract (issue 10): evidence tables defined once in ``seawall.model.tables``. The
# event and network tables of migration 1 were never filled (no reader wrote them), so they are
# made anew in their designed shape, with the tables the readers add and ``evidence_sources``,
# which makes collecting an evidence file twice add nothing.
_REPLACED = ("events", "dns", "http", "conn", "auth", "web")
_ADDED = (
    "evidence_sources",
    "tls",
    "smb",
    "netlog",
    "scan",
    "baselines",
    "results",
    "verdicts",
    "suppressions",
    # entities derived at collect time (seawall.entities)
    "hosts",
    "host_addresses",
    "accounts",
    "links",
)
_V7 = (
    *(f"DROP TABLE {name}" for name in _REPLACED),
    *create_tables_ddl((*_REPLACED, *_ADDED)),
)

# The shipped YARA set's matches, extracted at collect time like the web-shell assessment: the
# hunt turns them into findings from the case alone.
_V8 = ("ALTER TABLE files ADD COLUMN IF NOT EXISTS yara JSON",)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "indicators, sources, runs, evidence tables, findings", _V1),
    Migration(2, "files: mtime_ns, os, windows_path, file_kind, uid, gid, note", _V2),
    Migration(3, "indicator_keys: the reputation lookup's probe index", _V3),
    Migration(4, "files: webshell (the web-shell assessment made at collect time)", _V4),
    Migration(5, "sweep_kept: the previous rows a sweep in progress keeps", _V5),
    Migration(6, "indicator_keys: text columns uncompressed (the lookup scans them)", _V6),
    Migration(
        7,
        "evidence tables from the reader contract; evidence_sources; baselines; results"
        " (stored result documents), verdicts and suppressions (triage); entities (hosts,"
        " host_addresses, accounts, links)",
        _V7,
    ),
    Migration(8, "files: yara (the shipped YARA set's matches at collect time)", _V8),
)

LATEST_VERSION = MIGRATIONS[-1].version

# A new case: every table from its schema.
CREATE_STATEMENTS: tuple[str, ...] = create_tables_ddl(t.name for t in TABLES)

# Tables that only serve other tables (the lookup's probe index, a sweep's bookkeeping).
INTERNAL_TABLES = ("indicator_keys", "sweep_kept")
# The tables `seawall case info` reports, in a stable order.
CASE_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.name not in INTERNAL_TABLES)
