"""Test helper: real EVTX files into the case's ``events`` table with seawall's own EVTX reader,
as ``seawall collect evtx`` collects them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.collect.base import IngestReport, ingest_files
from seawall.collect.events import EVENTS_MEMORY
from seawall.collect.events.evtx import EvtxReader


def evtx_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".evtx" and p.is_file())


def collect_evtx(store: CaseStore, paths: Iterable[Path]) -> IngestReport:
    """Collect EVTX files into the case as ``seawall collect evtx`` does."""
    reader = EvtxReader()
    return ingest_files(
        store,
        "collect evtx",
        [str(p) for p in paths],
        lambda _path: reader,
        memory=EVENTS_MEMORY,
    )
