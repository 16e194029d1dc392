"""DNS hunt benchmark: 10M Zeek DNS rows, ingested, then hunted (stages added over time).

    python benchmarks/dns_hunt.py                 # 10M rows
    python benchmarks/dns_hunt.py --rows 1000000  # smaller
    python benchmarks/dns_hunt.py --stages ingest # only some stages

The Zeek ``dns.log`` (TSV) is generated deterministically in ``benchmarks/.work/`` (git-ignored)
and kept for later runs. The **limit** is DuckDB's own ``read_csv`` of the same file into a
table (auto-detected types, ``#`` lines as comments), measured in the same run in a child process
(so its memory is not counted as ours). **Targets:** ingest at ≥ 0.5 of that limit's rows/s;
every stage together within 60 s on 2 cores with a peak RSS ≤ 3 GB.

Stages run in order in this process on one case; each is a function in ``STAGES`` that takes the
:class:`Context` and returns its figures. To add one (indicator matching, tunnels, resolvers,
beacons), write ``def stage_x(ctx: Context) -> dict[str, Any]`` and append ``("x", stage_x)``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from seawall.case.store import CaseStore
from seawall.collect.base import ingest_files
from seawall.collect.logs import choose_logs

WORK = Path(__file__).resolve().parent / ".work"
GENERATOR_VERSION = 1

FIELDS = [
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
TYPES = [
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

# One SQL row per log line, from i alone (deterministic): 2,000 clients behind 4 resolvers, a
# few thousand popular names, a long tail of unique names, a few clients beaconing or tunnelling.
_GENERATE = """
SELECT
  printf('%.6f', 1700000000 + i * 0.0003) AS ts,
  'C' || substr(md5(i::VARCHAR), 1, 17) AS uid,
  '10.' || (i % 2000 // 250) || '.' || (i % 250 // 10) || '.' || (i % 2000 % 10 + 10) AS orig_h,
  (1024 + hash(i) % 60000)::INT AS orig_p,
  '10.0.0.' || (i % 4 + 1) AS resp_h,
  53 AS resp_p,
  CASE WHEN i % 50 = 0 THEN 'tcp' ELSE 'udp' END AS proto,
  (hash(i * 7) % 65536)::INT AS trans_id,
  CASE WHEN i % 9 = 0 THEN NULL ELSE printf('%.6f', (hash(i) % 100000) / 1e7) END AS rtt,
  CASE
    WHEN i % 997 = 0 THEN substr(md5(i::VARCHAR) || md5((i + 1)::VARCHAR), 1, 40)
                          || '.t.tunnel.example'
    WHEN i % 10 < 7 THEN 'host' || (hash(i) % 3000) || '.popular' || (i % 7) || '.example'
    ELSE substr(md5((i * 13)::VARCHAR), 1, 10) || '.tail' || (i % 100) || '.example'
  END AS query,
  1 AS qclass, 'C_INTERNET' AS qclass_name,
  CASE WHEN i % 5 = 0 THEN 28 WHEN i % 997 = 0 THEN 16 ELSE 1 END AS qtype,
  CASE WHEN i % 5 = 0 THEN 'AAAA' WHEN i % 997 = 0 THEN 'TXT' ELSE 'A' END AS qtype_name,
  CASE WHEN i % 9 = 0 THEN NULL WHEN i % 23 = 0 THEN 3 ELSE 0 END AS rcode,
  CASE WHEN i % 9 = 0 THEN NULL WHEN i % 23 = 0 THEN 'NXDOMAIN' ELSE 'NOERROR' END AS rcode_name,
  'F' AS aa, 'F' AS tc, 'T' AS rd, CASE WHEN i % 9 = 0 THEN 'F' ELSE 'T' END AS ra, 0 AS z,
  CASE WHEN i % 9 = 0 OR i % 23 = 0 THEN NULL
       WHEN i % 5 = 0 THEN '2001:db8::' || (hash(i) % 65535)
       ELSE '192.0.2.' || (hash(i) % 250 + 1) || ',198.51.100.' || (i % 250 + 1) END AS answers,
  CASE WHEN i % 9 = 0 OR i % 23 = 0 THEN NULL WHEN i % 5 = 0 THEN '300.000000'
       ELSE '60.000000,3600.000000' END AS ttls,
  'F' AS rejected
FROM range({rows}) t(i)
"""


def generate(rows: int) -> Path:
    """The Zeek dns.log of ``rows`` lines (made once, then re-used)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"dns-{rows}-v{GENERATOR_VERSION}.log"
    if path.exists():
        return path
    body = WORK / "dns-body.tmp"
    con = duckdb.connect()
    con.execute(
        f"COPY ({_GENERATE.format(rows=rows)}) TO '{body}'"
        " (FORMAT csv, DELIMITER '\t', HEADER false, NULLSTR '-', QUOTE '')"
    )
    con.close()
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as out:
        out.write(
            (
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                "#path\tdns\n#open\t2023-11-14-22-13-20\n"
                "#fields\t" + "\t".join(FIELDS) + "\n#types\t" + "\t".join(TYPES) + "\n"
            ).encode()
        )
        with body.open("rb") as data:
            while chunk := data.read(1 << 24):
                out.write(chunk)
        out.write(b"#close\t2023-11-15-01-00-00\n")
    body.unlink()
    partial.rename(path)
    return path


def duckdb_limit(path: Path) -> dict[str, Any]:
    """DuckDB's ``read_csv`` of the file into a table of a fresh database (child process)."""
    database = WORK / "limit.duckdb"
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    started = time.perf_counter()
    con.execute(
        f"CREATE TABLE dns AS SELECT * FROM read_csv('{path}', delim = '\t', header = false,"
        f" comment = '#', nullstr = '-', quote = '', escape = '', names = {FIELDS!r})"
    )
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM dns").fetchone()
    con.close()
    database.unlink(missing_ok=True)
    count = int(rows[0]) if rows else 0
    return {"rows": count, "seconds": seconds, "rows_per_s": count / seconds}


@dataclass
class Context:
    log: Path
    case_dir: Path
    rows: int
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)


def stage_ingest(ctx: Context) -> dict[str, Any]:
    """``seawall collect logs`` of the file (sniffed as Zeek TSV) into a new case."""
    started = time.perf_counter()
    with CaseStore.open(ctx.case_dir) as store:
        report = ingest_files(store, "collect logs", [ctx.log], choose_logs())
        seconds = time.perf_counter() - started
        count = store.con.execute("SELECT count(*) FROM dns").fetchone()
    rows = int(count[0]) if count else 0
    if rows != ctx.rows or report.warning_count:
        raise SystemExit(f"ingest lost lines: {rows} rows, {report.warning_count} warnings")
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


Stage = Callable[[Context], dict[str, Any]]
STAGES: list[tuple[str, Stage]] = [("ingest", stage_ingest)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stages", default=",".join(name for name, _ in STAGES))
    parser.add_argument("--limit-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    log = generate(args.rows)
    if args.limit_only:
        print(json.dumps(duckdb_limit(log)))
        return
    limit = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--limit-only"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(
        f"file: {log.name}, {log.stat().st_size / 1e6:,.0f} MB; DuckDB read_csv (limit):"
        f" {limit['rows']:,} rows in {limit['seconds']:.2f} s = {limit['rows_per_s']:,.0f} rows/s"
    )
    case_dir = WORK / "case"
    if case_dir.exists():
        for item in sorted(case_dir.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        case_dir.rmdir()
    ctx = Context(log, case_dir, args.rows)
    wanted = set(args.stages.split(","))
    total = 0.0
    for name, stage in STAGES:
        if name not in wanted:
            continue
        figures = stage(ctx)
        ctx.figures[name] = figures
        total += figures["seconds"]
        extra = ""
        if name == "ingest":
            extra = f", ratio to DuckDB read_csv {figures['rows_per_s'] / limit['rows_per_s']:.2f}"
        print(
            f"{name}: {figures['seconds']:.2f} s"
            + (f", {figures['rows_per_s']:,.0f} rows/s" if "rows_per_s" in figures else "")
            + extra
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"all stages: {total:.2f} s (target ≤ 60 s), peak RSS {peak:,.0f} MiB (target ≤ 3072)")


if __name__ == "__main__":
    main()
