"""Entry point: global options, sub-command groups, and the mapping of errors to exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from typer.exceptions import Abort, Exit, TyperException

import seawall
from seawall.cli import attack, baseline, case, collect, intel, locations, pack, triage
from seawall.cli.coverage import coverage
from seawall.cli.demo import demo
from seawall.cli.entities import entities
from seawall.cli.findings import findings
from seawall.cli.hunt import hunt
from seawall.cli.output import CliState, dumps, stderr
from seawall.cli.report import report
from seawall.errors import ExitCode, SeawallError

app = typer.Typer(
    name="seawall",
    # Say what works today; event logs and network logs join this line when their commands land.
    help="Turn a threat advisory into a hunt across host files, Windows event logs and network"
    " logs (start with `seawall demo`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(case.app, name="case")
app.add_typer(intel.app, name="intel")
app.add_typer(attack.app, name="attack")
app.add_typer(pack.app, name="pack")
app.add_typer(collect.app, name="collect")
app.add_typer(locations.app, name="locations")
app.add_typer(baseline.app, name="baseline")
app.add_typer(triage.app, name="triage")
app.command("hunt")(hunt)
app.command("findings")(findings)
app.command("coverage")(coverage)
app.command("demo")(demo)
app.command("report")(report)
app.command("entities")(entities)


def _version(value: bool) -> None:
    if value:
        print(f"seawall {seawall.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    case_dir: Path = typer.Option(
        Path("seawall-case"),
        "--case",
        envvar="SEAWALL_CASE",
        help="Case directory (created on first use).",
        show_default=True,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    ctx.obj = CliState(case_dir=case_dir)


def _fail(
    code: ExitCode, kind: str, message: str, location: str | None = None, *, as_json: bool
) -> int:
    """Report a failure: as the one JSON document when --json was asked for, and on stderr."""
    if as_json:
        error = {"kind": kind, "message": message, "location": location, "exit_code": int(code)}
        sys.stdout.write(dumps({"error": error}) + "\n")
    if message:  # asking for a group without a command shows its help: nothing more to say
        where = f"{location}: " if location else ""
        text = escape(f"{where}{message}")
        stderr.print(f"[red]error:[/red] {text}", markup=True, highlight=False)
    return int(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (used by ``main`` and tests)."""
    arguments = sys.argv[1:] if argv is None else argv
    as_json = "--json" in arguments
    try:
        result = app(args=arguments, prog_name="seawall", standalone_mode=False)
    except SeawallError as error:
        return _fail(
            error.exit_code, type(error).__name__, error.message, error.location, as_json=as_json
        )
    except Exit as done:
        return int(done.exit_code)
    except Abort:
        return _fail(ExitCode.INTERNAL, "Aborted", "interrupted", as_json=as_json)
    except TyperException as error:  # bad options or arguments, as the parser reports them
        return _fail(ExitCode.USAGE, "UsageError", error.format_message(), as_json=as_json)
    except KeyboardInterrupt:
        return _fail(ExitCode.INTERNAL, "Interrupted", "interrupted", as_json=as_json)
    except Exception as error:  # a bug: say so plainly, with the type, and exit 4
        message = f"{type(error).__name__}: {error}"
        return _fail(ExitCode.INTERNAL, "InternalError", message, as_json=as_json)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def main() -> None:
    sys.exit(run())
