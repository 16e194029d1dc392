"""`seawall triage`: allowlists applied to stored findings, and analysts' verdicts on findings.

Argument handling only: matching is :mod:`seawall.triage.apply`, the state and its joining into
every report :mod:`seawall.triage.state`. Both are kept by finding id, which is stable, so what
is recorded here holds for every stored document and survives re-hunts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, VERDICT_STYLE, Table, emit, open_case, plural, warn
from seawall.errors import UsageError

app = typer.Typer(
    no_args_is_help=True,
    help="Triage stored findings: apply an allowlist retroactively, record analysts' verdicts.",
)

_REVIEWS = ("true-positive", "false-positive", "benign")  # seawall.model.verdict.Review


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., readable=False, help="Allowlist file (YAML or CSV, as for hunt --allowlist)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what the file would suppress; record nothing."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Match an allowlist's entries against the stored findings, without hunting again, and
    record what they suppress (applying the file again replaces what it recorded)."""
    from seawall.triage.apply import apply_allowlist

    with open_case(ctx, create=False) as store:
        report = apply_allowlist(store, file, dry_run=dry_run)
    for message in report.expired:
        warn(f"allowlist entry {message}")

    def render(console: Console) -> None:
        would = "would suppress" if report.dry_run else "suppressed"
        console.print(
            f"{escape(report.file)}: {would} {plural(report.suppressed, 'finding')} of"
            f" {report.considered:,} stored"
            + (
                f"; {report.released:,} it suppressed before no longer match"
                if report.released
                else ""
            )
        )
        for entry in report.entries:
            count = len(entry.findings)
            style = "green" if count else "dim"
            console.print(
                f"  [{style}]{count:>5,}[/]  {escape(entry.origin)}: {escape(entry.reason)}"
            )
            for finding in entry.findings[:5]:
                console.print(
                    f"         [dim]{finding.finding_id[:12]}[/] {escape(finding.detection_id)}:"
                    f" {escape(finding.summary)}"
                )
            if count > 5:
                console.print(f"         [dim]… and {count - 5:,} more (--json lists them)[/]")
        for message in report.expired:
            console.print(f"  [yellow]expired[/]  {escape(message)}")

    emit(as_json, report.as_dict(), render)


@app.command("mark")
def mark(
    ctx: typer.Context,
    finding: str = typer.Argument(..., help="Finding id, or a unique prefix of one."),
    verdict: str = typer.Argument(..., help="true-positive, false-positive or benign."),
    reason: str = typer.Option(..., "--reason", help="Why (required: what the next reader sees)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record an analyst's verdict on a finding, with who ($SEAWALL_ANALYST or the OS user) and
    when; it is shown in every report and survives re-hunts (finding ids are stable)."""
    from seawall.detect.stored import find_finding
    from seawall.model.verdict import Review
    from seawall.triage.state import analyst_name, record_review

    if verdict not in _REVIEWS:
        raise UsageError(f"VERDICT must be one of {', '.join(_REVIEWS)}, not {verdict!r}")
    if not reason.strip():
        raise UsageError("--reason must say why")
    analyst = analyst_name()
    with open_case(ctx, create=False) as store:
        target = find_finding(store, finding)
        arguments = {"finding": target.finding_id, "verdict": verdict}
        with store.transaction():
            run_id = store.start_run("triage mark", arguments)
            review = record_review(
                store, target.finding_id, Review(verdict), reason.strip(), analyst, run_id
            )
            store.finish_run(run_id, "ok", {"finding": target.finding_id, "verdict": verdict})
    payload = {
        "finding_id": target.finding_id,
        "detection_id": target.detection_id,
        "summary": target.summary,
        "previous": None if target.review is None else target.review.model_dump(mode="json"),
        "review": review.model_dump(mode="json"),
    }

    def render(console: Console) -> None:
        style = VERDICT_STYLE[verdict]
        console.print(
            f"[{style}]{verdict}[/] {target.finding_id[:12]} {escape(target.detection_id)}:"
            f" {escape(target.summary)}"
        )
        console.print(f"  by {escape(analyst)} at {review.at:%Y-%m-%d %H:%M:%S}Z: {escape(reason)}")
        if target.review is not None:
            console.print(
                f"  [dim]replaces {target.review.verdict.value} by {escape(target.review.analyst)}"
                f" at {target.review.at:%Y-%m-%d %H:%M}Z (kept as history)[/]"
            )

    emit(as_json, payload, render)


@app.command("list")
def list_(
    ctx: typer.Context,
    history: bool = typer.Option(
        False, "--history", help="Every review, not only the latest of each finding."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Analysts' verdicts and the suppressions recorded by triage apply, with their findings."""
    from seawall.triage.listing import triage_listing

    with open_case(ctx, create=False) as store:
        listing = triage_listing(store, history=history)
    reviews: list[dict[str, Any]] = listing["reviews"]
    suppressions: list[dict[str, Any]] = listing["suppressions"]

    def render(console: Console) -> None:
        table = Table(title=f"Reviews ({len(reviews):,})", title_justify="left")
        for column in ("finding", "verdict", "analyst", "when"):
            table.add_column(column, no_wrap=True)
        for column in ("reason", "what"):
            table.add_column(column, overflow="fold")
        for item in reviews:
            style = VERDICT_STYLE[item["verdict"]]
            table.add_row(
                item["finding_id"][:12],
                f"[{style}]{item['verdict']}[/]",
                escape(item["analyst"]),
                f"{item['at']:%Y-%m-%d %H:%M}Z",
                escape(item["reason"]),
                escape(item["what"] or "(no stored finding)"),
            )
        console.print(table)
        table = Table(title=f"Suppressions ({len(suppressions):,})", title_justify="left")
        table.add_column("finding", no_wrap=True)
        for column in ("entry", "reason"):
            table.add_column(column, overflow="fold")
        for column in ("applied", "state"):
            table.add_column(column, no_wrap=True)
        table.add_column("what", overflow="fold")
        for item in suppressions:
            state = "[yellow]expired[/]" if item["expired"] else "in force"
            table.add_row(
                item["finding_id"][:12],
                escape(item["entry"]),
                escape(item["reason"]),
                f"{item['applied']:%Y-%m-%d %H:%M}Z",
                state,
                escape(item["what"] or "(no stored finding)"),
            )
        console.print(table)

    emit(as_json, listing, render)
