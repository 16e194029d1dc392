"""`seawall pack`: list, show and validate through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.cli.app import run
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun

SHIPPED = Path(__file__).resolve().parents[2] / "src/seawall/intel/packs/data/aa21-200a.yml"


def test_list_json(run_json: JsonRun) -> None:
    payload = run_json(["pack", "list"], ExitCode.OK)
    rows = {row["id"]: row for row in payload["packs"]}
    assert payload["count"] == len(payload["packs"])
    row = rows["aa21-200a"]
    assert row["advisory_id"] == "AA21-200A"
    assert (row["techniques"], row["software"], row["mitigations"]) == (24, 10, 23)
    assert row["published"] == "2021-07-19"


def test_list_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["pack", "list"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "aa21-200a" in out and "AA21-200A" in out


def test_show_json(run_json: JsonRun) -> None:
    payload = run_json(["pack", "show", "aa21-200a"], ExitCode.OK)
    pack, coverage = payload["pack"], payload["coverage"]
    assert pack["actor"]["attack_group_id"] == "G0065"
    assert len(pack["actor"]["aliases"]) == 12
    assert pack["tlp"] == "TLP:WHITE"
    assert len(coverage["techniques"]) == 24 and len(coverage["software"]) == 10
    web_shell = next(t for t in coverage["techniques"] if t["id"] == "T1505.003")
    assert web_shell["in_pack_version"]["version"] == "9.0"
    assert web_shell["in_pack_version"]["name"] == "Web Shell"
    assert web_shell["in_current_version"]["version"] == "18.1"
    assert web_shell["in_current_version"]["status"] == "active"
    assert {d["id"]: d["status"] for d in web_shell["detections"]}["web.webshell"] == "exists"
    reputation = next(m for m in coverage["mitigations"] if m["id"] == "M-NET-7")
    assert reputation["status"] == "covered"
    assert reputation["detections"][0] == {
        "id": "intel.reputation",
        "status": "exists",
        "provided_by": "seawall intel lookup",
        "needs": None,
    }
    air_gap = next(m for m in coverage["mitigations"] if m["id"] == "M-NET-9")
    assert air_gap["status"] == "not-checkable" and air_gap["reason"]
    summary = coverage["summary"]
    assert sum(summary["techniques"].values()) == 24
    assert summary["mitigations"]["not-checkable"] == 7


def test_show_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["pack", "show", "aa21-200a"]) == ExitCode.OK
    out = capsys.readouterr().out
    for expected in ("AA21-200A", "Kryptonite Panda", "T1505.003", "web.webshell", "M-NET-9"):
        assert expected in out
    assert "not-checkable" in out and "missing" in out


def test_show_by_path(run_json: JsonRun) -> None:
    payload = run_json(["pack", "show", str(SHIPPED)], ExitCode.OK)
    assert payload["pack"]["id"] == "aa21-200a"


def test_show_unknown_pack_is_a_usage_error(run_json: JsonRun) -> None:
    payload = run_json(["pack", "show", "no-such-pack"], ExitCode.USAGE)
    assert payload["error"]["kind"] == "UsageError"
    assert "aa21-200a" in payload["error"]["message"]


def test_validate_good_pack(run_json: JsonRun, capsys: pytest.CaptureFixture[str]) -> None:
    payload = run_json(["pack", "validate", str(SHIPPED)], ExitCode.OK)
    assert payload["valid"] is True and payload["id"] == "aa21-200a"
    assert payload["warnings"] == []
    assert run(["pack", "validate", str(SHIPPED)]) == ExitCode.OK
    assert "valid pack" in capsys.readouterr().out


def test_validate_bad_pack_names_file_and_line(
    run_json: JsonRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("  - id: T1534\n") == 1
    broken = text.replace("  - id: T1534\n", "  - id: TX1534\n")
    line = broken[: broken.index("TX1534")].count("\n") + 1
    path = tmp_path / "bad.yml"
    path.write_text(broken, encoding="utf-8")
    payload = run_json(["pack", "validate", str(path)], ExitCode.BAD_INPUT)
    assert payload["error"]["kind"] == "BadInputError"
    assert payload["error"]["location"] == f"{path}:{line}"
    assert run(["pack", "validate", str(path)]) == ExitCode.BAD_INPUT
    assert f"{path.name}:{line}" in capsys.readouterr().err.replace("\n", "")


def test_validate_missing_file_is_a_usage_error(run_json: JsonRun, tmp_path: Path) -> None:
    payload = run_json(["pack", "validate", str(tmp_path / "nope.yml")], ExitCode.USAGE)
    assert "no such pack file" in payload["error"]["message"]


def test_show_text_keeps_ids_whole_and_names_only_what_differs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """At 80 columns (stdout not a terminal) no technique or detection id is cut; an ATT&CK
    version's name appears under the pack's only when it says something else."""
    from seawall.cli.pack import _names
    from seawall.intel.packs.coverage import AttackEntry, ItemCoverage

    assert run(["pack", "show", "aa21-200a"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "…" not in out.split("Techniques", 1)[1].split("Software", 1)[0]
    assert "evtx.powershell-script-block exists" in out and "T1059.001" in out
    active = AttackEntry(id="T1", version="18.1", status="active", name="Same")
    moved = AttackEntry(id="T2", version="18.1", status="revoked", name="Old", replaced_by="T3")
    item = ItemCoverage(
        kind="technique",
        id="T1",
        name="Same",
        status="covered",
        detections=(),
        in_pack_version=active,
        in_current_version=moved,
    )

    class _Versions:
        pack_version, current_version = "9.0", "18.1"

    text = _names(item, _Versions())  # type: ignore[arg-type]
    assert "ATT&CK 9.0" not in text and "ATT&CK 18.1:[/] Old" in text and "T3" in text
