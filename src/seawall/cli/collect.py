"""`seawall collect` commands: read evidence into the case (files, disk usage, logs)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, emit, open_case, plural, state, stderr, warn
from seawall.cli.progress import progress
from seawall.errors import BadInputError, ExitCode, UsageError

if TYPE_CHECKING:  # the collectors (PE parsing, libmagic, Arrow) load with the command that runs
    from seawall.case.store import CaseStore
    from seawall.cli.progress import Reporter
    from seawall.collect.base import IngestReport
    from seawall.collect.files import CollectReport, OsName

app = typer.Typer(no_args_is_help=True, help="Collect evidence into the case.")

_OS_CHOICES: dict[str, OsName] = {"windows": "windows", "linux": "linux", "auto": "auto"}


def _check_roots(paths: list[str]) -> None:
    """Refuse a root that does not exist or cannot be read, before anything is written: a sweep
    of nothing would otherwise end "0 files" with exit 0, as if the host had been looked at.
    (Unreadable entries *inside* a root stay warnings: the rest of the tree is still swept.)"""
    for path in paths:
        try:
            mode = Path(path).stat().st_mode
        except OSError as error:
            raise BadInputError(f"cannot sweep: {error.strerror or error}", path) from None
        wanted = os.R_OK | os.X_OK if stat.S_ISDIR(mode) else os.R_OK
        if not os.access(path, wanted):
            raise BadInputError("cannot sweep: permission denied", path)


def _skipped_note(skipped: list[Path], what: str) -> None:
    if skipped:
        shown = ", ".join(str(p) for p in skipped[:3]) + (", …" if len(skipped) > 3 else "")
        warn(f"skipped {plural(len(skipped), 'file')} in the folders that are not {what} ({shown})")


@app.command("evtx")
def evtx(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ..., help="EVTX files, or folders read recursively (their non-EVTX files are skipped)."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host the logs describe (default: each event's Computer)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Read Windows event logs (EVTX) into the case's events table."""
    from seawall.collect.base import ingest_files
    from seawall.collect.events import EVENTS_MEMORY, is_evtx, select_files
    from seawall.collect.events.evtx import EvtxReader

    selection = select_files(paths, is_evtx, skip=state(ctx).case_dir)
    _skipped_note(selection.skipped, "EVTX")
    files = [str(p) for p in selection.files]
    if not files:
        raise UsageError("no EVTX files under " + ", ".join(paths))

    reader = EvtxReader()  # one for all files: it keeps its DuckDB connection

    def ingest(store: CaseStore, reporter: Reporter | None) -> IngestReport:
        try:
            return ingest_files(
                store,
                "collect evtx",
                files,
                lambda _path: reader,
                host=host,
                arguments={"paths": paths},
                progress=reporter,
                memory=EVENTS_MEMORY,
            )
        finally:
            reader.close()  # its worker process ends with the command's work

    run_ingest(ctx, files, "events", ingest, as_json=as_json)


@app.command("events")
def events(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ...,
        help="JSON/NDJSON exports of Windows events, gzip/zip/tar of them, or folders (read"
        " recursively; files that are neither JSON nor archives are skipped).",
    ),
    event_format: str = typer.Option(
        "auto",
        "--format",
        help="auto (told from each record) or one of: evtx-json, winlogbeat, velociraptor,"
        " evtxecmd, get-winevent, flat.",
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host the events describe (default: each event's computer)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Read JSON exports of Windows events (Winlogbeat, Velociraptor, EvtxECmd, Sysmon…)."""
    from seawall.collect.base import ingest_files
    from seawall.collect.events import EVENTS_MEMORY, is_json_export, select_files
    from seawall.collect.events.jsonevents import JsonEventsReader

    forced = None if event_format == "auto" else event_format
    JsonEventsReader(forced)  # an unknown --format fails before anything is read
    selection = select_files(paths, is_json_export, skip=state(ctx).case_dir)
    _skipped_note(selection.skipped, "JSON or archives")
    files = [str(p) for p in selection.files]
    if not files:
        raise UsageError("no JSON exports under " + ", ".join(paths))

    def ingest(store: CaseStore, reporter: Reporter | None) -> IngestReport:
        return ingest_files(
            store,
            "collect events",
            files,
            lambda _path: JsonEventsReader(forced),
            host=host,
            arguments={"paths": paths, "format": event_format},
            progress=reporter,
            memory=EVENTS_MEMORY,
        )

    run_ingest(ctx, files, "events", ingest, as_json=as_json)


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
    from seawall.collect.files import CollectOptions, collect_files, count_files, prepare_roots
    from seawall.collect.paths import parse_root_map

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
    _check_roots(paths)
    with open_case(ctx) as store:
        # a bar on a terminal (after a fast count, for the time left), else a line every few
        # seconds: a sweep of millions of files must not look hung in a log or a pipe
        total = count_files(prepare_roots(paths), options) if stderr.is_terminal else None
        with progress(stderr, "sweeping", "files", total) as reporter:
            report = collect_files(store, paths, options, reporter)
    payload = report.as_dict()
    for item in report.warnings:
        warn(f"{item.path}: {item.message}")
    for assumed in report.assumed_root_maps:
        warn(f"a Windows system volume: mapped as --root-map {assumed} (give --root-map to change)")

    def render(console: Console) -> None:
        console.print(
            escape(
                f"{plural(report.files, 'file')} on {report.host}: {report.hashed:,} hashed"
                f" ({report.bytes_hashed / 1e6:,.1f} MB), {report.reused:,} unchanged (hashes"
                f" re-used), {report.too_large:,} over --max-size, {report.skipped:,} skipped,"
                f" {report.excluded:,} excluded, {plural(len(report.warnings), 'warning')}"
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
        readable=False,
        help="Import a disk-usage CSV exported elsewhere (repeatable); without --path, no live"
        " snapshot is taken.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a snapshot of every mounted file system, and/or import snapshots from CSV files."""
    from seawall.collect.disk import collect_disk

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
                f"{plural(report.snapshots, 'disk snapshot row')}:"
                f" {plural(report.mounts, 'file system')} and"
                f" {plural(report.directories, 'directory', 'directories')} on {report.host},"
                f" {report.imported_rows:,} imported from {plural(read, 'CSV file')}"
                f" ({skipped:,} already imported, {len(refused):,} refused),"
                f" {plural(len(report.warnings), 'warning')} (run {report.run_id})"
            )
        )

    emit(as_json, report.as_dict(), render)
    if refused:
        raise typer.Exit(int(ExitCode.BAD_INPUT))


Ingest = Callable[["CaseStore", "Reporter | None"], "IngestReport"]


def run_ingest(
    ctx: typer.Context, paths: list[str], unit: str, ingest: Ingest, *, as_json: bool
) -> None:
    """Run a reader-based collection with progress (items/s, and the time left from the bytes
    read), print its report, exit 3 if a file was refused (the others are in the case)."""
    from seawall.collect.base import evidence_files

    with open_case(ctx) as store:
        total = sum(p.stat().st_size for p in evidence_files(paths, skip=store.case_dir))
        with progress(stderr, "reading", unit, total_bytes=total) as reporter:
            report = ingest(store, reporter)
    for item in report.warnings:
        warn(f"{item.location}: {item.message}")
    hidden = report.warning_count - len(report.warnings)
    if hidden > 0:
        warn(f"… and {plural(hidden, 'more warning')} (counted in the run's summary)")

    def render(console: Console) -> None:
        done = [s for s in report.sources if not s.already_collected and s.refused is None]
        again = sum(1 for s in report.sources if s.already_collected)
        rows = ", ".join(f"{n:,} {t}" for t, n in sorted(report.rows.items())) or "no rows"
        console.print(
            escape(
                f"{rows} from {plural(len(done), 'file')} ({again:,} already collected,"
                f" {len(report.refused):,} refused), {plural(report.warning_count, 'warning')}"
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
        "auto",
        "--format",
        help="auto (told from content) or a format name (an unknown name lists them).",
    ),
    host: str | None = typer.Option(
        None, "--host", help="Host the logs describe (default: as the logs say, if they do)."
    ),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="Zone of logs whose times carry none (DNS servers, syslog): an IANA name or"
        " +HH:MM (default UTC, with a warning).",
    ),
    year: int | None = typer.Option(
        None, "--year", help="Year of the first line of logs whose times carry none."
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        readable=False,
        help="Column mapping (YAML) of a firewall/flow CSV (--format flow-csv).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Read network, DNS, web and authentication logs into the case (gzip, zip, tar read)."""
    from seawall.collect.base import ingest_files
    from seawall.collect.logs import LogOptions, choose_logs
    from seawall.collect.logs.common import zone
    from seawall.collect.logs.flows import load_mapping

    zone(timezone)  # a bad --timezone or mapping fails before anything is read
    if mapping is not None:
        load_mapping(mapping)
    elif log_format == "flow-csv":
        raise UsageError("--format flow-csv needs --mapping FILE (see the README)")
    settings = {"timezone": timezone, "year": year, "mapping": mapping}
    options = LogOptions({k: v for k, v in settings.items() if v is not None})
    choose = choose_logs(None if log_format == "auto" else log_format, options)

    def ingest(store: CaseStore, reporter: Reporter | None) -> IngestReport:
        arguments = {"format": log_format, **{k: str(v) for k, v in options.settings.items()}}
        return ingest_files(
            store, "collect logs", paths, choose, host=host, arguments=arguments, progress=reporter
        )

    run_ingest(ctx, paths, "rows", ingest, as_json=as_json)
