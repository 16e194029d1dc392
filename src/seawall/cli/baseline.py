"""`seawall baseline`: learn what was normal before a time, show it, forget it.

Detections that judge "new since the baseline" (admin-share mapping, remote logons) read the
``baselines`` table; this command fills it from the evidence already in the case by running each
such detection's ``baseline`` query (see :mod:`seawall.detect.baseline`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, Table, emit, open_case
from seawall.errors import UsageError

app = typer.Typer(no_args_is_help=True, help="Baselines that detections compare against.")


def parse_time(text: str, option: str) -> datetime:
    """ISO 8601 time or date; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not an ISO 8601 time (e.g. 2024-03-01T00:00Z)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@app.command("learn")
def learn(
    ctx: typer.Context,
    until: str | None = typer.Option(
        None,
        "--until",
        help="Learn from evidence up to this time (ISO 8601, UTC unless an offset is given);"
        " default: everything in the case.",
    ),
    detection: list[str] = typer.Option(
        [], "--detection", help="Learn only this detection's baseline (repeatable)."
    ),
    detections: list[Path] = typer.Option(
        [], "--detections", help="Also load detection YAML files from DIR (repeatable)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Learn (replace) baselines from the case: what each detection saw before --until."""
    from seawall.detect.baseline import learn as learn_baselines
    from seawall.detect.baseline import with_baseline
    from seawall.detect.engine import load_detections

    limit = parse_time(until, "--until") if until is not None else None
    chosen = with_baseline(load_detections(detections).values(), detection)
    with open_case(ctx) as store:
        report = learn_baselines(store, chosen, limit)

    def render(console: Console) -> None:
        for item in report.learned:
            console.print(
                escape(
                    f"{item.detection_id}: {item.rows:,} seen up to"
                    f" {item.learned_until.isoformat()}"
                )
            )
        console.print(f"run {report.run_id}")

    emit(as_json, report.as_dict(), render)


@app.command("show")
def show(
    ctx: typer.Context,
    detection: str | None = typer.Option(None, "--detection", help="Only this detection."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The baselines in the case: per detection, up to when it learned and how much."""
    from seawall.detect.baseline import show as show_baselines

    with open_case(ctx) as store:
        rows = show_baselines(store, detection)

    def render(console: Console) -> None:
        if not rows:
            console.print("No baselines learned (seawall baseline learn --until TIME).")
            return
        table = Table("detection", "learned until", "learned at", "seen")
        for row in rows:
            table.add_row(
                row["detection_id"],
                str(row["learned_until"]),
                str(row["learned_at"]),
                f"{row['rows']:,}",
            )
        console.print(table)

    emit(as_json, {"baselines": rows}, render)


@app.command("clear")
def clear(
    ctx: typer.Context,
    detection: str | None = typer.Option(None, "--detection", help="Only this detection."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Forget baselines (detections then judge without one, and say so)."""
    from seawall.detect.baseline import clear as clear_baselines

    with open_case(ctx) as store:
        removed = clear_baselines(store, detection)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"{removed:,} baseline rows removed"))
