"""`seawall collect` commands: read evidence into the case (files, disk usage, logs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from seawall.case.store import CaseStore
from seawall.cli.output import JSON_OPTION, emit, open_case, stderr, warn
from seawall.collect.base import IngestReport, evidence_files, ingest_files
from seawall.collect.base import Progress as IngestProgress
from seawall.collect.disk import collect_disk
from seawall.collect.files import (
    CollectOptions,
    CollectReport,
    OsName,
    collect_files,
    count_files,
    prepare_roots,
)
from seawall.collect.paths import parse_root_map
from seawall.errors import ExitCode, UsageError

app = typer.Typer(no_args_is_help=True, help="Collect evidence into the case.")

_OS_CHOICES: dict[str, OsName] = {"windows": "windows", "linux": "linux", "auto": "auto"}


class _Rate(ProgressColumn):
    """files/s from rich's own speed estimate, MB/s from the bytes hashed since the start."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        files = task.speed or (task.completed / elapsed if elapsed else 0.0)
        megabytes = task.fields.get("nbytes", 0) / 1e6 / elapsed if elapsed else 0.0
        return Text(f"{files:,.0f} files/s {megabytes:,.1f} MB/s", style="progress.data.speed")


class _Bar:
    """Adapts a rich task to the library's ``Progress`` protocol."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress = progress
        self.task = task
        self.nbytes = 0

    def advance(self, files: int, nbytes: int) -> None:
        self.nbytes += nbytes
        self.progress.update(self.task, advance=files, nbytes=self.nbytes)


@contextmanager
def _progress_bar(total: int | None) -> Iterator[_Bar]:
    columns = (
        SpinnerColumn(),
        TextColumn("sweeping"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        yield _Bar(progress, progress.add_task("sweep", total=total, nbytes=0))


class _ItemRate(ProgressColumn):
    """Items per second (events, rows) and MB/s of input read since the start."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        items = task.fields.get("items", 0) / elapsed if elapsed else 0.0
        megabytes = task.completed / 1e6 / elapsed if elapsed else 0.0
        return Text(
            f"{items:,.0f} {self.unit}/s {megabytes:,.1f} MB/s", style="progress.data.speed"
        )


class _IngestBar:
    """A rich task over the input's bytes (so the ETA is the input's), counting items too."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress = progress
        self.task = task
        self.items = 0

    def advance(self, items: int, nbytes: int) -> None:
        self.items += items
        self.progress.update(self.task, advance=nbytes, items=self.items)


@contextmanager
def _ingest_bar(unit: str, total_bytes: int) -> Iterator[_IngestBar]:
    columns = (
        SpinnerColumn(),
        TextColumn("reading"),
        BarColumn(),
        _ItemRate(unit),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        yield _IngestBar(progress, progress.add_task("ingest", total=total_bytes, items=0))


Ingest = Callable[[CaseStore, IngestProgress | None], IngestReport]


def run_ingest(
    ctx: typer.Context, paths: list[str], unit: str, ingest: Ingest, *, as_json: bool
) -> None:
    """Run a reader-based collection with progress, print its report, exit 3 if a file was
    refused (the others are in the case)."""
    with open_case(ctx) as store:
        if as_json or not stderr.is_terminal:
            report = ingest(store, None)
        else:
            total = sum(p.stat().st_size for p in evidence_files(paths, skip=store.case_dir))
            with _ingest_bar(unit, total) as bar:
                report = ingest(store, bar)
    for item in report.warnings:
        warn(f"{item.location}: {item.message}")
    hidden = report.warning_count - len(report.warnings)
    if hidden > 0:
        warn(f"… and {hidden:,} more warnings (counted in the run's summary)")

    def render(console: Console) -> None:
        done = [s for s in report.sources if not s.already_collected and s.refused is None]
        again = sum(1 for s in report.sources if s.already_collected)
        rows = ", ".join(f"{n:,} {t}" for t, n in sorted(report.rows.items())) or "no rows"
        console.print(
            escape(
                f"{rows} from {len(done)} file{'' if len(done) == 1 else 's'}"
                f" ({again} already collected, {len(report.refused)} refused),"
                f" {report.warning_count:,} warning{'' if report.warning_count == 1 else 's'}"
                f" (run {report.run_id})"
            )
        )

    emit(as_json, report.as_dict(), render)
    if report.refused:
        raise typer.Exit(int(ExitCode.BAD_INPUT))


@app.command("logs")
def logs(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Log files or folders (read recursively)."),
    log_format: str = typer.Option(
        "auto", "--format", help="auto (told from content) or a format name: see --list."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host the logs describe (default: as the logs say, if they do)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Read network, DNS, web and authentication logs into the case (gzip, zip, tar read)."""
    from seawall.collect.logs import choose_logs

    choose = choose_logs(None if log_format == "auto" else log_format)

    def ingest(store: CaseStore, progress: IngestProgress | None) -> IngestReport:
        arguments = {"format": log_format}
        return ingest_files(
            store, "collect logs", paths, choose, host=host, arguments=arguments, progress=progress
        )

    run_ingest(ctx, paths, "rows", ingest, as_json=as_json)


@app.command("files")
def files(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Directories or files to sweep (read-only)."),
    host: str | None = typer.Option(None, "--host", help="Host name (default: this machine's)."),
    os_name: str = typer.Option("auto", "--os", help="windows, linux or auto."),
    root_map: list[str] = typer.Option(
        [], "--root-map", help="SRC=DST, e.g. /mnt/c=C:\\ (repeatable)."
    ),
    exclude: list[str] = typer.Option(
        [], "--exclude", help="Glob on the name, or on the path if it has a '/' (repeatable)."
    ),
    max_size: int | None = typer.Option(
        None, "--max-size", help="Files bigger than this many bytes are recorded, not hashed."
    ),
    follow_symlinks: bool = typer.Option(
        False, "--follow-symlinks", help="Follow symlinks (loops are detected and reported)."
    ),
    webshells: bool = typer.Option(
        True,
        "--webshells/--no-webshells",
        help="Assess scripts under web roots as possible web shells now (else at hunt time).",
    ),
    yara_all: bool = typer.Option(
        False,
        "--yara-all",
        help="Scan every file with the shipped YARA set, not only scripts and executables"
        " outside system folders (several times slower: see the README).",
    ),
    no_default_yara: bool = typer.Option(
        False, "--no-default-yara", help="Do not scan with the shipped YARA set."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record every file's metadata and MD5/SHA-1/SHA-256; unchanged files re-use their hashes."""
    if os_name not in _OS_CHOICES:
        raise UsageError(f"--os must be windows, linux or auto, not {os_name!r}")
    if yara_all and no_default_yara:
        raise UsageError("--yara-all and --no-default-yara contradict each other: give one")
    options = CollectOptions(
        host=host,
        os_name=_OS_CHOICES[os_name],
        root_maps=tuple(parse_root_map(m) for m in root_map),
        excludes=tuple(exclude),
        max_size=max_size,
        follow_symlinks=follow_symlinks,
        webshells=webshells,
        yara="all" if yara_all else "off" if no_default_yara else "default",
    )
    with open_case(ctx) as store:
        if as_json or not stderr.is_terminal:
            report = collect_files(store, paths, options)
        else:
            total = count_files(prepare_roots(paths), options)
            with _progress_bar(total) as bar:
                report = collect_files(store, paths, options, bar)
    payload = report.as_dict()
    for item in report.warnings:
        warn(f"{item.path}: {item.message}")
    for assumed in report.assumed_root_maps:
        warn(f"a Windows system volume: mapped as --root-map {assumed} (give --root-map to change)")

    def render(console: Console) -> None:
        console.print(
            escape(
                f"{report.files} files on {report.host}: {report.hashed} hashed"
                f" ({report.bytes_hashed / 1e6:,.1f} MB), {report.reused} unchanged (hashes"
                f" re-used), {report.too_large} over --max-size, {report.skipped} skipped,"
                f" {report.excluded} excluded, {len(report.warnings)} warnings"
                f"; YARA: {yara_summary(report)} (run {report.run_id})"
            )
        )

    emit(as_json, payload, render)


def yara_summary(report: CollectReport) -> str:
    if report.yara_set is None:
        return "shipped set off"
    return f"{report.yara_scanned} scanned, {report.yara_matched} with matches ({report.yara_set})"


@app.command("disk")
def disk(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="Host name of the live snapshot (default: this machine's)."
    ),
    paths: list[str] = typer.Option(
        [], "--path", help="Also record the size of DIR and of each sub-directory (repeatable)."
    ),
    imports: list[Path] = typer.Option(
        [],
        "--import",
        help="Import a disk-usage CSV exported elsewhere (repeatable); without --path, no live"
        " snapshot is taken.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a snapshot of every mounted file system, and/or import snapshots from CSV files."""
    snapshot = not imports or bool(paths)
    with open_case(ctx) as store:
        report = collect_disk(store, host=host, paths=paths, imports=imports, snapshot=snapshot)
    for item in report.warnings:
        warn(f"{item.location}: {item.message}")
    refused = [i for i in report.imports if i.refused is not None]

    def render(console: Console) -> None:
        skipped = sum(1 for i in report.imports if i.already_collected)
        read = len(report.imports) - skipped - len(refused)
        console.print(
            escape(
                f"{report.snapshots} disk snapshot rows: {report.mounts} file systems and"
                f" {report.directories} directories on {report.host}, {report.imported_rows}"
                f" imported from {read} CSV files ({skipped} already imported,"
                f" {len(refused)} refused), {len(report.warnings)} warnings"
                f" (run {report.run_id})"
            )
        )

    emit(as_json, report.as_dict(), render)
    if refused:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
