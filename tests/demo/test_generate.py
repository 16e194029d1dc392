"""The generator: the same seed gives the same bytes; the scale changes the background only."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import lief
import pytest

from seawall.demo.files import PUTTY_PATH, RENAMED_RAR_PATH, WEBSHELL, WEBSHELL_PATH
from seawall.demo.generate import Generated, generate
from seawall.demo.story import ITEMS
from seawall.errors import UsageError
from seawall.features.pe import inspect_pe
from tests.conftest import shared

pytestmark = pytest.mark.slow


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every generated file: its bytes and its modification time."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Generated]:
    """The same seed generated into two folders (without the real PuTTY)."""
    root = tmp_path_factory.mktemp("pair")
    first = generate(root / "one", seed=7, scale=1, shared_data=None)
    generate(root / "two", seed=7, scale=1, shared_data=None)
    return root / "one", root / "two", first


def test_same_seed_gives_the_same_bytes(pair: tuple[Path, Path, Generated]) -> None:
    one_dir, two_dir, first = pair
    one, two = snapshot(one_dir), snapshot(two_dir)
    assert one.keys() == two.keys()
    different = [name for name in one if one[name] != two[name]]
    assert different == []
    # and it is a real scenario: every kind of evidence, every item cited
    assert {entry.plane for entry in first.manifest.files} == {
        "files",
        "events",
        "network",
        "auth",
        "disk",
        "intel",
    }
    assert all(first.manifest.notes.get(item.id) for item in ITEMS)


def test_an_earlier_demo_is_replaced_and_other_folders_are_refused(
    pair: tuple[Path, Path, Generated], tmp_path: Path
) -> None:
    one_dir, two_dir, _first = pair
    (two_dir / "case").mkdir()  # what a run leaves
    (two_dir / "report").mkdir()
    generate(two_dir, seed=7, scale=1, shared_data=None)
    assert not (two_dir / "case").exists()
    assert snapshot(two_dir) == snapshot(one_dir)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="did not write"):
        generate(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Generated, Path, Generated]:
    root = tmp_path_factory.mktemp("scaled")
    small = generate(root / "small", seed=5, scale=1, shared_data=None)
    large = generate(root / "large", seed=5, scale=2, shared_data=None)
    return root / "small", small, root / "large", large


def test_another_seed_changes_the_background_not_the_story(
    pair: tuple[Path, Path, Generated], scaled: tuple[Path, Generated, Path, Generated]
) -> None:
    one_dir, _two, seven = pair
    small_dir, five, _large_dir, _large = scaled
    assert snapshot(one_dir) != snapshot(small_dir)
    assert [i["id"] for i in seven.truth["items"]] == [i["id"] for i in five.truth["items"]]
    for out in (one_dir, small_dir):
        shell = out / "evidence/hosts/WEB01" / WEBSHELL_PATH
        assert shell.read_bytes() == WEBSHELL.encode()


def _attack_records(out: Path, truth: dict[str, Any]) -> list[Any]:
    """The attack's records as the ground truth cites them, without what the background
    shifts (record numbers, process ids and GUIDs, Zeek uids, line numbers)."""
    found: list[Any] = []
    for item in truth["items"]:
        for note in item["evidence"]:
            path = out / note["file"]
            if path.is_dir():
                found.append((item["id"], note["file"], note.get("windows_path")))
                continue
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            if path.suffix in (".exe", ".aspx"):
                found.append((item["id"], note["file"], data))
                continue
            if "record" in note:
                records = json.loads(data)["value"]
                kept = {
                    k: v
                    for k, v in records[note["record"]].items()
                    if k not in ("id", "correlationId")
                }
                found.append((item["id"], kept))
                continue
            lines = data.decode().splitlines()
            numbers = note.get("lines") or [note["line"]]
            for number in numbers:
                found.append((item["id"], _stable(lines[number - 1], path)))
    return found


def _stable(line: str, path: Path) -> Any:
    if path.suffix == ".ndjson":
        record = json.loads(line)
        winlog = record["winlog"]
        data = winlog.get("event_data") or winlog.get("user_data")
        unstable = ("Guid", "ProcessId", "LogonId", "IpPort")
        kept = {k: v for k, v in data.items() if not k.endswith(unstable)}
        return record["@timestamp"], winlog["event_id"], kept
    if ".log" in path.name and "\t" in line:  # Zeek: drop the ports, uids and file ids
        fields = line.split("\t")
        columns = [fields[0], *fields[2:3], *fields[4:5], *fields[6:]]
        return [f for f in columns if not re.fullmatch(r"[CF][0-9A-Za-z]{17}", f)]
    return line


def test_scale_multiplies_the_background_never_the_attack(
    scaled: tuple[Path, Generated, Path, Generated],
) -> None:
    small_dir, small, large_dir, large = scaled
    for plane in ("events", "network", "files", "auth", "disk"):
        small_records = sum(e.records for e in small.manifest.files if e.plane == plane)
        large_records = sum(e.records for e in large.manifest.files if e.plane == plane)
        assert large_records > 1.3 * small_records, plane
    assert _attack_records(small_dir, small.truth) == _attack_records(large_dir, large.truth)


def test_the_stand_in_putty_is_a_pe_that_names_putty(pair: tuple[Path, Path, Generated]) -> None:
    out = pair[0]
    data = (out / "evidence/hosts/WEB01" / PUTTY_PATH).read_bytes()
    info = inspect_pe(data)
    assert (info.original_name, info.company, info.product) == (
        "PuTTY",
        "Simon Tatham",
        "PuTTY suite",
    )
    assert info.signature_status == "unsigned"
    assert info.warnings == ()
    binary = lief.PE.parse(list(data))
    assert binary is not None and binary.header.machine == lief.PE.Header.MACHINE_TYPES.AMD64
    installed = out / "evidence/hosts/ADM01/Program Files/PuTTY/putty.exe"
    assert installed.read_bytes() == data  # the same tool, installed where it belongs
    renamed = inspect_pe((out / "evidence/hosts/WEB01" / RENAMED_RAR_PATH).read_bytes())
    assert renamed.original_name == "Rar.exe"
    assert "generated stand-in" in pair[2].truth["scenario"]["putty"]


def test_the_real_putty_is_copied_when_the_shared_data_is_there(tmp_path: Path) -> None:
    folder = shared("pe/putty-0.83")
    generated = generate(tmp_path / "demo", seed=9, scale=1, shared_data=folder.parents[1])
    copied = (tmp_path / "demo/evidence/hosts/WEB01" / PUTTY_PATH).read_bytes()
    assert copied == (folder / "putty.exe").read_bytes()
    assert "signed PuTTY 0.83" in generated.truth["scenario"]["putty"]
