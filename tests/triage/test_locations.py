"""Location judgement of legitimate tools: the shipped table and the verdicts it gives.

AA21-200A's hashes include genuine PuTTY, cmd.exe and svchost.exe binaries: these tests pin the
verdicts that decide whether such a hit is suppressed or reported as masquerading (T1036.005).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from seawall.errors import BadInputError
from seawall.triage.locations import (
    NONSTANDARD_TECHNIQUE,
    Location,
    ToolLocations,
    windows_path_key,
)
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]
# The start of a user YAML file, for the broken-file cases.
HEAD = "tools:\n  - names: [x.exe]\n"
SHIPPED = resources.files("seawall.data").joinpath("locations")


def _build_script() -> ModuleType:
    path = ROOT / "tools" / "build_tool_locations.py"
    spec = importlib.util.spec_from_file_location("build_tool_locations", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table() -> ToolLocations:
    return ToolLocations.load()


def test_build_script_reproduces_shipped_table(tmp_path: Path) -> None:
    """Rebuilding from ../shared/data gives the shipped bytes: the table hides no hand edits."""
    lolbas = shared("filesystem/lolbas/yml")
    out = tmp_path / "tool-locations.json"
    extra = ROOT / "src" / "seawall" / "data" / "locations" / "extra-tools.yml"
    args = ["--lolbas", str(lolbas), "--extra", str(extra), "--out", str(out)]
    assert _build_script().main(args) == 0
    assert out.read_bytes() == SHIPPED.joinpath("tool-locations.json").read_bytes()


def test_shipped_table_is_documented_and_sound(table: ToolLocations) -> None:
    data = json.loads(SHIPPED.joinpath("tool-locations.json").read_text(encoding="utf-8"))
    assert data["lolbas"]["licence"] == "GPL-3.0" and data["lolbas"]["files"] > 200
    attribution = SHIPPED.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "LOLBAS" in attribution and "GNU General Public License" in attribution
    names = [tool.name for tool in table.tools()]
    assert names == sorted(names) and len(names) == len(table) > 250
    for tool in table.tools():
        assert tool.why, f"{tool.name} has no why"
        assert all(location.endswith(tool.name) for location in tool.locations)
        assert all(location == location.lower() for location in tool.locations)
    required = ["putty.exe", "plink.exe", "psexec.exe", "procdump64.exe", "rar.exe", "7za.exe"]
    required += ["adfind.exe", "ngrok.exe", "tcpdump", "lsass.exe", "net1.exe", "explorer.exe"]
    assert all(table.is_known_tool(name) for name in required)
    assert table.is_known_tool("PuTTY.EXE") and not table.is_known_tool("notepad++.exe")
    # A LOLBAS binary keeps its ATT&CK ids; the extension adds its own.
    cmd = table.tool("cmd.exe")
    assert cmd is not None and {"lolbas", "extra"} <= set(cmd.sources)
    assert "T1059.003" in cmd.techniques


def test_putty_in_program_files_is_standard(table: ToolLocations) -> None:
    judgement = table.judge(r"C:\Program Files\PuTTY\putty.exe")
    assert judgement.location is Location.STANDARD
    assert judgement.location.value == "location.standard" and judgement.verdict == "benign"
    assert judgement.techniques == ()
    assert r"%programfiles%\putty\putty.exe" in judgement.expected
    assert "standard location" in judgement.reasons[0]


def test_putty_in_public_is_nonstandard(table: ToolLocations) -> None:
    judgement = table.judge(r"C:\Users\Public\putty.exe")
    assert judgement.location is Location.NONSTANDARD
    assert judgement.techniques == (NONSTANDARD_TECHNIQUE,) == ("T1036.005",)
    assert judgement.reasons[0] == (
        r"putty.exe normally lives in %ProgramFiles%\putty or %ProgramFiles%\winscp\putty or "
        r"%ProgramFiles(x86)%\putty (and 1 more); found in C:\Users\Public"
    )


@pytest.mark.parametrize(
    "path",
    [
        r"C:\Windows\System32\cmd.exe",
        r"C:\Windows\SysWOW64\cmd.exe",
        r"C:\Windows\WinSxS\amd64_microsoft-windows-commandprompt_31bf3856ad364e35_10.0.19041.1_none_x\cmd.exe",
        r"C:\Windows\system32\CMD.EXE",
        "c:/windows/system32/cmd.exe",
        r"%SystemRoot%\System32\cmd.exe",
        r"\\?\C:\Windows\System32\cmd.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\explorer.exe",
        "/usr/sbin/tcpdump",
    ],
)
def test_system_binaries_in_place_are_standard(table: ToolLocations, path: str) -> None:
    assert table.judge(path).location is Location.STANDARD


@pytest.mark.parametrize(
    "path",
    [
        r"C:\ProgramData\svchost.exe",
        r"C:\Windows\svchost.exe",
        r"C:\Windows\SysWOW64\lsass.exe",
        r"C:\Windows\System32\subdir\cmd.exe",
        r"C:\Windows\WinSxS\..\cmd.exe",
        r"C:\Program Files\PuTTY\..\..\Users\bob\putty.exe",
        r"D:\Windows\System32\cmd.exe",
        r"D:\Program Files\PuTTY\putty.exe",
        r"C:\Users\Public\AppData\Local\Microsoft\Teams\current\Teams.exe",
        "/tmp/tcpdump",
        r"C:\tools\AdFind.exe",
    ],
)
def test_misplaced_tools_are_nonstandard(table: ToolLocations, path: str) -> None:
    judgement = table.judge(path)
    assert judgement.location is Location.NONSTANDARD
    assert judgement.techniques == ("T1036.005",)
    assert judgement.reasons and judgement.expected is not None


def test_user_profile_patterns_match_any_user(table: ToolLocations) -> None:
    path = r"C:\Users\bob\AppData\Local\Microsoft\Teams\current\Teams.exe"
    assert table.judge(path).location is Location.STANDARD


def test_unknown_file(table: ToolLocations) -> None:
    judgement = table.judge(r"C:\Users\bob\Documents\report.docx")
    assert judgement.location is Location.UNKNOWN_TOOL
    assert judgement.expected == () and judgement.techniques == ()
    assert "report.docx" in judgement.reasons[0]


def test_windows_path_key() -> None:
    assert windows_path_key(r"C:\Windows\System32\CMD.EXE") == r"c:\windows\system32\cmd.exe"
    assert windows_path_key("C:/Program Files//PuTTY/") == r"c:\program files\putty"
    assert windows_path_key(r"%ProgramFiles(x86)%\PuTTY") == r"c:\program files (x86)\putty"
    assert windows_path_key(r"\\?\UNC\server\share\x.exe") == r"\\server\share\x.exe"
    assert windows_path_key(r"C:\a\..\b\.\c.exe") == r"c:\b\c.exe"


def test_user_yaml_adds_a_tool(tmp_path: Path) -> None:
    extra = tmp_path / "site.yml"
    extra.write_text(
        "tools:\n"
        "  - names: [AdminTool.exe, putty.exe]\n"
        "    folders: ['D:\\Apps\\Admin', '*:\\portable\\putty']\n"
        "    why: Our admins keep their tools on the data drive\n"
        "    techniques: [T1021.004]\n",
        encoding="utf-8",
    )
    table = ToolLocations.load(extra)
    assert table.is_known_tool("admintool.exe")
    assert table.judge(r"D:\Apps\Admin\admintool.exe").location is Location.STANDARD
    assert table.judge(r"E:\Apps\Admin\admintool.exe").location is Location.NONSTANDARD
    # Extending keeps the shipped locations and adds the user's.
    assert table.judge(r"C:\Program Files\PuTTY\putty.exe").location is Location.STANDARD
    assert table.judge(r"F:\Portable\PuTTY\putty.exe").location is Location.STANDARD
    putty = table.tool("putty.exe")
    assert putty is not None and "user" in putty.sources and "extra" in putty.sources
    # The user's reason follows the shipped one as a sentence of its own, naming its file.
    shipped = ToolLocations.load().tool("putty.exe")
    assert shipped is not None
    assert putty.why == (f"{shipped.why} site.yml: Our admins keep their tools on the data drive.")
    # The shipped table itself is untouched.
    assert not ToolLocations.load().is_known_tool("admintool.exe")


def test_user_yaml_is_read_once_per_version(tmp_path: Path) -> None:
    extra = tmp_path / "site.yml"
    extra.write_text(
        "tools:\n  - names: [one.exe]\n    folders: ['D:\\One']\n    why: w\n", encoding="utf-8"
    )
    first = ToolLocations.load(extra)
    assert ToolLocations.load(extra) is first  # every file detection of a hunt shares it
    extra.write_text(
        "tools:\n  - names: [two.exe]\n    folders: ['D:\\Two']\n    why: changed\n",
        encoding="utf-8",
    )
    os.utime(extra, ns=(0, extra.stat().st_mtime_ns + 1_000_000_000))  # a later version
    changed = ToolLocations.load(extra)
    assert changed.is_known_tool("two.exe") and not changed.is_known_tool("one.exe")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (HEAD + "    folders: ['%nosuch%\\\\x']\n    why: w\n", 3, "unknown"),
        (HEAD + "    folders: ['x']\n    why: w\n", 3, "not absolute"),
        (HEAD + "    folders: []\n", 2, "why"),
        (HEAD + "    folders: []\n    why: w\n    colour: red\n", 5, "colour"),
        (HEAD + "    folders: []\n    why: w\n    techniques: [TX]\n", 5, "ATT"),
        (HEAD + "    names: [y.exe]\n", 3, "duplicate"),
        ("tools:\n  - names: [x.exe\n    why: w\n", 3, "YAML"),
        (HEAD + "    folders: []\n    why: !!python/name:os.system\n", 4, "YAML"),
        ("tools:\n  - names: [a\\b.exe]\n    folders: []\n    why: w\n", 2, "bare file name"),
    ],
)
def test_broken_user_yaml_names_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    extra = tmp_path / "broken.yml"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        ToolLocations.load(extra)
    assert caught.value.location == f"{extra}:{line}"
    assert message in caught.value.message


def test_real_putty_install_layout_is_standard(tmp_path: Path, table: ToolLocations) -> None:
    """The real signed PuTTY binaries, laid out as the MSI installs them, on an image mapped to C:.

    ``../shared/data/pe/putty-0.83/`` holds the binaries flat, so the test builds the install
    tree the collector would see on a mounted image and maps the image root to ``C:\\``.
    """
    source = shared("pe/putty-0.83")
    binaries = sorted(path for path in source.iterdir() if path.suffix == ".exe")
    assert {path.name for path in binaries} >= {"putty.exe", "plink.exe", "pscp.exe"}
    image = tmp_path / "image"
    install = image / "Program Files" / "PuTTY"
    install.mkdir(parents=True)
    for binary in binaries:
        shutil.copyfile(binary, install / binary.name)
    public = image / "Users" / "Public" / "Music"
    public.mkdir(parents=True)
    shutil.copyfile(binaries[0], public / binaries[0].name)
    verdicts = {}
    for file in sorted(image.rglob("*.exe")):
        windows = "C:\\" + str(file.relative_to(image)).replace("/", "\\")
        verdicts[windows] = table.judge(windows).location
    for binary in binaries:
        assert verdicts[f"C:\\Program Files\\PuTTY\\{binary.name}"] is Location.STANDARD
    assert verdicts[f"C:\\Users\\Public\\Music\\{binaries[0].name}"] is Location.NONSTANDARD
