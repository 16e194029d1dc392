"""The whole hunt, end to end, as the input grows: ``seawall demo`` at several scales.

For each scale (default 1, 10 and 100; ``--quick``: 1, 2 and 4) the demo generates its
scenario, collects every plane with seawall's own commands, hunts with the aa21-200a pack and
writes the report. Printed per stage: seconds and rows at each scale, the stage's throughput,
and how its time grows with its input: the exponent ``log(t2/t1) / log(n2/n1)`` between
consecutive scales (1.0 is linear, the target; below 1 a fixed cost still dominates).

**Limit, measured in the same run:** reading the evidence a collection stage reads, SHA-256
over every byte (``hashlib``, the least any collector does: the ingest hashes each file for its
provenance). ``vs read`` is the stage's time over that: how many times the raw read it costs.

A small SVG plot (seconds against rows, log-log, one line per stage) is written beside the JSON
figures, by hand: no plotting library is needed.

    python benchmarks/hunt_end_to_end.py                 # scales 1, 10, 100
    python benchmarks/hunt_end_to_end.py --quick         # scales 1, 2, 4
    python benchmarks/hunt_end_to_end.py --scales 1 5 --out /tmp/bench --keep
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seawall.demo.run import DemoResult, Stage, run_demo

STAGES = ("generate", "intel", "files", "events", "network", "auth", "disk", "hunt", "report")
COLOURS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#1f78b4",
)


def read_seconds(out: Path, stages: list[Stage]) -> dict[str, float]:
    """Per plane, the time to SHA-256 the evidence its collections read."""
    found: dict[str, float] = {}
    for stage in stages:
        if stage.status != "ok" or stage.plane not in STAGES[1:7]:
            continue
        target = next((out / a for a in stage.command[2:] if (out / a).exists()), None)
        if target is None:
            continue
        files = (
            [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
        )
        started = time.perf_counter()
        for path in files:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        found[stage.plane] = found.get(stage.plane, 0.0) + time.perf_counter() - started
    return found


def by_plane(result: DemoResult) -> dict[str, dict[str, Any]]:
    """Seconds and input rows of each stage (the collections of one plane added up): records
    written (generate), rows read (collections), rows of the case (hunt), findings (report)."""
    planes: dict[str, dict[str, Any]] = {}
    for stage in result.stages:
        entry = planes.setdefault(stage.plane, {"seconds": 0.0, "rows": 0, "status": "ok"})
        entry["seconds"] += stage.seconds
        entry["rows"] += stage.rows
        if stage.status != "ok":
            entry["status"] = stage.status
    collected = sum(figure["rows"] for plane, figure in planes.items() if plane in STAGES[1:7])
    if "hunt" in planes:
        planes["hunt"]["findings"] = planes["hunt"]["rows"]
        planes["hunt"]["rows"] = collected
    return planes


def exponent(t1: float, t2: float, n1: int, n2: int) -> float | None:
    if min(t1, t2) <= 0 or min(n1, n2) <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def table(runs: list[dict[str, Any]]) -> str:
    scales = [run["scale"] for run in runs]
    head = ["stage"] + [f"scale {s}: s (rows)" for s in scales]
    head += [f"growth {a}->{b}" for a, b in itertools.pairwise(scales)]
    head += [f"rows/s at {scales[-1]}", f"vs read at {scales[-1]}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for plane in STAGES:
        cells = [plane]
        figures = [run["planes"].get(plane) for run in runs]
        if all(f is None for f in figures):
            continue
        for figure in figures:
            if figure is None or figure["status"] == "skipped":
                cells.append("not collected")
            else:
                cells.append(f"{figure['seconds']:.2f} ({figure['rows']:,})")
        for a, b in itertools.pairwise(figures):
            value = None
            if a and b and a["status"] == b["status"] == "ok":
                value = exponent(a["seconds"], b["seconds"], a["rows"], b["rows"])
            cells.append(f"{value:.2f}" if value is not None else "–")
        last = figures[-1]
        if last and last["status"] == "ok" and last["seconds"] > 0:
            cells.append(f"{last['rows'] / last['seconds']:,.0f}")
        else:
            cells.append("–")
        read = runs[-1]["read"].get(plane)
        if last and read and last["status"] == "ok":
            cells.append(f"{last['seconds'] / read:,.0f}×")
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    totals = [sum(f["seconds"] for f in run["planes"].values()) for run in runs]
    lines.append(
        "| **total** | "
        + " | ".join(f"{t:.1f}" for t in totals)
        + " |"
        + " |" * (len(head) - 1 - len(totals))
    )
    return "\n".join(lines)


def svg(runs: list[dict[str, Any]]) -> str:
    """Seconds against rows, log-log, one polyline per stage."""
    width, height, margin, legend = 720, 420, 60, 90
    points: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        for plane, figure in run["planes"].items():
            if figure["status"] == "ok" and figure["rows"] > 0 and figure["seconds"] > 0:
                points.setdefault(plane, []).append((figure["rows"], figure["seconds"]))
    # a stage whose input does not grow (the intel file, the report's findings) has no slope
    points = {p: line for p, line in points.items() if len({x for x, _ in line}) > 1}
    values = [p for line in points.values() for p in line]
    if not values:
        return "<svg xmlns='http://www.w3.org/2000/svg'/>"
    lx = [math.log10(x) for x, _ in values]
    ly = [math.log10(y) for _, y in values]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx))
    y0, y1 = math.floor(min(ly)), math.ceil(max(ly))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def sx(x: float) -> float:
        return margin + (math.log10(x) - x0) / (x1 - x0) * (width - 2 * margin - legend)

    def sy(y: float) -> float:
        return height - margin - (math.log10(y) - y0) / (y1 - y0) * (height - 2 * margin)

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'"
        " font-family='sans-serif' font-size='11'>",
        "<rect width='100%' height='100%' fill='white'/>",
    ]
    for exp in range(x0, x1 + 1):
        x = sx(10.0**exp)
        out.append(
            f"<line x1='{x:.1f}' y1='{margin}' x2='{x:.1f}' y2='{height - margin}' stroke='#ddd'/>"
        )
        out.append(
            f"<text x='{x:.1f}' y='{height - margin + 16}' text-anchor='middle'>1e{exp}</text>"
        )
    for exp in range(y0, y1 + 1):
        y = sy(10.0**exp)
        out.append(
            f"<line x1='{margin}' y1='{y:.1f}' x2='{width - margin}' y2='{y:.1f}' stroke='#ddd'/>"
        )
        out.append(
            f"<text x='{margin - 6}' y='{y + 4:.1f}' text-anchor='end'>{10.0**exp:g} s</text>"
        )
    out.append(
        f"<text x='{width / 2}' y='{height - 16}' text-anchor='middle'>input rows of the"
        " stage (records written, rows read, rows hunted)</text>"
    )
    out.append(
        f"<text x='{margin}' y='20'>seawall demo: seconds per stage against its input,"
        " log-log (a slope of 1 is linear)</text>"
    )
    for index, plane in enumerate(p for p in STAGES if p in points):
        colour = COLOURS[index % len(COLOURS)]
        line = points[plane]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        out.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
        for x, y in line:
            out.append(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3' fill='{colour}'/>")
        out.append(
            f"<text x='{width - margin + 4}' y='{margin + 14 * index}' fill='{colour}'>"
            f"{plane}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--quick", action="store_true", help="scales 1, 2 and 4")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the demo folders")
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="do not run the smallest scale once, untimed, first (it loads the libraries and"
        " the reference data that the first timed run would otherwise be charged for)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=Path("hunt_end_to_end"),
        help="write FIGURES.json and FIGURES.svg",
    )
    args = parser.parse_args(argv)
    scales = [1, 2, 4] if args.quick else args.scales
    work = args.out or Path(tempfile.mkdtemp(prefix="seawall-bench-"))
    runs: list[dict[str, Any]] = []
    if not args.no_warmup:
        print(f"warm-up at scale {min(scales)}", file=sys.stderr, flush=True)
        run_demo(work / "warm-up", scale=min(scales))
        shutil.rmtree(work / "warm-up")
    for scale in scales:
        out = work / f"scale-{scale}"
        print(f"scale {scale}: {out}", file=sys.stderr, flush=True)
        result = run_demo(
            out,
            scale=scale,
            say=lambda s: print(
                f"  {s.name}: {s.seconds:.1f} s, {s.rows:,}", file=sys.stderr, flush=True
            ),
        )
        failed = [s.name for s in result.stages if s.status == "failed"]
        if failed:
            print(f"scale {scale}: stages failed: {', '.join(failed)}", file=sys.stderr)
            return 1
        assessment = result.assessment.as_dict() if result.assessment else None
        runs.append(
            {
                "scale": scale,
                "planes": by_plane(result),
                "read": read_seconds(out, result.stages),
                "bytes": sum(
                    p.stat().st_size for p in (out / "evidence").rglob("*") if p.is_file()
                ),
                "assessment": {k: assessment[k] for k in ("found", "missed", "not_evaluated")}
                if assessment
                else None,
                "unexpected": len(assessment["unexpected"]) if assessment else None,
            }
        )
        if not args.keep:
            shutil.rmtree(out)
    if not args.keep and args.out is None:
        shutil.rmtree(work, ignore_errors=True)
    print(table(runs))
    for run in runs:
        print(
            f"scale {run['scale']}: {run['bytes'] / 1e6:,.1f} MB of evidence; ground truth"
            f" {run['assessment']}, {run['unexpected']} unexpected findings"
        )
    args.figures.with_suffix(".json").write_text(json.dumps(runs, indent=2) + "\n")
    args.figures.with_suffix(".svg").write_text(svg(runs))
    print(f"figures: {args.figures.with_suffix('.json')}, plot: {args.figures.with_suffix('.svg')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
