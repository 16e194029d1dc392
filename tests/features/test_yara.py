"""The shipped signature-base YARA set: it loads, matches, reads Loki's external variables, and
the build script reproduces it; the default scan policy and Loki's type names."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from seawall.collect.paths import parse_root_map
from seawall.features import yara, yara_set
from seawall.features.filetype import identify
from seawall.features.yara import (
    YaraPolicy,
    excerpt,
    externals_for,
    is_system_folder,
    loki_filetype,
    scan,
    selected,
)
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = resources.files("seawall.data.yara")
# China Chopper's ASPX one-liner (the client posts code in parameter "z"), written here: never a
# file from a real intrusion.
CHOPPER = b'<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>'
# The smallest header that is a PE to seawall (MZ, e_lfanew, "PE\0\0").
PE_HEAD = b"MZ" + b"\0" * 0x3A + (0x40).to_bytes(4, "little") + b"PE\0\0" + b"\0" * 200


def _externals(path: str, data: bytes, windows: str | None = None) -> yara.Externals:
    label = identify(data).label
    return externals_for(path, windows, label, data[:4096], "www-data", "0" * 32)


def _rules(outcome: yara.ScanOutcome) -> list[str]:
    return [hit["rule"] for hit in json.loads(outcome.value)["hits"]]


def test_the_shipped_set_loads_and_finds_a_china_chopper_one_liner() -> None:
    outcome = scan(CHOPPER, _externals("/var/www/html/x.aspx", CHOPPER))
    rules = _rules(outcome)
    assert "ChinaChopper_Generic" in rules
    document = json.loads(outcome.value)
    assert document["set"] == yara_set.set_info().version
    hit = next(h for h in document["hits"] if h["rule"] == "ChinaChopper_Generic")
    assert hit["namespace"] == "apt_webshell_chinachopper"
    assert hit["meta"]["author"].startswith("Florian Roth")
    assert hit["meta"]["reference"].startswith("http")
    assert hit["strings"] and "eval(Request.Item[" in hit["strings"][0]["excerpt"]
    assert (
        _rules(scan(b'<%@ Page Language="C#"%><p>hello</p>', _externals("/x.aspx", CHOPPER))) == []
    )


def test_external_variables_reach_the_rules() -> None:
    """signature-base's SUSP_Known_Type_Cloaked_as_JPG fires on an executable named .jpg (Loki's
    ``extension`` and ``filetype``), not on the same bytes named .exe."""
    cloaked = _rules(scan(PE_HEAD, _externals("/home/bob/holiday.JPG", PE_HEAD)))
    assert "SUSP_Known_Type_Cloaked_as_JPG" in cloaked
    plain = _rules(scan(PE_HEAD, _externals("/home/bob/holiday.exe", PE_HEAD)))
    assert "SUSP_Known_Type_Cloaked_as_JPG" not in plain


def test_externals_are_set_as_loki_sets_them() -> None:
    maps = (parse_root_map("/mnt/c=C:\\"),)
    policy = YaraPolicy("default", maps)
    windows = yara.windows_of(b"/mnt/c/Users/Bob/AppData/Local/Temp/Evil.EXE", policy)
    assert windows == "C:\\Users\\Bob\\AppData\\Local\\Temp\\Evil.EXE"  # case kept
    ext = _externals("/mnt/c/Users/Bob/AppData/Local/Temp/Evil.EXE", PE_HEAD, windows)
    assert (ext.filename, ext.filepath, ext.extension) == ("Evil.EXE", windows, ".exe")
    assert (ext.filetype, ext.owner) == ("EXE", "www-data")
    linux = _externals("/var/www/html/.hidden", b"<?php echo 1;")
    assert (linux.filename, linux.extension, linux.filetype) == (".hidden", "", "PHP")


@pytest.mark.parametrize(
    ("label", "head", "name"),
    [
        ("elf", b"\x7fELF", "ELF"),
        ("pe32+", PE_HEAD, "EXE"),
        ("macho", b"", "MACH-O"),
        ("text", b"{\\rtf1\\ansi", "RTF"),
        ("data", b"MDMP\x93\xa7", "MDMP"),
        ("text", b'<%@ page import="java.io.*" %>', "JSP"),
        ("text", b"<% Response.Write(1) %>", "ASP"),
        ("script", b"#!/usr/bin/python3\n", "Python"),
        ("text", b"@ECHO OFF\r\n", "BATCH"),
        ("text", b"TVqQAAMAAAAEAAAA", "Base64 Encoded EXE"),
        ("text", b"hello", "UNKNOWN"),
    ],
)
def test_loki_file_types(label: str, head: bytes, name: str) -> None:
    assert loki_filetype(label, head) == name


def test_system_folders() -> None:
    assert is_system_folder("/mnt/c/x", "C:\\Windows\\System32\\cmd.exe")
    assert is_system_folder("/mnt/c/x", "c:\\program files (x86)\\app\\a.exe")
    assert not is_system_folder("/mnt/c/x", "C:\\Windows\\Temp\\a.exe")
    assert not is_system_folder("/mnt/c/x", "C:\\Windows\\System32\\Tasks\\a.exe")
    assert not is_system_folder("/mnt/c/x", "C:\\Users\\Public\\a.exe")
    assert not is_system_folder("/mnt/c/x", "D:\\Windows\\System32\\cmd.exe")  # not by assumption
    assert is_system_folder("/usr/bin/ls", None)
    assert not is_system_folder("/usr/share/wordpress/x.elf", None)  # a web root
    for path in ("/tmp/x", "/var/tmp/x", "/dev/shm/x", "/home/bob/x", "/root/x", "/srv/x"):
        assert not is_system_folder(path, None), path
    image = (b"/mnt/img",)
    assert is_system_folder("/mnt/img/usr/sbin/sshd", None, image)
    assert not is_system_folder("/mnt/img/tmp/sshd", None, image)


def test_default_policy_selects_scripts_and_executables_out_of_place() -> None:
    policy = YaraPolicy()
    assert selected(policy, "/opt/app/upload/x.php", None, "php", b"<?php", 5)
    assert selected(policy, "/srv/app/x.jsp", None, "text", b"<%", 2)
    assert selected(policy, "/var/www/html/logo.gif", None, "image", b"GIF89a<?php", 11)
    assert not selected(policy, "/var/www/html/logo.gif", None, "image", b"GIF89a\0\0", 8)
    windows = "C:\\InetPub\\WWWRoot\\img\\logo.gif"
    assert selected(policy, "/mnt/c/InetPub/WWWRoot/img/logo.gif", windows, "image", b"<%", 2)
    assert not selected(
        policy, "/mnt/c/Users/x/logo.gif", "C:\\Users\\x\\logo.gif", "image", b"<%", 2
    )
    assert not selected(policy, "/usr/lib/python3/x.py", None, "script", b"import os", 9)
    assert selected(policy, "/var/www/cgi-bin/x.py", None, "script", b"import os", 9)
    assert selected(policy, "/usr/lib/cgi-bin/x.pl", None, "script", b"use CGI;", 8)
    assert selected(policy, "/home/bob/.cache/x", None, "elf", b"\x7fELF", 4)
    assert not selected(policy, "/usr/bin/x", None, "elf", b"\x7fELF", 4)
    assert not selected(policy, "/home/bob/notes.txt", None, "text", b"hello", 5)
    assert selected(YaraPolicy("all"), "/home/bob/notes.txt", None, "text", b"hello", 5)
    assert not selected(YaraPolicy("off"), "/srv/x.php", None, "php", b"<?php", 5)


def test_excerpts_are_safe_to_print() -> None:
    assert excerpt(b"eval(\x00\xff\\)\n") == "eval(\\x00\\xff\\x5c)\\x0a"


def test_a_cache_of_another_yara_x_version_is_never_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEAWALL_CACHE_DIR", str(tmp_path))
    path = yara_set.cache_path()
    assert yara_set.yara_x_version() in path.name and "8a89b3b" in path.name
    monkeypatch.setattr(yara_set, "yara_x_version", lambda: "0.0.1")
    assert yara_set.cache_path() != path
    # a damaged cache file is compiled again, not trusted
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not rules")
    monkeypatch.setattr(yara_set, "yara_x_version", lambda: path.name.split("yara-x-")[1][:-6])
    loaded = yara_set.load()
    assert loaded.note is None and path.stat().st_size > 1_000_000


def test_the_set_files_are_consistent() -> None:
    info = json.loads(SHIPPED.joinpath("set.json").read_text(encoding="utf-8"))
    sources = json.loads(gzip.decompress(SHIPPED.joinpath("signature-base.json.gz").read_bytes()))
    assert [f["file"] for f in sources["files"]] == [f["file"] for f in info["files"]]
    kept = {f["file"] for f in info["files"]}
    assert {"apt_leviathan.yar", "apt_webshell_chinachopper.yar", "thor-webshells.yar"} <= kept
    assert {"thor-hacktools.yar", "gen_webshells.yar", "gen_webshells_ext_vars.yar"} <= kept
    # each left-out file and rule says why; licences other than the DRL 1.1 are never shipped
    assert all(item["reason"] for item in info["skipped_files"] + info["skipped_rules"])
    assert "by-nc" not in "".join(f["source"] for f in sources["files"]).lower()
    attribution = SHIPPED.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Detection Rule License" in attribution and info["commit"] in attribution
    assert "Detection Rule License (DRL) 1.1" in SHIPPED.joinpath("LICENSE-DRL-1.1.txt").read_text(
        encoding="utf-8"
    )


def test_build_script_reproduces_the_shipped_set(tmp_path: Path) -> None:
    """Rebuilding from ../shared/data gives the shipped bytes: the set hides no hand edits."""
    data = shared("yara/signature-base/yara").parent
    script = ROOT / "tools" / "build_yara_set.py"
    command = [sys.executable, str(script), "--data", str(data), "--out", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300, env=env)
    assert "rules from" in done.stderr and "left out" in done.stderr
    for name in ("signature-base.json.gz", "set.json", "ATTRIBUTION.md", "LICENSE-DRL-1.1.txt"):
        rebuilt = (tmp_path / name).read_bytes()
        assert rebuilt == SHIPPED.joinpath(name).read_bytes(), f"{name} differs: rerun the script"
