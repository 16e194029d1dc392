"""`seawall locations`: the table of where legitimate tools live, and judging a path against it.

Before trusting a suppressed finding an analyst wants to see the rule behind it ("where does
PuTTY belong, and who says so?"), try a path by hand, and check an extension file before a hunt
uses it. The judgement is the one file detections use (:meth:`ToolLocations.judge`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, VERDICT_STYLE, Table, emit, plural
from seawall.errors import UsageError

if TYPE_CHECKING:  # the table's models (pydantic) load with the command that reads the table
    from seawall.triage.locations import LocationJudgement, ToolEntry, ToolLocations

app = typer.Typer(
    no_args_is_help=True, help="Where legitimate tools live; judge a path by that table."
)

LOCATIONS_OPTION = typer.Option(
    None,
    "--locations",
    readable=False,
    help="YAML file of extra standard tool locations (extends the table).",
)


def _table(locations: Path | None) -> ToolLocations:
    from seawall.triage.locations import ToolLocations

    return ToolLocations.load(locations)


def _tool_dict(tool: ToolEntry) -> dict[str, Any]:
    from seawall.triage.locations import display_folder

    return {
        "name": tool.name,
        "folders": sorted({display_folder(pattern) for pattern in tool.locations}),
        "patterns": list(tool.locations),
        "sources": list(tool.sources),
        "techniques": list(tool.techniques),
        "why": tool.why,
    }


def _judgement_dict(path: str, judgement: LocationJudgement) -> dict[str, Any]:
    from seawall.triage.locations import display_folder

    return {
        "path": path,
        # seawall's one verdict vocabulary; the location itself is a reason code
        "verdict": judgement.verdict.value,
        "location": judgement.location.value,
        "reasons": list(judgement.reasons),
        "expected": sorted({display_folder(pattern) for pattern in judgement.expected}),
        "techniques": list(judgement.techniques),
    }


@app.command("list")
def list_tools(locations: Path | None = LOCATIONS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every tool in the table with its standard folders and where the entry comes from."""
    tools = [_tool_dict(tool) for tool in _table(locations).tools()]

    def render(console: Console) -> None:
        table = Table("tool", "standard folders", "sources")
        for tool in tools:
            folders = "\n".join(tool["folders"]) or "[dim](none: every copy is non-standard)[/]"
            table.add_row(escape(tool["name"]), folders, escape(", ".join(tool["sources"])))
        console.print(table)
        console.print(plural(len(tools), "tool"))

    emit(as_json, {"tools": tools}, render)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="File name of the tool, e.g. putty.exe."),
    locations: Path | None = LOCATIONS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One tool's standard folders, the reason it is in the table, and its ATT&CK techniques."""
    tool = _table(locations).tool(name)
    if tool is None:
        raise UsageError(f"{name!r} is not in the table of legitimate tools")
    entry = _tool_dict(tool)

    def render(console: Console) -> None:
        console.print(f"[bold]{escape(tool.name)}[/bold]  ({escape(', '.join(tool.sources))})")
        for folder in entry["folders"]:
            console.print(f"  {escape(folder)}")
        if tool.techniques:
            console.print(f"techniques: {escape(', '.join(tool.techniques))}")
        console.print(escape(tool.why))

    emit(as_json, entry, render)


@app.command("check")
def check(
    paths: list[str] = typer.Argument(..., help="Windows or POSIX paths to judge."),
    locations: Path | None = LOCATIONS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Judge paths as a hunt would: a known tool in a standard location (benign), outside it
    (suspicious, T1036.005), or a file that is no known tool (unknown)."""
    table_of_tools = _table(locations)
    judged = [_judgement_dict(path, table_of_tools.judge(path)) for path in paths]

    def render(console: Console) -> None:
        for item in judged:
            style = VERDICT_STYLE[item["verdict"]]
            console.print(
                f"[{style}]{item['verdict']:>10}[/]  {escape(item['path'])}"
                f"  [dim]({item['location']})[/]"
            )
            for reason in item["reasons"]:
                console.print(f"  {escape(reason)}")

    emit(as_json, {"paths": judged}, render)


@app.command("validate")
def validate(
    file: Path = typer.Argument(..., readable=False, help="Extension YAML file to check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check an extension file; errors name the file and line (exit 3)."""
    from seawall.triage.locations import load_extension_file

    groups = load_extension_file(file).tools
    _table(file)  # the merge with the shipped table must succeed too
    names = sorted({name for group in groups for name in group.names})
    result = {"file": str(file), "valid": True, "entries": len(groups), "tools": names}
    emit(
        as_json,
        result,
        lambda c: c.print(
            f"{escape(str(file))}: valid, {plural(len(groups), 'entry', 'entries')} for"
            f" {plural(len(names), 'tool')}"
        ),
    )
