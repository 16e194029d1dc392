"""`seawall locations`: the table behind location verdicts, and judging paths against it."""

from __future__ import annotations

from pathlib import Path

from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun

EXTENSION = (
    "tools:\n  - names: [putty.exe]\n    folders: ['d:\\tools\\putty']\n    why: our share\n"
)


def test_show_gives_folders_sources_and_why(run_json: JsonRun) -> None:
    entry = run_json(["locations", "show", "PuTTY.exe"], ExitCode.OK)
    assert entry["name"] == "putty.exe"
    assert "%ProgramFiles%\\putty" in entry["folders"]
    assert "T1572" in entry["techniques"] and "AA21-200A" in entry["why"]
    error = run_json(["locations", "show", "notatool.exe"], ExitCode.USAGE)["error"]
    assert "not in the table" in error["message"]


def test_list_has_lolbas_and_our_own_entries(run_json: JsonRun) -> None:
    tools = {t["name"]: t for t in run_json(["locations", "list"], ExitCode.OK)["tools"]}
    assert "lolbas" in tools["certutil.exe"]["sources"]
    assert "%SystemRoot%\\system32" in tools["cmd.exe"]["folders"]
    assert "extra" in tools["adfind.exe"]["sources"]


def test_check_judges_paths_like_a_hunt(run_json: JsonRun, tmp_path: Path) -> None:
    paths = ["C:\\Users\\Public\\Music\\putty.exe", "%ProgramFiles%\\PuTTY\\putty.exe", "/tmp/x"]
    judged = run_json(["locations", "check", *paths], ExitCode.OK)["paths"]
    assert [(j["verdict"], j["location"]) for j in judged] == [
        ("suspicious", "location.nonstandard"),
        ("benign", "location.standard"),
        ("unknown", "location.unknown-tool"),
    ]
    assert judged[0]["techniques"] == ["T1036.005"]
    extension = tmp_path / "ours.yml"
    extension.write_text(EXTENSION, encoding="utf-8")
    argv = ["locations", "check", "D:\\Tools\\PuTTY\\putty.exe", "--locations", str(extension)]
    assert run_json(argv, ExitCode.OK)["paths"][0]["location"] == "location.standard"


def test_validate_names_file_and_line(run_json: JsonRun, tmp_path: Path) -> None:
    extension = tmp_path / "ours.yml"
    extension.write_text(EXTENSION, encoding="utf-8")
    result = run_json(["locations", "validate", str(extension)], ExitCode.OK)
    assert result["valid"] and result["tools"] == ["putty.exe"]
    extension.write_text(EXTENSION.replace("    why: our share\n", ""), encoding="utf-8")
    error = run_json(["locations", "validate", str(extension)], ExitCode.BAD_INPUT)["error"]
    assert error["location"].startswith(f"{extension}:")
