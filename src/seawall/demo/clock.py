"""The scenario's clock: fourteen days from a fixed Monday, so that every run writes the same
times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

BASE = datetime(2024, 3, 4, tzinfo=UTC)
"""Monday, midnight UTC (08:00 in Perth, where the company works): day 0 of the window."""
DAYS = 14
DEFAULT_SEED = 20210719
"""The day AA21-200A was published."""


def at(day: int, hours: int = 0, minutes: int = 0, seconds: float = 0) -> datetime:
    """A time of the scenario: ``day`` days after ``BASE`` plus a time of day (UTC)."""
    return BASE + timedelta(days=day, hours=hours, minutes=minutes, seconds=seconds)
