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
        total_bytes: int | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.label = label
        self.unit = unit
        self.total = total
        self.total_bytes = total_bytes
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
        elif self.total_bytes:  # the input's size is known, not its count of items
            share = min(self.nbytes / self.total_bytes, 1.0)
            speed = self.nbytes / elapsed
            text += f" ({share:.0%} of {_size(self.total_bytes)}"
            left = (self.total_bytes - self.nbytes) / speed if speed and share < 1 else 0
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
    """The terminal reporter: a rich task fed by :meth:`advance`. With ``by_bytes`` the task
    counts the input's bytes (its total is the input's size, so the time left is the input's)
    and the items ride along as a field."""

    def __init__(self, bar: Progress, task: TaskID, *, by_bytes: bool = False) -> None:
        self.bar = bar
        self.task = task
        self.by_bytes = by_bytes
        self.items = 0
        self.nbytes = 0

    def set_total(self, total: int | None) -> None:
        if not self.by_bytes:
            self.bar.update(self.task, total=total)

    def advance(self, items: int, nbytes: int = 0) -> None:
        self.items += items
        self.nbytes += nbytes
        step = nbytes if self.by_bytes else items
        self.bar.update(self.task, advance=step, nbytes=self.nbytes, items=self.items)


@contextmanager
def progress(
    console: Console,
    label: str,
    unit: str,
    total: int | None = None,
    *,
    total_bytes: int | None = None,
) -> Iterator[Reporter]:
    """A reporter for one collection: a bar on a terminal, periodic lines otherwise. ``total``
    counts items; ``total_bytes`` (instead) is the input's size, for readers whose count of
    items is only known at the end."""
    if not console.is_terminal:
        lines = LineProgress(console, label, unit, total, total_bytes=total_bytes)
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
            if total_bytes is not None:
                speed = task.fields.get("items", 0) / elapsed if elapsed else 0.0
            else:
                speed = task.speed or (task.completed / elapsed if elapsed else 0.0)
            megabytes = task.fields.get("nbytes", 0) / 1e6 / elapsed if elapsed else 0.0
            text = f"{speed:,.0f} {unit}/s" + (f" {megabytes:,.1f} MB/s" if megabytes else "")
            return Text(text, style="progress.data.speed")

    by_bytes = total_bytes is not None
    count = () if by_bytes else (MofNCompleteColumn(),)
    columns = (
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        *count,
        Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total_bytes if by_bytes else total, nbytes=0, items=0)
        yield _BarProgress(bar, task, by_bytes=by_bytes)
