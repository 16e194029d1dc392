"""Every table of the case, defined once, as Arrow schemas; the DuckDB DDL is derived from them
(:mod:`seawall.model.ddl`). The network, server and authentication log tables are in
:mod:`seawall.model.log_tables`, the building blocks in :mod:`seawall.model.columns`; all of
them are registered here (:data:`TABLES`, :func:`table`).

Readers build Arrow record batches of exactly these schemas, the store creates a new case from
them, and a test checks that a case upgraded through every migration has the same tables as a
new one. A column's Arrow type gives its SQL type; field metadata adds what Arrow cannot say:
``sql`` (a type such as ``JSON``), ``unique`` and ``compression``. A non-nullable field is
``NOT NULL``. ``Table.key`` is the primary key.

Evidence tables end with the same provenance columns (``PROVENANCE``): the run that wrote the
row, the host it describes, the input file, that file's SHA-256 and the record within it (line,
packet, record id, inode…), so any row can be traced back to its input. Times of evidence
tables added since the reader contract are time-zone aware (``TIMESTAMPTZ``, stored as UTC);
the older ``files`` and ``disk`` tables keep naive UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from seawall.model.columns import (
    NAIVE_TIME,
    PROVENANCE,
    TEXT,
    TEXT_LIST,
    UTC_TIME,
    Table,
    json_field,
    required,
)
from seawall.model.columns import evidence_table as _evidence
from seawall.model.log_tables import AUTH, CONN, DNS, HTTP, NETLOG, SCAN, SMB, TLS, WEB

# -- intel and bookkeeping ---------------------------------------------------------------------

RUNS = Table(
    "runs",
    pa.schema(
        [
            required("run_id", TEXT),
            required("command", TEXT),
            json_field("arguments"),
            required("started_at", NAIVE_TIME),
            pa.field("finished_at", NAIVE_TIME),
            required("status", TEXT),
            required("seawall_version", TEXT),
            json_field("summary"),
        ]
    ),
    "every command that wrote to the case: its arguments, status and summary",
    key=("run_id",),
)

SOURCES = Table(
    "sources",
    pa.schema(
        [
            required("source_id", TEXT),
            required("name", TEXT),
            pa.field("path", TEXT),
            pa.field("sha256", TEXT, nullable=False, metadata={"unique": "true"}),
            pa.field("size", pa.int64()),
            required("format", TEXT),
            pa.field("title", TEXT),
            pa.field("producer", TEXT),
            pa.field("techniques", TEXT_LIST),
            required("imported_at", NAIVE_TIME),
            pa.field("run_id", TEXT),
            pa.field("indicator_count", pa.int32()),
            pa.field("warning_count", pa.int32()),
        ]
    ),
    "imported intel files, known by SHA-256",
    key=("source_id",),
)

INDICATORS = Table(
    "indicators",
    pa.schema(
        [
            required("type", TEXT),
            required("value", TEXT),
            pa.field("benign_reason", TEXT),
            pa.field("rejected_reason", TEXT),
            # Summaries of the sightings, kept current by every import so that a lookup needs no
            # join with sightings: best confidence (a source that states none counts as 100),
            # latest valid_until (NULL when some source sets no end), number of sources.
            pa.field("confidence", pa.int32()),
            pa.field("valid_until", NAIVE_TIME),
            pa.field("source_count", pa.int32()),
            required("first_added", NAIVE_TIME),
        ]
    ),
    "one row per normalised indicator value, whatever the number of sources",
    key=("type", "value"),
)

SIGHTINGS = Table(
    "sightings",
    pa.schema(
        [
            required("type", TEXT),
            required("value", TEXT),
            required("source_id", TEXT),
            pa.field("original", TEXT),
            pa.field("location", TEXT),
            pa.field("external_id", TEXT),
            pa.field("title", TEXT),
            pa.field("description", TEXT),
            pa.field("confidence", pa.int32()),
            pa.field("valid_from", NAIVE_TIME),
            pa.field("valid_until", NAIVE_TIME),
            pa.field("first_seen", NAIVE_TIME),
            pa.field("last_seen", NAIVE_TIME),
            pa.field("techniques", TEXT_LIST),
            pa.field("tags", TEXT_LIST),
            json_field("context"),
        ]
    ),
    "what each source says of an indicator",
    key=("type", "value", "source_id"),
)

_UNCOMPRESSED = {"compression": "uncompressed"}
# Large text (an event's JSON): zstd is cheaper to write than the default and scans as fast.
_ZSTD = {"compression": "zstd"}

# The reputation lookup's probe index (see ``seawall.case.schema.INDICATOR_KEYS_SQL``); its text
# columns are uncompressed because every bulk lookup scans them all.
INDICATOR_KEYS = Table(
    "indicator_keys",
    pa.schema(
        [
            pa.field("key", TEXT, nullable=False, metadata=_UNCOMPRESSED),
            required("h", pa.uint64()),
            pa.field("type", TEXT, nullable=False, metadata=_UNCOMPRESSED),
            pa.field("value", TEXT, metadata=_UNCOMPRESSED),
            pa.field("benign_reason", TEXT, metadata=_UNCOMPRESSED),
            pa.field("confidence", pa.int32()),
            pa.field("valid_until", NAIVE_TIME),
            pa.field("net_plen", pa.uint8()),
            pa.field("labels", pa.uint8()),
        ]
    ),
    "every key a looked-up value can meet a usable indicator by",
)

FINDINGS = Table(
    "findings",
    pa.schema(
        [
            required("finding_id", TEXT),
            pa.field("run_id", TEXT),
            required("detection_id", TEXT),
            pa.field("title", TEXT),
            pa.field("severity", TEXT),
            pa.field("score", pa.float64()),
            pa.field("host", TEXT),
            pa.field("user_name", TEXT),
            pa.field("techniques", TEXT_LIST),
            pa.field("first_seen", NAIVE_TIME),
            pa.field("last_seen", NAIVE_TIME),
            pa.field("verdict", TEXT),
            json_field("document"),
        ]
    ),
    "the latest finding of each stable finding id, with its whole document",
    key=("finding_id",),
)

RESULTS = Table(
    "results",
    pa.schema(
        [
            required("run_id", TEXT),
            required("format", pa.int32()),
            required("seawall_version", TEXT),
            required("created_at", NAIVE_TIME),
            pa.field("findings", pa.int64()),
            json_field("document", nullable=False),
        ]
    ),
    "each hunt's whole result document (seawall.model.finding.ResultDocument, schema version"
    " `format`), so reports read a past run without hunting again",
    key=("run_id",),
)

VERDICTS = Table(
    "verdicts",
    pa.schema(
        [
            required("finding_id", TEXT),
            required("verdict", TEXT),
            required("reason", TEXT),
            required("analyst", TEXT),
            required("marked_at", NAIVE_TIME),
            pa.field("run_id", TEXT),
        ]
    ),
    "analysts' reviews of findings (`seawall triage mark`), every one kept: the latest of a"
    " finding is its review, the others its history",
)

SUPPRESSIONS = Table(
    "suppressions",
    pa.schema(
        [
            required("finding_id", TEXT),
            required("file", TEXT),
            required("entry", TEXT),
            required("reason", TEXT),
            pa.field("expires", NAIVE_TIME),
            required("applied_at", NAIVE_TIME),
            json_field("allow"),
            pa.field("run_id", TEXT),
        ]
    ),
    "stored findings an allowlist file given to `seawall triage apply` suppressed: the entry"
    " (file:line) and its reason; applying the file again replaces its rows",
    key=("finding_id", "file"),
)

SWEEP_KEPT = Table(
    "sweep_kept",
    pa.schema(
        [
            required("run_id", TEXT),
            required("path", TEXT),
            pa.field("device", pa.uint64()),
            pa.field("inode", pa.uint64()),
            pa.field("size", pa.int64()),
            pa.field("mtime_ns", pa.int64()),
        ]
    ),
    "the previous rows a file sweep in progress keeps (see seawall.collect.previous)",
)

EVIDENCE_SOURCES = Table(
    "evidence_sources",
    pa.schema(
        [
            required("sha256", TEXT),
            required("path", TEXT),
            pa.field("size", pa.int64()),
            required("format", TEXT),
            pa.field("host", TEXT),
            pa.field("tables", TEXT_LIST),
            pa.field("rows", pa.int64()),
            pa.field("warnings", pa.int64()),
            pa.field("collected_at", NAIVE_TIME),
            pa.field("run_id", TEXT),
        ]
    ),
    "every evidence file a reader ingested, known by SHA-256: collecting it again adds nothing",
    key=("sha256",),
)

BASELINES = Table(
    "baselines",
    pa.schema(
        [
            required("detection_id", TEXT),
            # 'period': one row per learning, saying up to when it learned (present even when
            # nothing was seen, so "nothing before T" is a baseline too); 'seen': one thing seen.
            required("kind", TEXT),
            pa.field("user_name", TEXT),
            pa.field("source", TEXT),
            pa.field("host", TEXT),
            pa.field("item", TEXT),
            pa.field("first_seen", UTC_TIME),
            pa.field("last_seen", UTC_TIME),
            pa.field("count", pa.int64()),
            pa.field("learned_until", UTC_TIME),
            pa.field("learned_at", NAIVE_TIME),
            pa.field("run_id", TEXT),
        ]
    ),
    "what `seawall baseline learn` saw before a time, per detection: (account, source, host,"
    " item) tuples that detections then do not report as new",
)

# -- evidence ----------------------------------------------------------------------------------

FILES = Table(
    "files",
    pa.schema(
        [
            pa.field("path", TEXT),
            pa.field("name", TEXT),
            pa.field("size", pa.int64()),
            pa.field("mtime", NAIVE_TIME),
            pa.field("atime", NAIVE_TIME),
            pa.field("ctime", NAIVE_TIME),
            pa.field("btime", NAIVE_TIME),
            pa.field("owner", TEXT),
            pa.field("mode", pa.int32()),
            pa.field("inode", pa.uint64()),
            pa.field("device", pa.uint64()),
            pa.field("md5", TEXT),
            pa.field("sha1", TEXT),
            pa.field("sha256", TEXT),
            pa.field("file_type", TEXT),
            pa.field("pe_original_name", TEXT),
            pa.field("pe_company", TEXT),
            pa.field("pe_product", TEXT),
            pa.field("pe_description", TEXT),
            pa.field("imphash", TEXT),
            pa.field("signature_status", TEXT),
            pa.field("signer", TEXT),
            *PROVENANCE,
            # Added by migration 2: the exact mtime the re-sweep compares, the evidence's OS and
            # its mapped Windows path (lower-cased), regular file or symlink, numeric owner ids,
            # and a note saying why a row has no hashes.
            pa.field("mtime_ns", pa.int64()),
            pa.field("os", TEXT),
            pa.field("windows_path", TEXT),
            pa.field("file_kind", TEXT),
            pa.field("uid", pa.int64()),
            pa.field("gid", pa.int64()),
            pa.field("note", TEXT),
            json_field("webshell"),
            # Added by migration 8: the shipped YARA set's matches (seawall.features.yara).
            json_field("yara"),
        ]
    ),
    "every swept file: metadata, hashes and content features; each host's latest sweep",
    evidence=True,
)

DISK = _evidence(
    "disk",
    "disk usage snapshots: one row per file system (or directory) and instant",
    pa.field("time", NAIVE_TIME),
    pa.field("mount", TEXT),
    pa.field("device", TEXT),
    pa.field("fs_type", TEXT),
    pa.field("path", TEXT),
    pa.field("total_bytes", pa.int64()),
    pa.field("used_bytes", pa.int64()),
)

EVENTS = _evidence(
    "events",
    "Windows events (EVTX and JSON exports): system fields as columns, the event's own fields"
    " flattened in `data`, the whole event in `raw`",
    pa.field("time", UTC_TIME),
    pa.field("computer", TEXT),
    pa.field("channel", TEXT),
    pa.field("provider", TEXT),
    pa.field("event_id", pa.int32()),
    pa.field("record_id", pa.uint64()),
    pa.field("level", pa.int32()),
    pa.field("process_id", pa.int64()),
    pa.field("thread_id", pa.int64()),
    pa.field("user_sid", TEXT),
    pa.field("user_name", TEXT),
    pa.field("user_domain", TEXT),
    # EventData/UserData flattened to one object of field name -> value (nested names joined
    # with '.'), which SQL reads as data->>'CommandLine' (rules: seawall.collect.events.fields).
    # Values are the source's scalars (text, or a number where Windows stores one): ->> reads
    # every one as text, as Sigma compares.
    # Both text columns are stored zstd-compressed: DuckDB's default string compression
    # (dictionary/FSST analysis at checkpoint) took more than half of an event's insert CPU;
    # zstd halves that, makes the column 6x smaller, and scans as fast.
    pa.field("data", TEXT, metadata={"sql": "JSON", **_ZSTD}),
    # The whole event as the reader got it (EVTX: the parser's JSON; an export: its record).
    # Plain text, not JSON: DuckDB's JSON functions read it all the same (raw->>'$.Event…'),
    # and validating ~1 KB of JSON per event again on insert cost as much as building the
    # row (the readers only ever store a parser's or an export's valid JSON here).
    pa.field("raw", TEXT, metadata=_ZSTD),
    # which reader/format produced the row: evtx, evtx-json, winlogbeat, velociraptor…
    pa.field("format", TEXT),
)

# -- entities ----------------------------------------------------------------------------------
# Who and what the evidence names, derived at collect time from the rows each run wrote
# (seawall.entities.derive): host names, addresses, accounts and the links between them, so that
# correlation can tell that a finding on 10.20.0.10, one on WEB01 and one on
# web01.tidewater.example are about one machine. Each row is an observation aggregated over one
# run (first and last time, count); its provenance columns cite the first record that showed it.
# Names are normalised (lower case, no trailing dot), addresses too (no ::ffff: prefix).


def _entity(name: str, doc: str, *fields: pa.Field) -> Table:
    return Table(
        name,
        pa.schema(
            [
                *fields,
                pa.field("first_seen", UTC_TIME),
                pa.field("last_seen", UTC_TIME),
                pa.field("count", pa.int64()),
                *PROVENANCE,
            ]
        ),
        doc,
    )


HOSTS = _entity(
    "hosts",
    "host names the evidence gives (an event's computer, a logon's workstation, a machine"
    " account, an auth log's device, a name given with --host…): the name, its first label and"
    " its DNS domain, so that a short name and its FQDN are linked",
    pa.field("name", TEXT),
    pa.field("short_name", TEXT),
    pa.field("domain", TEXT),
    pa.field("seen_as", TEXT),
)

HOST_ADDRESSES = _entity(
    "host_addresses",
    "a host name and an address it had, and how that was seen (a DNS answer, a logon's"
    " workstation and source address, a web server's address, a scan…)",
    pa.field("name", TEXT),
    pa.field("address", TEXT),
    pa.field("seen_as", TEXT),
)

ACCOUNTS = _entity(
    "accounts",
    "accounts the evidence names: name and domain as seen (NetBIOS or DNS), SID, UPN, and the"
    " host (provenance column) it was seen on",
    pa.field("name", TEXT),
    pa.field("domain", TEXT),
    pa.field("sid", TEXT),
    pa.field("upn", TEXT),
    pa.field("seen_as", TEXT),
)

LINKS = _entity(
    "links",
    "who reached what: logons, share mappings, Kerberos tickets and sign-ins (source address"
    " or host to a target, with the account), flows, DNS, HTTP, TLS and web requests (client to"
    " server)",
    pa.field("kind", TEXT),
    pa.field("source", TEXT),
    pa.field("source_type", TEXT),
    pa.field("target", TEXT),
    pa.field("target_type", TEXT),
    pa.field("account", TEXT),
    pa.field("detail", TEXT),
)

ENTITY_TABLES: tuple[str, ...] = ("hosts", "host_addresses", "accounts", "links")

# In the order `seawall case info` reports them.
TABLES: tuple[Table, ...] = (
    SOURCES,
    INDICATORS,
    SIGHTINGS,
    INDICATOR_KEYS,
    RUNS,
    EVIDENCE_SOURCES,
    FILES,
    SWEEP_KEPT,
    DISK,
    EVENTS,
    DNS,
    CONN,
    HTTP,
    WEB,
    TLS,
    SMB,
    AUTH,
    NETLOG,
    SCAN,
    HOSTS,
    HOST_ADDRESSES,
    ACCOUNTS,
    LINKS,
    BASELINES,
    FINDINGS,
    RESULTS,
    VERDICTS,
    SUPPRESSIONS,
)
BY_NAME: Mapping[str, Table] = {table.name: table for table in TABLES}
EVIDENCE_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.evidence)


def table(name: str) -> Table:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in the case schema") from None
