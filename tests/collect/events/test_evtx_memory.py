"""Peak memory of ``seawall collect evtx`` does not grow with the file: a subprocess collects a
generated EVTX file, then one three times its size (real chunks, distinct record ids), and
their peak RSS must be about the same (the command's and its EVTX worker's, added: files this
large are read in a worker process while the command writes).

The sizes are past the point where DuckDB's cache reaches its cap (``EVENTS_MEMORY``): below
it, the cache grows with what was written, by design, up to the cap. The 2 GB set and the
file over 4 GiB are in ``benchmarks/evtx_ingest.py`` (too slow for the test suite).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seawall.collect.events import is_evtx, select_files
from tests.collect.events.synth import real_chunks, write_evtx
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[3]
_PROBE = (
    "import resource, sys\n"
    "from seawall.cli.app import run\n"
    "code = run(sys.argv[1:])\n"
    "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(own + worker, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _collect(path: Path, case_dir: Path) -> tuple[int, int]:
    """(events collected, peak RSS in KB of the command plus its worker) in a fresh process."""
    arguments = ["--case", str(case_dir), "collect", "evtx", str(path), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["rows"]["events"], int(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    chunks = real_chunks(select_files([shared("evtx")], is_evtx).files)
    small, large = tmp_path / "small.evtx", tmp_path / "large.evtx"
    small_records = write_evtx(small, chunks, 250_000_000, first_id=1)
    large_records = write_evtx(large, chunks, 750_000_000, first_id=10**8)
    small_events, small_rss = _collect(small, tmp_path / "case-small")
    small.unlink()
    large_events, large_rss = _collect(large, tmp_path / "case-large")
    assert (small_events, large_events) == (small_records, large_records)
    assert large_records > 3 * small_records * 0.95
    # three times the events, about the same peak: within 15% (allocator noise)
    assert large_rss < small_rss * 1.15, (small_rss, large_rss)
