"""Progress of a long collection, for a person at a terminal and for a log file alike.

A collector (file sweep, event logs, network logs) reports what it has done through the tiny
:class:`Reporter` protocol: ``advance(items, nbytes)``, with the total set when it is known. The
command wraps the run in :func:`progress`, which picks how to show it:

- stderr is a terminal: a rich bar with the count, the rate (items and MB per second) and, when
  the total is known, the time left;
- stderr is not a terminal (a pipe, a file, CI, ``nohup``): one plain line every few seconds,
  ``sweeping: 120,000 files, 4.2 GB, 3,100 files/s, 95.0 MB/s`` (with the share done and the
  time left when the total is known), and a closing line; a run shorter than the interval
  prints nothing.

Progress always goes to stderr, so stdout keeps ``--json``'s one document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from rich.console import Console

if TYPE_CHECKING:  # rich.progress is imported when a terminal needs the bar
    from rich.progress import Progress, TaskID

INTERVAL_SECONDS = 5.0


class Reporter(Protocol):
    """What a collector calls as it goes (items in its own unit: files, events, rows)."""

    def advance(self, items: int, nbytes: int = 0) -> None: ...

    def set_total(self, total: int | None) -> None: ...


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(nbytes) < 1000 or unit == "GB":
            return f"{nbytes:,.0f} {unit}" if unit == "B" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:,.1f} TB"  # pragma: no cover (unreachable: GB is the last unit)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class LineProgress:
    """The plain reporter: a line every ``interval`` seconds, written to ``console``."""

    def __init__(
        self,
        console: Console,
        label: str,
        unit: str,
        total: int | None = None,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.label = label
        self.unit = unit
        self.total = total
        self.interval = INTERVAL_SECONDS if interval is None else interval
        self.clock = clock
        self.items = 0
        self.nbytes = 0
        self.started = clock()
        self.last = self.started
        self.lines = 0

    def set_total(self, total: int | None) -> None:
        self.total = total

    def advance(self, items: int, nbytes: int = 0) -> None:
        self.items += items
        self.nbytes += nbytes
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def line(self, now: float | None = None) -> str:
        """The current state as one line (``now`` defaults to the clock)."""
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = self.items / elapsed
        parts = [f"{self.items:,} {self.unit}"]
        if self.nbytes:
            parts.append(_size(self.nbytes))
        parts.append(f"{rate:,.0f} {self.unit}/s")
        if self.nbytes:
            parts.append(f"{self.nbytes / 1e6 / elapsed:,.1f} MB/s")
        text = f"{self.label}: " + ", ".join(parts)
        if self.total:
            share = min(self.items / self.total, 1.0)
            text += f" ({share:.0%} of {self.total:,}"
            left = (self.total - self.items) / rate if rate and self.items < self.total else 0
            text += f", about {_duration(left)} left)" if left else ")"
        return text

    def _line(self, now: float) -> None:
        self.lines += 1
        self.console.print(self.line(now), markup=False, highlight=False, soft_wrap=True)

    def finish(self) -> None:
        """Close with the totals, when the run was long enough to have said anything."""
        if self.lines:
            now = self.clock()
            self.console.print(
                f"{self.line(now)}; done in {_duration(now - self.started)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


class _BarProgress:
    """The terminal reporter: a rich task fed by :meth:`advance`."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar = bar
        self.task = task
        self.nbytes = 0

    def set_total(self, total: int | None) -> None:
        self.bar.update(self.task, total=total)

    def advance(self, items: int, nbytes: int = 0) -> None:
        self.nbytes += nbytes
        self.bar.update(self.task, advance=items, nbytes=self.nbytes)


@contextmanager
def progress(
    console: Console, label: str, unit: str, total: int | None = None
) -> Iterator[Reporter]:
    """A reporter for one collection: a bar on a terminal, periodic lines otherwise."""
    if not console.is_terminal:
        lines = LineProgress(console, label, unit, total)
        yield lines
        lines.finish()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        """Items/s from rich's own speed estimate, MB/s from the bytes since the start."""

        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            speed = task.speed or (task.completed / elapsed if elapsed else 0.0)
            megabytes = task.fields.get("nbytes", 0) / 1e6 / elapsed if elapsed else 0.0
            text = f"{speed:,.0f} {unit}/s" + (f" {megabytes:,.1f} MB/s" if megabytes else "")
            return Text(text, style="progress.data.speed")

    columns = (
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        yield _BarProgress(bar, bar.add_task(label, total=total, nbytes=0))
