"""DNS hunt benchmark: 10M Zeek DNS rows ingested, then hunted stage by stage.

    python benchmarks/dns_hunt.py                 # 10M rows
    python benchmarks/dns_hunt.py --rows 1000000  # smaller
    python benchmarks/dns_hunt.py --stages ingest # only some stages

The Zeek ``dns.log`` (TSV), its ``conn.log`` (a tenth as many flows) and an indicator list are
generated deterministically by :mod:`benchmarks.netplant` (the generator the planted-case test
uses at 200k rows: a realistic background with tunnels, beacons, indicator hits, unapproved
resolvers and exfiltration planted in it) in ``benchmarks/.work/`` (git-ignored) and kept for
later runs. The **limit** is DuckDB's own ``read_csv`` of the same dns.log into a table
(auto-detected types, ``#`` lines as comments), measured in the same run in a child process (so
its memory is not counted as ours). **Targets:** ingest at ≥ 0.5 of that limit's rows/s; every
stage together within 60 s on 2 cores with a peak RSS ≤ 3 GB.

Stages run in order in this process on one case; each is a function in ``STAGES`` that takes the
:class:`Context` and returns its figures: ``ingest`` (the dns.log through ``collect logs``),
``flows`` (the conn.log), ``intel`` (the indicator list through ``intel import``), then the
hunt's stages, each the detections it names run by the engine with their default parameters:
``match`` (net.dns-ioc, net.ioc-ip), ``tunnel`` (net.dns-tunnel), ``resolver``
(net.dns-unapproved-resolver) and ``beacon`` (net.beacon). A hunt stage also says which of the
planted cases of its detections it found and how many other findings it made (the test asserts
none at 200k rows).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.netplant

from benchmarks.netplant import DNS_FIELDS, PLANTED, plant

from seawall.case.store import CaseStore
from seawall.collect.base import ingest_files
from seawall.collect.logs import choose_logs
from seawall.detect.engine import HuntRequest, hunt
from seawall.intel.importer import import_files

WORK = Path(__file__).resolve().parent / ".work"
FIELDS = DNS_FIELDS
# Indicators beside the planted ones, so that matching meets an index of a realistic size.
EXTRA_DOMAINS = 20_000
EXTRA_ADDRESSES = 5_000
EXTRA_NETWORKS = 200


def generate(rows: int) -> tuple[Path, Path, Path]:
    """The Zeek dns.log of ``rows`` lines, its conn.log and the indicator list (made once, then
    re-used): :func:`benchmarks.netplant.plant` with extra indicators."""
    dns, conn, planted = plant(WORK, rows)
    indicators = planted.with_name(planted.stem + f"-{EXTRA_DOMAINS}.txt")
    if not indicators.exists():
        rng = random.Random(11)
        lines = [planted.read_text(encoding="utf-8")]
        lines += [f"{rng.getrandbits(40):x}-{k}.example-bad.com" for k in range(EXTRA_DOMAINS)]
        lines += [
            f"{rng.choice((45, 62, 91, 103, 185))}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(1, 255)}"
            for _ in range(EXTRA_ADDRESSES)
        ]
        lines += [
            f"{rng.choice((5, 37, 94, 176))}.{rng.randrange(256)}.{k % 256}.0/24"
            for k in range(EXTRA_NETWORKS)
        ]
        indicators.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dns, conn, indicators


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
    flows: Path
    indicators: Path
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


def stage_flows(ctx: Context) -> dict[str, Any]:
    """The conn.log the beacon stage also reads."""
    started = time.perf_counter()
    with CaseStore.open(ctx.case_dir) as store:
        report = ingest_files(store, "collect logs", [ctx.flows], choose_logs())
    rows = report.rows.get("conn", 0)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def stage_intel(ctx: Context) -> dict[str, Any]:
    """``seawall intel import`` of the planted indicators and the filler."""
    started = time.perf_counter()
    with CaseStore.open(ctx.case_dir) as store:
        import_files(store, [ctx.indicators], source_name="benchmark indicators")
        count = store.con.execute("SELECT count(*) FROM indicators").fetchone()
    return {"indicators": int(count[0]) if count else 0, "seconds": time.perf_counter() - started}


def _hunt(ctx: Context, detections: tuple[str, ...]) -> dict[str, Any]:
    """Run ``detections`` (default parameters) and compare the findings with what was
    planted for them."""
    started = time.perf_counter()
    with CaseStore.open(ctx.case_dir) as store:
        document = hunt(store, HuntRequest(detection_ids=detections))
    seconds = time.perf_counter() - started
    failed = [
        f"{e.detection_id}: {e.status} {e.reason}" for e in document.coverage if e.status != "ran"
    ]
    if failed:
        raise SystemExit("; ".join(failed))
    planted = [c for c in PLANTED if c.detection in detections]
    found = [
        c
        for c in planted
        if any(
            f.detection_id == c.detection and f.host == c.host and c.key in f.summary
            for f in document.findings
        )
    ]
    expected = {(c.detection, c.host) for c in planted}
    others = [f for f in document.findings if (f.detection_id, f.host) not in expected]
    return {
        "seconds": seconds,
        "planted": len(planted),
        "found": len(found),
        "missed": [c.what for c in planted if c not in found],
        "other_findings": len(others),
    }


def stage_match(ctx: Context) -> dict[str, Any]:
    return _hunt(ctx, ("net.dns-ioc", "net.ioc-ip"))


def stage_tunnel(ctx: Context) -> dict[str, Any]:
    return _hunt(ctx, ("net.dns-tunnel",))


def stage_resolver(ctx: Context) -> dict[str, Any]:
    return _hunt(ctx, ("net.dns-unapproved-resolver",))


def stage_beacon(ctx: Context) -> dict[str, Any]:
    return _hunt(ctx, ("net.beacon",))


Stage = Callable[[Context], dict[str, Any]]
STAGES: list[tuple[str, Stage]] = [
    ("ingest", stage_ingest),
    ("flows", stage_flows),
    ("intel", stage_intel),
    ("match", stage_match),
    ("tunnel", stage_tunnel),
    ("resolver", stage_resolver),
    ("beacon", stage_beacon),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stages", default=",".join(name for name, _ in STAGES))
    parser.add_argument("--limit-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    log, flows, indicators = generate(args.rows)
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
    ctx = Context(log, case_dir, args.rows, flows, indicators)
    wanted = set(args.stages.split(","))
    total = total_cpu = 0.0
    for name, stage in STAGES:
        if name not in wanted:
            continue
        cpu = time.process_time()
        figures = stage(ctx)
        figures["cpu_seconds"] = time.process_time() - cpu
        ctx.figures[name] = figures
        total += figures["seconds"]
        total_cpu += figures["cpu_seconds"]
        extra = ""
        if name == "ingest":
            extra = f", ratio to DuckDB read_csv {figures['rows_per_s'] / limit['rows_per_s']:.2f}"
        if "planted" in figures:
            extra = (
                f", planted cases found {figures['found']}/{figures['planted']}"
                f"{' (missed: ' + '; '.join(figures['missed']) + ')' if figures['missed'] else ''}"
                f", other findings {figures['other_findings']}"
            )
        print(
            f"{name}: {figures['seconds']:.2f} s ({figures['cpu_seconds']:.1f} CPU-s)"
            + (f", {figures['rows_per_s']:,.0f} rows/s" if "rows_per_s" in figures else "")
            + extra,
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"all stages: {total:.2f} s (target ≤ 60 s; {total_cpu:.1f} CPU-s, i.e. at least"
        f" {total_cpu / 2:.1f} s on 2 idle cores), peak RSS {peak:,.0f} MiB (target ≤ 3072)"
    )


if __name__ == "__main__":
    main()
