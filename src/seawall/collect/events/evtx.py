"""``seawall collect evtx``: Windows event log files (EVTX) into the ``events`` table.

The records are parsed by the ``evtx`` package (Rust, on every core) into JSON, a batch of
records at a time; :class:`~seawall.collect.events.table.EventRows` turns a batch into rows in
one vectorised pass (see there for why). Memory is a few batches, whatever the file's size:
a file from 8 MB is read a batch ahead in a thread, one from 64 MB in a worker process
(:mod:`seawall.collect.events.worker`), so that reading and the case's writes overlap.

Row by row:

- ``time`` is ``System/TimeCreated/@SystemTime`` (UTC), else the record header's time;
- ``record_id`` is ``System/EventRecordID`` as Windows numbered the event on its host, while
  ``record_ref`` is the record's id in this file's own numbering (the record header's, which
  differs in a file exported from a filtered view): the place to find the record again;
- ``host`` is the event's ``Computer`` (``--host`` overrides it);
- ``format`` is ``evtx``.

Damage is reported, never fatal: the parser's errors on a chunk (``file@0x…`` offset) or a
record (``file#id``) are warnings and the rest is read; records the parser drops without a word
(a file cut short inside a chunk, the rest of a chunk after a corrupt record header) are counted
against the chunk headers (:mod:`seawall.collect.events.evtxfile`) and reported per chunk with
the ids lost. Checksums are not enforced: a chunk whose CRC does not match is still read (the
parser's own checks on each record stand), since refusing it would lose every good record in
it. A file that is not EVTX at all is refused (``BadInputError``) with what it looks like.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from seawall.collect.base import Batch, Mediator, SourceFile
from seawall.collect.events.evtxfile import HEADER_SIZE, ChunkMap, check_header
from seawall.collect.events.pipeline import in_background
from seawall.collect.events.table import EventRows
from seawall.collect.events.worker import WORKER_FROM, Worker
from seawall.errors import BadInputError

# Records per batch: big enough that the SQL's fixed cost vanishes, small enough that a batch
# (the parser's JSON plus its rows) stays a few tens of MB.
BATCH_RECORDS = 10_000

# Files from this size on (up to WORKER_FROM, where a worker process takes over) are read in a
# thread of their own, a batch ahead of the ingest: DuckDB's statements release the GIL, so
# reading the next batch overlaps writing this one in part. (Below it a file is one batch.)
BACKGROUND_FROM = 8 << 20

# A batch as the parser gives it: see ``EvtxReader._parsed``.
_Parsed = tuple[list[int], list[str], list[str], list[str], str | None]

_PARSER_ERROR = re.compile(r"Failed to parse (chunk|record) number (\d+):?\s*(.*)", re.DOTALL)


class EvtxReader:
    """Reads EVTX files (the contract of :class:`seawall.collect.base.Reader`)."""

    format = "evtx"

    def __init__(
        self,
        threads: int = 0,
        batch_records: int = BATCH_RECORDS,
        background_from: int = BACKGROUND_FROM,
        worker_from: int = WORKER_FROM,
        sql_threads: int | None = None,
    ) -> None:
        self.threads = threads
        self.batch_records = max(1, batch_records)
        self.background_from = background_from
        self.worker_from = worker_from
        # one for every file this reader reads: its DuckDB connection costs ~20 ms to open
        self.rows = EventRows(threads=sql_threads)
        self.worker = Worker()  # the same for every large file: its start-up costs ~0.5 s

    def close(self) -> None:
        """End the worker process and the DuckDB connection (also done when the reader is
        collected)."""
        self.worker.close()
        self.rows.close()

    def ahead(self, path: Path) -> None:
        """The ingest's next file (``seawall.collect.base.ingest_file``): a large one goes to
        the worker now, which starts on it as soon as it is done with the current one (the
        first batches of a file take ~0.4 s: parse, rows, the pipe)."""
        try:
            size = path.stat().st_size
        except OSError:
            return
        if size >= self.worker_from:
            self.worker.ahead(SourceFile(path, str(path), "", size), self.batch_records)

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        check_header(source.path, source.display)
        if source.size >= self.worker_from:
            # read a few batches ahead in a thread: the worker never waits on the case's writes
            yield from in_background(self.worker.read(source, mediator, self.batch_records))
            return
        chunks = ChunkMap.read(source.path)
        warned: dict[int, int] = {}
        parsed = self._parsed(source)
        background = source.size >= self.background_from
        if background:
            # the parser (Rust, but its records become Python objects: it holds the GIL) reads
            # the next batch while this one's rows are built (in DuckDB, which releases it)
            parsed = in_background(parsed)
        batches = self._batches(parsed, source, mediator, chunks, warned)
        if background:
            # and the rows of the next batch are built while the ingest writes this one
            batches = in_background(batches)
        yield from batches
        for where, message in chunks.losses(warned):
            mediator.warn(f"{source.display}{where}", message)
        self._cut_header(chunks, source, mediator)

    def _parsed(self, source: SourceFile) -> Iterator[_Parsed]:
        """The parser's records, a batch at a time: (record ids, times, JSON texts, the
        parser's messages on what it skipped meanwhile, why it stopped for good or None)."""
        from evtx import PyEvtxParser

        try:
            parser = PyEvtxParser(
                str(source.path), number_of_threads=self.threads, skip_errors=True
            )
        except (OSError, RuntimeError) as error:  # its header is unreadable: nothing to read
            raise BadInputError(f"not a readable EVTX file ({error})", source.display) from None
        records: Iterator[dict[str, Any]] = iter(parser.records_json())  # type: ignore[arg-type]
        stopped: str | None = None
        while stopped is None:
            batch, caught, stopped = self._take(records)
            refs = [r["event_record_id"] for r in batch]
            stamps = [r["timestamp"] for r in batch]
            texts = [r["data"] for r in batch]
            del batch
            yield refs, stamps, texts, caught, stopped
            if not refs:
                return

    def _batches(
        self,
        parsed: Iterator[_Parsed],
        source: SourceFile,
        mediator: Mediator,
        chunks: ChunkMap,
        warned: dict[int, int],
    ) -> Iterator[Batch]:
        for refs, stamps, texts, caught, stopped in parsed:
            if stopped is not None:  # not recoverable: the rest is lost
                mediator.warn(source.display, f"the parser stopped, the rest is lost: {stopped}")
            for message in caught:
                self._parser_warning(message, chunks, warned, source, mediator)
            if not refs:
                return
            position = chunks.count(np.array(refs, np.uint64))
            problems: list[tuple[int, str]] = []
            table = self.rows.evtx(refs, stamps, texts, problems=problems)
            for ref, message in problems:
                mediator.warn(f"{source.display}#{ref}", message)
            yield Batch("events", table, position or None)

    def _take(
        self, records: Iterator[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[str], str | None]:
        """The next batch of records, the parser's messages on what it skipped meanwhile (it
        reports them as ``RuntimeWarning``s; other warnings are passed on), and the error it
        stopped on for good, if it did (what it gave before is kept)."""
        others: list[warnings.WarningMessage] = []
        batch: list[dict[str, Any]] = []
        stopped: str | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                batch.extend(islice(records, self.batch_records))
            except (RuntimeError, OSError) as error:
                stopped = str(error)
        messages = []
        for item in caught:
            text = str(item.message)
            if issubclass(item.category, RuntimeWarning) and "EVTX" in text:
                messages.append(text)
            else:
                others.append(item)
        for item in others:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        return batch, messages, stopped

    @staticmethod
    def _parser_warning(
        text: str,
        chunks: ChunkMap,
        warned: dict[int, int],
        source: SourceFile,
        mediator: Mediator,
    ) -> None:
        text = text.removeprefix("Skipping EVTX data: ").removeprefix("RuntimeError: ")
        found = _PARSER_ERROR.search(text)
        if found is None:
            mediator.warn(source.display, text)
            return
        kind, number, detail = found.group(1), int(found.group(2)), found.group(3).strip()
        if kind == "chunk":
            index = chunks.index_of_number(number)
            if index is not None:  # the whole chunk is reported here, not again as losses
                warned[index] = chunks.chunks[index].expected
            offset = chunks.offset_of(number)
            mediator.warn(f"{source.display}@{offset:#x}", f"chunk {number} skipped: {detail}")
            return
        index = chunks.chunk_index_of(number)
        if index is not None:
            warned[index] = warned.get(index, 0) + 1
        mediator.warn(f"{source.display}#{number}", f"record skipped: {detail}")

    @staticmethod
    def _cut_header(chunks: ChunkMap, source: SourceFile, mediator: Mediator) -> None:
        """A file cut short inside a chunk's header: that chunk's records are gone unseen."""
        for number, offset in chunks.unreadable:
            if offset + 512 > chunks.size:
                mediator.warn(
                    f"{source.display}@{offset:#x}",
                    f"the file ends inside the header of chunk {number}"
                    f" ({chunks.size - offset} bytes): its records are lost",
                )
        if chunks.size < HEADER_SIZE:
            mediator.warn(source.display, f"the file ends inside its header ({chunks.size} bytes)")
