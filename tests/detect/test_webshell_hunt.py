"""`web.webshell` in a hunt: web-root scripts are re-read and judged, never silently zero."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.collect.files import CollectOptions, collect_files
from seawall.collect.paths import parse_root_map
from seawall.detect.analytics import HuntOptions
from seawall.detect.engine import HuntRequest, hunt
from seawall.errors import ExitCode, UsageError
from seawall.model.finding import ResultDocument

CHOPPER = b'<?php @eval($_POST["z"]); ?>\n'
BENIGN = b"<?php\necho htmlspecialchars(date('Y-m-d'));\n"
LINUX_WEB = CollectOptions(host="web01")


def _tree(root: Path, web: str) -> Path:
    site = root / web
    site.mkdir(parents=True)
    old = time.time() - 400 * 86400
    for index in range(4):
        page = site / f"page{index}.php"
        page.write_bytes(BENIGN)
        os.utime(page, (old, old))
    (site / "logo.php").write_bytes(CHOPPER)
    return site


def _hunt(
    case_dir: Path,
    root: Path,
    webroots: tuple[str, ...] = (),
    options: CollectOptions = LINUX_WEB,
) -> ResultDocument:
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(root)], options)
        request = HuntRequest(
            detection_ids=("web.webshell",), options=HuntOptions(webroots=webroots)
        )
        return hunt(store, request)


def test_a_chopper_one_liner_under_var_www_is_found(tmp_path: Path, case_dir: Path) -> None:
    _tree(tmp_path / "img", "var/www/html")
    document = _hunt(case_dir, tmp_path / "img")
    (finding,) = document.findings
    assert finding.host == "web01"
    texts = [reason.text for reason in finding.reasons]
    assert "logo.php" in finding.title + " ".join(texts) + str(finding.evidence)
    assert "T1505.003" in finding.techniques
    assert any("eval" in text for text in texts)
    assert any("after most files in its folder" in text for text in texts)
    # Each reason is coded by the behaviour it found, with its weight in the score.
    codes = {r.code for r in finding.reasons}
    assert "recency.neighbours" in codes
    behaviours = [r for r in finding.reasons if r.code.startswith("webshell.")]
    assert behaviours and all(isinstance(r.data.get("weight"), float) for r in behaviours)
    assert sum(r.data["weight"] for r in behaviours) >= finding.score  # type: ignore[misc]


def test_an_iis_shell_on_a_mapped_windows_volume_stands_out_in_its_folder(
    tmp_path: Path, case_dir: Path
) -> None:
    root = tmp_path / "c"
    _tree(root, "inetpub/wwwroot")
    mapped = CollectOptions(
        host="iis01", os_name="windows", root_maps=(parse_root_map(f"{root}=C:\\"),)
    )
    (finding,) = _hunt(case_dir, root, options=mapped).findings
    assert "c:\\inetpub\\wwwroot\\logo.php" in finding.summary
    # Its neighbours are found through the Windows path's folder.
    recency = [r for r in finding.reasons if r.code == "recency.neighbours"]
    assert "after most files in its folder (4 neighbours)" in recency[0].text
    assert recency[0].data["neighbours"] == 4


def test_a_user_webroot_is_honoured(tmp_path: Path, case_dir: Path) -> None:
    site = _tree(tmp_path / "img", "srv/app/public")
    assert len(_hunt(case_dir, tmp_path / "img", (str(site),)).findings) == 1


def test_no_web_root_is_not_run_with_a_reason(tmp_path: Path, case_dir: Path) -> None:
    _tree(tmp_path / "img", "home/user/notes")
    document = _hunt(case_dir, tmp_path / "img")
    (entry,) = [c for c in document.coverage if c.detection_id == "web.webshell"]
    assert entry.status == "not-run"
    assert "--webroot" in (entry.reason or "")


def test_the_sweep_stores_the_assessment_and_the_hunt_needs_no_evidence(
    tmp_path: Path, case_dir: Path
) -> None:
    image = tmp_path / "img"
    site = _tree(image, "var/www/html")
    (image / "home").mkdir()
    (image / "home" / "notes.php").write_bytes(CHOPPER)  # not under a web root
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(image)], LINUX_WEB)
        store.con.complete()
        stored = dict(store.con.sql("SELECT name, webshell FROM files").fetchall())
    assert stored["notes.php"] is None
    assert '"is_webshell": true' in stored["logo.php"]
    assert '"is_webshell": false' in stored["page0.php"]
    shutil.rmtree(site)  # the evidence is gone: the case still knows
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest(detection_ids=("web.webshell",)))
    (finding,) = document.findings
    assert "logo.php" in finding.summary
    notes = " ".join(document.coverage[0].notes)
    assert "5 from features extracted at collect time" in notes


def test_no_webshells_leaves_the_assessment_to_the_hunt(tmp_path: Path, case_dir: Path) -> None:
    _tree(tmp_path / "img", "var/www/html")
    options = CollectOptions(host="web01", webshells=False)
    document = _hunt(case_dir, tmp_path / "img", options=options)
    assert len(document.findings) == 1
    assert "0 from features extracted at collect time" in " ".join(document.coverage[0].notes)


def test_an_assessment_by_another_version_is_not_trusted(tmp_path: Path, case_dir: Path) -> None:
    site = _tree(tmp_path / "img", "var/www/html")
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(tmp_path / "img")], LINUX_WEB)
        store.con.execute("UPDATE files SET webshell = json_object('version', 1, 'score', 0)")
    shutil.rmtree(site)
    with CaseStore.open(case_dir) as store:
        document = hunt(store, HuntRequest(detection_ids=("web.webshell",)))
    assert document.findings == []
    assert document.coverage[0].status == "not-run"  # nothing reachable, nothing trusted


def test_a_webroot_is_found_as_typed_relative_or_through_a_symlink(
    tmp_path: Path, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user types a web root as it comes: relative, with a slash, through a symlink."""
    site = _tree(tmp_path / "img", "srv/app/public")
    (tmp_path / "www").symlink_to(site)  # e.g. /var/www -> /srv/app/public
    monkeypatch.chdir(tmp_path)
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(tmp_path / "img")], LINUX_WEB)
        for typed in ("img/srv/app/public/", "www", str(tmp_path / "www"), "./img/srv/app"):
            request = HuntRequest(
                detection_ids=("web.webshell",), options=HuntOptions(webroots=(typed,))
            )
            assert len(hunt(store, request).findings) == 1, typed


def test_a_webroot_through_a_symlinked_sweep_root(tmp_path: Path, case_dir: Path) -> None:
    """Swept through a symlink (the recorded paths keep it), named by the real folder."""
    site = _tree(tmp_path / "img", "srv/app/public")
    (tmp_path / "mounted").symlink_to(tmp_path / "img")
    document = _hunt(case_dir, tmp_path / "mounted", (str(site),))
    (finding,) = document.findings
    assert str(tmp_path / "mounted") in str(finding.evidence[0].row["path"])


def test_a_windows_webroot_in_any_case_on_a_mapped_volume(tmp_path: Path, case_dir: Path) -> None:
    root = tmp_path / "c"
    _tree(root, "Sites/App")
    mapped = CollectOptions(
        host="iis01", os_name="windows", root_maps=(parse_root_map(f"{root}=C:\\"),)
    )
    assert len(_hunt(case_dir, root, ("C:\\SITES\\app\\",), options=mapped).findings) == 1


def test_a_webroot_that_names_no_swept_file_is_a_usage_error(
    tmp_path: Path, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tree(tmp_path / "img", "srv/app/public")
    with pytest.raises(UsageError, match="matches no swept file"):
        _hunt(case_dir, tmp_path / "img", (str(tmp_path / "img/srv/typo"),))
    with pytest.raises(UsageError, match="without its drive"):
        _hunt(case_dir, tmp_path / "img", ("inetpub\\wwwroot",))
    argv = ["--case", str(case_dir), "hunt", "--webroot", "D:\\inetpub", "--json"]
    assert run(argv) == ExitCode.USAGE
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["message"].startswith("--webroot 'D:\\\\inetpub' matches no swept file")


def test_the_summary_names_the_language_with_its_article(tmp_path: Path, case_dir: Path) -> None:
    site = tmp_path / "img" / "inetpub" / "wwwroot"
    site.mkdir(parents=True)
    (site / "x.asp").write_bytes(b'<%eval request("x")%>\n')
    (finding,) = _hunt(case_dir, tmp_path / "img").findings
    assert ": looks like an asp web shell (score" in finding.summary
