"""How every command speaks: one JSON document on stdout with ``--json``, rich text otherwise.

Logs, warnings and progress always go to stderr so that stdout stays machine-readable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import table as rich_table
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # the store loads DuckDB and Arrow: only commands that open a case pay for it
    from pydantic import BaseModel

    from seawall.case.store import CaseStore

stderr = Console(stderr=True, highlight=False)
stdout = Console(highlight=False, soft_wrap=True)


class Table(rich_table.Table):
    """A rich table whose cells fold where a plain one cuts them with an ellipsis: a value in
    a table (a hash, an indicator, a detection id, a --param to type) is what the reader copies
    next, so it is printed whole at any width, on several lines if need be."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


JSON_OPTION = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")
# Every file or directory option is declared ``readable=False``: the command reads the input
# itself and reports one it cannot read as bad input (exit 3) at its path, as the README says,
# where the parser would call it a usage error (exit 2).


@dataclass(frozen=True, slots=True)
class CliState:
    """Global options given before the command."""

    case_dir: Path


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    assert isinstance(root.obj, CliState)
    return root.obj


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# A hash indicator of a legitimate tool (tagged at import, see seawall.triage.knowngood): shown as
# such wherever the indicator is, because a hit on it is neither clean nor plainly malicious.
DUAL_USE = "dual-use"
DUAL_USE_MARK = "dual-use: judged by location"


# The colour of every verdict word (seawall.model.verdict: Verdict and Review), in every view.
VERDICT_STYLE = {
    "malicious": "bold red",
    "suspicious": "yellow",
    "benign": "green",
    "unknown": "dim",
    "true-positive": "bold red",
    "false-positive": "green",
}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 finding``, ``2 findings``, ``1,024 files`` (``many`` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"


def dumps(payload: Any) -> str:
    return json.dumps(payload, default=_default, ensure_ascii=False, indent=2)


def emit(as_json: bool, payload: Any, render: Callable[[Console], None]) -> None:
    """Print ``payload`` as JSON, or let ``render`` draw it for a person."""
    if as_json:
        sys.stdout.write(dumps(payload) + "\n")
        sys.stdout.flush()
    else:
        render(stdout)


def emit_model(as_json: bool, model: BaseModel, render: Callable[[Console], None]) -> None:
    """Print a pydantic document as JSON, or let ``render`` draw it for a person.

    The JSON is pydantic's own (its Rust serialiser, the document ``model_dump(mode="json")``
    gives, two-space indented as :func:`dumps` writes it): a hunt's document of thousands of
    findings serialises in a few hundredths of a second instead of most of a second."""
    if as_json:
        sys.stdout.write(model.model_dump_json(indent=2) + "\n")
        sys.stdout.flush()
    else:
        render(stdout)


def warn(message: str) -> None:
    # one line per warning, whatever the terminal's width: warnings carry paths to copy and grep
    stderr.print(f"[yellow]warning:[/yellow] {escape(message)}", markup=True, soft_wrap=True)


def open_case(ctx: typer.Context, *, create: bool = True) -> CaseStore:
    """Open the ``--case`` store, and say so if opening it rolled back a run that was cut short
    (otherwise its rows would vanish without a word)."""
    from seawall.case.store import CaseStore

    store = CaseStore.open(state(ctx).case_dir, create=create)
    for message in store.discarded:
        warn(message)
    return store
