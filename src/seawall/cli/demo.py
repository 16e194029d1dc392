"""`seawall demo`: an APT40-style intrusion generated, collected, hunted and judged end to end.

Argument handling and the summary only: the scenario is :mod:`seawall.demo` (imported by the
command, so that start-up stays fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, emit, plural, stderr
from seawall.errors import ExitCode

if TYPE_CHECKING:
    from seawall.demo.run import DemoResult, Stage

DEFAULT_SEED = 20210719  # seawall.demo.scenario.DEFAULT_SEED (kept here: no import at start-up)
_INCIDENTS_SHOWN = 8


def _stage_line(stage: Stage) -> str:
    if stage.status == "skipped":
        return f"  {stage.name:<22} not collected ({stage.note})"
    if stage.status == "failed":
        return f"  {stage.name:<22} FAILED after {stage.seconds:.1f} s: {stage.note}"
    units = {
        "generate": "records",
        "hunt": "findings",
        "report": "findings",
        "files": "files",
        "events": "events",
        "intel": "indicators",
    }
    unit = units.get(stage.plane, "rows")
    return f"  {stage.name:<22} {stage.rows:>9,} {unit:<9} {stage.seconds:6.1f} s"


def _replay(result: DemoResult) -> str:
    hunt = next((s for s in result.stages if s.plane == "hunt"), None)
    if hunt is None:
        return ""
    words = [w if " " not in w and '"' not in w else f"'{w}'" for w in hunt.command]
    return f"cd {result.out} && seawall --case case " + " ".join(words)


def _render(console: Console, result: DemoResult) -> None:
    console.print(
        escape(
            f"seawall demo: APT40-style intrusion (AA21-200A) at Tidewater Marine Engineering,"
            f" seed {result.seed}, scale {result.scale} (PuTTY: {result.putty})"
        )
    )
    document = result.document or {}
    findings = document.get("findings") or []
    unsuppressed = [f for f in findings if not f.get("suppressed")]
    serious = [f for f in unsuppressed if f.get("severity") in ("medium", "high", "critical")]
    console.print(
        escape(
            f"Hunt: {plural(len(unsuppressed), 'finding')} to review ({len(serious):,} medium or"
            f" above, the rest inventories), {len(findings) - len(unsuppressed):,} suppressed"
            " with the reason"
        )
    )
    assessment = result.assessment
    if assessment is not None:
        total = len(assessment.items)
        console.print(
            escape(
                f"Ground truth: {assessment.count('found')} of {total} items found,"
                f" {assessment.count('missed')} missed,"
                f" {assessment.count('not-evaluated')} not evaluated;"
                f" {plural(len(assessment.unexpected), 'unexpected finding')} at"
                f" {assessment.threshold} or above"
            )
        )
        for item in assessment.items:
            if item.status == "found":
                line = f"  found          {item.id}: {', '.join(item.found_by)}"
            elif item.status == "missed":
                line = f"  MISSED         {item.id}: not reported by {', '.join(item.missing)}"
            else:
                reasons: dict[str, list[str]] = {}
                for detection, reason in item.not_evaluated.items():
                    reasons.setdefault(reason, []).append(detection)
                why = "; ".join(f"{', '.join(d)}: {r}" for r, d in reasons.items())
                line = f"  not evaluated  {item.id} ({why})"
            console.print(escape(line), soft_wrap=True)
        for finding in assessment.unexpected:
            console.print(
                escape(
                    f"  UNEXPECTED     {finding.get('severity')} {finding.get('detection_id')}"
                    f" on {finding.get('host')}: {finding.get('summary')}"
                ),
                soft_wrap=True,
            )
    incidents = document.get("incidents") or []
    if incidents:
        console.print(f"Incidents: {len(incidents):,}, the strongest first (report: incidents)")
        for incident in incidents[:_INCIDENTS_SHOWN]:
            console.print(
                escape(
                    f"  {incident.get('severity', ''):<8} {incident.get('score', 0):5.1f}"
                    f"  {incident.get('title')} ({len(incident.get('finding_ids') or []):,}"
                    " findings)"
                ),
                soft_wrap=True,
            )
    console.print(escape(f"Evidence:      {result.out / 'evidence'}"))
    console.print(escape(f"Ground truth:  {result.out / 'ground-truth.json'}"))
    console.print(escape(f"Case:          {result.case}"))
    if result.document is not None:
        html = result.report.with_name("report.html")
        shown = html if html.exists() else result.report
        console.print(escape(f"Report:        {shown}"))
    replay = _replay(result)
    if replay:
        console.print(escape(f"Hunt again:    {replay}"), soft_wrap=True)


def demo(
    out: Path = typer.Option(
        Path("seawall-demo"),
        "--out",
        help="Folder to write the scenario, its case and report into (an earlier demo there is"
        " replaced).",
    ),
    scale: int = typer.Option(
        1, "--scale", min=1, help="Multiply the benign background's volume (the attack stays)."
    ),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of the scenario's randomness."),
    shared_data: Path | None = typer.Option(
        None,
        "--shared-data",
        help="The project's real data folder (default: ../shared/data when present); the real"
        " PuTTY is copied from it, else a stand-in PE is generated.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Generate an APT40-style intrusion (files, Windows events, DNS/proxy/Zeek, VPN sign-ins,
    disk usage, STIX intel, ground truth), collect it, hunt it and check the findings (the case
    is OUT/case: the global --case is not used)."""
    from seawall.demo.files import find_shared_data
    from seawall.demo.run import run_demo

    data = shared_data if shared_data is not None else find_shared_data()

    def say(stage: Stage) -> None:
        stderr.print(escape(_stage_line(stage)), highlight=False, soft_wrap=True)

    stderr.print(escape(f"seawall demo: writing {out} (seed {seed}, scale {scale})"))
    result = run_demo(out.absolute(), seed, scale, data, say)
    emit(as_json, result.as_dict(), lambda console: _render(console, result))
    failed = [stage for stage in result.stages if stage.status == "failed"]
    if failed:  # a reader refused what the demo wrote, or the hunt failed: a bug either way
        raise typer.Exit(int(ExitCode.INTERNAL))
