"""host.baseline-anomaly and host.staging-archive on real sweeps of a temp tree (mapped to C:)
and on hand-built events: nothing is compared without a learned baseline (not run, said so),
archives in staging folders are reported without one, new and changed files, services, tasks
and autoruns are reported after one, and hosts the baseline holds nothing of are named."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.detect import baseline, schema
from seawall.detect.engine import HuntRequest, hunt
from seawall.model.finding import ResultDocument
from tests.detect.helpers import sweep
from tests.evtx_rows import SECURITY, SYSMON, SYSTEM, event, load_events

BASELINE = "host.baseline-anomaly"
ARCHIVES = "host.staging-archive"


def _hunt(case_dir: Path, *ids: str) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        return hunt(store, HuntRequest(detection_ids=ids))


def _learn(case_dir: Path, until: datetime | None = None) -> None:
    with CaseStore.open(case_dir) as store:
        chosen = baseline.with_baseline(schema.shipped_detections(), [BASELINE])
        baseline.learn(store, chosen, until)


def _zip(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("design.txt", "x" * 2000)


def _tree(root: Path) -> None:
    _zip(root / "Windows" / "Debug" / "out.zip")
    _zip(root / "PerfLogs" / "perf.log")  # an archive named like a log
    _zip(root / "ProgramData" / "App" / "data.7z.001")
    _zip(root / "ProgramData" / "Package Cache" / "k" / "setup.cab")  # ignored folder
    _zip(root / "Users" / "bob" / "Documents" / "photos.zip")  # not a staging folder
    (root / "Windows" / "System32").mkdir(parents=True)
    (root / "Windows" / "System32" / "helper.dll").write_bytes(b"MZ" + b"\0" * 300)


def test_staging_archives_need_no_baseline(case_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "c"
    _tree(root)
    sweep(case_dir, root, host="ws9")
    document = _hunt(case_dir, ARCHIVES, BASELINE)
    status = {c.detection_id: c for c in document.coverage}
    assert status[BASELINE].status == "not-run"
    assert "no baseline learned" in (status[BASELINE].reason or "")
    assert status[ARCHIVES].status == "ran"
    found = {f.evidence[0].row["windows_path"]: f for f in document.findings}
    assert set(found) == {
        "c:\\windows\\debug\\out.zip",
        "c:\\perflogs\\perf.log",
        "c:\\programdata\\app\\data.7z.001",
    }
    disguised = found["c:\\perflogs\\perf.log"]
    assert disguised.score == 85 and disguised.severity == "high"
    assert {r.code for r in disguised.reasons} == {"staging.folder", "staging.disguised"}
    assert found["c:\\windows\\debug\\out.zip"].score == 70
    part = found["c:\\programdata\\app\\data.7z.001"]
    assert part.score == 50 and "staging.volume" in {r.code for r in part.reasons}


def test_new_and_changed_files_after_the_baseline(case_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "c"
    _tree(root)
    sweep(case_dir, root, host="ws9")
    _learn(case_dir)
    assert _hunt(case_dir, BASELINE).findings == []  # the same sweep: nothing new
    (root / "Windows" / "Debug" / "svch0st.exe").write_bytes(b"MZ" + b"\1" * 300)
    (root / "Windows" / "System32" / "helper.dll").write_bytes(b"MZ" + b"\2" * 300)
    (root / "Users" / "bob" / "Documents" / "new.exe").write_bytes(b"MZ" + b"\3" * 300)
    sweep(case_dir, root, host="ws9")
    # a second host swept only now: the baseline cannot vouch for its files
    other = tmp_path / "d"
    _zip(other / "PerfLogs" / "x.zip")
    sweep(case_dir, other, host="ws10")
    document = _hunt(case_dir, BASELINE)
    (coverage,) = document.coverage
    assert coverage.status == "partial" and "ws10" in (coverage.reason or "")
    found = {f.evidence[0].row["windows_path"]: f for f in document.findings}
    assert set(found) == {"c:\\windows\\debug\\svch0st.exe", "c:\\windows\\system32\\helper.dll"}
    new = found["c:\\windows\\debug\\svch0st.exe"]
    assert new.severity == "high" and new.reasons[0].code == "baseline.new"
    assert set(new.techniques) == {"T1074.001", "T1105"}
    changed = found["c:\\windows\\system32\\helper.dll"]
    assert changed.reasons[0].code == "baseline.changed"
    assert changed.reasons[0].data["baseline_sha256"] != changed.evidence[0].row["value"]


def _service(day: int, name: str, image: str, computer: str = "srv1") -> dict[str, Any]:
    return event(
        7045,
        {"ServiceName": name, "ImagePath": image, "ServiceType": "user mode service"},
        channel=SYSTEM,
        computer=computer,
        time=f"2024-03-{day:02d}T10:00:00Z",
    )


def test_services_tasks_and_autoruns_new_since_the_baseline(case_dir: Path) -> None:
    task = (
        "<Task><Actions><Exec><Command>powershell.exe</Command><Arguments>-nop -w hidden -c"
        " iex(gc C:\\PerfLogs\\a.txt)</Arguments></Exec></Actions></Task>"
    )
    rows = [
        _service(1, "Spooler", "C:\\Windows\\System32\\spoolsv.exe"),
        _service(2, "Updater", "C:\\Program Files\\Vendor\\upd.exe"),
        event(
            4698,
            {"TaskName": "\\Backup", "TaskContent": "<Command>wbadmin</Command>"},
            channel=SECURITY,
            computer="srv1",
            time="2024-03-02T11:00:00Z",
        ),
        # after the baseline (the 5th)
        _service(6, "Spooler", "C:\\Windows\\System32\\spoolsv.exe"),  # known: nothing
        _service(7, "Updater", "C:\\Windows\\Temp\\upd.exe"),  # changed image
        _service(8, "WinSvcHost", "%COMSPEC% /c powershell -nop -enc AAAA"),  # new
        event(
            4698,
            {"TaskName": "\\Microsoft\\Sync", "TaskContent": task, "SubjectUserName": "eve"},
            channel=SECURITY,
            computer="srv1",
            time="2024-03-08T12:00:00Z",
        ),
        event(
            13,
            {
                "TargetObject": "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion"
                "\\Run\\OneDriveUpd",
                "Details": "C:\\Users\\eve\\AppData\\Roaming\\odu.exe",
                "Image": "C:\\Windows\\System32\\reg.exe",
            },
            channel=SYSMON,
            computer="srv1",
            time="2024-03-08T13:00:00Z",
        ),
        # a host whose System log starts after the baseline: not judged
        _service(9, "Other", "C:\\x.exe", computer="srv2"),
    ]
    with CaseStore.open(case_dir) as store:
        load_events(store, rows)
    _learn(case_dir, datetime(2024, 3, 5, tzinfo=UTC))
    document = _hunt(case_dir, BASELINE)
    (coverage,) = document.coverage
    assert coverage.status == "partial"
    assert "srv2 (System)" in (coverage.reason or "")
    # Sysmon had no events before the baseline either: its autorun is not judged
    assert "srv1 (Microsoft-Windows-Sysmon/Operational)" in (coverage.reason or "")
    found = {f.evidence[0].row["item"]: f for f in document.findings}
    assert set(found) == {"service:updater", "service:winsvchost", "task:\\microsoft\\sync"}
    assert found["service:updater"].reasons[0].code == "baseline.changed"
    assert found["service:winsvchost"].score == 80
    assert found["service:winsvchost"].techniques == ["T1543.003"]
    sync = found["task:\\microsoft\\sync"]
    assert sync.score == 70 and sync.user == "eve" and sync.techniques == ["T1053.005"]
    assert "powershell" in str(sync.reasons[1].data["words"])
