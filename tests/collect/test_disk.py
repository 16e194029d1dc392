"""`seawall collect disk` and the `host.disk-growth` detection, on real DuckDB.

The CSVs are generated here: a month of ordinary daily noise is what makes "significant growth"
meaningful, and a real fleet's exports are not something a test can ship.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli import collect
from seawall.cli.output import CliState
from seawall.collect.base import Mediator, ReadWarning, SourceFile, sha256_of
from seawall.collect.disk import DiskCsvReader, collect_disk, snapshot_mounts
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.schema import shipped_detections
from seawall.errors import BadInputError, UsageError

GB = 1_000_000_000
START = datetime(2024, 3, 1, 2, 0, 0)
HEADER = "time,host,mount,total_bytes,used_bytes,device,fs_type"

Row = tuple[datetime, str, str, int, int]


def _write_csv(path: Path, rows: list[Row]) -> Path:
    lines = [HEADER]
    lines += [
        f"{t.isoformat()}Z,{h},{m},{total},{used},/dev/sda1,ext4" for t, h, m, total, used in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _noisy(host: str, mount: str, used: int, days: int, rng: random.Random) -> list[Row]:
    """``days`` daily snapshots of ordinary use: within 1% of ``used`` every day."""
    return [
        (START + timedelta(days=d), host, mount, 500 * GB, int(used * rng.uniform(0.99, 1.01)))
        for d in range(days)
    ]


def _import(case_dir: Path, *csvs: Path) -> list[ReadWarning]:
    with CaseStore.open(case_dir) as store:
        report = collect_disk(store, imports=list(csvs), snapshot=False)
    return report.warnings


def import_csv(path: Path, mediator: Mediator | None = None) -> pa.Table:
    """The rows the reader makes of one CSV (what the ingest then writes)."""
    source = SourceFile(path, str(path), sha256_of(path), path.stat().st_size)
    reader = DiskCsvReader()
    batches = [b.data for b in reader.read(source, mediator or Mediator())]
    return pa.concat_tables(batches)


def _findings(case_dir: Path, **parameters: Any) -> list[dict[str, Any]]:
    """``host.disk-growth``'s findings through the hunt engine, each flattened to its evidence
    row plus the finding's own fields (times back as datetimes, as the SQL returned them)."""
    request = HuntRequest(
        detection_ids=("host.disk-growth",), parameters={"host.disk-growth": parameters}
    )
    with CaseStore.open(case_dir) as store:
        document = hunt(store, request)
    assert [e.status for e in document.coverage] == ["ran"]
    flat: list[dict[str, Any]] = []
    for finding in sorted(document.findings, key=lambda f: (f.first_seen or START, f.host or "")):
        row: dict[str, Any] = dict(finding.evidence[0].row)
        row.update(
            host=finding.host,
            summary=finding.summary,
            score=finding.score,
            first_seen=finding.first_seen,
            last_seen=finding.last_seen,
        )
        flat.append(row)
    return flat


def test_live_snapshot_has_the_root_file_system(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "blob").write_bytes(b"x" * 5000)
    (tmp_path / "top").write_bytes(b"y" * 10)
    (tmp_path / "link").symlink_to("/usr")  # never followed
    mediator = Mediator()
    table = snapshot_mounts("me", [str(tmp_path), str(tmp_path / "missing")], mediator=mediator)
    warnings = mediator.kept
    rows = table.to_pylist()
    root = [r for r in rows if r["mount"] == "/" and r["path"] is None]
    assert len(root) == 1
    assert root[0]["total_bytes"] >= root[0]["used_bytes"] > 0
    assert root[0]["source_file"] == "/proc/self/mounts" and len(root[0]["source_sha256"]) == 64
    assert not {r["fs_type"] for r in rows} & {"proc", "sysfs", "cgroup", "devpts"}
    sizes = {r["path"]: r["used_bytes"] for r in rows if r["path"] is not None}
    base = str(tmp_path.resolve())
    assert sizes == {base: 5010, f"{base}/sub": 5000}
    assert [w.location for w in warnings] == [str(tmp_path / "missing")]


def test_growth_spike_is_flagged_with_figures(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows: list[Row] = []
    for host in ("web01", "db01"):
        rows += _noisy(host, "/", 20 * GB, 31, rng) + _noisy(host, "/data", 66_666_666_667, 31, rng)
    rows = [r for r in rows if not (r[1] == "web01" and r[2] == "/data" and r[0] == rows[30][0])]
    before = 66_666_666_667
    rows.append((START + timedelta(days=30), "web01", "/data", 500 * GB, before))
    rows.append((START + timedelta(days=31), "web01", "/data", 500 * GB, before + 40 * GB))
    rows.append((START + timedelta(days=31), "db01", "/data", 500 * GB, before + GB // 2))
    _import(tmp_path / "case", _write_csv(tmp_path / "fleet.csv", rows))
    findings = _findings(tmp_path / "case")
    assert [(f["host"], f["mount"]) for f in findings] == [("web01", "/data")]
    finding = findings[0]
    assert finding["growth_bytes"] == 40 * GB and finding["baseline"] == "history"
    assert finding["growth_ratio"] == pytest.approx(0.6)
    assert finding["history_points"] == 30 and 40 <= finding["score"] <= 100
    assert finding["first_seen"] == START + timedelta(days=30)
    for figure in ("grew by 40.0 GB", "66.7 GB to 106.7 GB", "+60%", "30 intervals", "MAD"):
        assert figure in finding["summary"]


def test_steady_large_daily_change_is_not_flagged(tmp_path: Path) -> None:
    rng = random.Random(11)
    rows: list[Row] = []
    archive, backup = 100 * GB, 20 * GB
    for day in range(31):
        when = START + timedelta(days=day)
        archive += int(50 * GB * rng.uniform(0.99, 1.01))  # a log archive: +50 GB every day
        backup = 20 * GB + (50 * GB if day % 2 else 0)  # nightly backup written, then shipped
        rows.append((when, "logs01", "/archive", 10_000 * GB, archive))
        rows.append((when, "bk01", "/backup", 500 * GB, backup))
    last = START + timedelta(days=31)
    rows.append((last, "logs01", "/archive", 10_000 * GB, archive + 55 * GB))
    rows.append((last, "bk01", "/backup", 500 * GB, backup + 55 * GB))
    _import(tmp_path / "case", _write_csv(tmp_path / "steady.csv", rows))
    every = _findings(tmp_path / "case", min_growth_ratio=0.0)
    assert not [f for f in every if f["last_seen"] == last]
    # The only findings are from the first days, before there was enough history to judge.
    assert every and all(f["baseline"] == "fixed thresholds only" for f in every)
    assert all(f["last_seen"] <= START + timedelta(days=7) for f in every)
    # A real excess over the same steady change still stands out.
    with CaseStore.open(tmp_path / "case") as store, store.transaction():
        store.con.execute(
            "UPDATE disk SET used_bytes = used_bytes + ? WHERE host = 'logs01' AND time = ?",
            [100 * GB, last],
        )
    flagged = [
        f for f in _findings(tmp_path / "case", min_growth_ratio=0.0) if f["last_seen"] == last
    ]
    assert [(f["host"], f["baseline"]) for f in flagged] == [("logs01", "history")]


def test_too_little_history_falls_back_to_fixed_thresholds(tmp_path: Path) -> None:
    rows: list[Row] = [
        (START, "new01", "/", 200 * GB, 10 * GB),
        (START + timedelta(days=1), "new01", "/", 200 * GB, 10 * GB + GB // 10),
        (START + timedelta(days=2), "new01", "/", 200 * GB, 30 * GB),
        (START + timedelta(days=2), "new01", "/srv", 200 * GB, 100 * GB),
        (START + timedelta(days=3), "new01", "/srv", 200 * GB, 110 * GB),  # +10%: below ratio
    ]
    _import(tmp_path / "case", _write_csv(tmp_path / "new.csv", rows))
    findings = _findings(tmp_path / "case")
    assert [(f["mount"], f["baseline"]) for f in findings] == [("/", "fixed thresholds only")]
    summary = findings[0]["summary"]
    assert "only 1 earlier intervals of history (fewer than 7)" in summary
    assert "fixed thresholds alone (at least 5.0 GB and +20%)" in summary
    assert 30 <= findings[0]["score"] <= 60


def test_bad_rows_warn_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    good = "2024-03-01T00:00:00+02:00,h,/,100,50"
    lines = [
        "\ufefftime,host,mount,total_bytes,used_bytes,colour",  # BOM and an unknown column
        good + ",red",
        "yesterday,h,/,100,50,red",
        "2024-03-02T00:00:00,h,/,100,500,red",
        "2024-03-03T00:00:00,h,/,100,-1,red",
        "2024-03-04T00:00:00,h,/,100",
        "2024-03-05T00:00:00,,/,100,50,red",
    ]
    data = "\n".join(lines).encode() + b"\n2024-03-06T00:00:00,h\xff,/,1,1,red\n" + good.encode()
    path.write_bytes(data + b",blue\n")
    mediator = Mediator()
    rows = import_csv(path, mediator).to_pylist()
    assert [r["record_ref"] for r in rows] == ["2", "9"]
    assert rows[0]["time"] == datetime(2024, 2, 29, 22, 0)  # converted to UTC
    located = {w.location: w.message for w in mediator.kept}
    assert set(located) == {f"{path}:{n}" for n in (1, 3, 4, 5, 6, 7, 8)}
    assert "colour" in located[f"{path}:1"] and "ISO 8601" in located[f"{path}:3"]
    assert "more than total_bytes" in located[f"{path}:4"]
    assert "UTF-8" in located[f"{path}:8"]


def test_missing_required_column_fails_at_line_one(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("time,host,mount,used_bytes\n2024-03-01T00:00:00,h,/,1\n", encoding="utf-8")
    with pytest.raises(BadInputError) as raised:
        import_csv(path)
    assert raised.value.location == f"{path}:1" and "total_bytes" in raised.value.message


def test_a_refused_csv_costs_only_itself(tmp_path: Path) -> None:
    """One CSV without a required column is refused (exit 3, with its location); the good one
    beside it is imported with its provenance."""
    bad = tmp_path / "short.csv"
    bad.write_text("time,host,mount,used_bytes\n2024-03-01T00:00:00,h,/,1\n", encoding="utf-8")
    good = _write_csv(tmp_path / "good.csv", _noisy("h2", "/", GB, 2, random.Random(5)))
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(case_dir=tmp_path / "case")

    root.add_typer(collect.app, name="collect")
    args = ["collect", "disk", "--import", str(bad), "--import", str(good), "--json"]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert [i["refused"] is not None for i in document["imports"]] == [True, False]
    assert "total_bytes" in document["imports"][0]["refused"]
    assert f"{bad}:1" in [w["location"] for w in document["warnings"]]
    with CaseStore.open(tmp_path / "case") as store:
        rows = store.con.execute(
            "SELECT DISTINCT source_file, source_sha256, run_id IS NOT NULL FROM disk"
        ).fetchall()
    assert rows == [(str(good), sha256_of(good), True)]


def test_reimport_adds_nothing_and_cli_prints_one_document(tmp_path: Path) -> None:
    csv_path = _write_csv(tmp_path / "a.csv", _noisy("h1", "/", 10 * GB, 3, random.Random(1)))
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(case_dir=tmp_path / "case")

    root.add_typer(collect.app, name="collect")
    first = CliRunner().invoke(root, ["collect", "disk", "--import", str(csv_path), "--json"])
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    assert document["snapshots"] == 3 and document["warnings"] == []
    assert document["imports"][0]["already_collected"] is False
    again = CliRunner().invoke(root, ["collect", "disk", "--import", str(csv_path), "--json"])
    assert json.loads(again.stdout)["snapshots"] == 0
    assert json.loads(again.stdout)["imports"][0]["already_collected"] is True
    live = CliRunner().invoke(root, ["collect", "disk", "--host", "here", "--json"])
    assert json.loads(live.stdout)["mounts"] >= 1
    with CaseStore.open(tmp_path / "case") as store:
        counts = store.con.execute(
            "SELECT count(*) FILTER (host = 'h1'), count(DISTINCT run_id) FROM disk"
        ).fetchone()
    assert counts == (3, 2)


def test_detection_is_complete_and_uses_every_parameter() -> None:
    (detection,) = [
        d.detection for d in shipped_detections() if d.detection.id == "host.disk-growth"
    ]
    assert detection.techniques == ["T1074"] and detection.python is None
    assert detection.requires == ["disk"] and detection.sql is not None
    assert detection.severity in {"low", "medium", "high", "critical"}
    assert len(detection.false_positives) >= 3 and detection.triage.strip()
    for name in detection.parameters:
        assert f"${name}" in detection.sql


def test_unknown_parameter_is_a_usage_error(tmp_path: Path) -> None:
    _import(
        tmp_path / "case", _write_csv(tmp_path / "a.csv", _noisy("h", "/", GB, 2, random.Random(3)))
    )
    with pytest.raises(UsageError, match="no parameter min_growth"):
        _findings(tmp_path / "case", min_growth=1)
