"""The shipped known-good set (xcyclopedia) and dual-use flagging of hash indicators at import."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.errors import BadInputError
from seawall.intel.importer import import_files
from seawall.model.indicator import IndicatorType
from seawall.triage.knowngood import KnownBinary, KnownGood, dual_use_note
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]
XCYCLOPEDIA = "filesystem/xcyclopedia/strontic-xcyclopedia-dev.csv"
SHIPPED = resources.files("seawall.data").joinpath("knowngood")
# C:\Windows\system32\cmd.exe as xcyclopedia records it (checked against the CSV below).
CMD = {
    "md5": "321a50053155122e6ace9691197a8e3f",
    "sha1": "77bb1893182667d4b3614a55592c9dc42fbb831d",
    "sha256": "100348552b388ab5d0095bb09ebf0ebc22668092fb8e0f92ac7ed5909492b4f6",
}
# Not in the set: the MD5 of the bytes "seawall".
UNKNOWN_MD5 = "4fe1cb8f4af06a26f32b52aeaf2e6a8d"


def test_build_script_reproduces_the_shipped_files(tmp_path: Path) -> None:
    """Rebuilding from ../shared/data gives the shipped bytes: the set hides no hand edits."""
    data = shared(XCYCLOPEDIA).parent
    script = ROOT / "tools" / "build_knowngood.py"
    command = [sys.executable, str(script), "--data", str(data), "--out", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    for name in ("xcyclopedia.csv.gz", "ATTRIBUTION.md"):
        rebuilt = (tmp_path / name).read_bytes()
        assert rebuilt == SHIPPED.joinpath(name).read_bytes(), f"{name} differs: rerun the script"


def test_shipped_set_is_compact_and_attributed() -> None:
    assert len(SHIPPED.joinpath("xcyclopedia.csv.gz").read_bytes()) < 1_000_000
    attribution = SHIPPED.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("strontic/xcyclopedia", "b515c22", "MIT License", "deterministic half"):
        assert needle in attribution


def test_cmd_exe_from_the_csv_is_found_by_every_hash_in_any_case() -> None:
    with shared(XCYCLOPEDIA).open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["hash_md5"].lower() == CMD["md5"]]
    assert len(rows) == 1
    assert rows[0]["file_path"] == "C:\\Windows\\system32\\cmd.exe"
    assert rows[0]["hash_sha1"].lower() == CMD["sha1"]
    assert rows[0]["hash_sha256"].lower() == CMD["sha256"]

    known = KnownGood.load()
    expected = KnownBinary(
        file_name="cmd.exe",
        standard_path="C:\\Windows\\system32\\cmd.exe",
        signer="Microsoft Windows",
        company="Microsoft Corporation",
        product="Microsoft Windows Operating System",
        original_name="Cmd.Exe.MUI",
        source="xcyclopedia",
    )
    for value in CMD.values():
        assert known.lookup(value) == expected
        assert known.lookup(value.upper()) == expected
        assert known.lookup(f" {value.title()} ") == expected


def test_unknown_and_empty_file_hashes_are_not_known() -> None:
    known = KnownGood.load()
    assert known.lookup(UNKNOWN_MD5) is None
    assert known.lookup("d41d8cd98f00b204e9800998ecf8427e") is None
    assert known.lookup("") is None
    assert dual_use_note(IndicatorType.MD5, UNKNOWN_MD5) is None
    # only hash types are looked up, even if a value happens to look like one
    assert dual_use_note(IndicatorType.FILE_NAME, CMD["md5"]) is None


def test_dual_use_note_names_the_binary_and_where_it_belongs() -> None:
    note = dual_use_note(IndicatorType.SHA256, CMD["sha256"])
    assert note == (
        "dual-use: the known-good Windows binary cmd.exe (C:\\Windows\\system32\\cmd.exe,"
        " Microsoft Windows); a hit is judged by its location"
    )


def test_a_user_csv_extends_the_set_without_overriding_it(tmp_path: Path) -> None:
    own = tmp_path / "our-tools.csv"
    own.write_text(
        "\ufeffSHA256,standard_path,company\n"
        "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90,"
        '"D:\\Tools\\backup, nightly.exe",Example Ltd\n'
        f"{CMD['sha256']},C:\\Temp\\cmd.exe,Someone Else\n",
        encoding="utf-8",
    )
    known = KnownGood.load([own])
    added = known.lookup("a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90")
    assert added is not None
    assert (added.file_name, added.standard_path, added.company, added.source) == (
        "backup, nightly.exe",
        "D:\\Tools\\backup, nightly.exe",
        "Example Ltd",
        str(own),
    )
    cmd = known.lookup(CMD["sha256"])
    assert cmd is not None and cmd.source == "xcyclopedia"
    assert known.warnings == ()
    assert len(known) == len(KnownGood.load()) + 1
    # the cached shipped set is not changed by loading extras
    assert KnownGood.load().lookup("a1b2c3d4e5f60718293a4b5c6d7e8f90" * 2) is None


def test_bad_user_rows_are_warnings_with_file_and_line(tmp_path: Path) -> None:
    own = tmp_path / "mixed.csv"
    own.write_text(
        "hash,file_name,product\n"
        "0123456789abcdef0123456789abcdef,good.exe,Good\n"
        "not-a-hash,bad.exe,Bad\n"
        '\n,"multi\nline",no hash\n'
        "d41d8cd98f00b204e9800998ecf8427e,empty.exe,Empty\n"
        "0123456789abcdef0123456789abcdeg,typo.exe,Typo\n"
        "89abcdef0123456789abcdef0123456789abcdef,late.exe,Late,extra\n"
        "fedcba9876543210fedcba9876543210fedcba98,sha1.exe,Sha1\n",
        encoding="utf-8",
    )
    known = KnownGood.load([own])
    lines = [(w.location, w.message) for w in known.warnings]
    assert [location for location, _ in lines] == [
        f"{own}:3",
        f"{own}:5",
        f"{own}:7",
        f"{own}:8",
        f"{own}:9",
    ]
    assert "invalid hash 'not-a-hash'" in lines[0][1]
    assert lines[1][1] == "no hash in this row"
    assert "empty file" in lines[2][1]
    assert "invalid md5" in lines[3][1]
    assert lines[4][1] == "row has 4 fields, the header has 3"
    good = known.lookup("0123456789ABCDEF0123456789ABCDEF")
    assert good is not None and good.file_name == "good.exe"
    assert known.lookup("fedcba9876543210fedcba9876543210fedcba98") is not None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("hashes.txt", b"321a50053155122e6ace9691197a8e3f\n"),
        ("binary.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xfe\xfa\x00\x00"),
        ("report.csv", b"name,size\ncmd.exe,1024\n"),
        ("empty.csv", b""),
        ("unclosed.csv", b'md5,file_name\n321a50053155122e6ace9691197a8e3f,"cmd.exe\n' * 2),
    ],
)
def test_a_file_that_is_not_a_csv_of_hashes_is_bad_input(
    tmp_path: Path, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadInputError) as raised:
        KnownGood.load([path])
    assert raised.value.location is not None and raised.value.location.startswith(str(path))


def test_a_missing_user_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read"):
        KnownGood.load([tmp_path / "absent.csv"])


def test_import_flags_a_known_good_hash_as_dual_use_not_benign(tmp_path: Path) -> None:
    listing = tmp_path / "advisory-hashes.txt"
    listing.write_text(f"{CMD['md5'].upper()}\n{UNKNOWN_MD5}\nevil-apt.net\n", encoding="utf-8")
    with CaseStore.open(tmp_path / "case") as store:
        report = import_files(store, [listing]).as_dict()
        sightings = dict(
            store.con.execute(
                "SELECT value, tags FROM sightings WHERE type = 'md5' ORDER BY value"
            ).fetchall()
        )
        context = store.con.execute(
            "SELECT context FROM sightings WHERE value = ?", [CMD["md5"]]
        ).fetchone()
        benign = store.con.execute(
            "SELECT value FROM indicators WHERE benign_reason IS NOT NULL"
        ).fetchall()
    note = dual_use_note(IndicatorType.MD5, CMD["md5"])
    assert note is not None and "cmd.exe" in note
    expected = [{"type": "md5", "value": CMD["md5"], "note": note}]
    assert report["dual_use"] == expected
    assert report["files"][0]["dual_use"] == expected
    assert report["benign"] == [] and benign == []
    assert "dual-use" in sightings[CMD["md5"]]
    assert "dual-use" not in (sightings[UNKNOWN_MD5] or [])
    assert context is not None and json.loads(context[0])["dual_use"] == note
