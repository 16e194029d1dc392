"""`seawall collect files`: a hostile tree swept without a crash, hashes that match hashlib's,
incremental re-sweeps, untouched evidence, Windows path mapping, and the real PuTTY binaries."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli import collect
from seawall.cli.output import CliState
from seawall.collect.files import CollectOptions, CollectReport, collect_files
from seawall.collect.hashing import hash_file
from seawall.collect.paths import parse_root_map, windows_path
from seawall.errors import UsageError
from tests.conftest import shared

BIG = bytes(range(256)) * 10_000  # 2.56 MB: several 1 MiB chunks, the last one partial
BAD_NAME = b"caf\xe9-latin1.txt"  # Latin-1 bytes: not valid UTF-8


def _build_tree(root: Path) -> dict[str, bytes]:
    """A small evidence tree with every oddity the sweep must survive; returns regular files."""
    contents = {
        "c/Windows/System32/cmd.exe": b"MZ fake cmd",
        "c/Users/Public/notes.txt": b"hello\n",
        "c/empty.dat": b"",
        "c/big.bin": BIG,
    }
    for relative, data in contents.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    (root / "c/Users/loop").symlink_to("..")  # a directory symlink loop
    (root / "c/Users/notes-link").symlink_to("Public/notes.txt")
    os.mkfifo(root / "c/pipe")
    (root / "c" / os.fsdecode(BAD_NAME)).write_bytes(b"odd name")  # surrogate-escaped bytes
    contents["c/" + os.fsdecode(BAD_NAME)] = b"odd name"
    return contents


def _rows(store: CaseStore, host: str = "evidence") -> dict[str, dict[str, Any]]:
    relation = store.con.sql("SELECT * FROM files WHERE host = ?", params=[host])
    columns = relation.columns
    return {row[0]: dict(zip(columns, row, strict=True)) for row in relation.fetchall()}


def _sweep(store: CaseStore, roots: list[Path], **options: Any) -> CollectReport:
    options.setdefault("host", "evidence")
    return collect_files(store, [str(r) for r in roots], CollectOptions(**options))


def test_sweep_records_files_with_hashlib_hashes_and_warns_with_paths(
    tmp_path: Path, case_dir: Path
) -> None:
    evidence = tmp_path / "evidence"
    contents = _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence / "c"])
        rows = _rows(store)
        run = store.con.execute("SELECT status, summary FROM runs").fetchall()

    for relative, data in contents.items():
        path = os.fsencode(evidence / relative).decode("utf-8", errors="backslashreplace")
        row = rows[path]
        assert row["md5"] == hashlib.md5(data).hexdigest()
        assert row["sha1"] == hashlib.sha1(data).hexdigest()
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["source_sha256"] == row["sha256"]
        assert row["size"] == len(data)
        assert row["file_kind"] == "regular"
        assert row["record_ref"] == str(row["inode"])
        assert row["run_id"] == report.run_id
        assert row["os"] == "windows"  # the tree holds Windows/System32
    assert "\\xe9" in next(p for p in rows if "latin1" in p)

    link = rows[str(evidence / "c/Users/notes-link")]
    assert link["file_kind"] == "symlink"
    assert link["sha256"] is None
    loop = rows[str(evidence / "c/Users/loop")]
    assert loop["file_kind"] == "symlink"  # recorded, never walked into: no loop without follow

    assert report.files == len(contents) + 2
    assert report.hashed == len(contents)
    assert report.bytes_hashed == sum(len(d) for d in contents.values())
    assert report.reused == 0
    warnings = {(w.path, w.message) for w in report.warnings}
    assert (str(evidence / "c/pipe"), "skipped: FIFO") in warnings
    assert any("latin1" in p and "not valid UTF-8" in m for p, m in warnings)
    assert report.skipped == 1  # the FIFO; the odd name is still recorded and hashed
    assert run[0][0] == "ok"
    assert json.loads(run[0][1])["hashed"] == len(contents)


def test_follow_symlinks_detects_the_loop(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence], follow_symlinks=True)
        rows = _rows(store)
    loop_warnings = [w for w in report.warnings if "loop" in w.message]
    assert [w.path for w in loop_warnings] == [str(evidence / "c/Users/loop")]
    followed = rows[str(evidence / "c/Users/notes-link")]
    assert followed["sha256"] == hashlib.sha256(b"hello\n").hexdigest()
    assert followed["file_kind"] == "symlink"


def test_resweep_reuses_unchanged_hashes_and_rehashes_changed_files(
    tmp_path: Path, case_dir: Path
) -> None:
    evidence = tmp_path / "evidence"
    contents = _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        first = _sweep(store, [evidence])
        second = _sweep(store, [evidence])
        assert (second.hashed, second.reused) == (0, first.hashed)
        assert second.bytes_hashed == 0

        notes = evidence / "c/Users/Public/notes.txt"
        notes.write_bytes(b"changed by the actor\n")
        (evidence / "c/empty.dat").unlink()
        third = _sweep(store, [evidence])
        rows = _rows(store)
        count = store.con.execute("SELECT count(*) FROM files").fetchone()
    assert (third.hashed, third.reused) == (1, len(contents) - 2)
    assert rows[str(notes)]["sha256"] == hashlib.sha256(b"changed by the actor\n").hexdigest()
    assert str(evidence / "c/empty.dat") not in rows  # a re-sweep replaces the host's rows
    assert count is not None and count[0] == third.files  # each file once per host


def test_other_hosts_and_other_roots_are_kept(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        a = _sweep(store, [evidence / "c/Users"], host="a")
        b = _sweep(store, [evidence / "c/Windows"], host="a")
        other = _sweep(store, [evidence / "c/Users"], host="b")
        assert other.reused == 0  # hashes are never borrowed from another host's sweep
        again = _sweep(store, [evidence / "c/Users"], host="a")
        total = store.con.execute("SELECT count(*) FROM files").fetchone()
    assert again.reused == a.hashed
    assert total is not None and total[0] == a.files + b.files + other.files


def test_evidence_times_are_not_changed(tmp_path: Path, case_dir: Path) -> None:
    """Under relatime a read updates an atime older than the mtime: set it so, then sweep."""
    evidence = tmp_path / "evidence"
    contents = _build_tree(evidence)
    paths = [evidence / r for r in contents] + [evidence / "c", evidence / "c/Users"]
    for path in paths:
        st = path.stat()
        os.utime(path, ns=(st.st_mtime_ns - 10**12, st.st_mtime_ns))
    before = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in paths}
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence], follow_symlinks=True)
    after = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in paths}
    if os.geteuid() == 0:
        assert after == before  # O_NOATIME is allowed: neither time may change
    else:
        owned = [p for p in paths if p.stat().st_uid == os.geteuid()]
        assert {p: after[p] for p in owned} == {p: before[p] for p in owned}


def test_max_size_and_exclude(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence], max_size=1000, excludes=("System32", "*.txt"))
        rows = _rows(store)
    big = rows[str(evidence / "c/big.bin")]
    assert big["size"] == len(BIG) and big["sha256"] is None
    assert "max-size" in big["note"]
    assert report.too_large == 1
    assert not any("System32" in p or p.endswith(".txt") for p in rows)
    assert report.excluded == 3  # the System32 directory and both .txt files


def test_unreadable_file_is_a_warning(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    secret = evidence / "secret.bin"
    evidence.mkdir()
    secret.write_bytes(b"secret")
    secret.chmod(0)
    try:
        with CaseStore.open(case_dir) as store:
            report = _sweep(store, [evidence])
            rows = _rows(store)
    finally:
        secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert str(secret) in rows  # metadata is recorded either way
    if os.geteuid() != 0:  # root reads mode-000 files: the denial cannot be staged
        assert [w.path for w in report.warnings] == [str(secret)]
        assert rows[str(secret)]["sha256"] is None


def test_paths_longer_than_4096_bytes_are_skipped_with_a_warning(
    tmp_path: Path, case_dir: Path
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    name = "d" * 250
    fd = os.open(evidence, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(18):  # 18 x 251 bytes: past PATH_MAX, made relative to a directory fd
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence])
    assert report.skipped == 1
    assert "longer than 4096" in report.warnings[0].message
    assert report.warnings[0].path.startswith(str(evidence))


def test_root_map_gives_lower_case_windows_paths(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    mapping = parse_root_map(f"{evidence / 'c'}=C:\\")
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence / "c"], root_maps=(mapping,))
        rows = _rows(store)
    cmd = rows[str(evidence / "c/Windows/System32/cmd.exe")]
    assert cmd["windows_path"] == "c:\\windows\\system32\\cmd.exe"
    assert cmd["os"] == "windows"
    assert windows_path(os.fsencode(evidence / "c"), [mapping]) == "c:\\"
    assert windows_path(b"/elsewhere/x", [mapping]) is None
    with pytest.raises(UsageError):
        parse_root_map("/mnt/c")


def test_real_putty_binaries(case_dir: Path) -> None:
    putty = shared("pe/putty-0.83")
    mapping = parse_root_map(f"{putty}=C:\\Program Files\\PuTTY")
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [putty], root_maps=(mapping,))
        rows = {r["windows_path"]: r for r in _rows(store).values()}
    assert report.warnings == []
    exe = rows["c:\\program files\\putty\\putty.exe"]
    assert exe["sha256"] == hashlib.sha256((putty / "putty.exe").read_bytes()).hexdigest()
    assert exe["md5"] == hashlib.md5((putty / "putty.exe").read_bytes()).hexdigest()
    assert (
        hash_file(os.fsencode(putty / "plink.exe")).sha256
        == rows["c:\\program files\\putty\\plink.exe"]["sha256"]
    )


def test_cli_prints_one_json_document(tmp_path: Path, case_dir: Path) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(case_dir=case_dir)

    root.add_typer(collect.app, name="collect")
    arguments = ["collect", "files", str(evidence), "--host", "h1", "--json"]
    result = CliRunner().invoke(root, [*arguments, "--root-map", f"{evidence}=D:\\"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["host"] == "h1"
    assert document["hashed"] == 5 and document["skipped"] == 1
    assert {w["path"] for w in document["warnings"]} >= {str(evidence / "c/pipe")}
    assert set(document) >= {"files", "reused", "bytes_hashed", "run_id", "warnings"}
    bad = CliRunner().invoke(root, ["collect", "files", str(evidence), "--os", "plan9"])
    assert isinstance(bad.exception, UsageError)
