"""``seawall collect events``: JSON/NDJSON exports of Windows events into the ``events`` table.

Each file is read stream by stream (:func:`seawall.collect.archives.streams`: a plain file, a
gzip's content, each member of a zip or tar), each stream value by value
(:mod:`seawall.collect.events.jsonstream`), and each record mapped by its format
(:mod:`seawall.collect.events.jsonformats`, told from the record's keys unless ``--format``
names one). Rows carry ``record_ref`` = the record's line (``member:line`` inside an archive)
and ``source_file`` = the stream (``file!member``).

Bad input: a value that is not JSON, or a record of no known format, is a warning at its
``file:line`` and the rest is read. A file whose first record is of no known format (or that
is not JSON at all) is refused with what it looks like; an archive member that is not JSON is
a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from seawall.collect.archives import Stream, kind_of, streams
from seawall.collect.base import Batch, Mediator, SourceFile
from seawall.collect.events.evtxfile import looks_like
from seawall.collect.events.jsonformats import FORMATS, detect
from seawall.collect.events.jsonstream import JsonValues
from seawall.collect.events.rows import RowBuilder
from seawall.errors import BadInputError, UsageError

BATCH_RECORDS = 5_000
_HEAD = 4096


def _is_json(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    elif len(head) >= 4 and head[1:2] == b"\0" and head[3:4] == b"\0":
        text = head.decode("utf-16-le", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore").removeprefix("\ufeff")
    return text.lstrip()[:1] in ("{", "[")


def _keys(value: object) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:8])
        return f"an object with keys {keys}" if keys else "an empty object"
    return f"a JSON {type(value).__name__}"


class JsonEventsReader:
    """Reads JSON exports of Windows events (the contract of :class:`seawall.collect.base.Reader`);
    ``format`` becomes the format read (``mixed`` for several)."""

    def __init__(self, forced: str | None = None, batch_records: int = BATCH_RECORDS) -> None:
        if forced is not None and forced not in FORMATS:
            known = ", ".join(FORMATS)
            raise UsageError(f"--format {forced!r} is not a known event export (known: {known})")
        self.forced = forced
        self.batch_records = max(1, batch_records)
        self.format = forced or "auto"
        self.recognised = 0

    def _seen(self, name: str) -> None:
        if self.format == "auto":
            self.format = name
        elif self.format != name:
            self.format = "mixed"

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        self.format = self.forced or "auto"
        self.recognised = 0
        plain = kind_of(source.path) == "plain"
        rows = RowBuilder()
        for stream in streams(source.path, source.display, mediator):
            head = stream.handle.peek(_HEAD)[:_HEAD]
            if not _is_json(head):
                if stream.member is None:
                    raise BadInputError(
                        f"not a JSON export of events ({looks_like(head)})", stream.label
                    )
                mediator.warn(stream.label, f"not JSON ({looks_like(head)}): skipped")
                continue
            values = JsonValues(stream.handle, stream.label, mediator, head)
            for _ in self._stream(stream, values, rows, mediator):
                yield Batch("events", rows.take(), values.consumed if plain else None)
        if len(rows):
            yield Batch("events", rows.take(), None)
        if not self.recognised:
            raise BadInputError("no Windows events in a known JSON export format", source.display)

    def _stream(
        self, stream: Stream, values: JsonValues, rows: RowBuilder, mediator: Mediator
    ) -> Iterator[None]:
        """Add the stream's records to ``rows``; yields whenever a batch is full."""
        member = f"{stream.member}:" if stream.member is not None else ""
        source_file = stream.label if stream.member is not None else None
        for value in values:
            where = f"{stream.label}:{value.line}"
            name = self.forced or detect(value.value)
            if name is None or not isinstance(value.value, dict):
                if not self.recognised and stream.member is None:
                    # nothing read yet: the file is refused whole, saying what it holds
                    raise BadInputError(
                        "not a Windows event in a known JSON export format (its first record"
                        f" is {_keys(value.value)}; known: {', '.join(FORMATS)})",
                        where,
                    )
                mediator.warn(where, f"not a known event export ({_keys(value.value)}): skipped")
                continue
            try:
                FORMATS[name][1](
                    value.value, value.text, f"{member}{value.line}", rows, source_file
                )
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                mediator.warn(where, f"not a {name} event as expected ({error!r}): skipped")
                continue
            self.recognised += 1
            self._seen(name)
            if len(rows) >= self.batch_records:
                yield
