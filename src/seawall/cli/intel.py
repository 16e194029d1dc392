"""`seawall intel` commands: import indicators, look values up, list what the case knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import (
    DUAL_USE_MARK,
    JSON_OPTION,
    VERDICT_STYLE,
    Table,
    emit,
    open_case,
    plural,
    warn,
)
from seawall.errors import BadInputError, UsageError
from seawall.intel.sniff import DEFAULT_MAX_BYTES

# The intel modules (Arrow, numpy, pymisp, stix2) are imported by the command that uses them, so
# that `seawall --help` and every other command start without them.

app = typer.Typer(no_args_is_help=True, help="Threat intel: import, look up, list, remove.")


@app.command("import")
def import_(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., readable=False, help="STIX 1.x/2.x, MISP JSON, CSV or text lists."
    ),
    source: str | None = typer.Option(None, "--source", help="Source name (default: file name)."),
    max_size: int = typer.Option(
        DEFAULT_MAX_BYTES, "--max-size", help="Largest intel file accepted, in bytes."
    ),
    format: str | None = typer.Option(
        None,
        "--format",
        help="Read every file as this format instead of telling it from the content: stix1,"
        " stix2, misp, text, csv, loki-hash, loki-c2, loki-filename. Text that does not look"
        " like an indicator list is refused unless a format is named.",
    ),
    exercise: bool = typer.Option(
        False,
        "--exercise",
        help="Intel written for an exercise or a test: keep documentation and testing names and"
        " addresses (.example, .test, 192.0.2.0/24...) as live indicators, not benign ones.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import indicator files; the format is told from the content, and text that is not an
    indicator list (prose, a checksum list, a log) is refused (exit 3) unless --format says."""
    from seawall.intel.importer import import_files

    with open_case(ctx) as store:
        report = import_files(store, files, source, max_size, format, exercise=exercise)
    payload = report.as_dict()
    for item in payload["warnings"]:
        warn(f"{item['location']}: {item['message']}")

    def render(console: Console) -> None:
        for result in report.files:
            if result.already_imported:
                console.print(
                    escape(f"{result.path}: already imported (sha256 {result.sha256[:16]}…)")
                )
                continue
            kinds = ", ".join(f"{n:,} {t}" for t, n in sorted(result.by_type.items()))
            path = escape(result.path)
            dual = f", {len(result.dual_use):,} dual-use" if result.dual_use else ""
            console.print(
                f"{path}: [bold]{result.format}[/bold] {plural(result.indicators, 'indicator')}"
                f" ({kinds or 'none'}), {result.new_indicators:,} new;"
                f" {len(result.rejected):,} rejected, {len(result.benign):,} benign{dual},"
                f" {plural(len(result.warnings), 'warning')}"
            )
        for item in payload["rejected"]:
            console.print(escape(f"  rejected {item['type']} {item['value']}: {item['reason']}"))
        for item in payload["benign"]:
            console.print(escape(f"  benign {item['type']} {item['value']}: {item['reason']}"))
        for item in payload["dual_use"]:
            # stays a live indicator: the actors ran the tool; a hit matters where it should not be
            line = f"  {DUAL_USE_MARK}: {item['type']} {item['value']}: {item['note']}"
            console.print(f"[magenta]{escape(line)}[/]")

    emit(as_json, payload, render)


def _read_values(values: list[str], from_file: Path | None) -> list[str]:
    """The values to look up, each distinct one once and in first-seen order: a list of
    observables pulled from logs repeats the same few values thousands of times."""
    collected = list(values)
    if from_file is not None:
        try:
            data = from_file.read_bytes()
        except OSError as error:
            raise BadInputError(f"cannot read: {error.strerror or error}", str(from_file)) from None
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise BadInputError(
                f"invalid UTF-8 at byte offset {error.start}; save the file as UTF-8",
                f"{from_file}:{line}",
            ) from None
        collected += [line.strip() for line in text.splitlines() if line.strip()]
    if not collected:
        raise UsageError("give at least one VALUE or --from-file FILE")
    return list(dict.fromkeys(collected))


@app.command("lookup")
def lookup_(
    ctx: typer.Context,
    values: list[str] = typer.Argument(None, help="Hashes, domains, URLs, IPs, e-mail addresses."),
    from_file: Path | None = typer.Option(
        None, "--from-file", readable=False, help="Also look up every line of this file."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """What every source in the case says about each value (multi-source reputation)."""
    from seawall.intel.lookup import lookup

    queries = _read_values(values or [], from_file)
    with open_case(ctx, create=False) as store:
        results = lookup(store, queries)
    payload: dict[str, Any] = {"results": [r.as_dict() for r in results]}

    def render(console: Console) -> None:
        # Intel values are attacker-chosen text: escaped, so they cannot inject rich markup.
        for result in results:
            style = VERDICT_STYLE[result.verdict.value]
            verdict = f"[{style}]{result.verdict.value:>10}[/{style}]"
            dual = f"  [magenta]({DUAL_USE_MARK})[/]" if result.dual_use else ""
            console.print(f"{verdict}  {escape(result.query)}{dual}")
            console.print(f"            {escape(result.reason)}")
            for match in result.matches:
                confidence = "-" if match.confidence is None else match.confidence
                techniques = (
                    f", techniques {', '.join(match.techniques)}" if match.techniques else ""
                )
                line = (
                    f"            · {match.source}: {match.indicator_type} {match.indicator}"
                    f" ({match.how}), confidence {confidence}{techniques}"
                )
                console.print(escape(line))

    emit(as_json, payload, render)


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--type", help="Only this indicator type."),
    source: str | None = typer.Option(None, "--source", help="Only this source (name or id)."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Indicators in the case, with their sources."""
    from seawall.intel.catalog import list_indicators

    with open_case(ctx, create=False) as store:
        rows = list_indicators(store, kind, source, limit)

    def render(console: Console) -> None:
        table = Table("type", "value", "sources", "confidence", "note")
        table.columns[1].min_width = 32  # an MD5 on one line; longer values fold
        for row in rows:
            note = row["rejected_reason"] and f"rejected: {row['rejected_reason']}"
            note = note or (row["benign_reason"] and f"benign: {row['benign_reason']}") or ""
            if row["dual_use"]:
                note = "; ".join(filter(None, [DUAL_USE_MARK, note]))
            confidence = "" if row["confidence"] is None else str(row["confidence"])
            # values and source names are attacker-chosen text: escaped, never read as markup
            cells = (row["value"], ", ".join(row["sources"]), confidence, note)
            table.add_row(row["type"], *(escape(cell) for cell in cells))
        console.print(table)
        console.print(plural(len(rows), "indicator"))

    emit(as_json, {"indicators": rows, "count": len(rows)}, render)


@app.command("remove")
def remove(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Source name, or the SHA-256 of its file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Take a source and its sightings out of the case (one transaction); indicators that no
    other source sighted go too, the others keep their remaining sources."""
    from seawall.intel.remove import remove_source

    with open_case(ctx, create=False) as store:
        removal = remove_source(store, source)

    def render(console: Console) -> None:
        console.print(
            escape(
                f"removed {removal.name} (sha256 {removal.sha256[:16]}…):"
                f" {plural(removal.sightings, 'sighting')};"
                f" {plural(removal.indicators_removed, 'indicator')} no other source knows"
                f" removed, {removal.indicators_kept:,} kept by other sources"
            )
        )
        if removal.findings_citing:
            console.print(
                escape(
                    f"{plural(removal.findings_citing, 'stored finding')} cite this source:"
                    " run `seawall hunt` again to bring them up to date"
                )
            )

    emit(as_json, removal.as_dict(), render)


@app.command("sources")
def sources(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Imported intel files: name, format, SHA-256 and what each contributed."""
    from seawall.intel.catalog import list_sources

    with open_case(ctx, create=False) as store:
        rows = list_sources(store)

    def render(console: Console) -> None:
        table = Table("source", "format", "indicators", "warnings", "sha256", "title")
        for row in rows:
            table.add_row(
                row["name"],
                row["format"],
                str(row["indicators"]),
                str(row["warnings"]),
                row["sha256"][:16] + "…",
                row["title"] or "",
            )
        console.print(table)

    emit(as_json, {"sources": rows}, render)
