"""Every file under ../shared/data/network is read with nothing lost.

Each data line of each log becomes a row or a warning at its line; header lines (Zeek's ``#``
lines) are neither and are counted as such. Files that are not logs are refused, each named
here with the reason the test expects: the corpora's own documentation, and the iodine
corpus's ``tshark.capture``, which is tshark's text output (``-T fields -e dns.qry.name``: one
query name a line, no time, no address) and is refused as such.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

from ..conftest import shared
from .netlogs import ingest

NOT_LOGS = {
    "README.md": "not a log format seawall knows",
    "LICENSE": "not a log format seawall knows",
    "LICENSE.txt": "not a log format seawall knows",
    "tshark.capture": "looks like tshark text output",
}


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.splitlines()


def test_every_network_file_is_read_with_nothing_lost(tmp_path: Path) -> None:
    root = shared("network")
    report = ingest(tmp_path / "case", root)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert sorted(s.path for s in report.sources) == sorted(str(p) for p in files)
    at_line: Counter[str] = Counter()
    for warning in report.warnings:
        where, _, line = warning.location.rpartition(":")
        if line.isdigit():
            at_line[where] += 1
    assert report.warning_count == len(report.warnings)  # all kept: the counts are exact
    logs = 0
    for source in report.sources:
        path = Path(source.path)
        if path.name in NOT_LOGS:
            assert source.refused is not None and NOT_LOGS[path.name] in source.refused, path
            continue
        assert source.refused is None, (path, source.refused)
        lines = _lines(path)
        headers = sum(1 for x in lines if x.startswith(b"#")) if source.format == "zeek" else 0
        rows = sum(source.rows.values())
        assert rows + at_line[source.path] + headers == len(lines), (
            path,
            rows,
            at_line[source.path],
            headers,
            len(lines),
        )
        logs += 1
    assert logs == len(files) - sum(1 for p in files if p.name in NOT_LOGS) == 33
    # the real files hold no malformed line: every data line is a row
    assert sum(at_line.values()) == 0
    assert report.rows["dns"] == 53_615 + 82
