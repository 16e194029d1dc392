"""Progress a person can follow: a bar on a terminal, a plain line every few seconds elsewhere."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from seawall.cli import progress as progress_module
from seawall.cli.app import run
from seawall.cli.progress import LineProgress, progress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=300, force_terminal=False), out


def test_a_line_every_interval_with_files_bytes_rate_and_time_left() -> None:
    console, out = _console()
    clock = _Clock()
    lines = LineProgress(console, "sweeping", "files", total=1000, interval=5, clock=clock)
    for _ in range(10):  # 100 files and 200 kB a second, for 10 seconds
        clock.now += 1
        lines.advance(100, 200_000)
    lines.finish()
    assert out.getvalue().splitlines() == [
        "sweeping: 500 files, 1.0 MB, 100 files/s, 0.2 MB/s (50% of 1,000, about 5s left)",
        "sweeping: 1,000 files, 2.0 MB, 100 files/s, 0.2 MB/s (100% of 1,000)",
        "sweeping: 1,000 files, 2.0 MB, 100 files/s, 0.2 MB/s (100% of 1,000); done in 10s",
    ]


def test_another_unit_without_a_total_or_bytes() -> None:
    console, out = _console()
    clock = _Clock()
    lines = LineProgress(console, "reading event logs", "events", interval=5, clock=clock)
    clock.now += 6
    lines.advance(30_000)
    assert out.getvalue() == "reading event logs: 30,000 events, 5,000 events/s\n"


def test_a_short_run_says_nothing() -> None:
    console, out = _console()
    with progress(console, "sweeping", "files") as reporter:
        reporter.advance(10, 100)
    assert out.getvalue() == ""


def test_a_terminal_gets_the_bar() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True)
    with progress(console, "sweeping", "files", total=10) as reporter:
        assert not isinstance(reporter, LineProgress)
        reporter.advance(10, 1000)


def test_a_sweep_without_a_terminal_writes_progress_lines(
    tmp_path: Path,
    case_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "INTERVAL_SECONDS", 0.0)  # a line at every batch
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for index in range(5):
        (evidence / f"f{index}.txt").write_text("x" * 100, encoding="utf-8")
    capsys.readouterr()
    assert run(["--case", str(case_dir), "collect", "files", str(evidence), "--json"]) == 0
    err = capsys.readouterr().err
    assert "sweeping: 5 files, 500 B, " in err and "; done in " in err
