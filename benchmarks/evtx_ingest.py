"""Benchmark: `seawall collect evtx`, end to end, as a ratio to the raw EVTX parse.

Two sets of files: the real corpus (every EVTX file under ``../shared/data/evtx``: 311 small
files, ~15,000 records) and a generated set (``--generated MB``, default 512, in ``--files``
files) made of the corpus's real chunks, each record renumbered so that every file and record
is distinct (``tests/collect/events/synth.py``). For each set:

- **limit**: the ``evtx`` package's own parse of the same files in the same run (its
  ``records_json()`` iterated, every core, nothing kept), best of ``--repeat``;
- **end to end**: ``ingest_files`` with the EVTX reader into a new case (parse, rows, SQL, the
  case's writes and commits), best of ``--repeat``; events/s, MB/s, CPU seconds;
- **the command**: ``seawall collect evtx`` in a fresh process (start-up included), with its
  wall time and peak RSS (the command's and its EVTX worker's peaks added: they run together).

``--memory 300,900`` runs the command on generated files of those sizes (MB), each in a fresh
process, and prints peak RSS: it must stay flat once DuckDB's cache reaches its cap.
``--large`` builds a file over 4 GiB (65,600 real chunks) in ``--tmp`` and collects it: the
row count must equal the parser's and the last record id must land.

``uptime``'s load average is printed with the figures: the machine may be shared.

    python benchmarks/evtx_ingest.py [--generated 512] [--files 4] [--repeat 2]
        [--memory 300,900] [--large] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.collect.events.synth, the generator the tests use

from tests.collect.events.synth import real_chunks, write_evtx  # noqa: E402

from seawall.case.store import CaseStore  # noqa: E402
from seawall.collect.base import ingest_files, sha256_of  # noqa: E402
from seawall.collect.events import EVENTS_MEMORY, is_evtx, select_files  # noqa: E402
from seawall.collect.events.evtx import EvtxReader  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "evtx"


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the EVTX worker)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def raw_parse(files: list[Path]) -> tuple[int, float]:
    from evtx import PyEvtxParser

    start = time.perf_counter()
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            for _ in PyEvtxParser(str(path), skip_errors=True).records_json():
                count += 1
    return count, time.perf_counter() - start


def end_to_end(files: list[Path], work: Path) -> tuple[int, float, float]:
    case_dir = work / "case"
    shutil.rmtree(case_dir, ignore_errors=True)
    reader = EvtxReader()
    cpu = _cpu()
    start = time.perf_counter()
    with CaseStore.open(case_dir) as store:
        report = ingest_files(store, "collect evtx", files, lambda _: reader, memory=EVENTS_MEMORY)
    reader.close()  # its worker process: its CPU time counts once it has ended
    seconds = time.perf_counter() - start
    shutil.rmtree(case_dir, ignore_errors=True)
    return report.rows.get("events", 0), seconds, _cpu() - cpu


def command(paths: list[Path], work: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KB, the process's and its worker's) of ``seawall collect
    evtx`` in a fresh process."""
    case_dir = work / "cmd-case"
    shutil.rmtree(case_dir, ignore_errors=True)
    probe = (
        "import resource, sys\n"
        "from seawall.cli.app import run\n"
        "code = run(sys.argv[1:])\n"
        "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(own + worker, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    arguments = ["--case", str(case_dir), "collect", "evtx", *map(str, paths), "--json"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(case_dir, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"seawall collect evtx failed: {done.stderr[-2000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1])


def measure(name: str, files: list[Path], work: Path, repeat: int) -> None:
    size = sum(p.stat().st_size for p in files)
    print(f"\n{name}: {len(files)} files, {size / 1e6:,.1f} MB (load {_load()})")
    raw_best = min((raw_parse(files) for _ in range(repeat)), key=lambda r: r[1])
    e2e_best = min((end_to_end(files, work) for _ in range(repeat)), key=lambda r: r[1])
    records, raw_seconds = raw_best
    rows, seconds, cpu = e2e_best
    raw_rate, rate = records / raw_seconds, rows / seconds
    print(f"  raw evtx parse:  {records:,} records in {raw_seconds:.2f} s = {raw_rate:,.0f}/s")
    print(
        f"  end to end:      {rows:,} events in {seconds:.2f} s = {rate:,.0f} events/s,"
        f" {size / 1e6 / seconds:,.1f} MB/s, {cpu:.2f} CPU-s"
    )
    print(f"  ratio:           {rate / raw_rate:.2f}")
    wall, rss = command(files, work)
    print(f"  the command:     {wall:.2f} s (start-up included), peak RSS {rss / 1024:,.0f} MB")
    if rows != records:
        print(f"  MISMATCH: {rows:,} rows for {records:,} records")


def distinct(files: list[Path]) -> list[Path]:
    """The files with distinct content (the corpus holds a few copies, which a collect reads
    once: the limit must parse them once too)."""
    seen: dict[str, Path] = {}
    for path in files:
        seen.setdefault(sha256_of(path), path)
    return list(seen.values())


def generated(work: Path, megabytes: int, files: int, first_id: int = 1) -> list[Path]:
    chunks = real_chunks(select_files([CORPUS], is_evtx).files)
    paths = []
    for index in range(files):
        path = work / f"generated-{megabytes}-{index}.evtx"
        write_evtx(path, chunks, megabytes * 1_000_000 // files, first_id + index * 10**8)
        paths.append(path)
    return paths


def large(work: Path) -> None:
    from evtx import PyEvtxParser

    chunks = real_chunks(select_files([CORPUS], is_evtx).files)
    path = work / "over-4-gib.evtx"
    size = 4096 + 65_600 * 65_536
    print(f"\nover 4 GiB: writing {size / 2**30:.2f} GiB …")
    records = write_evtx(path, chunks, size)
    print(f"  {path.stat().st_size:,} bytes, {records:,} records, load {_load()}")
    start = time.perf_counter()
    parsed = 0
    last = 0
    for record in PyEvtxParser(str(path)).records_json():
        assert record is not None
        parsed += 1
        last = max(last, record["event_record_id"])
    print(
        f"  the parser: {parsed:,} records, last id {last:,} ({time.perf_counter() - start:.1f} s)"
    )
    case_dir = work / "large-case"
    start = time.perf_counter()
    reader = EvtxReader()
    with CaseStore.open(case_dir) as store:
        report = ingest_files(store, "collect evtx", [path], lambda _: reader, memory=EVENTS_MEMORY)
        reader.close()
        top = store.con.execute("SELECT max(record_ref::UBIGINT) FROM events").fetchone()
    print(
        f"  collected: {report.rows.get('events', 0):,} events, last id {top[0] if top else 0:,},"
        f" {report.warning_count} warnings ({time.perf_counter() - start:.1f} s)"
    )
    ok = report.rows.get("events") == parsed == records and top and top[0] == records
    print("  OK: every record of the file landed" if ok else "  FAILED: records are missing")
    path.unlink()
    shutil.rmtree(case_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=512, help="MB of generated EVTX")
    parser.add_argument("--files", type=int, default=4, help="files the generated MB make")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory", default="", help="MB sizes for the peak-RSS runs")
    parser.add_argument("--large", action="store_true", help="also a file over 4 GiB")
    parser.add_argument("--tmp", default=None, help="where generated files go")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=options.tmp) as folder:
        work = Path(folder)
        measure(
            "real corpus", distinct(select_files([CORPUS], is_evtx).files), work, options.repeat
        )
        if options.generated:
            files = generated(work, options.generated, options.files)
            measure("generated", files, work, options.repeat)
            for path in files:
                path.unlink()
        for megabytes in filter(None, options.memory.split(",")):
            (path,) = generated(work, int(megabytes), 1, first_id=10**9)
            wall, rss = command([path], work)
            print(f"\npeak RSS, {int(megabytes)} MB file: {rss / 1024:,.0f} MB ({wall:.1f} s)")
            path.unlink()
        if options.large:
            large(work)


if __name__ == "__main__":
    main()
