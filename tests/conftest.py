"""Shared test fixtures.

Real evidence and intel live in ``../shared/data`` (never copied into the project). Tests that
need it skip with a clear reason when it is absent, except under CI (``CI=true``) where a missing
corpus is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seawall.case import store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"


def shared(relative: str) -> Path:
    """Path to a file of ``../shared/data``; skip (or fail under CI) when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = f"real test data {path} is absent (../shared/data not present)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    return tmp_path / "case"


def cut_short(run_id: str) -> None:
    """Make ``run_id`` look like a run of a process that was killed: started in the case, no
    longer in progress anywhere (a real kill is tested with a subprocess in test_files.py)."""
    store._RUNS_IN_PROGRESS.discard(run_id)
