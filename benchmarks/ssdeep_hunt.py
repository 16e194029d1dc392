"""Benchmark: ssdeep indicators in `seawall hunt` (``ioc.file-hash``) over a swept tree.

The hunt fuzzy-hashes from the evidence only the swept files whose size lets them match an
indicator's block size, over one worker process per core. The indicators are the ssdeep values
of three files of the tree (near 20 KB, 200 KB and 1 MB), so that their size windows cover a
realistic spread and each has at least its own file to match.

**Limit**, measured in the same run on the same files: ppdeep hashing the candidate files'
bytes from memory in this one process (the library's own speed, no I/O, no comparison), times
the number of cores (perfect parallelism). The ratio says how much of that the hunt keeps.

    python benchmarks/ssdeep_hunt.py [--path /usr/lib/python3.11] [--sample-mb 16]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.collect.files import CollectOptions, collect_files
from seawall.detect.engine import HuntRequest, hunt
from seawall.features.fuzzy import fuzzy_hash, size_window
from seawall.intel.importer import import_files


def _pick(store: CaseStore, size: int) -> tuple[str, int]:
    rows = store.con.execute(
        "SELECT path, size FROM files WHERE coalesce(file_kind, 'regular') = 'regular'"
        " ORDER BY abs(size - ?) LIMIT 1",
        [size],
    ).fetchall()
    return str(rows[0][0]), int(rows[0][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/usr/lib/python3.11")
    parser.add_argument("--sample-mb", type=float, default=16.0, help="bytes for the limit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        case = Path(work) / "case"
        with CaseStore.open(case, create=True) as store:
            collect_files(store, [args.path], CollectOptions(host="bench", webshells=False))
            store.con.complete()
            picked = [_pick(store, size) for size in (20_000, 200_000, 1_000_000)]
            values = [fuzzy_hash(Path(path).read_bytes()) for path, _ in picked]
            store.con.complete()
        listing = Path(work) / "ssdeep.txt"
        listing.write_text("\n".join(values) + "\n", encoding="utf-8")
        with CaseStore.open(case) as store:
            import_files(store, [listing])
            windows = [size_window(int(v.split(":")[0])) for v in values]
            ranges = " OR ".join(f"size BETWEEN {low} AND {high}" for low, high in windows)
            candidates = store.con.sql(
                f"SELECT path, size FROM files WHERE ({ranges}) ORDER BY hash(path)"
            ).fetchall()
            started = time.perf_counter()
            document = hunt(store, HuntRequest(detection_ids=("ioc.file-hash",)))
            seconds = time.perf_counter() - started
    notes = " ".join(document.coverage[0].notes)
    found = re.search(r"\(([\d,.]+) MB\)", notes)
    megabytes = float(found.group(1).replace(",", "")) if found else 0.0
    # The limit: ppdeep over a sample of the same candidate files, from memory, one process.
    sample, nbytes = [], 0
    for path, size in candidates:
        if nbytes >= args.sample_mb * 1e6:
            break
        try:
            sample.append(Path(path).read_bytes())
        except OSError:
            continue
        nbytes += size
    started = time.perf_counter()
    for data in sample:
        fuzzy_hash(data)
    raw = nbytes / 1e6 / (time.perf_counter() - started)
    cores = os.cpu_count() or 1
    rate = megabytes / seconds
    print(f"tree {args.path}: indicators of block sizes {[v.split(':')[0] for v in values]}")
    print(f"candidates {len(candidates):,} files, {megabytes:,.1f} MB hashed in {seconds:.2f} s")
    print(f"hunt {rate:.2f} MB/s; ppdeep alone {raw:.2f} MB/s on one core, x{cores} cores")
    print(f"ratio {rate / (raw * cores):.2f}; findings {len(document.findings)}")


if __name__ == "__main__":
    main()
