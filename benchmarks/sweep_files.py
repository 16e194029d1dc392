"""Benchmark: `seawall collect files` over a real tree (default ``/usr``, read-only).

Prints files/s and MB/s of a full sweep, and its hashing throughput as a ratio to limits measured
in the same run over the same file list and bytes, read with the same 1 MiB chunks in this
process: plain ``hashlib.sha256`` alone, and the one-pass MD5+SHA-1+SHA-256 the sweep must do,
both on one thread, and the three-digest pass on one process per core (the honest limit: the
sweep hashes in one worker process per core). It also prints the incremental
re-sweep's speed-up (nothing changed, so nothing is read).

To compare like with like, a first sweep warms the page cache (its figure is printed as "cold");
the limits and the timed sweep then read from the same, warm cache. Figures only: no assertions.

    python benchmarks/sweep_files.py [--root /usr]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.collect.files import CollectOptions, CollectReport, collect_files
from seawall.collect.hashing import CHUNK_SIZE, open_evidence


def _sweep(case_dir: Path, root: str) -> tuple[CollectReport, float]:
    with CaseStore.open(case_dir) as store:
        start = time.perf_counter()
        report = collect_files(store, [root], CollectOptions(host="bench"))
        return report, time.perf_counter() - start


def _hashed_paths(case_dir: Path) -> list[bytes]:
    with CaseStore.open(case_dir) as store:
        rows = store.con.execute(
            "SELECT path FROM files WHERE sha256 IS NOT NULL AND file_kind = 'regular'"
        ).fetchall()
    # A path recorded with \\x escapes cannot be re-opened from its text: leave it out.
    return [os.fsencode(r[0]) for r in rows if "\\x" not in r[0]]


def _limit(paths: list[bytes], make: Callable[[], list[hashlib._Hash]]) -> tuple[int, float]:
    """Bytes and seconds for a one-thread pass over ``paths`` feeding the digests ``make`` gives."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    total = 0
    start = time.perf_counter()
    for path in paths:
        try:
            fd = open_evidence(path)
        except OSError:
            continue
        digests = make()
        try:
            while count := os.readv(fd, [buffer]):
                for digest in digests:
                    digest.update(view[:count])
                total += count
        finally:
            os.close(fd)
        for digest in digests:
            digest.hexdigest()
    return total, time.perf_counter() - start


def _three() -> list[hashlib._Hash]:
    return [
        hashlib.md5(usedforsecurity=False),
        hashlib.sha1(usedforsecurity=False),
        hashlib.sha256(),
    ]


def _three_chunk(paths: list[bytes]) -> int:
    return _limit(paths, _three)[0]


def _two_core_limit(paths: list[bytes]) -> tuple[int, float]:
    """The one-pass three-digest limit on every core: one process per core, same files and bytes
    (interleaved chunks of 256 files, so that large files spread over the processes)."""
    workers = os.cpu_count() or 1
    chunks = [paths[i : i + 256] for i in range(0, len(paths), 256)]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(_three_chunk, [[] for _ in range(workers)]))  # processes started: not timed
        start = time.perf_counter()
        total = sum(pool.map(_three_chunk, chunks))
        return total, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/usr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as temp:
        cold, cold_seconds = _sweep(Path(temp) / "cold", args.root)
        print(
            f"cold sweep : {cold.files:,} files, {cold.bytes_hashed / 1e6:,.0f} MB hashed in"
            f" {cold_seconds:.1f}s, {len(cold.warnings)} warnings"
        )
        report, seconds = _sweep(Path(temp) / "warm", args.root)
        mb = report.bytes_hashed / 1e6
        print(
            f"warm sweep : {report.files / seconds:,.0f} files/s, {mb / seconds:,.1f} MB/s"
            f" ({report.files:,} files, {mb:,.0f} MB hashed, {seconds:.1f}s,"
            f" {os.cpu_count()} workers)"
        )
        paths = _hashed_paths(Path(temp) / "warm")
        sha_bytes, sha_seconds = _limit(paths, lambda: [hashlib.sha256()])
        three_bytes, three_seconds = _limit(paths, _three)
        all_bytes, all_seconds = _two_core_limit(paths)
        sha_rate, three_rate = sha_bytes / sha_seconds / 1e6, three_bytes / three_seconds / 1e6
        all_rate = all_bytes / all_seconds / 1e6
        sweep_rate = mb / seconds
        print(
            f"limit      : plain sha256 one thread {sha_rate:,.1f} MB/s over {len(paths):,} files"
        )
        print(f"limit      : md5+sha1+sha256 one pass, one thread {three_rate:,.1f} MB/s")
        print(f"ratio      : sweep / sha256 limit = {sweep_rate / sha_rate:.2f}")
        print(
            f"limit      : md5+sha1+sha256 one pass, {os.cpu_count()} processes"
            f" {all_rate:,.1f} MB/s"
        )
        print(f"ratio      : sweep / one-pass three-digest limit = {sweep_rate / three_rate:.2f}")
        print(f"ratio      : sweep / all-core three-digest limit = {sweep_rate / all_rate:.2f}")
        again, again_seconds = _sweep(Path(temp) / "warm", args.root)
        print(
            f"re-sweep   : {again.reused:,} reused, {again.hashed:,} hashed in"
            f" {again_seconds:.1f}s: {seconds / again_seconds:.1f}x faster than the full sweep"
        )


if __name__ == "__main__":
    main()
