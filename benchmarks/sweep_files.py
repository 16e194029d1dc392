"""Benchmark: `seawall collect files` over a real tree (default ``/usr``, read-only) or a
generated one.

Prints files/s and MB/s of a full sweep, and its hashing throughput as a ratio to limits measured
in the same run over the same file list and bytes, read with the same 1 MiB chunks: plain
``hashlib.sha256`` alone, and the one-pass MD5+SHA-1+SHA-256 the sweep must do, both on one
thread, and the three-digest pass on one process per core (the honest limit: the sweep hashes in
one worker process per core). Files/s is compared the same way (files of the list per second of
the two-core pass). It also prints the incremental re-sweep's speed-up (nothing changed, so
nothing is read), and its speed as a ratio to a bare walk of the same tree (``os.scandir`` and
one ``lstat`` an entry, one process per core, nothing recorded): the floor of any re-sweep that
checks every file. These sweeps skip the web-shell assessment of scripts under web roots
(``--no-webshells``), which is not hashing: a last sweep with it (the default) times it apart.

To compare like with like, a first sweep warms the page cache (its figure is printed as "cold");
the limits and the timed sweep then read from the same, warm cache. ``uptime``'s load average is
printed with the figures: the machine may be shared. Figures only: no assertions.

``--generated N`` sweeps a tree of N small files (0-16 KiB, 100 a directory) generated in a
temporary directory instead of ``--root``. ``--memory 25000,50000,100000`` sweeps (then re-sweeps)
generated trees of those sizes, each in a fresh process, and prints the peak RSS of the sweeping
process and of its largest worker (``getrusage``): it must stay flat as the tree grows.

``--yara ROUNDS`` measures only the shipped YARA set's cost: sweeps without it
(``--no-default-yara``) and with the default policy, alternated ``ROUNDS`` times, each with its
ratio to the two-core hashing limit measured right after it and its CPU-seconds; ``--yara-all``
adds one sweep that scans every file. (The other figures are of sweeps without YARA and without
the web-shell assessment, as before the set existed, so that they stay comparable.)

    python benchmarks/sweep_files.py [--root /usr] [--generated 100000] [--memory 25000,50000]
    python benchmarks/sweep_files.py --yara 3 [--yara-all] [--root /usr]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.files import CollectOptions, CollectReport, collect_files
from seawall.features.hashing import CHUNK_SIZE, open_evidence
from seawall.features.yara import YaraMode


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the sweep's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _sweep(case_dir: Path, root: str, *, webshells: bool = False) -> tuple[CollectReport, float]:
    report, seconds, _ = _sweep_cpu(case_dir, root, webshells=webshells)
    return report, seconds


def _sweep_cpu(
    case_dir: Path, root: str, *, webshells: bool = False, yara: YaraMode = "off"
) -> tuple[CollectReport, float, float]:
    """The report, wall seconds and CPU seconds (parent and workers) of one sweep.

    The hashing ratios compare a sweep without its web-shell assessment (``--no-webshells``) and
    without the shipped YARA set (``--no-default-yara``): both are other work than hashing,
    timed on their own by :func:`figures` and :func:`yara_figures`.
    """
    options = CollectOptions(host="bench", webshells=webshells, yara=yara)
    with CaseStore.open(case_dir) as store:
        cpu = _cpu()
        start = time.perf_counter()
        report = collect_files(store, [root], options)
        return report, time.perf_counter() - start, _cpu() - cpu


def _assessed_scripts(case_dir: Path) -> int:
    with CaseStore.open(case_dir) as store:
        store.con.complete()
        rows = store.con.sql("SELECT count(*) FROM files WHERE webshell IS NOT NULL").fetchall()
    return int(rows[0][0])


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


def _list(directory: bytes) -> tuple[int, list[bytes]]:
    """One directory's entry count and subdirectories; every other entry gets one ``lstat``."""
    count, subdirs = 0, []
    with os.scandir(directory) as listing:
        for entry in listing:
            count += 1
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.path)
            else:
                entry.stat(follow_symlinks=False)
    return count, subdirs


def _bare_walk(top: bytes) -> int:
    """Every entry under ``top``, listed and ``lstat``-ed, nothing recorded."""
    count, stack = 0, [top]
    while stack:
        listed, subdirs = _list(stack.pop())
        count += listed
        stack += subdirs
    return count


def _bare_walk_limit(root: str) -> tuple[int, float]:
    """The re-sweep's floor: the bare walk of ``root`` by one process per core (entries,
    seconds). A re-sweep must stat every file to know it is unchanged."""
    started = time.perf_counter()
    # Enough directories, found breadth-first here, that the processes share the tree evenly.
    count, dirs = 0, [os.fsencode(root)]
    while dirs and len(dirs) < 256:
        level, dirs = dirs, []
        for directory in level:
            listed, subdirs = _list(directory)
            count += listed
            dirs += subdirs
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        count += sum(pool.map(_bare_walk, dirs))
    return count, time.perf_counter() - started


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


_WORDS = (
    b"the of and to in is for on that by this with from at as are be or an it was which not"
    b" config server user path value error file data system network access service host time"
).split()
# What a tree of small files holds (by i % 100): mostly text (prose and configuration, scripts,
# web pages, XML, JSON), then binaries with a well-known signature, and 3% that only libmagic
# types (a ZIP may be a JAR or an OOXML document; the rest is of no known format).
_MIX: tuple[tuple[int, bytes, bytes], ...] = (
    (50, b"", b"text"),
    (60, b"#!/bin/sh\n", b"text"),
    (65, b"<?php\n", b"text"),
    (70, b"<!DOCTYPE html>\n<html>", b"text"),
    (73, b'<?xml version="1.0"?>\n', b"text"),
    (80, b"{\n", b"text"),
    (85, b"\x1f\x8b\x08\x00", b"binary"),
    (90, b"\x89PNG\r\n\x1a\n", b"binary"),
    (93, b"\x7fELF\x02\x01\x01\x00", b"binary"),
    (95, b"%PDF-1.7\n", b"binary"),
    (97, b"GIF89a", b"binary"),
    (98, b"PK\x03\x04", b"binary"),
    (100, b"", b"binary"),
)


def _content(i: int, size: int, text: bytes, binary: bytes) -> bytes:
    head, kind = next((h, k) for bound, h, k in _MIX if i % 100 < bound)
    body = text if kind == b"text" else binary
    start = (i * 131) % (len(body) - 16_384)
    return (head + i.to_bytes(8, "little").hex().encode() + body[start:])[:size]


def generate(root: Path, count: int) -> int:
    """``count`` small files (0-16 KiB; mostly text, see ``_MIX``) under ``root``, 100 a
    directory; returns their total size. Deterministic: the same count gives the same tree."""
    words = [_WORDS[(i * 7) % len(_WORDS)] for i in range(20_000)]
    text = b"".join(w + (b"\n" if n % 12 == 11 else b" ") for n, w in enumerate(words))
    binary = b"".join(hashlib.sha256(n.to_bytes(4, "little")).digest() for n in range(2_048))
    total = 0
    for i in range(count):
        directory = root / f"d{i // 10_000:03d}" / f"d{i // 100 % 100:02d}"
        if i % 100 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        size = (i * 7919) % 16_384
        (directory / f"f{i:07d}.dat").write_bytes(_content(i, size, text, binary))
        total += size
    return total


def _child(root: str, case_dir: str) -> None:
    """One sweep and one re-sweep of ``root``; prints the peak RSS of this process and of its
    largest worker (KiB), and the peaks of the Python heap and Arrow's pool (bytes)."""
    tracemalloc.start()
    _sweep(Path(case_dir), root)
    _sweep(Path(case_dir), root)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    python = tracemalloc.get_traced_memory()[1]
    print(f"{own} {workers} {python} {pa.default_memory_pool().max_memory()}")


def memory(sizes: list[int]) -> None:
    """Peak RSS of a sweep and re-sweep of generated trees of ``sizes`` files, each in a fresh
    process (``ru_maxrss`` is a process's lifetime peak)."""
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="seawall-mem-") as temp:
            tree = Path(temp) / "tree"
            generate(tree, count)
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(tree), str(Path(temp) / "case")],
                check=True,
                capture_output=True,
                text=True,
            )
            own, workers, python, arrow = (int(v) for v in done.stdout.split())
            print(
                f"memory     : {count:,} files: peak RSS {own / 1024:,.0f} MiB sweeping process"
                f" (of which Python heap {python / 2**20:,.1f} MiB, Arrow {arrow / 2**20:,.1f}"
                f" MiB), {workers / 1024:,.0f} MiB largest worker ({_load()})"
            )


def figures(root: str) -> None:
    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as temp:
        print(f"tree       : {root} ({_load()})")
        cold, cold_seconds = _sweep(Path(temp) / "cold", root)
        print(
            f"cold sweep : {cold.files:,} files, {cold.bytes_hashed / 1e6:,.0f} MB hashed in"
            f" {cold_seconds:.1f}s, {len(cold.warnings)} warnings"
        )
        report, seconds, cpu = _sweep_cpu(Path(temp) / "warm", root)
        mb = report.bytes_hashed / 1e6
        print(
            f"warm sweep : {report.files / seconds:,.0f} files/s, {mb / seconds:,.1f} MB/s"
            f" ({report.files:,} files, {mb:,.0f} MB hashed, {seconds:.2f}s,"
            f" {os.cpu_count()} workers; {_load()})"
        )
        paths = _hashed_paths(Path(temp) / "warm")
        sha_bytes, sha_seconds = _limit(paths, lambda: [hashlib.sha256()])
        three_cpu = time.process_time()
        three_bytes, three_seconds = _limit(paths, _three)
        three_cpu = time.process_time() - three_cpu
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
            f" {all_rate:,.1f} MB/s, {len(paths) / all_seconds:,.0f} files/s ({_load()})"
        )
        print(f"ratio      : sweep / one-pass three-digest limit = {sweep_rate / three_rate:.2f}")
        files_ratio = report.hashed / seconds / (len(paths) / all_seconds)
        print(
            f"ratio      : sweep / all-core three-digest limit = {sweep_rate / all_rate:.2f}"
            f" (MB/s), {files_ratio:.2f} (hashed files/s)"
        )
        print(
            f"cpu        : sweep {cpu:.2f} CPU-s (parent and workers), one-pass three-digest"
            f" hashing {three_cpu:.2f} CPU-s: hashing / sweep = {three_cpu / cpu:.2f}"
        )
        again, again_seconds, again_cpu = _sweep_cpu(Path(temp) / "warm", root)
        print(
            f"re-sweep   : {again.reused:,} reused, {again.hashed:,} hashed in"
            f" {again_seconds:.2f}s: {seconds / again_seconds:.1f}x faster than the full sweep"
            f" ({_load()}); CPU {again_cpu:.2f} s: {cpu / again_cpu:.1f}x less than the full"
            " sweep's"
        )
        entries, walk_seconds = _bare_walk_limit(root)
        print(
            f"limit      : bare scandir+lstat walk, {os.cpu_count()} processes: {entries:,}"
            f" entries in {walk_seconds:.2f}s; re-sweep / bare walk = "
            f"{walk_seconds / again_seconds:.2f} ({_load()})"
        )
        _, with_seconds = _sweep(Path(temp) / "webshells", root, webshells=True)
        scripts = _assessed_scripts(Path(temp) / "webshells")
        print(
            f"web shells : the default sweep also assesses the {scripts:,} scripts under web roots:"
            f" {with_seconds:.2f}s, {with_seconds / seconds:.1f}x the hashing sweep ({_load()})"
        )


def yara_figures(root: str, rounds: int, with_all: bool) -> None:
    """The shipped YARA set's cost: sweeps without it and with the default policy, alternated
    ``rounds`` times (best of each), each as a ratio to the two-core hashing limit measured
    between them; then one ``--yara-all`` sweep. The compiled set is cached beforehand (it is
    compiled once per machine, not per run); each sweep's workers load it from that cache,
    which is part of what is timed."""
    from seawall.features.yara_set import load

    load("scripts")
    load("all")
    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as temp:
        print(f"yara       : tree {root} ({_load()})")
        _sweep(Path(temp) / "warmup", root)
        paths = _hashed_paths(Path(temp) / "warmup")
        best: dict[str, tuple[float, float, CollectReport]] = {}
        cpus: dict[str, list[float]] = {"off": [], "default": []}
        modes: tuple[YaraMode, ...] = ("off", "default")
        for i in range(rounds):
            for mode in modes:
                case = Path(temp) / f"{mode}{i}"
                report, seconds, cpu = _sweep_cpu(case, root, yara=mode)
                limit_bytes, limit_seconds = _two_core_limit(paths)
                ratio = report.bytes_hashed / seconds / (limit_bytes / limit_seconds)
                print(
                    f"yara       : round {i + 1}, {mode:7}: {seconds:.2f}s, {cpu:.2f} CPU-s,"
                    f" ratio to two-core hashing {ratio:.2f}; {report.yara_scanned:,} files"
                    f" scanned, {report.yara_matched} with matches ({_load()})"
                )
                cpus[mode].append(cpu)
                if mode not in best or ratio > best[mode][0]:
                    best[mode] = (ratio, cpu, report)
        off, default = best["off"], best["default"]
        # CPU-seconds are steadier than wall-clock ratios on a shared machine: compare each
        # round's pair (the two sweeps ran back to back)
        pairs = [d / o for o, d in zip(cpus["off"], cpus["default"], strict=True)]
        print(
            f"yara       : default policy / no YARA (best ratios) = {default[0] / off[0]:.2f};"
            f" CPU default / off by round {', '.join(f'{p:.3f}' for p in pairs)}"
            f" (mean {sum(pairs) / len(pairs):.3f}) for {default[2].yara_scanned:,} files scanned"
        )
        if with_all:
            report, seconds, cpu = _sweep_cpu(Path(temp) / "all", root, yara="all")
            limit_bytes, limit_seconds = _two_core_limit(paths)
            ratio = report.bytes_hashed / seconds / (limit_bytes / limit_seconds)
            print(
                f"yara       : --yara-all: {seconds:.2f}s, {cpu:.2f} CPU-s, ratio to two-core"
                f" hashing {ratio:.2f} ({ratio / off[0]:.2f} of the sweep without YARA);"
                f" {report.yara_scanned:,} files scanned, {report.yara_matched} with matches"
                f" ({_load()})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="/usr")
    parser.add_argument(
        "--yara",
        type=int,
        metavar="ROUNDS",
        help="only the shipped YARA set's cost: ROUNDS alternated sweeps without and with it",
    )
    parser.add_argument("--yara-all", action="store_true", help="with --yara: also --yara-all")
    parser.add_argument("--generated", type=int, metavar="N", help="sweep N generated files")
    parser.add_argument("--memory", metavar="N,N,...", help="peak RSS at these tree sizes")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.memory:
        memory([int(n) for n in args.memory.split(",")])
        return
    if args.yara:
        yara_figures(args.root, args.yara, args.yara_all)
        return
    if args.generated:
        with tempfile.TemporaryDirectory(prefix="seawall-tree-") as temp:
            tree = Path(temp) / "tree"
            nbytes = generate(tree, args.generated)
            print(f"generated  : {args.generated:,} files, {nbytes / 1e6:,.0f} MB in {tree}")
            figures(str(tree))
        return
    figures(args.root)


if __name__ == "__main__":
    main()
