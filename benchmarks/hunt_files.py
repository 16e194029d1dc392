"""Benchmark: the file detections of `seawall hunt` over a large generated `files` table.

A sweep of a file server records millions of rows; every file detection must stay close to the
cost of simply reading those rows. The table is generated in DuckDB (Windows paths under user
profiles and Program Files, MD5/SHA-1/SHA-256 of the row number, PE original names and signature
statuses on a third of the rows with one renamed and one invalid in a few thousand, a known tool
on one row in a thousand, in and out of its standard folder), hash, name and path indicators are
imported through the ordinary text importer, and each detection runs alone through the real
engine, which also writes its findings.

**Limits**, measured in the same run on the same table:
- for ``ioc.file-hash``: the plain equi-joins of the three hash columns against the indicator
  values, fetched as Arrow (the detection adds verdicts, judgements and findings);
- for the analytics that look at rows in Python: streaming every row of the columns they read
  into Python dicts (``seawall.detect.evidence.stream``), the least any of them could do.

No issue sets a target for these; the figures are recorded in ``benchmarks/README.md``.

    python benchmarks/hunt_files.py [--files 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.evidence import FILE_COLUMNS, stream
from seawall.intel.importer import import_files

DETECTIONS = (
    "ioc.file-hash",
    "ioc.file-name",
    "host.legit-tool-location",
    "host.renamed-binary",
    "host.signature-invalid",
)
_TOOLS = ("putty.exe", "cmd.exe", "svchost.exe", "7z.exe", "psexec.exe")
_TOOL_FOLDERS = (
    "c:\\program files\\putty",
    "c:\\windows\\system32",
    "c:\\users\\public\\music",
    "c:\\program files\\7-zip",
    "c:\\perflogs",
)
_STATUSES = ("signed-trusted", "signed-untrusted", "unsigned")

# One row per number i: a tool on one row in 1,000, else an ordinary DLL; PE columns on a third.
_GENERATE = f"""
INSERT INTO files (host, path, windows_path, name, size, mtime, os, file_kind, file_type,
    md5, sha1, sha256, pe_original_name, signature_status, source_file, record_ref)
SELECT 'bench', path, path, name, 4096 + i % 100000, TIMESTAMP '2026-01-01' + to_seconds(i),
    'windows', 'regular', CASE WHEN pe THEN 'pe32' ELSE 'data' END,
    md5(i::VARCHAR), sha1(i::VARCHAR), sha256(i::VARCHAR),
    CASE WHEN NOT pe THEN NULL WHEN i % 97 = 0 THEN 'other.dll' ELSE name END,
    CASE WHEN NOT pe THEN NULL WHEN i % 3000 = 3 THEN 'invalid'
         ELSE {list(_STATUSES)}[1 + (i // 3) % 3] END,
    'generated', i::VARCHAR
FROM (
    SELECT i, pe, name, folder || '\\' || name AS path FROM (
        SELECT i, i % 3 = 0 AS pe,
            CASE WHEN i % 1000 = 7 THEN {list(_TOOLS)}[1 + (i // 1000) % 5]
                 ELSE 'lib' || i || '.dll' END AS name,
            CASE WHEN i % 1000 = 7 THEN {list(_TOOL_FOLDERS)}[1 + (i // 7000) % 5]
                 ELSE 'c:\\users\\u' || i % 50 || '\\appdata\\local\\app' || i % 997 END
                AS folder
        FROM range($files) r(i)
    )
)
"""


def _indicators(files: int) -> list[str]:
    """10,000 MD5s, 1,000 of them of rows in the table; names and a glob path."""
    present = [hashlib.md5(str(i).encode()).hexdigest() for i in range(0, files, files // 1000)]
    absent = [hashlib.md5(f"absent-{i}".encode()).hexdigest() for i in range(9000)]
    names = [f"lib{i}.dll" for i in range(1, files, files // 100)]
    return [*present, *absent, *names, "c:\\users\\*\\appdata\\local\\app13\\*.dll"]


def _plain_hash_join(store: CaseStore) -> float:
    started = time.perf_counter()
    store.con.sql(
        " UNION ALL ".join(
            f"SELECT f.path, i.value FROM files f JOIN indicators i ON i.value = f.{column}"
            for column in ("md5", "sha1", "sha256")
        )
    ).to_arrow_table()
    return time.perf_counter() - started


def _plain_stream(store: CaseStore) -> float:
    started = time.perf_counter()
    for _ in stream(store, f"SELECT {', '.join(FILE_COLUMNS)} FROM files"):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as work:
        intel = Path(work) / "iocs.txt"
        intel.write_text("\n".join(_indicators(args.files)) + "\n", encoding="utf-8")
        with CaseStore.open(Path(work) / "case", create=True) as store:
            store.con.complete()
            with store.transaction():
                store.con.execute(_GENERATE, {"files": args.files})
            import_files(store, [intel], "bench")
            timings: dict[str, list[float]] = {d: [] for d in DETECTIONS}
            found: dict[str, int] = {}
            join, scan = [], []
            for _ in range(args.repeat):
                join.append(_plain_hash_join(store))
                scan.append(_plain_stream(store))
                for detection in DETECTIONS:
                    started = time.perf_counter()
                    document = hunt(store, HuntRequest(detection_ids=(detection,)))
                    timings[detection].append(time.perf_counter() - started)
                    found[detection] = len(document.findings)

    print(f"files table: {args.files:,} rows; best of {args.repeat}")
    print(f"limit, plain hash equi-join: {min(join):.2f} s")
    print(f"limit, streaming every row into Python: {min(scan):.2f} s")
    for detection in DETECTIONS:
        seconds = min(timings[detection])
        limit = min(join) if detection == "ioc.file-hash" else min(scan)
        print(
            f"{detection}: {seconds:.2f} s = {args.files / seconds:,.0f} rows/s,"
            f" {found[detection]:,} findings, ratio to its limit {limit / seconds:.2f}"
        )


if __name__ == "__main__":
    main()
