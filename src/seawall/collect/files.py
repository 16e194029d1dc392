"""The file-system sweep's collection step: walk, hash, and record every file in the case.

The walk (``seawall.collect.walk``) opens each directory ``O_NOATIME`` and runs in this process,
with the writes; the files are hashed and typed by one worker process per core (``content``), which
gets their paths in chunks. Nothing under a swept path is ever opened for writing.

Hostile trees are expected (a mounted image of a compromised host): symlink loops, FIFOs, devices,
names that are not UTF-8, paths longer than ``PATH_MAX``, unreadable or vanishing files. Each is a
warning carrying its path; none stops the sweep.

**Re-sweeps.** A sweep replaces, in the same transaction that writes the new rows, every row of the
same host under the swept roots: a file appears once per host and path, files deleted since the
previous sweep disappear with it, and a crash leaves the previous sweep intact. Before that, the
previous rows are loaded so that a file whose device, inode, size and ``mtime_ns`` are unchanged
re-uses its hashes and content features without being read again (the incremental sweep). Their
history is kept only in the ``runs`` table's summaries: the ``files`` table is each host's latest.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import pwd
import socket
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.content import CONTENT_COLUMNS, Examined, Failed, examine_batch
from seawall.collect.paths import RootMap, absolute, is_under_any, windows_path
from seawall.collect.walk import Found, Walker
from seawall.errors import UsageError

BATCH_ROWS = 10_000
# A worker gets paths in chunks: few enough to spread a tree's files over both workers, enough
# that one pickle and one result list carry hundreds of small files.
CHUNK_FILES = 256
CHUNK_BYTES = 64 << 20
OsName = Literal["windows", "linux", "auto"]

FILES_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("name", pa.string()),
        ("size", pa.int64()),
        ("mtime", pa.timestamp("us")),
        ("atime", pa.timestamp("us")),
        ("ctime", pa.timestamp("us")),
        ("owner", pa.string()),
        ("mode", pa.int32()),
        ("inode", pa.uint64()),
        ("device", pa.uint64()),
        ("md5", pa.string()),
        ("sha1", pa.string()),
        ("sha256", pa.string()),
        ("run_id", pa.string()),
        ("host", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("record_ref", pa.string()),
        ("mtime_ns", pa.int64()),
        ("os", pa.string()),
        ("windows_path", pa.string()),
        ("file_kind", pa.string()),
        ("uid", pa.int64()),
        ("gid", pa.int64()),
        ("note", pa.string()),
        *[(column, pa.string()) for column in CONTENT_COLUMNS],
    ]
)


# A row is a list in ``FILES_SCHEMA`` order (a dict per file cost more than the rest of its
# bookkeeping); these are the positions the sweep fills after the walk.
Row = list[Any]
_PATH, _SIZE, _INODE, _DEVICE, _MD5, _MTIME_NS, _NOTE = (
    FILES_SCHEMA.get_field_index(name)
    for name in ("path", "size", "inode", "device", "md5", "mtime_ns", "note")
)
_SOURCE_SHA256 = FILES_SCHEMA.get_field_index("source_sha256")
_CONTENT = FILES_SCHEMA.get_field_index(CONTENT_COLUMNS[0])
_WIDTH = len(FILES_SCHEMA)
assert FILES_SCHEMA.names[_MD5 : _MD5 + 3] == ["md5", "sha1", "sha256"]
assert FILES_SCHEMA.names[_CONTENT:] == list(CONTENT_COLUMNS)


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
    warnings: list[CollectWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["warnings"] = [asdict(w) for w in self.warnings]
        return payload


class Progress(Protocol):
    """Where the sweep reports progress (the CLI draws a bar; the library draws nothing)."""

    def advance(self, files: int, nbytes: int) -> None: ...


def show(path: bytes) -> str:
    """A recordable text form of a path: bytes that are not UTF-8 stay visible as ``\\xNN``."""
    return path.decode("utf-8", errors="backslashreplace")


@lru_cache(maxsize=4096)
def _user(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def prepare_roots(paths: list[str]) -> list[bytes]:
    """Absolute roots without duplicates or roots nested in another (they would record twice)."""
    roots = sorted({absolute(p) for p in paths})
    kept: list[bytes] = []
    for root in roots:
        if not any(root.startswith(k.rstrip(b"/") + b"/") for k in kept):
            kept.append(root)
    return kept


def root_os(root: bytes, options: CollectOptions) -> str:
    """``windows`` for a root under a --root-map or holding ``Windows/System32``, else linux."""
    if options.os_name != "auto":
        return options.os_name
    if is_under_any(root, list(options.root_maps)):
        return "windows"
    try:
        with os.scandir(root) as listing:
            for entry in listing:
                if os.fsdecode(entry.name).lower() == "windows" and entry.is_dir(
                    follow_symlinks=False
                ):
                    with os.scandir(entry.path) as inner:
                        if any(os.fsdecode(e.name).lower() == "system32" for e in inner):
                            return "windows"
    except OSError:
        pass
    return "linux"


def count_files(roots: list[bytes], options: CollectOptions) -> int:
    """A fast pre-count (metadata only, warnings dropped) that gives the progress bar a total."""
    walker = Walker(options, lambda _path, _message, _skipped: None)
    return sum(1 for _ in walker.walk(roots))


# A previous row, by path: (device, inode, size, mtime_ns, md5, sha1, sha256, *CONTENT_COLUMNS).
# Plain tuples, built in C from the query's columns: the ``CONTENT_COLUMNS`` depend on the bytes
# alone, like the hashes, so an unchanged file re-uses both.
_Previous = tuple[Any, ...]


def _under_sql(roots: list[bytes]) -> tuple[str, list[str]]:
    clauses, params = [], []
    for root in roots:
        text = show(root)
        clauses.append("(path = ? OR starts_with(path, ?))")
        params += [text, text.rstrip("/") + "/"]
    return " OR ".join(clauses), params


def load_previous(store: CaseStore, host: str, roots: list[bytes]) -> dict[str, _Previous]:
    """Hashes and content features of the previous sweep (rows from a seawall that had no
    content features have no ``file_type``: left out, their files are read again to get them)."""
    where, params = _under_sql(roots)
    sql = (
        "SELECT path, device, inode, size, mtime_ns, md5, sha1, sha256,"
        f" {', '.join(CONTENT_COLUMNS)} FROM files WHERE host = ? AND sha256 IS NOT NULL"
        f" AND mtime_ns IS NOT NULL AND file_type IS NOT NULL AND ({where})"
    )
    table = store.con.sql(sql, params=[host, *params]).to_arrow_table()
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return dict(zip(columns[0], zip(*columns[1:], strict=True), strict=True))


class _Batch:
    """Rows written to ``files`` as one Arrow table per batch (Arrow converts them in C++)."""

    def __init__(self, store: CaseStore, size: int) -> None:
        self.store = store
        self.size = size
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        columns = zip(*self.rows, strict=True)
        arrays = [pa.array(c, type=f.type) for c, f in zip(columns, FILES_SCHEMA, strict=True)]
        self.store.insert_arrow("files", pa.Table.from_arrays(arrays, schema=FILES_SCHEMA))
        self.rows = []


class _Sweep:
    """One collect command: walker feeding a hashing pool feeding Arrow batches."""

    def __init__(
        self,
        store: CaseStore,
        options: CollectOptions,
        report: CollectReport,
        progress: Progress | None,
    ) -> None:
        self.options = options
        self.report = report
        self.progress = progress
        self.batch = _Batch(store, options.batch_rows)
        self.maps = list(options.root_maps)
        self.previous: dict[str, _Previous] = {}
        self.jobs: dict[Future[list[Examined | Failed]], list[tuple[Found, Row]]] = {}
        self.chunk: list[tuple[Found, Row]] = []
        self.chunk_bytes = 0
        self.pool: ProcessPoolExecutor | None = None
        self.in_flight = 0

    def warn(self, path: bytes, message: str, skipped: bool = True) -> None:
        self.report.warnings.append(CollectWarning(show(path), message))
        if skipped:
            self.report.skipped += 1

    def base_row(self, found: Found, os_name: str) -> Row:
        st, text = found.st, show(found.path)
        windows = os_name == "windows"
        row = [
            text,
            text.rsplit("/", 1)[-1],
            st.st_size,
            st.st_mtime_ns // 1000,  # microseconds: Arrow takes them as-is for timestamp[us]
            st.st_atime_ns // 1000,
            st.st_ctime_ns // 1000,
            # A mounted image's uids belong to the mount, not to the Windows owner (a SID).
            None if windows else _user(st.st_uid),
            st.st_mode,
            st.st_ino,
            st.st_dev,
            None,
            None,
            None,
            self.report.run_id,
            self.report.host,
            text,
            None,
            str(st.st_ino),
            st.st_mtime_ns,
            os_name,
            windows_path(found.path, self.maps) if self.maps else None,
            found.kind,
            st.st_uid,
            st.st_gid,
        ]
        row.extend([None] * (_WIDTH - len(row)))
        return row

    def finish(self, row: Row, nbytes: int) -> None:
        self.report.files += 1
        self.batch.add(row)
        if self.progress is not None:
            self.progress.advance(1, nbytes)

    def reusable(self, row: Row) -> _Previous | None:
        before = self.previous.get(row[_PATH])
        if before is None:
            return None
        same = before[:4] == (row[_DEVICE], row[_INODE], row[_SIZE], row[_MTIME_NS])
        return before if same else None

    def complete(self, future: Future[list[Examined | Failed]]) -> None:
        pending = self.jobs.pop(future)
        for (found, row), result in zip(pending, future.result(), strict=True):
            self.record(found, row, result)

    def record(self, found: Found, row: Row, result: Examined | Failed) -> None:
        """Store what a worker examined, or the reason it failed (the file stays listed)."""
        if result[0] is None:
            _, code, message = result
            if code == errno.ENOENT:
                self.warn(found.path, "skipped: vanished during the sweep")
                return
            self.warn(found.path, f"cannot read: {message}")
            row[_NOTE] = f"unreadable: {message}"
            self.finish(row, 0)
            return
        md5, sha1, sha256, size, values, warnings = result
        row[_MD5 : _MD5 + 3] = md5, sha1, sha256
        row[_SOURCE_SHA256] = sha256
        row[_CONTENT:] = values
        self.report.warnings.extend(CollectWarning(row[_PATH], w) for w in warnings)
        if size != row[_SIZE]:
            self.report.warnings.append(
                CollectWarning(row[_PATH], "changed while being read: hashes may not match")
            )
            row[_NOTE] = "changed while being read"
        self.report.hashed += 1
        self.report.bytes_hashed += size
        self.finish(row, size)

    def run(self, roots: list[bytes]) -> None:
        workers = self.options.workers or os.cpu_count() or 1
        walker = Walker(self.options, self.warn)
        # Worker processes, not threads: a small file's hashing and typing is mostly Python, so
        # threads would queue for the GIL. Paths go out in chunks (one pickle per few hundred
        # files) and come back as compact tuples; the walk and the writes stay here. Chunks are
        # completed in whatever order they finish, so one large file does not idle the others.
        # "fork", not "forkserver" (which re-imports the caller's __main__): the children only
        # hash, type and parse files; they never touch the DuckDB connection or its threads.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            self.pool = pool
            self.in_flight = workers * 3
            for root in roots:
                os_name = root_os(root, self.options)
                for found in walker.walk([root]):
                    self.dispatch(found, self.base_row(found, os_name))
            self.submit()
            self.drain()
        self.report.excluded = walker.excluded
        self.batch.flush()

    def dispatch(self, found: Found, row: Row) -> None:
        if found.kind == "symlink" and not found.followed:
            row[_NOTE] = "symlink (not followed)"
            self.finish(row, 0)
            return
        max_size = self.options.max_size
        if max_size is not None and row[_SIZE] > max_size:
            row[_NOTE] = f"larger than --max-size {max_size}: not hashed"
            self.report.too_large += 1
            self.finish(row, 0)
            return
        before = self.reusable(row)
        if before is not None:
            row[_MD5 : _MD5 + 3] = before[4:7]
            row[_SOURCE_SHA256] = before[6]
            row[_CONTENT:] = before[7:]
            self.report.reused += 1
            self.finish(row, 0)
            return
        self.chunk.append((found, row))
        self.chunk_bytes += row[_SIZE]
        if len(self.chunk) >= CHUNK_FILES or self.chunk_bytes >= CHUNK_BYTES:
            self.submit()

    def submit(self) -> None:
        if not self.chunk:
            return
        items = [(found.path, found.followed) for found, _ in self.chunk]
        assert self.pool is not None
        self.jobs[self.pool.submit(examine_batch, items)] = self.chunk
        self.chunk, self.chunk_bytes = [], 0
        while len(self.jobs) > self.in_flight:
            self.drain(FIRST_COMPLETED)

    def drain(self, until: str = "ALL_COMPLETED") -> None:
        if not self.jobs:
            return
        done, _ = wait(list(self.jobs), return_when=until)
        for future in done:
            self.complete(future)


def collect_files(
    store: CaseStore,
    roots: list[str],
    options: CollectOptions,
    progress: Progress | None = None,
) -> CollectReport:
    """Sweep ``roots`` into the ``files`` table in one transaction and say what happened."""
    if not roots:
        raise UsageError("give at least one PATH to sweep")
    if options.max_size is not None and options.max_size < 0:
        raise UsageError("--max-size must be zero or more bytes")
    swept = prepare_roots(roots)
    report = CollectReport(host=options.host or socket.gethostname())
    report.roots = [show(r) for r in swept]
    sweep = _Sweep(store, options, report, progress)
    arguments = {
        "roots": report.roots,
        "host": report.host,
        "os": options.os_name,
        "root_map": [m.text for m in options.root_maps],
        "exclude": list(options.excludes),
        "max_size": options.max_size,
        "follow_symlinks": options.follow_symlinks,
    }
    with store.transaction():
        report.run_id = store.start_run("collect files", arguments)
        sweep.previous = load_previous(store, report.host, swept)
        where, params = _under_sql(swept)
        store.con.execute(f"DELETE FROM files WHERE host = ? AND ({where})", [report.host, *params])
        sweep.run(swept)
        summary = report.as_dict()
        summary["warnings"] = len(report.warnings)
        store.finish_run(report.run_id, "ok", summary)
    return report
