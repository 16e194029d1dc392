"""`seawall attack …` through the real entry point, as a script or a person would call it."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from seawall.cli.app import run
from seawall.errors import ExitCode


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    """Run with --json and parse stdout, which must hold exactly one JSON document."""
    code = run([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)  # json.loads rejects trailing data: one document only


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "show", "T1505.003"], capsys)
    assert code == ExitCode.OK
    assert doc["attack_version"] == "18.1"
    technique = doc["technique"]
    assert (technique["id"], technique["name"]) == ("T1505.003", "Web Shell")
    assert technique["tactics"] == ["persistence"]
    assert technique["parent"] == "T1505"
    assert technique["status"] == "active"
    assert doc["versions"] == {"9.0": "active", "10.1": "active", "18.1": "active"}
    assert doc["replacement"] is None
    assert "M1042" in {m["id"] for m in doc["mitigations"]}


def test_show_in_the_advisorys_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "show", "t1505.003", "--version", "9.0"], capsys)
    assert code == ExitCode.OK
    assert doc["attack_version"] == "9.0"
    assert "File: File Creation" in doc["technique"]["data_sources"]
    assert doc["technique"]["detection"].startswith("Web shells can be difficult to detect.")


def test_show_revoked_names_the_replacement(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "show", "T1086"], capsys)
    assert code == ExitCode.OK
    assert doc["technique"]["status"] == "revoked"
    assert doc["replacement"]["id"] == "T1059.001"
    assert doc["revocation_chain"] == ["T1086", "T1059.001"]


def test_show_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attack", "show", "T1073"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "DLL Side-Loading" in out and "T1574.001" in out and "revoked" in out


def test_search_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "search", "web shell", "--limit", "1"], capsys)
    assert code == ExitCode.OK
    assert doc["total"] >= 2
    assert doc["results"] == [
        {"kind": "technique", "id": "T1505.003", "name": "Web Shell", "status": "active"}
    ]


def test_group_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "group", "APT40"], capsys)
    assert code == ExitCode.OK
    assert doc["group"]["id"] == "G0065"
    assert {"Leviathan", "APT40"} <= set(doc["group"]["aliases"])
    assert {"id": "T1505.003", "name": "Web Shell"} in doc["techniques"]
    assert {"id": "S0020", "name": "China Chopper", "type": "malware"} in doc["software"]


def test_group_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attack", "group", "G0065", "--version", "9.0"]) == ExitCode.OK
    assert "Leviathan" in capsys.readouterr().out


def test_software_and_mitigation_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(["attack", "software", "S0020"], capsys)
    assert code == ExitCode.OK
    assert doc["software"]["name"] == "China Chopper"
    assert "G0065" in {g["id"] for g in doc["groups"]}
    code, doc = run_json(["attack", "mitigation", "M1026"], capsys)
    assert code == ExitCode.OK
    assert doc["mitigation"]["name"] == "Privileged Account Management"


@pytest.mark.parametrize(
    "argv",
    [
        ["attack", "show", "T9999"],
        ["attack", "show", "not-an-id"],
        ["attack", "show", "T1505.003", "--version", "8.0"],
        ["attack", "group", "No Such Group"],
    ],
)
def test_errors_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(argv) == ExitCode.USAGE
    assert "error:" in capsys.readouterr().err


def test_error_with_json_is_one_json_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["attack", "show", "T1659", "--version", "9.0", "--json"]
    monkeypatch.setattr(sys, "argv", ["seawall", *argv])  # as the console script sees it
    assert run(argv) == ExitCode.USAGE
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "UsageError"
    assert "18.1" in error["message"]
