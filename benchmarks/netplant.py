"""Zeek ``dns.log`` and ``conn.log`` with planted tunnels, beacons and indicator hits.

Deterministic (the same size gives the same bytes), made by DuckDB so that ten million rows take
seconds: used at 200k rows by ``tests/detect/test_planted_network.py`` and at 10M rows by
``benchmarks/dns_hunt.py``. What is planted is returned as :class:`Planted` cases, the ground
truth a test compares the findings with.

The **background** is what a network's DNS looks like and what naive detectors fire on: popular
domains with many host names, internal Active Directory names and SRV records, reverse lookups,
CDN and video names made of hashes and digits (``e4521.dscb.akamaiedge.net``,
``r4---sn-a5mekn7s.googlevideo.com``), per-distribution ``cloudfront.net`` names, anti-virus
reputation look-ups of hex hashes by every client, a long tail of rare domains, a mail server
looking up MX and TXT records of many domains, fleet-wide telemetry every 15 minutes (a beacon
every host has: software, not C2), and the resolvers' own recursion to root and authoritative
servers. Clients ask two internal resolvers.

The **planted** cases, one client each: an iodine-like NULL tunnel, a dnscat2-like hex tunnel over
TXT/CNAME/MX, a slow A-record exfiltration, a DNS beacon, two HTTPS beacons in ``conn.log`` (one
with 30% jitter), queries to an indicator domain's subdomain, an answer holding an indicator
address and flows to it and into an indicator network, a client using a public resolver
directly and one using DNS over TLS.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from pathlib import Path

import duckdb

GENERATOR_VERSION = 4
START = 1_717_200_000  # 2024-06-01 00:00:00 UTC
SPAN = 86_400.0  # one day of traffic

DNS_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "trans_id",
    "rtt",
    "query",
    "qclass",
    "qclass_name",
    "qtype",
    "qtype_name",
    "rcode",
    "rcode_name",
    "AA",
    "TC",
    "RD",
    "RA",
    "Z",
    "answers",
    "TTLs",
    "rejected",
]
DNS_TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "count",
    "interval",
    "string",
    "count",
    "string",
    "count",
    "string",
    "count",
    "string",
    "bool",
    "bool",
    "bool",
    "bool",
    "count",
    "vector[string]",
    "vector[interval]",
    "bool",
]
CONN_FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
]
CONN_TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
]

QTYPES = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "SRV": 33,
    "NULL": 10,
}

# The indicator list the planted hits match (a plain-text list `intel import` reads).
INDICATORS = """\
# planted indicators (seawall benchmarks/netplant.py)
apt-update-mirror.com
45.77.10.20
103.14.0.0/16
"""


@dataclass(frozen=True, slots=True)
class Planted:
    """One planted case: the detection that must find it, the host its finding is about, and
    what the finding's summary must name."""

    detection: str
    host: str
    key: str
    what: str


PLANTED: tuple[Planted, ...] = (
    Planted("net.dns-tunnel", "10.1.9.77", "ns-update-cache.net", "iodine-like NULL tunnel"),
    Planted("net.dns-tunnel", "10.2.3.44", "cdn-statics-edge.com", "dnscat2-like hex tunnel"),
    Planted("net.dns-tunnel", "10.3.1.15", "metrics-uplink.org", "slow exfiltration in A"),
    Planted("net.beacon", "10.4.2.8", "update.check-in-service.com", "DNS beacon, 300 s +-10%"),
    Planted("net.beacon", "10.5.6.7", "203.0.113.50", "HTTPS beacon every 60 s +-5 s"),
    Planted("net.beacon", "10.5.6.8", "198.51.100.23", "beacon every 600 s +-30%"),
    Planted("net.dns-ioc", "10.6.1.1", "apt-update-mirror.com", "subdomain of an indicator"),
    Planted("net.ioc-ip", "10.6.1.2", "45.77.10.20", "indicator address, answers and flows"),
    Planted("net.ioc-ip", "10.6.1.3", "103.14.0.0/16", "flows into an indicator network"),
    Planted("net.dns-unapproved-resolver", "10.7.7.7", "8.8.8.8", "a public resolver asked"),
    Planted("net.dns-unapproved-resolver", "10.7.7.8", "1.1.1.1", "DNS over TLS"),
    Planted("net.large-transfer", "10.8.1.5", "198.51.100.77", "90 MB to a rare destination"),
    Planted("net.large-transfer", "10.8.1.6", "52.216.10.10", "30 MB to a cloud storage bucket"),
)


# -- background, one SQL row per i (ih(i, salt) as the random source) -----------------------

_WORDS = (
    "['net','cloud','data','shop','news','mail','tech','soft','info','media','web','app','blue',"
    "'star','city','green','fast','smart','home','travel','bank','health','sport','game','music',"
    "'photo','video','learn','work','store','micro','global','prime','north','river','stone',"
    "'light','open','link','zone']"
)
_TLDS = "['com','com','com','net','org','io','co.uk','de','fr','info']"
_HOSTS = "['www','www','www','mail','api','login','cdn','static','img','accounts','app','m']"

_BACKGROUND = f"""
WITH base AS (
  SELECT i,
    ih(i, 1) % 1000000 / 1000000.0 AS u,
    ih(i, 2) AS h,
    ih(i, 3) AS g,
    {START} + i * ({SPAN} / {{rows}}) + (ih(i, 4) % 1000) / 1000.0 * ({SPAN} / {{rows}}) AS t,
    (ih(i, 5) % {{clients}}) AS c
  FROM range({{background}}) r(i)
),
named AS (
  SELECT i, t, c, h, g,
    CASE
      WHEN u < 0.40 THEN 'popular'
      WHEN u < 0.50 THEN 'internal'
      WHEN u < 0.53 THEN 'srv'
      WHEN u < 0.58 THEN 'akamai'
      WHEN u < 0.61 THEN 'googlevideo'
      WHEN u < 0.63 THEN 'cloudfront'
      WHEN u < 0.66 THEN 'reverse'
      WHEN u < 0.69 THEN 'antivirus'
      WHEN u < 0.71 THEN 'mailserver'
      WHEN u < 0.715 THEN 'recursion'
      ELSE 'tail'
    END AS kind
  FROM base
),
rows AS (
  SELECT i, t, kind, g,
    CASE kind WHEN 'mailserver' THEN '10.0.5.25' WHEN 'recursion' THEN '10.0.0.' || (1 + c % 2)
      ELSE '10.' || (1 + c // 250 % 200) || '.' || (c % 250 // 10) || '.' || (10 + c % 10) END
      AS client,
    CASE kind WHEN 'recursion'
      THEN ['198.41.0.4','199.9.14.201','192.33.4.12','205.251.196.1','216.239.32.10'][1 + h % 5]
      ELSE '10.0.0.' || (1 + c % 2) END AS server,
    CASE kind
      WHEN 'popular' THEN {_HOSTS}[1 + g % 12] || '.' || {_WORDS}[1 + h % 40]
        || {_WORDS}[1 + h // 40 % 40] || '.' || {_TLDS}[1 + h // 1600 % 10]
      WHEN 'internal' THEN ['ws','srv','fs','print','db'][1 + g % 5] || (h % 600) || '.corp.example'
      WHEN 'srv' THEN ['_ldap._tcp.dc._msdcs', '_kerberos._tcp', '_gc._tcp',
                       '_ldap._tcp.default-first-site-name._sites.dc._msdcs'][1 + g % 4]
        || '.corp.example'
      WHEN 'akamai' THEN 'e' || (h % 99999) || '.dscb.akamaiedge.net'
      WHEN 'googlevideo' THEN 'r' || (1 + g % 8) || '---sn-' || substr(md5(h::VARCHAR), 1, 8)
        || '.googlevideo.com'
      WHEN 'cloudfront' THEN 'd' || substr(md5((h % 3000)::VARCHAR), 1, 13) || '.cloudfront.net'
      WHEN 'reverse' THEN (h % 250) || '.' || (h // 250 % 250) || '.' || (g % 250)
        || '.10.in-addr.arpa'
      WHEN 'antivirus' THEN substr(md5(h::VARCHAR), 1, 32) || '.avqs.avscan-cloud.com'
      WHEN 'mailserver' THEN CASE WHEN g % 2 = 0 THEN '' ELSE '_dmarc.' END
        || {_WORDS}[1 + h % 40] || {_WORDS}[1 + h // 40 % 40] || (h // 1600 % 500) || '.'
        || {_TLDS}[1 + g // 7 % 10]
      WHEN 'recursion' THEN {_WORDS}[1 + h % 40] || {_WORDS}[1 + h // 40 % 40] || '.com'
      ELSE CASE WHEN g % 3 = 0 THEN 'www.' ELSE '' END || {_WORDS}[1 + h % 40] || '-'
        || {_WORDS}[1 + h // 40 % 40] || (h // 1600 % {{tail}}) || '.' || {_TLDS}[1 + g // 7 % 10]
    END AS query,
    CASE kind
      WHEN 'srv' THEN 'SRV' WHEN 'reverse' THEN 'PTR'
      WHEN 'mailserver' THEN CASE WHEN g % 2 = 0 THEN 'MX' ELSE 'TXT' END
      WHEN 'recursion' THEN CASE WHEN g % 3 = 0 THEN 'NS' ELSE 'A' END
      ELSE CASE WHEN g % 4 = 0 THEN 'AAAA' ELSE 'A' END
    END AS qtype
  FROM named
)
SELECT t AS ts, client, server, query, qtype,
  CASE WHEN kind = 'tail' AND g % 11 = 0 THEN 3 ELSE 0 END AS rcode,
  CASE WHEN qtype = 'A' AND NOT (kind = 'tail' AND g % 11 = 0)
       THEN '93.184.' || (g % 200) || '.' || (g // 200 % 250) END AS answers
FROM rows
"""

# Every client asks the vendor's telemetry name every 15 minutes (±2%): a beacon of the fleet.
_TELEMETRY = f"""
SELECT {START} + (c * 7.3) % 900 + k * 900 + (ih(c, k) % 36 - 18) AS ts,
  '10.' || (1 + c // 250 % 200) || '.' || (c % 250 // 10) || '.' || (10 + c % 10) AS client,
  '10.0.0.' || (1 + c % 2) AS server, 'settings.vendorsoft-telemetry.com' AS query, 'A' AS qtype,
  0 AS rcode, '52.1.1.' || (c % 20) AS answers
FROM range({{clients}}) a(c), range(96) b(k)
"""

_CONN_BACKGROUND = f"""
SELECT {START} + i * ({SPAN} / {{rows}}) AS ts,
  '10.' || (1 + c // 250 % 200) || '.' || (c % 250 // 10) || '.' || (10 + c % 10) AS client,
  CASE WHEN port = 53 THEN '10.0.0.' || (1 + c % 2)
       WHEN port = 445 OR ih(i, 7) % 10 < 3
         THEN '10.0.' || (ih(i, 8) % 8) || '.' || (ih(i, 9) % 40)
       ELSE '93.184.' || (ih(i, 8) % 200) || '.' || (ih(i, 9) % 250) END AS server,
  port,
  (ih(i, 11) % 60000) / 100.0 AS duration,
  (200 + ih(i, 12) % 20000)::BIGINT AS bytes_out,
  (500 + ih(i, 13) % 2000000)::BIGINT AS bytes_in
FROM (
  SELECT i, ih(i, 6) % {{clients}} AS c, [443, 443, 443, 80, 445, 53, 8080, 993][1 + ih(i, 10) % 8]
    AS port
  FROM range({{background}}) r(i)
)
UNION ALL
SELECT {START} + (c * 11.1) % 900 + k * 900 + (ih(c, k, 1) % 36 - 18),
  '10.' || (1 + c // 250 % 200) || '.' || (c % 250 // 10) || '.' || (10 + c % 10),
  '52.1.1.' || (c % 20), 443, 0.4, 620::BIGINT, 4100::BIGINT
FROM range({{clients}}) a(c), range(96) b(k)
"""


def _b32(rng: random.Random, size: int) -> str:
    return base64.b32encode(rng.randbytes(size)).decode().lower().rstrip("=")


def _labels(text: str, width: int = 57) -> str:
    return ".".join(text[k : k + width] for k in range(0, len(text), width))


def _planted_dns(rows: int) -> list[tuple[float, str, str, str, str, int, str | None]]:
    """(ts, client, server, query, qtype, rcode, answers) of every planted DNS row."""
    rng = random.Random(20240601)
    out: list[tuple[float, str, str, str, str, int, str | None]] = []
    # iodine-like: NULL queries, base32 payloads in 57-character labels, one client, 2 hours
    count = max(1500, rows // 200)
    for k in range(count):
        payload = _b32(rng, rng.randint(40, 110))
        name = f"{_labels('p' + payload)}.t.ns-update-cache.net"
        out.append(
            (START + 3600 + k * 7200 / count, "10.1.9.77", "10.0.0.1", name, "NULL", 0, None)
        )
    # dnscat2-like: hex payloads, TXT/CNAME/MX, one client, 4 hours
    count = max(800, rows // 500)
    for k in range(count):
        payload = rng.randbytes(rng.randint(20, 60)).hex()
        name = f"{_labels(payload, 60)}.cdn-statics-edge.com"
        qtype = ("TXT", "CNAME", "MX")[k % 3]
        out.append(
            (START + 20000 + k * 14400 / count, "10.2.3.44", "10.0.0.2", name, qtype, 0, None)
        )
    # slow exfiltration: one A query every 30 s for 3 hours, 40-character base32 labels
    for k in range(360):
        name = f"{_b32(rng, 25)}.s.metrics-uplink.org"
        out.append(
            (
                START + 40000 + k * 30 + rng.uniform(-3, 3),
                "10.3.1.15",
                "10.0.0.1",
                name,
                "A",
                3,
                None,
            )
        )
    # DNS beacon: the same name every 300 s +-10% for 20 hours
    for k in range(240):
        out.append(
            (
                START + 600 + k * 300 + rng.uniform(-30, 30),
                "10.4.2.8",
                "10.0.0.2",
                "update.check-in-service.com",
                "A",
                0,
                "185.220.5.9",
            )
        )
    # indicator hits: a subdomain of an indicator domain; an answer with an indicator address
    for k in range(12):
        out.append(
            (
                START + 5000 + k * 1800,
                "10.6.1.1",
                "10.0.0.1",
                "dl.apt-update-mirror.com",
                "A",
                0,
                "185.220.5.10",
            )
        )
    for k in range(5):
        out.append(
            (
                START + 9000 + k * 4000,
                "10.6.1.2",
                "10.0.0.2",
                "cdn.legit-looking.net",
                "A",
                0,
                "45.77.10.20",
            )
        )
    # the names of two exfiltration destinations, asked just before the transfers
    out.append(
        (
            START + 60000,
            "10.8.1.6",
            "10.0.0.1",
            "backup-7731.s3.amazonaws.com",
            "A",
            0,
            "52.216.10.10",
        )
    )
    out.append(
        (
            START + 61000,
            "10.8.1.5",
            "10.0.0.2",
            "files.quick-share-drop.net",
            "A",
            0,
            "198.51.100.77",
        )
    )
    # a client asking a public resolver directly
    for k in range(100):
        out.append(
            (
                START + 30000 + k * 97,
                "10.7.7.7",
                "8.8.8.8",
                f"www.{_b32(rng, 3)}.com",
                "A",
                0,
                "93.184.1.1",
            )
        )
    return out


def _planted_conn(rows: int) -> list[tuple[float, str, str, int, float, int, int]]:
    """(ts, client, server, port, duration, bytes_out, bytes_in) of every planted flow."""
    rng = random.Random(20240602)
    out: list[tuple[float, str, str, int, float, int, int]] = []
    for k in range(1440):  # every 60 s +- 5 s, near-constant sizes, all day
        out.append(
            (
                START + 30 + k * 60 + rng.uniform(-5, 5),
                "10.5.6.7",
                "203.0.113.50",
                443,
                0.3,
                410 + rng.randint(-10, 10),
                1200 + rng.randint(-30, 30),
            )
        )
    for k in range(144):  # every 600 s +- 30%, all day
        out.append(
            (
                START + 100 + k * 600 + rng.uniform(-180, 180),
                "10.5.6.8",
                "198.51.100.23",
                8443,
                1.2,
                2300 + rng.randint(-50, 50),
                860 + rng.randint(-20, 20),
            )
        )
    for k in range(5):  # to the indicator address and into the indicator network
        out.append((START + 9001 + k * 4000, "10.6.1.2", "45.77.10.20", 443, 3.0, 5000, 90000))
        out.append((START + 12000 + k * 3000, "10.6.1.3", "103.14.5.6", 8080, 2.0, 3000, 4000))
    for k in range(4):  # exfiltration: 90 MB to a rare address, 30 MB to a cloud bucket
        out.append(
            (START + 61010 + k * 300, "10.8.1.5", "198.51.100.77", 443, 250.0, 22_500_000, 40_000)
        )
        out.append(
            (START + 60010 + k * 300, "10.8.1.6", "52.216.10.10", 443, 90.0, 7_500_000, 20_000)
        )
    for _ in range(40):  # DNS over TLS to a public resolver, when the user browses
        out.append(
            (
                START + 50000 + rng.uniform(0, 20000),
                "10.7.7.8",
                "1.1.1.1",
                853,
                0.2,
                rng.randint(300, 3000),
                rng.randint(500, 9000),
            )
        )
    del rows
    return out


def _header(path: str, fields: list[str], types: list[str]) -> bytes:
    return (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{path}\n#open\t2024-06-01-00-00-00\n"
        "#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n"
    ).encode()


def _write(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    path: Path,
    log: str,
    fields: list[str],
    types: list[str],
) -> None:
    body = path.with_suffix(".body")
    con.execute(
        f"COPY ({sql}) TO '{body}' (FORMAT csv, DELIMITER '\t', HEADER false, NULLSTR '-',"
        " QUOTE '')"
    )
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(_header(log, fields, types))
        with body.open("rb") as data:
            while chunk := data.read(1 << 24):
                out.write(chunk)
        out.write(b"#close\t2024-06-02-00-00-00\n")
    body.unlink()
    partial.rename(path)


def sizes(rows: int) -> dict[str, int]:
    """How many clients and tail domains a log of ``rows`` DNS rows has."""
    clients = max(100, min(2000, rows // 1000))
    return {"clients": clients, "tail": max(2000, rows // 200)}


def plant(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """Write ``dns.log`` (``rows`` rows in all), ``conn.log`` (a tenth as many background
    flows) and ``indicators.txt`` into ``folder`` (once: kept for later runs, named by size
    and generator version); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"planted-{rows}-v{GENERATOR_VERSION}"
    dns, conn = folder / f"{stem}-dns.log", folder / f"{stem}-conn.log"
    indicators = folder / f"{stem}-indicators.txt"
    indicators.write_text(INDICATORS, encoding="utf-8")
    if dns.exists() and conn.exists():
        return dns, conn, indicators
    counts = sizes(rows)
    planted = _planted_dns(rows)
    telemetry = counts["clients"] * 96
    background = max(0, rows - len(planted) - telemetry)
    fill = {**counts, "rows": rows, "background": background}
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    # hash() is unsigned: the SQL above draws its random numbers from this signed version
    con.execute(
        "CREATE TEMP MACRO ih(a) AS (hash(a) >> 1)::BIGINT,"
        " (a, b) AS (hash(a, b) >> 1)::BIGINT, (a, b, c) AS (hash(a, b, c) >> 1)::BIGINT"
    )
    con.execute(
        "CREATE TEMP TABLE planted (ts DOUBLE, client VARCHAR, server VARCHAR, query VARCHAR,"
        " qtype VARCHAR, rcode INTEGER, answers VARCHAR)"
    )
    con.executemany("INSERT INTO planted VALUES (?, ?, ?, ?, ?, ?, ?)", planted)
    qtypes = ", ".join(f"('{name}', {code})" for name, code in QTYPES.items())
    dns_sql = f"""
WITH every AS (
  {_BACKGROUND.format(**fill)}
  UNION ALL {_TELEMETRY.format(**fill)}
  UNION ALL SELECT * FROM planted
)
SELECT printf('%.6f', ts), 'C' || substr(md5(ts::VARCHAR || client || query), 1, 17), client,
  (1024 + ih(ts, client) % 60000)::INTEGER, server, 53, 'udp',
  (ih(query, ts) % 65536)::INTEGER, printf('%.6f', 0.001 + (ih(query) % 1000) / 1e5),
  query, 1, 'C_INTERNET', q.code, e.qtype, rcode,
  CASE rcode WHEN 3 THEN 'NXDOMAIN' ELSE 'NOERROR' END, 'F', 'F', 'T', 'T', 0,
  coalesce(answers, '(empty)'),
  CASE WHEN answers IS NULL THEN '(empty)' ELSE '300.000000' END, 'F'
FROM every e JOIN (VALUES {qtypes}) q(qtype, code) ON q.qtype = e.qtype
ORDER BY ts
"""
    _write(con, dns_sql, dns, "dns", DNS_FIELDS, DNS_TYPES)
    con.execute(
        "CREATE TEMP TABLE planted_conn (ts DOUBLE, client VARCHAR, server VARCHAR,"
        " port INTEGER, duration DOUBLE, bytes_out BIGINT, bytes_in BIGINT)"
    )
    con.executemany("INSERT INTO planted_conn VALUES (?, ?, ?, ?, ?, ?, ?)", _planted_conn(rows))
    flows = {**fill, "rows": rows // 10, "background": rows // 10}
    conn_sql = f"""
WITH every AS (
  {_CONN_BACKGROUND.format(**flows)}
  UNION ALL SELECT * FROM planted_conn
)
SELECT printf('%.6f', ts), 'C' || substr(md5(ts::VARCHAR || client || server), 1, 17), client,
  (1024 + ih(ts, client) % 60000)::INTEGER, server, port, 'tcp',
  CASE port WHEN 443 THEN 'ssl' WHEN 80 THEN 'http' WHEN 53 THEN 'dns' ELSE '-' END,
  printf('%.6f', duration), bytes_out, bytes_in, 'SF', 'T', 'F', 0, 'ShADadFf',
  (bytes_out // 500 + 3), bytes_out + 40 * (bytes_out // 500 + 3),
  (bytes_in // 1400 + 3), bytes_in + 40 * (bytes_in // 1400 + 3), '(empty)'
FROM every
ORDER BY ts
"""
    _write(con, conn_sql, conn, "conn", CONN_FIELDS, CONN_TYPES)
    con.close()
    return dns, conn, indicators
