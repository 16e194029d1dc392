"""Shared test fixtures.

Real evidence and intel live in ``../shared/data`` (never copied into the project). Tests that
need it skip with a clear reason when it is absent, except under CI (``CI=true``) where a missing
corpus is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def yara_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The compiled shipped YARA set goes to a cache of this test session, not the user's home
    (compiled once per session, by the first sweep or test that scans)."""
    before = os.environ.get("SEAWALL_CACHE_DIR")
    path = tmp_path_factory.mktemp("seawall-cache")
    os.environ["SEAWALL_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        del os.environ["SEAWALL_CACHE_DIR"]
    else:
        os.environ["SEAWALL_CACHE_DIR"] = before
