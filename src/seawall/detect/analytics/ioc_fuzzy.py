"""ssdeep indicators against swept files, for ``ioc.file-hash``: fuzzy hashes at hunt time.

The sweep records no fuzzy hash (ssdeep indicators are rare, and hashing every file with a
pure-Python ssdeep would slow every sweep). When the case holds ssdeep indicators, the hunt
re-reads from the evidence, read-only, only the swept files whose size lets them be compared
with one of them (:func:`seawall.features.fuzzy.size_window`), up to ``ssdeep_max_bytes`` a
file, and reports each whose ssdeep score against an indicator reaches ``ssdeep_min_score``.
Files it could not read (gone, changed) or would not (over the byte cap) are counted in the
coverage notes: never taken as "no match".
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from seawall.collect.orphans import die_with_parent
from seawall.detect.analytics import AnalyticContext
from seawall.detect.evidence import FILE_COLUMNS, read_unchanged, stream
from seawall.features.fuzzy import block_size, comparable, compare, fuzzy_hash, size_window

# ssdeep scores run from 0 to 100; 70 keeps variants of one build (a changed string table, a
# patched resource) and drops files that merely share a compiler's runtime or a packer's stub.
DEFAULT_MIN_SCORE = 70
# ppdeep hashes about 3.5 MB/s (measured here on executables): 16 MiB is about 5 s for one file.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024

_SELECT = ", ".join(f"f.{column}" for column in FILE_COLUMNS)
# Files handed to the workers at a time (the rows of a batch wait here for their values).
BATCH_FILES = 256
# Fewer candidates than this are hashed here: starting workers would cost more than it saves.
POOL_FROM = 8


def _value_of(job: tuple[str, int]) -> str | None:
    """The ssdeep value of the unchanged evidence file ``(path, size)``, else None (gone or
    changed)."""
    data = read_unchanged(*job)
    return None if data is None else fuzzy_hash(data)


@contextmanager
def _mapper(candidates: int) -> Iterator[Any]:
    """``map`` over worker processes (one per core) when there is enough to hash, else here.

    Hashing is pure Python (ppdeep): one process per core is the only way to use them. ``fork``
    as in the sweep: the workers only read and hash files and never touch the case's DuckDB
    connection; they die with this process (``die_with_parent``).
    """
    workers = os.cpu_count() or 1
    if candidates < POOL_FROM or workers < 2:
        yield map
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        yield lambda function, jobs: pool.map(function, jobs, chunksize=4)


def _windows(blocks: set[int]) -> list[tuple[int, int]]:
    """The size windows of the indicators' block sizes, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(size_window(block) for block in blocks):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _matches(
    row: dict[str, Any], value: str, indicators: list[tuple[int, str]], threshold: int
) -> list[dict[str, Any]]:
    """``row`` once per indicator its ssdeep ``value`` scores at least ``threshold`` against."""
    own = block_size(value) or 0
    found: list[dict[str, Any]] = []
    for block, indicator in indicators:
        if not comparable(own, block):
            continue
        score = compare(value, indicator)
        if score >= threshold:
            how = (
                f"its ssdeep {value} scores {score} of 100 against the indicator {indicator}"
                f" (threshold {threshold}; fuzzy-hashed at hunt time)"
            )
            match = {"ioc_type": "ssdeep", "ioc_value": indicator, "how": how}
            found.append({**row, **match, "similarity": float(score)})
    return found


def ssdeep_rows(context: AnalyticContext, values: list[str]) -> list[dict[str, Any]]:
    """Swept files whose ssdeep value, computed now from the unchanged evidence, scores at least
    ``ssdeep_min_score`` against one of the ssdeep indicators ``values``."""
    threshold = int(context.parameters.get("ssdeep_min_score", DEFAULT_MIN_SCORE))
    max_bytes = int(context.parameters.get("ssdeep_max_bytes", DEFAULT_MAX_BYTES))
    indicators = [(block, value) for value in values if (block := block_size(value)) is not None]
    if not indicators:
        return []
    windows = _windows({block for block, _ in indicators})
    sizes = " OR ".join(f"f.size BETWEEN {low} AND {high}" for low, high in windows)
    where = f"coalesce(f.file_kind, 'regular') = 'regular' AND ({sizes})"
    counted = context.store.con.sql(
        f"SELECT count(*) FILTER (f.size > {max_bytes}), count(*) FROM files f WHERE {where}"
    ).fetchall()
    too_large, candidates = int(counted[0][0]), int(counted[0][1])
    sql = f"SELECT {_SELECT} FROM files f WHERE {where} AND f.size <= {max_bytes}"
    hashed = unreachable = nbytes = 0
    found: list[dict[str, Any]] = []
    with _mapper(candidates - too_large) as mapper:
        batch: list[dict[str, Any]] = []
        for row in itertools.chain(stream(context.store, sql), [None]):  # None: the last batch
            if row is not None:
                batch.append(row)
                if len(batch) < BATCH_FILES:
                    continue
            jobs = [(str(r["path"]), int(r.get("size") or 0)) for r in batch]
            for row_done, value in zip(batch, mapper(_value_of, jobs), strict=True):
                if value is None:
                    unreachable += 1
                    continue
                hashed += 1
                nbytes += int(row_done.get("size") or 0)
                found += _matches(row_done, value, indicators, threshold)
            batch = []
    shown = ", ".join(f"{low:,}-{high:,}" for low, high in windows)
    context.note(
        f"{len(values)} ssdeep indicators compared at score >= {threshold}: {hashed} swept files"
        f" in their size windows ({shown} bytes) fuzzy-hashed from the evidence"
        f" ({nbytes / 1e6:,.1f} MB), {too_large} over ssdeep_max_bytes {max_bytes:,} and"
        f" {unreachable} no longer reachable unchanged (not compared)"
    )
    return found
