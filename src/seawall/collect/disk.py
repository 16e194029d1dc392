"""Disk usage snapshots: this machine's mounted file systems, or CSV exports from other systems.

AA21-200A asks defenders to watch server disk usage for significant change, because actors stage
collected data (T1074) before they exfiltrate it. A single snapshot says little; the detection
``host.disk-growth`` compares consecutive snapshots of the same host and mount against that
mount's own history. So this module only records snapshots, one row per file system (or
directory) and instant, in the ``disk`` table; it never judges them.

Live snapshot (``snapshot_mounts``)
    One row per mounted file system from ``/proc/self/mounts`` and ``os.statvfs`` (``df``'s
    arithmetic: total = blocks x fragment size, used = (blocks - free blocks) x fragment size).
    Pseudo file systems that hold no user data (proc, sysfs, cgroup, devpts, devtmpfs, autofs…)
    file systems mounted under ``/proc`` or ``/sys``, and file systems reporting zero blocks are
    skipped. ``tmpfs`` is **kept**: ``/dev/shm``,
    ``/run`` and a RAM-backed ``/tmp`` are exactly where an intruder can stage data without
    touching a disk. When one mount point is mounted several times only the last (visible) one
    is recorded. ``autofs`` is skipped so that a snapshot never triggers an automount.

    With ``paths``, each given directory gets one row for itself and one per immediate
    sub-directory (depth 1, like ``du -x --max-depth=1 --apparent-size``): the sum of the sizes
    of the regular files beneath it, found with ``os.scandir`` without following symlinks and
    without crossing into other file systems. Such rows have ``path`` set and ``total_bytes``
    empty (a directory has no capacity). Unreadable entries are warnings, never failures.

CSV import (``import_csv``)
    Strict UTF-8 (a leading BOM is allowed), comma-separated, one header line. Columns, matched
    by name (case-insensitive, any order; unknown columns are ignored with one warning):

    ==============  ========  ===================================================================
    column          required  meaning
    ==============  ========  ===================================================================
    ``time``        yes       ISO 8601 instant of the snapshot; without an offset it is UTC
    ``host``        yes       host name the snapshot was taken on
    ``mount``       yes       mount point (or drive, e.g. ``C:``)
    ``total_bytes`` yes       capacity in bytes (integer); may be empty on a ``path`` row
    ``used_bytes``  yes       used bytes (integer, not more than ``total_bytes``)
    ``device``      no        block device or volume name
    ``fs_type``     no        file system type (ext4, xfs, NTFS…)
    ``path``        no        a directory: the row then gives that directory's size, not the
                              whole file system's
    ==============  ========  ===================================================================

    A missing required column fails the whole file (``BadInputError`` at ``file:1``); any other
    bad row is a warning with its ``file:line`` and the rest of the file is still read. Every row
    records the file, its SHA-256 and its line number (``record_ref``); a file whose SHA-256 is
    already in the case is skipped, so re-importing it adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import socket
import stat
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore, utcnow
from seawall.collect.base import (
    BATCH_ROWS,
    Batch,
    IngestRun,
    Mediator,
    ReadWarning,
    SourceFile,
    SourceReport,
    ingest_file,
)
from seawall.collect.lines import Lines
from seawall.errors import BadInputError, UsageError
from seawall.model.tables import DISK

MOUNTS_FILE = "/proc/self/mounts"

# File systems that hold no user data; their "usage" is meaningless or always zero.
PSEUDO_FS: frozenset[str] = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)

# Anything mounted inside these is the kernel's (e.g. the tmpfs holding the cgroup mounts).
KERNEL_TREES = ("/proc/", "/sys/")

# A live snapshot's rows carry their own provenance (the mounts file, or the directory sized);
# an imported CSV's rows get the file's from the ingest.
DISK_SCHEMA = pa.schema([f for f in DISK.schema if f.name != "run_id"])
CSV_SCHEMA = pa.schema([f for f in DISK_SCHEMA if f.name not in ("source_file", "source_sha256")])

REQUIRED_COLUMNS = ("time", "host", "mount", "total_bytes", "used_bytes")
OPTIONAL_COLUMNS = ("device", "fs_type", "path")
MAX_LINE_BYTES = 64 * 1024  # a disk snapshot line is short: anything longer is hostile or broken

_OCTAL = re.compile(rb"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    device: str
    mount: str
    fs_type: str
    line: int


@dataclass(slots=True)
class DiskReport:
    """What one ``collect disk`` did; ``snapshots`` counts the rows added to the case."""

    host: str
    run_id: str = ""
    snapshots: int = 0
    mounts: int = 0
    directories: int = 0
    imported_rows: int = 0
    imports: list[SourceReport] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # nested dataclasses in lists are converted too


def _text(raw: bytes) -> str:
    """Recordable text for a path: bytes that are not UTF-8 stay visible as ``\\xNN``."""
    return raw.decode("utf-8", errors="backslashreplace")


def parse_mounts(data: bytes) -> list[Mount]:
    """Parse ``/proc/self/mounts``; the kernel escapes space, tab, newline and backslash as octal.

    A mount point mounted more than once is kept once, at its last (visible) entry.
    """
    by_point: dict[str, Mount] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        fields = line.split()
        if len(fields) < 3:
            continue
        device, point, fs_type = (
            _text(_OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), f)) for f in fields[:3]
        )
        by_point.pop(point, None)  # re-insert so that dict order follows the visible entry
        by_point[point] = Mount(device, point, fs_type, number)
    return list(by_point.values())


def _containing_mount(directory: str, mounts: list[Mount]) -> Mount | None:
    best: Mount | None = None
    for mount in mounts:
        prefix = mount.mount.rstrip("/") + "/"
        if (directory == mount.mount or directory.startswith(prefix)) and (
            best is None or len(mount.mount) > len(best.mount)
        ):
            best = mount
    return best


def _tree_size(top: str, device: int, mediator: Mediator) -> int:
    """Apparent size of the regular files under ``top``: no symlinks followed, one file system."""
    total = 0
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError as error:
                        mediator.warn(entry.path, error.strerror or str(error))
                        continue
                    if stat.S_ISREG(info.st_mode):
                        total += info.st_size
                    elif stat.S_ISDIR(info.st_mode) and info.st_dev == device:
                        stack.append(entry.path)
        except OSError as error:
            mediator.warn(current, error.strerror or str(error))
    return total


def _directory_sizes(directory: str, mediator: Mediator) -> Iterator[tuple[str, int]]:
    """``directory`` itself, then each immediate sub-directory, with its total size."""
    try:
        device = os.lstat(directory).st_dev
        with os.scandir(directory) as entries:
            children = sorted(e.path for e in entries if e.is_dir(follow_symlinks=False))
    except OSError as error:
        mediator.warn(directory, error.strerror or str(error))
        return
    sizes = []
    for child in children:
        try:
            if os.lstat(child).st_dev != device:
                continue  # another file system: it has its own mount row
        except OSError as error:
            mediator.warn(child, error.strerror or str(error))
            continue
        sizes.append((child, _tree_size(child, device, mediator)))
    own = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    own += entry.stat(follow_symlinks=False).st_size
    except OSError as error:
        mediator.warn(directory, error.strerror or str(error))
    yield directory, own + sum(size for _, size in sizes)
    yield from sizes


def snapshot_mounts(
    host: str | None = None,
    paths: Iterable[str] = (),
    *,
    mediator: Mediator | None = None,
    mounts_file: str = MOUNTS_FILE,
) -> pa.Table:
    """Snapshot this machine's file systems (and optional directories) as ``disk`` rows (the
    run's id is added when they are written)."""
    mediator = mediator if mediator is not None else Mediator()
    host = host or socket.gethostname()
    now = utcnow()
    data = Path(mounts_file).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    mounts = parse_mounts(data)
    rows: list[dict[str, Any]] = []
    for mount in mounts:
        if mount.fs_type in PSEUDO_FS or mount.mount.startswith(KERNEL_TREES):
            continue
        try:
            info = os.statvfs(mount.mount)
        except OSError as error:
            mediator.warn(f"{mounts_file}:{mount.line}", f"{mount.mount}: {error}")
            continue
        if info.f_blocks == 0:
            continue
        rows.append(
            {
                "mount": mount.mount,
                "device": mount.device,
                "fs_type": mount.fs_type,
                "path": None,
                "total_bytes": info.f_blocks * info.f_frsize,
                "used_bytes": (info.f_blocks - info.f_bfree) * info.f_frsize,
                "source_file": mounts_file,
                "source_sha256": sha256,
                "record_ref": str(mount.line),
            }
        )
    for given in paths:
        directory = os.path.realpath(given)
        if not Path(directory).is_dir():
            mediator.warn(given, "not a directory: no size recorded")
            continue
        owner = _containing_mount(directory, mounts)
        for path, size in _directory_sizes(directory, mediator):
            rows.append(
                {
                    "mount": owner.mount if owner else None,
                    "device": owner.device if owner else None,
                    "fs_type": owner.fs_type if owner else None,
                    "path": path,
                    "total_bytes": None,
                    "used_bytes": size,
                    "source_file": path,
                    "source_sha256": None,
                    "record_ref": None,
                }
            )
    for row in rows:
        row.update(time=now, host=host)
    return pa.Table.from_pylist(rows, schema=DISK_SCHEMA)


# -- CSV import ---------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """ISO 8601 to the naive UTC the store keeps; an instant without an offset is UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _bytes(text: str, column: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError(f"{column} is negative ({value})")
    return value


def _row(record: dict[str, str]) -> dict[str, Any]:
    """One CSV record as a ``disk`` row; ``ValueError`` says what is wrong with it."""
    try:
        time = parse_time(record["time"])
    except ValueError as error:
        raise ValueError(f"time {record['time']!r} is not ISO 8601") from error
    host, mount = record["host"].strip(), record["mount"].strip()
    if not host or not mount:
        raise ValueError("host and mount must not be empty")
    path = (record.get("path") or "").strip() or None
    total_text = record["total_bytes"].strip()
    try:
        used = _bytes(record["used_bytes"], "used_bytes")
        total = _bytes(total_text, "total_bytes") if total_text or not path else None
    except ValueError as error:
        raise ValueError(f"bad byte count: {error}") from error
    if total is not None and used > total:
        raise ValueError(f"used_bytes ({used}) is more than total_bytes ({total})")
    return {
        "time": time,
        "host": host,
        "mount": mount,
        "device": (record.get("device") or "").strip() or None,
        "fs_type": (record.get("fs_type") or "").strip() or None,
        "path": path,
        "total_bytes": total,
        "used_bytes": used,
    }


class DiskCsvReader:
    """Disk-usage CSV exports (columns in the module docstring) as ``disk`` rows."""

    format = "disk-csv"

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        location = source.display
        try:
            handle = source.path.open("rb")
        except OSError as error:
            raise BadInputError(f"cannot read: {error.strerror or error}", location) from error
        with handle:
            lines = Lines(handle, location, mediator, max_bytes=MAX_LINE_BYTES)
            reader = csv.reader(iter(lines))
            header = _header(reader, location, mediator)
            rows: list[dict[str, Any]] = []
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    mediator.warn(lines.where, str(error))
                    continue
                if not fields or all(not f.strip() for f in fields):
                    continue
                if len(fields) != len(header):
                    mediator.warn(
                        lines.where, f"{len(fields)} fields, the header has {len(header)}"
                    )
                    continue
                try:
                    row = _row(dict(zip(header, fields, strict=True)))
                except ValueError as error:
                    mediator.warn(lines.where, str(error))
                    continue
                row["record_ref"] = str(lines.number)
                rows.append(row)
                if len(rows) >= BATCH_ROWS:
                    yield Batch("disk", pa.Table.from_pylist(rows, CSV_SCHEMA), lines.position)
                    rows = []
            yield Batch("disk", pa.Table.from_pylist(rows, CSV_SCHEMA), lines.position)


def _header(reader: Iterator[list[str]], location: str, mediator: Mediator) -> list[str]:
    """The header's column names; a file without the required ones is refused."""
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise BadInputError("empty file: no header line", f"{location}:1") from None
    except csv.Error as error:
        raise BadInputError(f"unreadable header: {error}", f"{location}:1") from error
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadInputError(
            f"missing required column(s) {', '.join(missing)}"
            f" (required: {', '.join(REQUIRED_COLUMNS)})",
            f"{location}:1",
        )
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        mediator.warn(f"{location}:1", f"ignored column(s) {', '.join(unknown)}")
    return header


# -- collecting ---------------------------------------------------------------------------------


def collect_disk(
    store: CaseStore,
    *,
    host: str | None = None,
    paths: list[str] | None = None,
    imports: list[Path] | None = None,
    snapshot: bool = True,
) -> DiskReport:
    """Take a live snapshot and/or import CSVs into ``disk``, in one run.

    A CSV that cannot be read at all (a required column missing) is refused with the reason
    and the others are still imported (the CLI then exits 3); a CSV already in the case adds
    nothing.
    """
    paths = paths or []
    imports = imports or []
    report = DiskReport(host=host or socket.gethostname())
    if not snapshot and not imports:
        raise UsageError("nothing to do: take a snapshot or give --import CSV")
    for path in imports:
        if not path.is_file():
            raise UsageError(f"--import {path}: no such file")
    arguments = {
        "host": report.host,
        "paths": paths,
        "imports": [str(p) for p in imports],
        "snapshot": snapshot,
    }
    mediator = Mediator(report.warnings)
    reader = DiskCsvReader()
    with IngestRun(store, "collect disk", arguments) as run:
        report.run_id = run.run_id
        if snapshot:
            live = snapshot_mounts(report.host, paths, mediator=mediator)
            run.write("disk", live, None)
            report.directories = sum(1 for p in live.column("path").to_pylist() if p is not None)
            report.mounts = live.num_rows - report.directories
            report.snapshots += live.num_rows
        for path in imports:
            result = ingest_file(run, path, lambda _: reader, mediator)
            report.imports.append(result)
            report.imported_rows += result.rows.get("disk", 0)
        report.snapshots += report.imported_rows
        summary = report.as_dict()
        summary["warnings"] = mediator.count
        run.finish(summary)
    return report
