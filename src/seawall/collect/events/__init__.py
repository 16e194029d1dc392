"""Windows event logs into the ``events`` table: EVTX files and JSON/NDJSON exports.

Both readers fill the same columns (``seawall.model.tables.EVENTS``) and the same ``data``
field names (:mod:`seawall.collect.events.fields`), so one Sigma rule or SQL detection works
on events whatever file they came from. ``collect evtx`` reads EVTX (:mod:`.evtx`);
``collect events`` reads JSON exports, format told from content (:mod:`.jsonevents`).

Files named one by one are read or refused (exit 3, with what they look like); files found by
walking a folder are taken only when their content is of the kind the command reads (an EVTX
folder of a collection often holds notes, pcaps and text logs too), and the others are counted
as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from seawall.collect.base import evidence_files
from seawall.collect.events.evtxfile import FILE_MAGIC

# DuckDB's cap while events are written: a 50,000-row batch of events is ~100 MB of Arrow (the
# whole record is kept in ``raw``), and under the ingest's default 128 MB the insert spills and
# evicts, doubling its time (measured). The cap is a constant: memory stays flat.
EVENTS_MEMORY = "256MB"


@dataclass(slots=True)
class Selection:
    """The evidence files a command reads, and those it passed over in folders."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def select_files(
    paths: Iterable[str | Path], accept: Callable[[bytes], bool], skip: Path | None = None
) -> Selection:
    """Files as given, and under folders those whose first bytes ``accept`` takes."""
    selection = Selection()
    for given in paths:
        if not Path(given).is_dir():
            selection.files.extend(evidence_files([given], skip=skip))
            continue
        for path in evidence_files([given], skip=skip):
            try:
                with path.open("rb") as handle:
                    head = handle.read(512)
            except OSError:
                head = b""
            (selection.files if accept(head) else selection.skipped).append(path)
    return selection


def is_evtx(head: bytes) -> bool:
    return head.startswith(FILE_MAGIC)


def is_json_export(head: bytes) -> bool:
    """JSON text (an object or array first), or an archive that may hold some (``collect
    events`` reads gzip, zip and tar and tells each member's format)."""
    if head.startswith((b"\x1f\x8b", b"PK\x03\x04")) or head[257:262] == b"ustar":
        return True
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return stripped[:1] in (b"{", b"[")
