"""The file-system sweep's collection step: walk, hash, and record every file in the case.

One worker process per core does the per-file work: the walk (``seawall.collect.walk``, in
slices of a few thousand entries, each directory opened ``O_NOATIME``) and the hashing and
typing (``content``; what a worker does and the rows it returns are in ``sweep_worker``). In a
first sweep a worker hashes the small files of the slice it listed itself; larger files, the
rest of a huge directory, and a re-sweep's new or changed files go out in chunks. This process
only schedules, joins and writes, on Arrow tables: it holds no Python object per file, and
nothing proportional to the tree (its rows are committed in batches, and DuckDB's memory is
capped during a sweep). Nothing under a swept path is ever opened for writing.

Hostile trees are expected (a mounted image of a compromised host): symlink loops, FIFOs, devices,
names that are not UTF-8, paths longer than ``PATH_MAX``, unreadable or vanishing files. Each is a
warning carrying its path; none stops the sweep. Warnings are reported sorted by path (the
workers finish in any order).

**Re-sweeps.** A sweep replaces every row of the same host under the swept roots: a file
appears once per host and path, and files deleted since the previous sweep disappear with it.
Rows are committed in batches, so memory stays flat however large the tree, but they become the
host's state only in the sweep's last transaction: until then the previous rows stay, and a sweep
that fails or is cut short is discarded (``CaseStore.discard_run``), leaving the previous sweep
intact. A file whose device, inode, size and ``mtime_ns`` are unchanged re-uses its hashes and
content features without being read again (the incremental sweep): batches of listed files are
joined in DuckDB against the host's previous rows (``seawall.collect.previous``), and a previous
row whose metadata is all unchanged is kept as it is (its ``run_id`` stays that of the sweep
that read the file). History is kept only in the ``runs`` table's summaries: the ``files`` table
is each host's latest.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore
from seawall.collect import previous
from seawall.collect.base import IngestRun, Progress
from seawall.collect.content import Examined, examine_chunk
from seawall.collect.orphans import die_with_parent
from seawall.collect.paths import RootMap, absolute, is_under_any, windows_volume_of
from seawall.collect.sweep_worker import (
    ROW_SCHEMA,
    Swept,
    chunk_arguments,
    examined_rows,
    walk_and_examine,
    with_hash_columns,
)
from seawall.collect.walk import (
    Dir,
    Listed,
    WalkSettings,
    WalkWarning,
    show,
    walk_root,
    walk_slice,
)
from seawall.errors import UsageError
from seawall.features.yara import YaraMode, YaraPolicy

BATCH_ROWS = 10_000
# A worker gets paths to hash in chunks: few enough to spread a tree's files over both workers,
# enough that one pickle and one result carry hundreds of small files.
CHUNK_FILES = 256
CHUNK_BYTES = 64 << 20
# Chunks queued per worker: enough that the workers do not run dry while this process writes a
# batch (DuckDB's INSERT of 10,000 rows can take a few hundred ms on a busy machine).
IN_FLIGHT = 8
# A walk slice lists about this many entries before it returns (with the directories left).
WALK_BUDGET = 4096
# Walk slices queued per worker: in a re-sweep they keep the workers listing while this process
# joins a batch against the previous sweep (~0.1-0.2 s per JOIN_ROWS files).
WALKS_IN_FLIGHT = 4
# DuckDB's memory during a sweep. Its cache would otherwise keep every block the sweep writes
# (measured: 600k files peaked at 547 MiB RSS uncapped; capped, 250-313 MiB from 50k to 600k
# files, no slower); the re-sweep's joins and last delete spill to disk if they need more.
SWEEP_MEMORY = "128MB"
OsName = Literal["windows", "linux", "auto"]

# Rows per join against the previous sweep: each join scans the host's rows once, so fewer,
# larger batches are much cheaper (a batch holds ~200 bytes per file, whatever the tree's size).
JOIN_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class CollectOptions:
    host: str | None = None
    os_name: OsName = "auto"
    root_maps: tuple[RootMap, ...] = ()
    excludes: tuple[str, ...] = ()
    max_size: int | None = None
    follow_symlinks: bool = False
    workers: int | None = None
    batch_rows: int = BATCH_ROWS
    webshells: bool = True
    """Assess server-side scripts under web roots as possible web shells while their bytes are
    at hand (``--no-webshells`` leaves it to the hunt, which re-reads the evidence)."""
    yara: YaraMode = "default"
    """Which files the shipped YARA set scans (``seawall.features.yara``): ``default``,
    ``all`` (``--yara-all``) or ``off`` (``--no-default-yara``)."""


@dataclass(frozen=True, slots=True)
class CollectWarning:
    path: str
    message: str


@dataclass(slots=True)
class CollectReport:
    """What one sweep did; ``skipped`` counts entries that got a warning instead of hashes."""

    host: str
    run_id: str = ""
    roots: list[str] = field(default_factory=list)
    files: int = 0
    hashed: int = 0
    reused: int = 0
    skipped: int = 0
    too_large: int = 0
    excluded: int = 0
    bytes_hashed: int = 0
    yara_set: str | None = None
    """The shipped YARA set's version (``None``: ``--no-default-yara``)."""
    yara_scanned: int = 0
    yara_matched: int = 0
    assumed_root_maps: list[str] = field(default_factory=list)
    """``SRC=C:\\`` maps seawall added for Windows volumes that no ``--root-map`` covered (the
    swept root, or the folder above it that is the volume's top)."""
    warnings: list[CollectWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # nested dataclasses in lists are converted too


def prepare_roots(paths: list[str]) -> list[bytes]:
    """Absolute roots without duplicates or roots nested in another (they would record twice)."""
    roots = sorted({absolute(p) for p in paths})
    kept: list[bytes] = []
    for root in roots:
        if not any(root.startswith(k.rstrip(b"/") + b"/") for k in kept):
            kept.append(root)
    return kept


def root_os(root: bytes, options: CollectOptions) -> str:
    """``windows`` for a root under a --root-map or in a Windows system volume (the root or a
    folder above it holds ``Windows/System32``, or ``Users`` and ``Program Files``), else
    linux."""
    if options.os_name != "auto":
        return options.os_name
    if is_under_any(root, list(options.root_maps)) or windows_volume_of(root) is not None:
        return "windows"
    return "linux"


def root_maps_for(root: bytes, os_name: str, options: CollectOptions) -> tuple[RootMap, ...]:
    """The given maps, plus ``VOLUME=C:\\`` for the Windows system volume that ``root`` lies
    in when none of them covers it.

    A responder who sweeps ``/mnt/c`` expects ``c:\\windows\\system32\\cmd.exe``, not a
    POSIX path that no location rule or indicator speaks of; one who sweeps ``image/Users``
    expects ``c:\\users\\...``: the volume's top is found by walking up from the root. A volume
    holding Windows is the system drive, C: (``--root-map`` names another drive).
    """
    maps = options.root_maps
    if os_name != "windows" or is_under_any(root, list(maps)):
        return maps
    volume = windows_volume_of(root)
    return maps if volume is None else (*maps, RootMap(volume, "C:\\"))


def unmapped_warning(root: bytes) -> str:
    """What a Windows root without any Windows path costs, and how to fix it."""
    name = os.fsdecode(os.path.basename(root)) or "FOLDER"  # noqa: PTH119 (bytes paths)
    return (
        "swept as Windows, but no --root-map covers it and no folder at or above it looks like"
        " a Windows system volume (Windows/System32, or Users with Program Files): its files get"
        " no Windows path, so the hunt cannot judge where they sit; sweep again with"
        f" --root-map SRC=DST naming the Windows folder it was (e.g. {show(root)}=C:\\{name})"
    )


def _settings(options: CollectOptions, os_name: str, maps: tuple[RootMap, ...]) -> WalkSettings:
    return WalkSettings(
        os_name=os_name,
        excludes=options.excludes,
        windows_excludes=os_name == "windows",
        follow_symlinks=options.follow_symlinks,
        max_size=options.max_size,
        root_maps=maps,
    )


def is_system_volume(root: bytes) -> bool:
    """Whether ``root`` (not ``/``) is a mounted Linux system volume: it holds ``usr`` and
    ``etc``, so its executables' folders are judged below it (``/mnt/img/usr/bin`` is a system
    folder of that image)."""
    if root.rstrip(b"/") == b"":
        return False
    # bytes paths, as the walk keeps them (a name need not be UTF-8)
    return all(os.path.isdir(os.path.join(root, name)) for name in (b"usr", b"etc"))  # noqa: PTH112, PTH118


def count_files(roots: list[bytes], options: CollectOptions) -> int:
    """A fast pre-count (metadata only, warnings dropped) that gives the progress bar a total."""
    settings = _settings(options, "linux", options.root_maps)
    visited: set[tuple[int, int]] = set()
    total = 0
    for root in roots:
        listed = walk_root(root, settings, visited)
        total += listed.table.num_rows
        while listed.rest:
            listed = walk_slice(listed.rest, settings, WALK_BUDGET, visited)
            total += listed.table.num_rows
    return total


def _where(table: pa.Table, mask: pa.ChunkedArray | pa.Array) -> pa.Table:
    """``table.filter(mask)``, without copying every column when the mask keeps all or none
    (in a re-sweep of a quiet tree, nearly every batch)."""
    if pc.all(mask).as_py():
        return table
    if not pc.any(mask).as_py():
        return table.slice(0, 0)
    return table.filter(mask)


class _Sweep:
    """One collect command: walk slices and hashing chunks on a pool, joins and writes here.

    The parent process never handles a file as a Python object: walk slices (run by the workers)
    return Arrow tables; a batch of them is joined in DuckDB against the host's previous rows,
    which fills the hashes and content features of every unchanged file (the incremental
    re-sweep); what is left (new or changed files) goes out in chunks to be hashed and comes
    back by column. Tables are written in batches with one INSERT each. Everything held here is
    bounded by the batch size and the chunks in flight, not by the size of the tree.
    """

    def __init__(
        self,
        run: IngestRun,
        options: CollectOptions,
        report: CollectReport,
        progress: Progress | None,
    ) -> None:
        self.ingest = run
        self.store = run.store
        self.options = options
        self.report = report
        self.progress = progress
        self.workers = options.workers or os.cpu_count() or 1
        self.batch_rows = max(1, options.batch_rows)
        self.has_previous = False
        self.settings: list[WalkSettings] = []
        # Directories to walk, with the index of their root (whose settings they use).
        self.dirs: list[tuple[int, Dir]] = []
        # Following symlinks needs one set of walked directories: that walk stays here.
        self.visited: set[tuple[int, int]] | None = set() if options.follow_symlinks else None
        self.walk_jobs: dict[Future[Listed | Swept], int] = {}
        self.hash_jobs: dict[Future[Examined], pa.Table] = {}
        self.chunks: deque[pa.Table] = deque()
        self.queued = 0  # rows in ``chunks``
        self.listed: list[pa.Table] = []
        self.listed_rows = 0
        self.pool: ProcessPoolExecutor | None = None
        self.yara = YaraPolicy("off")

    # -- warnings and results -------------------------------------------------------------------

    def warn(self, path: str, message: str, skipped: bool) -> None:
        self.report.warnings.append(CollectWarning(path, message))
        if skipped:
            self.report.skipped += 1

    def take_listing(self, root_index: int, listed: Listed) -> None:
        for path, message, skipped in listed.warnings:
            self.warn(path, message, skipped)
        self.report.excluded += listed.excluded
        self.report.too_large += listed.too_large
        self.dirs.extend((root_index, d) for d in listed.rest)
        if listed.table.num_rows:
            self.listed.append(listed.table)
            self.listed_rows += listed.table.num_rows

    def output(self, table: pa.Table, nbytes: int) -> None:
        """Hand finished rows to the run, which writes them in batches (Arrow all the way): the
        walk's bookkeeping columns go, the file itself is each row's provenance."""
        if not table.num_rows:
            return
        rows = table.drop_columns(["raw", "followed"])
        rows = rows.append_column("source_file", rows.column("path"))
        rows = rows.append_column("source_sha256", rows.column("sha256"))
        rows = rows.append_column("record_ref", pc.cast(rows.column("inode"), pa.string()))
        self.ingest.write("files", rows, None)
        self.report.files += table.num_rows
        if self.progress is not None:
            self.progress.advance(table.num_rows, nbytes)

    # -- unchanged files ------------------------------------------------------------------------

    def settle(self) -> None:
        """Decide a batch of listed files: unchanged ones are written with their previous hashes,
        the others are queued for hashing."""
        if not self.listed:
            return
        listed = pa.concat_tables(self.listed) if len(self.listed) > 1 else self.listed[0]
        self.listed, self.listed_rows = [], 0
        if self.has_previous:
            listed = self.reuse_previous(listed)
        noted = pc.is_valid(listed.column("note"))
        self.output(with_hash_columns(_where(listed, noted)), 0)
        self.queue(with_hash_columns(_where(listed, pc.invert(noted))))

    def reuse_previous(self, batch: pa.Table) -> pa.Table:
        """Settle the entries of ``batch`` (``STAT_SCHEMA``) that the host's previous sweep
        already recorded (see ``seawall.collect.previous``), and return the others (new or
        changed: to hash, or to write as they are if they have a note)."""
        store, run_id = self.store, self.report.run_id
        with store.transaction():  # the row ids of the match are valid only inside it
            found = previous.match(store, batch, self.report.host, run_id, self.yara)
            known = pc.is_valid(found.rid)
            moved = pc.and_(known, pc.invert(found.same))
            if pc.any(moved).as_py():
                rows = batch.filter(moved)
                hashes = previous.hashes_of(store, found.rid.filter(moved))
                columns = [*rows.columns, *hashes.columns]
                self.output(pa.Table.from_arrays(columns, schema=ROW_SCHEMA), 0)
            if len(found.duplicates):
                previous.delete_rows(store, found.duplicates)
            kept = _where(batch.select(previous.KEY), pc.and_(known, found.same))
            if kept.num_rows:
                previous.keep(store, run_id, kept)
        if kept.num_rows:
            self.report.files += kept.num_rows
            if self.progress is not None:
                self.progress.advance(kept.num_rows, 0)
        # "reused" counts hashes not computed again (entries with a note have none)
        hashed_before = pc.and_(known, pc.is_null(batch.column("note")))
        self.report.reused += pc.sum(hashed_before.cast(pa.int64())).as_py() or 0
        return _where(batch, pc.invert(known))

    # -- hashing --------------------------------------------------------------------------------

    def queue(self, todo: pa.Table) -> None:
        """Cut ``todo`` into chunks of at most ``CHUNK_FILES`` files and ``CHUNK_BYTES`` bytes."""
        if not todo.num_rows:
            return
        sizes = todo.column("size").to_pylist()
        start, nbytes = 0, 0
        for i, size in enumerate(sizes):
            nbytes += size
            if i + 1 - start >= CHUNK_FILES or nbytes >= CHUNK_BYTES:
                self.chunks.append(todo.slice(start, i + 1 - start))
                start, nbytes = i + 1, 0
        if start < len(sizes):
            self.chunks.append(todo.slice(start))
        self.queued += todo.num_rows

    def submit_chunk(self) -> None:
        chunk = self.chunks.popleft()
        self.queued -= chunk.num_rows
        assert self.pool is not None
        args = (*chunk_arguments(chunk), self.options.webshells, self.yara)
        job = self.pool.submit(examine_chunk, *args)
        self.hash_jobs[job] = chunk

    def examined(self, chunk: pa.Table, result: Examined) -> None:
        """Store what a worker examined, or the reason it failed (the file stays listed)."""
        table, warnings = examined_rows(chunk, result)
        self.store_examined(table, warnings, result.hashed, result.nbytes)
        self.report.yara_scanned += result.yara_scanned
        self.report.yara_matched += result.yara_matched

    def take_swept(self, root_index: int, swept: Swept) -> None:
        """What a worker walked and examined at once (a first sweep's slice)."""
        self.take_listing(root_index, swept.listed)
        self.store_examined(swept.rows, swept.warnings, swept.hashed, swept.nbytes)
        self.report.yara_scanned += swept.yara_scanned
        self.report.yara_matched += swept.yara_matched

    def store_examined(
        self, table: pa.Table, warnings: list[WalkWarning], hashed: int, nbytes: int
    ) -> None:
        for path, message, skipped in warnings:
            self.warn(path, message, skipped)
        self.report.hashed += hashed
        self.report.bytes_hashed += nbytes
        self.output(table, nbytes)

    # -- scheduling -----------------------------------------------------------------------------

    def feed(self) -> None:
        """Keep the workers busy: hashing first, then walking while the backlog is short."""
        while self.chunks and len(self.hash_jobs) < self.workers * IN_FLIGHT:
            self.submit_chunk()
        assert self.pool is not None
        while (
            self.dirs
            and len(self.walk_jobs) < self.workers * WALKS_IN_FLIGHT
            and self.queued < self.batch_rows
            # a re-sweep keeps walking while it joins a batch (the join blocks this process)
            and self.listed_rows < 2 * JOIN_ROWS
        ):
            root_index, dirs = self.take_dirs()
            settings = self.settings[root_index]
            if self.visited is not None:
                self.take_listing(root_index, walk_slice(dirs, settings, WALK_BUDGET, self.visited))
            else:
                # While few directories are known, slices return early so that they spread.
                few = len(self.dirs) < self.workers * 4
                budget = min(WALK_BUDGET, 256) if few else WALK_BUDGET
                job: Future[Listed | Swept]
                if self.has_previous:  # a re-sweep first joins the listing (reuse_previous)
                    job = self.pool.submit(walk_slice, dirs, settings, budget)
                else:
                    job = self.pool.submit(
                        walk_and_examine, dirs, settings, budget, self.options.webshells, self.yara
                    )
                self.walk_jobs[job] = root_index

    def take_dirs(self) -> tuple[int, list[Dir]]:
        """Some of the directories left (all of one root): a share for each worker."""
        root_index = self.dirs[-1][0]
        share = 1 if self.visited is not None else max(1, len(self.dirs) // self.workers)
        taken: list[Dir] = []
        while self.dirs and len(taken) < share and self.dirs[-1][0] == root_index:
            taken.append(self.dirs.pop()[1])
        taken.reverse()
        return root_index, taken

    def run(self, roots: list[bytes], settings: list[WalkSettings], yara: YaraPolicy) -> None:
        self.settings, self.yara = settings, yara
        self.has_previous = previous.exists(self.store, self.report.host, roots)
        for index, root in enumerate(roots):
            self.take_listing(index, walk_root(root, settings[index], self.visited))
        # Worker processes, not threads: a small file's listing, hashing and typing is mostly
        # Python, so threads would queue for the GIL. "fork", not "forkserver" (which re-imports
        # the caller's __main__): the children only walk, hash, type and parse files; they
        # never touch the DuckDB connection or its threads.
        # Workers die with this process (``die_with_parent``): a sweep killed outright must not
        # leave them blocked on their queue for ever.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            self.pool = pool
            while True:
                self.feed()
                walking = bool(self.walk_jobs or self.dirs)
                # A first sweep hashes what it lists at once; a re-sweep joins batches.
                if self.listed and (
                    not self.has_previous or self.listed_rows >= JOIN_ROWS or not walking
                ):
                    self.settle()
                    continue
                if not self.walk_jobs and not self.hash_jobs:
                    if self.chunks or self.dirs:
                        continue
                    break
                jobs: list[Future[Any]] = [*self.walk_jobs, *self.hash_jobs]
                done, _ = wait(jobs, return_when=FIRST_COMPLETED)
                for job in [j for j in self.walk_jobs if j in done]:
                    result = job.result()
                    if isinstance(result, Swept):
                        self.take_swept(self.walk_jobs.pop(job), result)
                    else:
                        self.take_listing(self.walk_jobs.pop(job), result)
                for work in [j for j in self.hash_jobs if j in done]:
                    self.examined(self.hash_jobs.pop(work), work.result())


def yara_policy(
    roots: list[bytes], settings: list[WalkSettings], options: CollectOptions
) -> YaraPolicy:
    """The sweep's YARA policy: every root map (the Windows form of ``filepath``) and the roots
    that are mounted Linux system volumes."""
    maps: list[RootMap] = []
    for setting in settings:
        maps += [m for m in setting.root_maps if m not in maps]
    systems = tuple(
        root
        for root, setting in zip(roots, settings, strict=True)
        if setting.os_name == "linux" and is_system_volume(root)
    )
    return YaraPolicy(options.yara, tuple(maps), systems)


def collect_files(
    store: CaseStore,
    roots: list[str],
    options: CollectOptions,
    progress: Progress | None = None,
) -> CollectReport:
    """Sweep ``roots`` into the ``files`` table, all or nothing, and say what happened."""
    if not roots:
        raise UsageError("give at least one PATH to sweep")
    if options.max_size is not None and options.max_size < 0:
        raise UsageError("--max-size must be zero or more bytes")
    swept = prepare_roots(roots)
    report = CollectReport(host=options.host or socket.gethostname())
    report.roots = [show(r) for r in swept]
    settings: list[WalkSettings] = []
    unmapped: list[bytes] = []
    for root in swept:
        os_name = root_os(root, options)
        maps = root_maps_for(root, os_name, options)
        for added in maps[len(options.root_maps) :]:
            if added.text not in report.assumed_root_maps:
                report.assumed_root_maps.append(added.text)
        if os_name == "windows" and not is_under_any(root, list(maps)):
            unmapped.append(root)
        settings.append(_settings(options, os_name, maps))
    report.warnings += [CollectWarning(show(r), unmapped_warning(r)) for r in unmapped]
    yara = yara_policy(swept, settings, options)
    if yara.mode != "off":
        from seawall.features.yara_set import set_info

        report.yara_set = set_info().version
    arguments = {
        "roots": report.roots,
        "host": report.host,
        "os": options.os_name,
        "root_map": [m.text for m in options.root_maps],
        "exclude": list(options.excludes),
        "max_size": options.max_size,
        "follow_symlinks": options.follow_symlinks,
        # what the re-sweep compares before it re-uses an unchanged file's YARA matches
        "yara": yara.key,
        "yara_set": report.yara_set,
    }
    # Rows are committed in batches as the sweep goes (one transaction would hold every row in
    # memory until its end) and become the host's state in the run's last transaction, which
    # also deletes the host's previous rows under the roots that the sweep did not keep.
    run = IngestRun(
        store,
        "collect files",
        arguments,
        host=report.host,
        force_host=True,
        batch_rows=options.batch_rows,
        memory=SWEEP_MEMORY,
    )
    with run:
        report.run_id = run.run_id
        _Sweep(run, options, report, progress).run(swept, settings, yara)
        report.warnings.sort(key=lambda w: w.path)
        summary = report.as_dict()
        summary["warnings"] = len(report.warnings)
        run.finish(summary, lambda s: previous.replace(s, report.host, report.run_id, swept))
    return report
