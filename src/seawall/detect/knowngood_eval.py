"""Judge xcyclopedia's known-good Windows binaries as a hunt would: every alert is a false one.

xcyclopedia (``../shared/data/filesystem/xcyclopedia``) records thousands of executables as found
on ordinary Windows installs, with their path, PE original name and signature. None of them is
masquerading, so each one ``host.legit-tool-location`` would call out of place, and each renaming
``host.renamed-binary`` would report at its full severity, is a false positive. The benchmark
``benchmarks/masquerade_eval.py`` prints these figures and a test keeps them low.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seawall.detect.filejudge import assess_renaming
from seawall.triage.locations import Location, ToolLocations

# xcyclopedia's signature_status: 0 "Signature verified.", 2 not signed, 1 a failed check.
_SIGNATURE = {"0": "signed-trusted", "1": "invalid", "2": "unsigned"}


@dataclass
class KnownGoodResult:
    """What the masquerading detections make of known-good binaries (lists hold the paths)."""

    files: int = 0
    tool_named: int = 0
    out_of_place: list[str] = field(default_factory=list)
    renamed: int = 0
    renamed_alerts: list[str] = field(default_factory=list)
    renamed_vendor: list[str] = field(default_factory=list)


def known_good_rows(csv_path: Path) -> Iterator[dict[str, Any]]:
    """xcyclopedia's rows as ``files`` rows (the columns the judgements read)."""
    with csv_path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for record in csv.DictReader(handle):
            yield {
                "name": record["file_name"],
                "path": record["file_path"],
                "windows_path": record["file_path"].lower(),
                "pe_original_name": record["meta_original_filename"] or None,
                "signature_status": _SIGNATURE.get(record["signature_status"]),
                "signer": record["signature_subject"] or None,
            }


def evaluate(csv_path: Path, locations: ToolLocations) -> KnownGoodResult:
    """Run the location and renaming judgements over every known-good row."""
    result = KnownGoodResult()
    windows_tools = locations.names(posix=False)
    for row in known_good_rows(csv_path):
        result.files += 1
        if row["name"].lower() in windows_tools:
            result.tool_named += 1
            if locations.judge(row["windows_path"]).location is Location.NONSTANDARD:
                result.out_of_place.append(row["path"])
        renaming = assess_renaming(row, locations)
        if renaming is None:
            continue
        result.renamed += 1
        if renaming.tools:
            shown = f"{row['path']} (built as {renaming.original})"
            (result.renamed_vendor if renaming.vendor_naming else result.renamed_alerts).append(
                shown
            )
    return result
