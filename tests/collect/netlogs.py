"""Helpers for the network log tests: ingest with the real registry, read tables back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.collect.base import IngestReport, ingest_files
from seawall.collect.logs import LogOptions, choose_logs


def ingest(
    case_dir: Path,
    *paths: Path,
    fmt: str | None = None,
    host: str | None = None,
    **settings: Any,
) -> IngestReport:
    with CaseStore.open(case_dir) as store:
        return ingest_files(
            store,
            "collect logs",
            list(paths),
            choose_logs(fmt, LogOptions(settings)),
            host=host,
        )


def rows(case_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with CaseStore.open(case_dir) as store:
        return store.con.execute(sql).fetchall()


def line_warnings(report: IngestReport) -> list[tuple[str, str]]:
    """(file name:line, message) of the warnings located at a line."""
    out = []
    for warning in report.warnings:
        path, _, line = warning.location.rpartition(":")
        if line.isdigit():
            out.append((f"{Path(path).name}:{line}", warning.message))
    return out
