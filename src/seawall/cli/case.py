"""`seawall case` commands: what a case holds."""

from __future__ import annotations

import typer
from rich.console import Console

from seawall.cli.output import JSON_OPTION, Table, emit, open_case, state

app = typer.Typer(no_args_is_help=True, help="Inspect the case store.")


@app.command("info")
def info(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Schema version and row counts of every table."""
    from seawall.case.schema import LATEST_VERSION
    from seawall.case.store import DATABASE_NAME

    case_dir = state(ctx).case_dir
    with open_case(ctx, create=False) as store:
        payload = {
            "case": str(case_dir.resolve()),
            "database": str((case_dir / DATABASE_NAME).resolve()),
            "schema_version": store.schema_version(),
            "supported_schema_version": LATEST_VERSION,
            "tables": store.table_counts(),
        }

    def render(console: Console) -> None:
        console.print(f"case [bold]{payload['case']}[/bold]  schema v{payload['schema_version']}")
        table = Table("table", "rows")
        for name, count in payload["tables"].items():  # type: ignore[attr-defined]
            table.add_row(name, f"{count:,}")
        console.print(table)

    emit(as_json, payload, render)
