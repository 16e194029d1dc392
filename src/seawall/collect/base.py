"""The reader contract and the one ingest path every collector goes through.

A **reader** knows one evidence format. Given a source file it yields :class:`Batch` es: Arrow
record batches of one case table's columns (see :mod:`seawall.model.tables`), and it reports
every problem through its :class:`Mediator` as a warning with a location (``file:line``,
``file@offset``, ``file#record``), never by raising: a corrupt record costs that record only.
It never touches the case. A reader raises :class:`~seawall.errors.BadInputError` only for a file
it cannot read at all (not its format, a required header missing): that file is *refused*, the
others are still read, and the command exits 3.

**Ingest** (:class:`IngestRun`, :func:`ingest_files`) owns everything else, the same way for
every reader: the run in ``runs``; provenance (the run, host, source file and its SHA-256 are
added to every row; readers give ``record_ref``); batching (rows are written in batches of
``batch_rows`` and committed every ``COMMIT_ROWS``, and DuckDB's memory is capped, so memory
stays flat whatever the input's size);
re-collection (a file whose SHA-256 the case already holds in ``evidence_sources`` adds nothing);
the entities the rows name (hosts, addresses, accounts, links: :mod:`seawall.entities`), derived
in the last transaction from the rows the run wrote; and the all-or-nothing rules: rows become
part of the case only when the run finishes (its last transaction records the sources and
marks it ``ok``); a run that fails is discarded at once, and
one cut short (killed, power lost) is discarded the next time the case is opened
(``CaseStore.discard_run``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from seawall.case.store import CaseStore, utcnow
from seawall.errors import BadInputError, UsageError
from seawall.model.tables import EVIDENCE_SOURCES, table

BATCH_ROWS = 50_000
# Rows a collect command keeps in one open transaction before it commits (``ingest_files``).
# DuckDB writes an append of whole row groups (122,880 rows) straight into the database file
# and a commit then only records them; a commit of fewer rows goes through a checkpoint that
# compresses the table's last, part-filled row group again. Committing every batch of 50,000
# rows compressed each row two or three times (events: 12-14 CPU-us a row against 9-10 in one
# transaction, measured); memory stays flat either way (the appended row groups are on disk).
# A run cut short is discarded whole at the next open, so a long transaction loses nothing.
COMMIT_ROWS = 2_000_000
# DuckDB threads for the ingest's INSERT of Arrow rows: one. A parallel insert into one table
# coordinates its threads and merges their row groups; for the events table (rows of ~2 KB) it
# took 5.1-5.4 CPU-us a row with two threads against 3.2-3.5 with one, and longer in wall time
# too (measured on 2 cores). The other core is left to the reader (its parser, its worker).
INSERT_THREADS = 1
# DuckDB's memory while a collector writes: its cache would otherwise keep every block written.
INGEST_MEMORY = "128MB"
# Warnings kept in a report (all are counted): a file of a million bad lines must not make a
# million-line report, nor hold them all in memory.
KEPT_WARNINGS = 1_000
_HASH_CHUNK = 1 << 20
# Files from this size on are hashed in a thread while their reader starts (``ingest_file``):
# 1.5 CPU-us an EVTX record, ~0.1 s for 128 MB, that the ingest no longer waits for.
HASH_AHEAD_FROM = 4 << 20


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """A problem that cost a record (or less), never the whole input; ``location`` says where."""

    location: str
    message: str


class Progress(Protocol):
    """Where a collector reports progress (the CLI draws it; the library draws nothing).

    ``items`` are the collector's unit (files, events, rows), ``nbytes`` the input consumed.
    """

    def advance(self, items: int, nbytes: int) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One evidence file as a reader sees it: where to open it, how to name it, its SHA-256."""

    path: Path
    display: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows for one table. ``data`` holds table columns only (any subset: the rest are NULL);
    ``position`` is how far into the source the reader has read (bytes), for progress."""

    table: str
    data: pa.RecordBatch | pa.Table
    position: int | None = None


class Mediator:
    """What a reader reports through while it reads (plaso's mediator): warnings with their
    location. It keeps the first ``KEPT_WARNINGS`` and counts them all."""

    def __init__(self, kept: list[ReadWarning] | None = None, limit: int = KEPT_WARNINGS) -> None:
        self.kept: list[ReadWarning] = kept if kept is not None else []
        self.limit = limit
        self.count = 0

    def warn(self, location: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(ReadWarning(location, message))


class Reader(Protocol):
    """One evidence format (see the module docstring for the contract)."""

    format: str
    """The format's name as the user gives it (``--format``) and reports show it."""

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]: ...


@dataclass(slots=True)
class SourceReport:
    """What happened to one input file."""

    path: str
    sha256: str = ""
    format: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    already_collected: bool = False
    refused: str | None = None
    """Why the file was not read at all (not its format, unreadable…): the command exits 3."""


@dataclass(slots=True)
class IngestReport:
    """What one collect command did."""

    command: str
    host: str | None = None
    run_id: str = ""
    sources: list[SourceReport] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    warning_count: int = 0
    warnings: list[ReadWarning] = field(default_factory=list)
    """The first ``KEPT_WARNINGS`` warnings (``warning_count`` counts them all)."""

    @property
    def refused(self) -> list[SourceReport]:
        return [s for s in self.sources if s.refused is not None]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read read-only and without touching its access time."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:  # O_NOATIME needs ownership: retry without it
        fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb", buffering=0) as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class IngestRun:
    """One collect command's run: batched writes with provenance, one last transaction.

    Use as a context manager; an exception inside discards everything the run wrote (the case
    is as it was), ``finish`` makes it the case's state.
    """

    def __init__(
        self,
        store: CaseStore,
        command: str,
        arguments: dict[str, Any],
        *,
        host: str | None = None,
        force_host: bool = False,
        batch_rows: int = BATCH_ROWS,
        memory: str = INGEST_MEMORY,
        commit_rows: int | None = None,
    ) -> None:
        """``commit_rows``: None commits each batch as it is written; a number keeps the
        batches in one transaction until that many rows are in it (see ``COMMIT_ROWS``)."""
        self.store = store
        self.command = command
        self.arguments = arguments
        self.host = host
        self.force_host = force_host
        self.batch_rows = max(1, batch_rows)
        self.memory = memory
        self.commit_rows = None if commit_rows is None else max(1, commit_rows)
        self._uncommitted: int | None = None  # rows in the open transaction (None: none open)
        self.run_id = ""
        self.rows: dict[str, int] = {}
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_rows: dict[str, int] = {}
        self._sources: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._known: set[str] | None = None
        self._limit: Any = None

    def __enter__(self) -> IngestRun:
        self.run_id = self.store.start_run(self.command, self.arguments)
        self._limit = self.store.memory_limit(self.memory)
        self._limit.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> None:
        if self._uncommitted is not None:  # failed, or left without ``finish``: not the case's
            self._uncommitted = None
            self.store.con.execute("ROLLBACK")
        self._limit.__exit__(kind, error, tb)
        if kind is not None:
            self.store.discard_run(self.run_id, "failed")

    # -- sources --------------------------------------------------------------------------------

    def already_collected(self, sha256: str) -> bool:
        """Whether the case (or this run) already holds the evidence file with this SHA-256."""
        if self._known is None:  # read once: a query per file costs more than a small file
            self._known = {
                row[0]
                for row in self.store.con.execute("SELECT sha256 FROM evidence_sources").fetchall()
            }
        return sha256 in self._seen or sha256 in self._known

    def add_source(
        self, source: SourceFile, reader_format: str, rows: dict[str, int], warnings: int
    ) -> None:
        """Record an ingested file (written in the last transaction, with the run's end)."""
        self._seen.add(source.sha256)
        self._sources.append(
            {
                "sha256": source.sha256,
                "path": source.display,
                "size": source.size,
                "format": reader_format,
                "host": self.host,
                "tables": sorted(rows),
                "rows": sum(rows.values()),
                "warnings": warnings,
                "collected_at": utcnow(),
                "run_id": self.run_id,
            }
        )

    # -- rows -----------------------------------------------------------------------------------

    def write(self, name: str, data: pa.RecordBatch | pa.Table, source: SourceFile | None) -> int:
        """Queue rows for table ``name`` with their provenance; written in batches."""
        rows = int(data.num_rows)
        if not rows:
            return 0
        batch = self._with_provenance(
            name,
            pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data,
            source,
        )
        self._pending.setdefault(name, []).append(batch)
        self._pending_rows[name] = self._pending_rows.get(name, 0) + rows
        self.rows[name] = self.rows.get(name, 0) + rows
        if self._pending_rows[name] >= self.batch_rows:
            self.flush(name)
        return rows

    def _with_provenance(self, name: str, data: pa.Table, source: SourceFile | None) -> pa.Table:
        spec = table(name)
        unknown = [c for c in data.column_names if c not in spec.columns]
        if unknown:
            raise ValueError(f"table {name} has no column(s) {', '.join(unknown)}")
        # The table's own types (a reader's int64 port becomes the table's int32), so that the
        # batches of a table concatenate and load as they are.
        data = data.cast(pa.schema([spec.schema.field(c) for c in data.column_names]))
        count = data.num_rows

        def constant(value: str | None) -> pa.Array:
            # pa.repeat: no Python list of the value (that cost ~1 s per million rows)
            return pa.repeat(pa.scalar(value, pa.string()), count)

        fixed: dict[str, str | None] = {"run_id": self.run_id}
        if source is not None:
            fixed["source_sha256"] = source.sha256
        for column, value in fixed.items():
            data = _set(data, column, constant(value))
        if source is not None and "source_file" not in data.column_names:
            data = _set(data, "source_file", constant(source.display))
        if self.force_host or "host" not in data.column_names:
            data = _set(data, "host", constant(self.host))
        elif self.host is not None:
            data = _set(data, "host", pc.coalesce(data.column("host"), pa.scalar(self.host)))
        return data

    def flush(self, name: str | None = None) -> None:
        """Write the queued rows of ``name`` (of every table when None), one INSERT each."""
        for table_name in [name] if name is not None else list(self._pending):
            parts = self._pending.pop(table_name, [])
            self._pending_rows.pop(table_name, None)
            if parts:
                data = pa.concat_tables(parts, promote_options="default")
                if len(parts) > 16:  # many small files: DuckDB's scan pays per Arrow chunk
                    data = data.combine_chunks()
                if self.commit_rows is not None and self._uncommitted is None:
                    self.store.con.execute("BEGIN TRANSACTION")
                    self._uncommitted = 0
                self.store.con.execute(f"SET threads = {INSERT_THREADS}")
                try:
                    self.store.insert_arrow(table_name, data)
                finally:  # queries (entities, a sweep's matching) keep every core
                    self.store.con.execute("RESET threads")
                if self._uncommitted is not None:
                    self._uncommitted += data.num_rows
                    if self.commit_rows is not None and self._uncommitted >= self.commit_rows:
                        self._uncommitted = None
                        self.store.con.execute("COMMIT")

    def finish(
        self, summary: dict[str, Any], last: Callable[[CaseStore], None] | None = None
    ) -> None:
        """The run's last transaction: ``last`` (e.g. a sweep replacing the host's previous
        rows), the entities its rows name (:mod:`seawall.entities.derive`: hosts, addresses,
        accounts and links, derived in SQL from the rows this run wrote; readers know nothing
        of it), the sources it read, and the run marked ``ok``."""
        # here, not at the top: the EVTX worker imports this module and never derives (~85 ms
        # of its start-up: the entities pull in pydantic models)
        from seawall.entities.derive import derive_entities

        self.flush()
        if self._uncommitted is None:  # else the transaction the last rows are in
            self.store.con.execute("BEGIN TRANSACTION")
        self._uncommitted = None
        try:
            if last is not None:
                last(self.store)
            derive_entities(
                self.store,
                self.run_id,
                [name for name, count in self.rows.items() if count],
                named_host=self.host if self.force_host else None,
                rows=sum(self.rows.values()),
            )
            if self._sources:
                self.store.insert_arrow(
                    "evidence_sources", pa.Table.from_pylist(self._sources, EVIDENCE_SOURCES.schema)
                )
            self.store.finish_run(self.run_id, "ok", summary)
        except BaseException:
            self.store.con.execute("ROLLBACK")
            raise
        self.store.con.execute("COMMIT")


def _set(data: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    index = data.schema.get_field_index(column)
    if index < 0:
        return data.append_column(column, values)
    return data.set_column(index, column, values)


def evidence_files(paths: Iterable[str | Path], skip: Path | None = None) -> Iterator[Path]:
    """The files under ``paths`` (files as given, folders recursively, in name order), except
    under ``skip`` (the case itself, when it lies in an evidence folder); a path that does not
    exist is a usage error naming it."""
    skipped = skip.resolve() if skip is not None else None
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                if skipped is not None:
                    dirs[:] = [d for d in dirs if (Path(folder) / d).resolve() != skipped]
                dirs.sort()
                for name in sorted(names):
                    candidate = Path(folder) / name
                    if candidate.is_file() and not candidate.is_symlink():
                        yield candidate
        elif path.is_file():
            yield path
        elif not path.exists():
            raise UsageError(f"no such file or directory: {path}")
        else:
            raise UsageError(f"not a regular file or directory: {path}")


ChooseReader = Callable[[Path], Reader]


def ingest_files(
    store: CaseStore,
    command: str,
    paths: Iterable[str | Path],
    choose: ChooseReader,
    *,
    host: str | None = None,
    arguments: dict[str, Any] | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    memory: str = INGEST_MEMORY,
    commit_rows: int | None = COMMIT_ROWS,
) -> IngestReport:
    """Read every evidence file under ``paths`` with the reader ``choose`` picks for it, in
    one run (see the module docstring). ``host``, when given, is every row's host; otherwise
    a reader's own host (an event's computer) stays. ``choose`` raises ``BadInputError`` for
    a file no reader takes: that file is refused with the reason, the others are read.
    ``batch_rows`` and ``memory`` (DuckDB's cap while writing) suit the rows' size: a reader
    of wide rows (events of ~2 KB) writes fewer, larger batches under a larger cap."""
    files = list(evidence_files(paths, skip=store.case_dir))
    if not files:
        raise UsageError("no evidence files under " + ", ".join(str(p) for p in paths))
    report = IngestReport(command=command, host=host)
    mediator = Mediator(report.warnings)
    args = {"paths": [str(p) for p in paths], "host": host, **(arguments or {})}
    with IngestRun(
        store,
        command,
        args,
        host=host,
        force_host=host is not None,
        batch_rows=batch_rows,
        memory=memory,
        commit_rows=commit_rows,
    ) as run:
        report.run_id = run.run_id
        for index, path in enumerate(files):
            then = files[index + 1] if index + 1 < len(files) else None
            report.sources.append(ingest_file(run, path, choose, mediator, progress, then))
        report.rows = dict(run.rows)
        report.warning_count = mediator.count
        summary = report.as_dict()
        summary["warnings"] = report.warning_count
        run.finish(summary)
    return report


def ingest_file(
    run: IngestRun,
    path: Path,
    choose: ChooseReader,
    mediator: Mediator,
    progress: Progress | None = None,
    then: Path | None = None,
) -> SourceReport:
    """Read one evidence file into ``run``; refused with the reason when no reader takes it.
    ``then`` is the file the ingest reads next: a reader with an ``ahead(path)`` method is told
    once this one is known to be read (it may start on it while this one is written).

    Its SHA-256 is computed while the reader starts (a thread: hashing releases the GIL), and
    known before any row is written: a file already collected adds nothing (its first rows
    and their warnings are dropped unwritten)."""
    display = str(path)
    result = SourceReport(path=display)
    try:
        size = path.stat().st_size
    except OSError as error:
        return _unreadable(result, error, mediator)
    hashing = _Hashing(path, size)
    held = _Held(mediator)
    before = mediator.count
    batches: Iterator[Batch] | None = None
    try:
        first: Batch | None = None
        failure: BadInputError | OSError | None = None
        try:
            reader = choose(path)
            # the reader needs no hash: it gets the file, the rows get their provenance below
            batches = iter(reader.read(SourceFile(path, display, "", size), held))
            first = next(batches, None)
        except (BadInputError, OSError) as error:
            failure = error
        try:
            result.sha256 = hashing.result()
        except OSError as error:  # as when it was hashed first: the file cannot be read
            held.release(keep=False)
            return _unreadable(result, error, mediator)
        if run.already_collected(result.sha256):
            held.release(keep=False)
            result.already_collected = True
            if progress is not None:
                progress.advance(0, size)
            return result
        held.release(keep=True)
        if failure is not None:  # refused below (BadInputError), or a failure of the run
            raise failure
        assert batches is not None
        ahead = getattr(reader, "ahead", None)
        if then is not None and ahead is not None:
            ahead(then)
        source = SourceFile(path, display, result.sha256, size)
        done = 0
        for batch in itertools.chain([first] if first is not None else [], batches):
            count = run.write(batch.table, batch.data, source)
            result.rows[batch.table] = result.rows.get(batch.table, 0) + count
            if progress is not None:
                step = 0 if batch.position is None else max(0, batch.position - done)
                done += step
                progress.advance(count, step)
        result.format = reader.format  # after reading: a reader may tell its format as it goes
    except BadInputError as error:
        if result.rows:  # a reader refuses before it yields; past that point it is a bug
            raise
        result.refused = error.message
        mediator.warn(error.location or display, error.message)
        return result
    finally:
        close = getattr(batches, "close", None)
        if close is not None:  # a reader stopped early (an error, a file collected already)
            close()
        result.warnings = mediator.count - before
    if progress is not None and done < size:
        progress.advance(0, size - done)
    run.add_source(source, result.format or "", result.rows, result.warnings)
    return result


def _unreadable(result: SourceReport, error: OSError, mediator: Mediator) -> SourceReport:
    result.refused = f"cannot read: {error.strerror or error}"
    mediator.warn(result.path, result.refused)
    return result


class _Hashing:
    """A file's SHA-256, computed in a thread from ``HASH_AHEAD_FROM`` bytes (below, at once:
    a thread costs more than hashing a small file)."""

    def __init__(self, path: Path, size: int) -> None:
        self._digest = ""
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None
        if size < HASH_AHEAD_FROM:
            self._run(path)
        else:
            self._thread = threading.Thread(
                target=self._run, args=(path,), name="seawall-sha256", daemon=True
            )
            self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = sha256_of(path)
        except OSError as error:
            self._error = error

    def result(self) -> str:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest


class _Held(Mediator):
    """A reader's mediator until its file's SHA-256 is known: warnings are held, then passed
    on (the file is read) or dropped (it was collected already, or cannot be read). A reader
    may warn from a thread of its own, hence the lock."""

    def __init__(self, target: Mediator) -> None:
        super().__init__(limit=0)
        self.target = target
        self._held: list[tuple[str, str]] | None = []
        self._lock = threading.Lock()

    def warn(self, location: str, message: str) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append((location, message))
                return
        self.target.warn(location, message)

    def release(self, keep: bool) -> None:
        with self._lock:
            held, self._held = self._held or [], None
            if keep:
                for location, message in held:
                    self.target.warn(location, message)
