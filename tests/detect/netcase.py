"""Build cases of network evidence for detection tests: through the real CLI, then hunt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.base import IngestRun
from seawall.detect.engine import HuntRequest, hunt
from seawall.errors import ExitCode
from seawall.model.finding import Finding, ResultDocument


def collect_logs(case_dir: Path, *paths: Path | str, options: Iterable[str] = ()) -> None:
    """``seawall collect logs PATH...`` (exit 0 expected)."""
    argv = ["--case", str(case_dir), "collect", "logs", *map(str, paths), *options, "--json"]
    assert run(argv) == ExitCode.OK


def import_intel(case_dir: Path, path: Path, lines: Iterable[str] | None = None) -> None:
    """``seawall intel import PATH`` (written from ``lines`` first when given)."""
    if lines is not None:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(["--case", str(case_dir), "intel", "import", str(path), "--json"]) == ExitCode.OK


def write_rows(
    case_dir: Path, rows: Mapping[str, list[dict[str, Any]]], host: str | None = None
) -> None:
    """Rows for tables (``{"conn": [{...}]}``) written through the one ingest path."""
    with CaseStore.open(case_dir) as store, IngestRun(store, "test rows", {}, host=host) as ingest:
        for table, records in rows.items():
            ingest.write(table, pa.Table.from_pylist(records), None)
        ingest.finish({})


def run_hunt(
    case_dir: Path,
    detections: Iterable[str],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    allowlists: Iterable[Path] = (),
) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        return hunt(
            store,
            HuntRequest(
                detection_ids=tuple(detections),
                parameters=dict(parameters or {}),
                allowlists=tuple(allowlists),
            ),
        )


def of(document: ResultDocument, detection: str, *, suppressed: bool = False) -> list[Finding]:
    """The findings of one detection (unsuppressed ones unless asked), highest score first."""
    found = [
        f for f in document.findings if f.detection_id == detection and f.suppressed == suppressed
    ]
    return sorted(found, key=lambda f: -f.score)


def coverage(document: ResultDocument, detection: str) -> Any:
    return next(e for e in document.coverage if e.detection_id == detection)


def text_of(finding: Finding) -> str:
    """Everything a finding says, for checks of what it names."""
    return " ".join(
        [
            finding.summary,
            *(reason.text for reason in finding.reasons),
            str(finding.host),
            *(str(e.row) for e in finding.evidence),
        ]
    )
