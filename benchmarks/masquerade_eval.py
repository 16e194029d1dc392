"""Evaluation of the masquerading detections on known-good Windows binaries (false positives).

xcyclopedia (``../shared/data/filesystem/xcyclopedia``) lists thousands of executables found on
ordinary Windows installs with their path, PE original name and signature; none is masquerading.
This prints how many of them ``host.legit-tool-location`` would call out of place (per tool-named
file) and how many renamings ``host.renamed-binary`` would report at full severity, with the
paths when ``--verbose``. The limit is the ideal: zero. No issue sets a target; a test keeps the
rates at or below the figures recorded in ``benchmarks/README.md``.

    python benchmarks/masquerade_eval.py [--verbose]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from seawall.detect.knowngood_eval import evaluate
from seawall.triage.locations import ToolLocations

XCYCLOPEDIA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "filesystem"
    / "xcyclopedia"
    / "strontic-xcyclopedia-dev.csv"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list every false alert")
    parser.add_argument("--csv", type=Path, default=XCYCLOPEDIA)
    args = parser.parse_args()
    result = evaluate(args.csv, ToolLocations.load())
    out_of_place = len(result.out_of_place)
    print(f"known-good binaries: {result.files:,}; named like a known tool: {result.tool_named:,}")
    print(
        f"host.legit-tool-location: {out_of_place} out of place"
        f" = {out_of_place / max(1, result.tool_named):.1%} of tool-named files"
    )
    print(
        f"host.renamed-binary: {result.renamed} renamed; naming a known tool:"
        f" {len(result.renamed_alerts)} at full severity"
        f" ({len(result.renamed_alerts) / result.files:.2%} of all files),"
        f" {len(result.renamed_vendor)} at low severity as the vendor's own naming"
    )
    if args.verbose:
        for title, paths in (
            ("out of place", result.out_of_place),
            ("renamed, full severity", result.renamed_alerts),
            ("renamed, vendor naming", result.renamed_vendor),
        ):
            print(f"\n{title}:")
            for path in paths:
                print(f"  {path}")


if __name__ == "__main__":
    main()
