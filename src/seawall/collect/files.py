"""The file-system sweep's collection step: walk, hash, and record every file in the case.

The walk is iterative (``os.scandir`` over an explicit stack) so that a deep tree cannot exhaust
Python's recursion limit, and it opens each directory ``O_NOATIME`` and lists it through that file
descriptor, so that sweeping evidence does not even change its directories' access times. Nothing
under a swept path is ever opened for writing.

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
import os
import pwd
import socket
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache, partial
from typing import Any, Literal, Protocol

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.collect.content import CONTENT_COLUMNS, ContentFeatures, examine_file
from seawall.collect.hashing import CHUNK_SIZE, Digests
from seawall.collect.paths import RootMap, absolute, is_under_any, windows_path
from seawall.errors import UsageError

MAX_PATH_BYTES = 4096
BATCH_ROWS = 10_000
# Files smaller than one chunk are hashed on the walking thread. Handing them to the pool costs
# more than hashing them: each of their few GIL releases makes the threads queue for the GIL again
# (measured on /usr/share: two threads took 1.8x as long as one for 50k small files). Large files
# release the GIL once per 1 MiB chunk, so the pool's threads run them truly in parallel.
SMALL_FILE = CHUNK_SIZE
OsName = Literal["windows", "linux", "auto"]

_NOATIME = getattr(os, "O_NOATIME", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)

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


def _timestamp(ns: int) -> int:
    """Microseconds since the epoch: Arrow takes them as-is for ``timestamp[us]`` (naive UTC)."""
    return ns // 1000


@lru_cache(maxsize=4096)
def _user(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _open_dir(path: bytes, *, nofollow: bool) -> int:
    """Open a directory for listing without updating its access time (retry if EPERM)."""
    flags = _DIR_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0)
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME)
        except PermissionError as error:
            if error.errno != errno.EPERM:
                raise
    return os.open(path, flags)


def _join(directory: bytes, name: bytes) -> bytes:
    return directory + name if directory.endswith(b"/") else directory + b"/" + name


_SPECIAL = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


@dataclass(frozen=True, slots=True)
class Found:
    """A file the walk found: ``st`` is the target's stat when a symlink was followed."""

    path: bytes
    st: os.stat_result
    kind: Literal["regular", "symlink"]
    followed: bool = False


# (path, message, skipped): ``skipped`` when the entry gets no hashes because of the problem.
Warn = Callable[[bytes, str, bool], None]
_Examined = tuple[Digests, ContentFeatures]


class Walker:
    """Iterative walk of the roots, reporting every oddity to ``warn`` and going on."""

    def __init__(self, options: CollectOptions, warn: Warn) -> None:
        self.options = options
        self._sink = warn
        self.excluded = 0
        self._visited: set[tuple[int, int]] = set()
        self._windows_excludes = options.os_name == "windows"

    def warn(self, path: bytes, message: str, skipped: bool = True) -> None:
        self._sink(path, message, skipped)

    def _is_excluded(self, path: bytes, name: bytes) -> bool:
        if not self.options.excludes:
            return False
        text_path, text_name = os.fsdecode(path), os.fsdecode(name)
        if self._windows_excludes:
            text_path, text_name = text_path.lower(), text_name.lower()
        for pattern in self.options.excludes:
            subject = text_path if "/" in pattern else text_name
            wanted = pattern.lower() if self._windows_excludes else pattern
            if fnmatchcase(subject, wanted):
                return True
        return False

    def walk(self, roots: list[bytes]) -> Iterator[Found]:
        for root in roots:
            try:
                # A root the responder named is followed even if a symlink. Bytes paths: no pathlib.
                st = os.stat(root)  # noqa: PTH116
            except OSError as error:
                self.warn(root, f"cannot stat root: {error.strerror}", True)
                continue
            if stat.S_ISREG(st.st_mode):
                yield Found(root, st, "regular")
            elif stat.S_ISDIR(st.st_mode):
                self._visited.add((st.st_dev, st.st_ino))
                yield from self._walk_tree(root)
            else:
                self.warn(root, f"skipped: root is a {_SPECIAL.get(stat.S_IFMT(st.st_mode))}")

    def _walk_tree(self, root: bytes) -> Iterator[Found]:
        stack: list[tuple[bytes, bool]] = [(root, False)]
        while stack:
            directory, nofollow = stack.pop()
            try:
                fd = _open_dir(directory, nofollow=nofollow)
            except OSError as error:
                self.warn(directory, f"cannot read directory: {error.strerror}")
                continue
            subdirs: list[bytes] = []
            try:
                yield from self._list(directory, fd, subdirs)
            finally:
                os.close(fd)
            # Reversed, so that the stack pops them in name order: a stable, readable walk.
            stack.extend((d, True) for d in reversed(subdirs))

    def _list(self, directory: bytes, fd: int, subdirs: list[bytes]) -> Iterator[Found]:
        """List one directory; ``entry.stat`` uses the listing's fd, so it stays inside here."""
        try:
            with os.scandir(fd) as listing:
                entries = sorted(listing, key=lambda e: e.name)
                for entry in entries:
                    yield from self._entry(directory, entry, subdirs)
        except OSError as error:
            self.warn(directory, f"directory listing failed part-way: {error.strerror}", False)

    def _entry(
        self, directory: bytes, entry: os.DirEntry[str], subdirs: list[bytes]
    ) -> Iterator[Found]:
        name = os.fsencode(entry.name)
        path = _join(directory, name)
        if len(path) > MAX_PATH_BYTES:
            self.warn(path[:200] + b"...", f"skipped: path longer than {MAX_PATH_BYTES} bytes")
            return
        if self._is_excluded(path, name):
            self.excluded += 1
            return
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            self.warn(path, "skipped: vanished during the sweep")
            return
        except OSError as error:
            self.warn(path, f"skipped: cannot stat: {error.strerror}")
            return
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            self.warn(path, "name is not valid UTF-8: recorded with \\x escapes", False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if self.options.follow_symlinks:
                self._visited.add((st.st_dev, st.st_ino))
            subdirs.append(path)
        elif stat.S_ISREG(mode):
            yield Found(path, st, "regular")
        elif stat.S_ISLNK(mode):
            yield from self._symlink(path, st, subdirs)
        else:
            self.warn(path, f"skipped: {_SPECIAL.get(stat.S_IFMT(mode), 'special file')}")

    def _symlink(self, path: bytes, lst: os.stat_result, subdirs: list[bytes]) -> Iterator[Found]:
        if not self.options.follow_symlinks:
            yield Found(path, lst, "symlink")
            return
        try:
            target = os.stat(path)  # noqa: PTH116 (bytes paths)
        except OSError as error:
            reason = "symlink loop" if error.errno == errno.ELOOP else error.strerror
            self.warn(path, f"symlink not followed: {reason}")
            yield Found(path, lst, "symlink")
            return
        if stat.S_ISDIR(target.st_mode):
            key = (target.st_dev, target.st_ino)
            if key in self._visited:
                self.warn(path, "symlink loop: its target directory was already walked")
                return
            self._visited.add(key)
            subdirs.append(path)
        elif stat.S_ISREG(target.st_mode):
            yield Found(path, target, "symlink", followed=True)
        else:
            kind = _SPECIAL.get(stat.S_IFMT(target.st_mode), "special file")
            self.warn(path, f"skipped: symlink to a {kind}")


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


@dataclass(frozen=True, slots=True)
class _Previous:
    content: dict[str, str | None]
    """The ``CONTENT_COLUMNS``: derived from the bytes alone, like the hashes."""
    device: int
    inode: int
    size: int
    mtime_ns: int
    md5: str
    sha1: str
    sha256: str


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
    rows = zip(*columns, strict=True)
    return {r[0]: _Previous(dict(zip(CONTENT_COLUMNS, r[8:], strict=True)), *r[1:8]) for r in rows}


class _Batch:
    """Rows written to ``files`` as one Arrow table per batch (Arrow converts them in C++)."""

    def __init__(self, store: CaseStore, size: int) -> None:
        self.store = store
        self.size = size
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.store.insert_arrow("files", pa.Table.from_pylist(self.rows, schema=FILES_SCHEMA))
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
        self.jobs: dict[Future[_Examined], tuple[Found, dict[str, Any]]] = {}

    def warn(self, path: bytes, message: str, skipped: bool = True) -> None:
        self.report.warnings.append(CollectWarning(show(path), message))
        if skipped:
            self.report.skipped += 1

    def base_row(self, found: Found, os_name: str) -> dict[str, Any]:
        st, text = found.st, show(found.path)
        windows = os_name == "windows"
        return {
            "path": text,
            "name": text.rsplit("/", 1)[-1],
            "size": st.st_size,
            "mtime": _timestamp(st.st_mtime_ns),
            "atime": _timestamp(st.st_atime_ns),
            "ctime": _timestamp(st.st_ctime_ns),
            # A mounted image's uids belong to the mount, not to the Windows owner (a SID).
            "owner": None if windows else _user(st.st_uid),
            "mode": st.st_mode,
            "inode": st.st_ino,
            "device": st.st_dev,
            "run_id": self.report.run_id,
            "host": self.report.host,
            "source_file": text,
            "record_ref": str(st.st_ino),
            "mtime_ns": st.st_mtime_ns,
            "os": os_name,
            "windows_path": windows_path(found.path, self.maps),
            "file_kind": found.kind,
            "uid": st.st_uid,
            "gid": st.st_gid,
        }

    def finish(self, row: dict[str, Any], nbytes: int) -> None:
        self.report.files += 1
        self.batch.add(row)
        if self.progress is not None:
            self.progress.advance(1, nbytes)

    def reusable(self, row: dict[str, Any]) -> _Previous | None:
        before = self.previous.get(row["path"])
        if before is None:
            return None
        same = (before.device, before.inode, before.size, before.mtime_ns) == (
            row["device"],
            row["inode"],
            row["size"],
            row["mtime_ns"],
        )
        return before if same else None

    def complete(self, future: Future[_Examined]) -> None:
        found, row = self.jobs.pop(future)
        self.record(found, row, future.result)

    def record(self, found: Found, row: dict[str, Any], result: Callable[[], _Examined]) -> None:
        """Store what ``result`` gives, or the reason it raised (the file stays listed)."""
        try:
            digests, features = result()
        except FileNotFoundError:
            self.warn(found.path, "skipped: vanished during the sweep")
            return
        except OSError as error:
            self.warn(found.path, f"cannot read: {error.strerror or error}")
            row["note"] = f"unreadable: {error.strerror or error}"
            self.finish(row, 0)
            return
        row.update(md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256)
        row["source_sha256"] = digests.sha256
        row.update(features.columns())
        self.report.warnings.extend(CollectWarning(row["path"], w) for w in features.warnings)
        if digests.size != row["size"]:
            self.report.warnings.append(
                CollectWarning(row["path"], "changed while being read: hashes may not match")
            )
            row["note"] = "changed while being read"
        self.report.hashed += 1
        self.report.bytes_hashed += digests.size
        self.finish(row, digests.size)

    def run(self, roots: list[bytes]) -> None:
        workers = self.options.workers or os.cpu_count() or 1
        in_flight = workers * 8
        walker = Walker(self.options, self.warn)
        # Completed in whatever order they finish: waiting on the oldest job would leave the other
        # workers idle behind one large file.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash") as pool:
            for root in roots:
                os_name = root_os(root, self.options)
                for found in walker.walk([root]):
                    self.dispatch(found, self.base_row(found, os_name), pool)
                    if len(self.jobs) > in_flight:
                        self.drain(FIRST_COMPLETED)
            self.drain()
        self.report.excluded = walker.excluded
        self.batch.flush()

    def dispatch(
        self,
        found: Found,
        row: dict[str, Any],
        pool: ThreadPoolExecutor,
    ) -> None:
        if found.kind == "symlink" and not found.followed:
            row["note"] = "symlink (not followed)"
            self.finish(row, 0)
            return
        max_size = self.options.max_size
        if max_size is not None and row["size"] > max_size:
            row["note"] = f"larger than --max-size {max_size}: not hashed"
            self.report.too_large += 1
            self.finish(row, 0)
            return
        before = self.reusable(row)
        if before is not None:
            row.update(md5=before.md5, sha1=before.sha1, sha256=before.sha256, **before.content)
            row["source_sha256"] = before.sha256
            self.report.reused += 1
            self.finish(row, 0)
            return
        if row["size"] < SMALL_FILE:
            self.record(
                found, row, partial(examine_file, found.path, follow_symlinks=found.followed)
            )
            return
        future = pool.submit(examine_file, found.path, follow_symlinks=found.followed)
        self.jobs[future] = (found, row)

    def drain(self, until: str = "ALL_COMPLETED") -> None:
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
