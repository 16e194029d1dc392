"""What the demo's writers share: the list of evidence they wrote and where the attack sits in it.

Every writer adds :class:`EvidenceFile` entries to the :class:`Manifest` (one per file, or one
per swept tree) with the ``seawall`` command that collects it and the capability that command
needs, and notes, per ground-truth item, the records that hold the attack
(:meth:`Manifest.note`). The runner collects from the manifest; the ground truth cites it.

Files are written with fixed modification times (the scenario's clock), so that a sweep records
the same times on every run and the evidence is byte-for-byte the same for the same seed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class EvidenceFile:
    """One piece of evidence: a file (or a swept tree) and how seawall collects it.

    ``command`` is the ``seawall`` arguments after ``--case`` (paths relative to the demo
    folder); ``needs`` the capability it relies on (``collect events``, ``log format zeek``…);
    ``records`` how many records (events, lines, rows, files) the writer put in it.
    """

    path: str
    plane: str
    format: str
    command: list[str]
    needs: str
    host: str | None = None
    records: int = 0
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Manifest:
    """Everything generated, relative to ``root``."""

    root: Path
    files: list[EvidenceFile] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def add(self, entry: EvidenceFile) -> EvidenceFile:
        self.files.append(entry)
        return entry

    def note(self, item: str, path: Path | str, **where: Any) -> None:
        """Record that ground-truth ``item`` has evidence in ``path`` (at ``where``: lines,
        a Windows path, a record…)."""
        text = path if isinstance(path, str) else self.relative(path)
        self.notes.setdefault(item, []).append({"file": text, **where})


def stamp(path: Path, when: datetime) -> None:
    """Give ``path`` the scenario's time as its access and modification times."""
    nanoseconds = int(when.timestamp()) * 1_000_000_000
    os.utime(path, ns=(nanoseconds, nanoseconds))


def write_bytes(path: Path, data: bytes, when: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp(path, when)


def write_text(path: Path, text: str, when: datetime, encoding: str = "utf-8") -> None:
    write_bytes(path, text.encode(encoding), when)


def json_line(record: dict[str, Any]) -> str:
    """One NDJSON line as log shippers write it: compact, keys in the order given."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
