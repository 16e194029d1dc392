"""`seawall collect files`: a hostile tree swept without a crash, hashes that match hashlib's,
incremental re-sweeps, untouched evidence, Windows path mapping, and the real PuTTY binaries."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from seawall.case.store import DATABASE_NAME, CaseStore
from seawall.cli import collect
from seawall.cli.output import CliState
from seawall.collect import files, orphans, paths, sweep_worker, walk
from seawall.collect.files import CollectOptions, CollectReport, collect_files
from seawall.collect.paths import parse_root_map, windows_path
from seawall.errors import UsageError
from seawall.features.hashing import hash_file
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


def test_a_file_deleted_during_the_sweep_is_a_warning(
    tmp_path: Path, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real walk lists the file, then it is deleted before a worker can open it to hash it:
    the sweep completes, the file gets no row, and a warning says it vanished."""
    evidence = tmp_path / "evidence"
    contents = _build_tree(evidence)
    victim = evidence / "c/Users/Public/notes.txt"
    listed = walk._list_directory

    def list_then_delete(
        into: Any, directory: bytes, fd: int, stack: list[tuple[bytes, bool]]
    ) -> None:
        listed(into, directory, fd, stack)
        if directory == os.fsencode(victim.parent) and victim.exists():
            victim.unlink()  # listed (and stat-ed) already: only the hashing can notice

    monkeypatch.setattr(walk, "_list_directory", list_then_delete)
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence / "c"])
        rows = _rows(store)
        run = store.con.execute("SELECT status FROM runs").fetchone()
    assert not victim.exists()
    assert (str(victim), "skipped: vanished during the sweep") in {
        (w.path, w.message) for w in report.warnings
    }
    assert str(victim) not in rows
    assert report.hashed == len(contents) - 1
    assert report.skipped == 2  # the FIFO and the vanished file
    assert run is not None and run[0] == "ok"


def test_resweep_keeps_hashes_of_a_file_whose_metadata_alone_changed(
    tmp_path: Path, case_dir: Path
) -> None:
    """chmod changes the mode and ctime, not the bytes: the new row re-uses the hashes."""
    evidence = tmp_path / "evidence"
    contents = _build_tree(evidence)
    notes = evidence / "c/Users/Public/notes.txt"
    with CaseStore.open(case_dir) as store:
        first = _sweep(store, [evidence])
        before = _rows(store)[str(notes)]
        notes.chmod(0o600)
        second = _sweep(store, [evidence])
        rows = _rows(store)
    after = rows[str(notes)]
    assert (second.hashed, second.reused) == (0, first.hashed)
    assert after["mode"] & 0o777 == 0o600 and before["mode"] & 0o777 != 0o600
    expected = hashlib.sha256(contents["c/Users/Public/notes.txt"]).hexdigest()
    assert after["sha256"] == before["sha256"] == expected
    assert after["file_type"] == before["file_type"]
    # the changed row is the second sweep's; the rows of unchanged entries (symlinks included)
    # stay those of the sweep that recorded them
    assert after["run_id"] == second.run_id
    unchanged = [r for p, r in rows.items() if p != str(notes)]
    assert {r["run_id"] for r in unchanged} == {first.run_id}
    assert any(r["file_kind"] == "symlink" for r in unchanged)
    assert len(rows) == second.files == first.files


def test_tiny_batches_and_slices_record_the_same_rows(
    tmp_path: Path, case_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk slices of one entry, joins of three files and writes of two rows, and a first sweep
    that leaves every file over 4 bytes to the hashing chunks: same result."""
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    columns = "path, size, mode, md5, sha1, sha256, file_type, file_kind, note"
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence], host="normal")
        expected = store.con.execute(
            f"SELECT {columns} FROM files WHERE host = 'normal' ORDER BY path"
        ).fetchall()
        monkeypatch.setattr(files, "WALK_BUDGET", 1)
        monkeypatch.setattr(files, "JOIN_ROWS", 3)
        monkeypatch.setattr(files, "CHUNK_FILES", 2)
        monkeypatch.setattr(sweep_worker, "INLINE_BYTES", 4)
        first = _sweep(store, [evidence], host="tiny", batch_rows=2)
        (evidence / "c/Users/Public/notes.txt").write_bytes(b"changed\n")
        second = _sweep(store, [evidence], host="tiny", batch_rows=2)
        got = store.con.execute(
            f"SELECT {columns} FROM files WHERE host = 'tiny' ORDER BY path"
        ).fetchall()
    assert len(got) == len(expected) == first.files == second.files
    assert (second.hashed, second.reused) == (1, first.hashed - 1)
    changed = [g for g, e in zip(got, expected, strict=True) if g != e]
    assert [row[0] for row in changed] == [str(evidence / "c/Users/Public/notes.txt")]


def test_files_under_a_directory_whose_name_is_not_utf8_are_hashed(
    tmp_path: Path, case_dir: Path
) -> None:
    evidence = tmp_path / "evidence"
    odd = os.fsencode(evidence) + b"/" + BAD_NAME.replace(b".txt", b"")
    os.makedirs(odd + b"/inner")  # noqa: PTH103 (bytes path)
    with open(odd + b"/inner/payload.bin", "wb") as handle:  # noqa: PTH123 (bytes path)
        handle.write(b"payload")
    with CaseStore.open(case_dir) as store:
        report = _sweep(store, [evidence])
        rows = _rows(store)
    text = (odd + b"/inner/payload.bin").decode("utf-8", errors="backslashreplace")
    assert rows[text]["sha256"] == hashlib.sha256(b"payload").hexdigest()
    assert report.hashed == 1
    assert [w.message for w in report.warnings] == [
        "name is not valid UTF-8: recorded with \\x escapes"
    ]


def test_resweep_repairs_duplicate_previous_rows(tmp_path: Path, case_dir: Path) -> None:
    """A case whose ``files`` holds a path twice for a host (e.g. an import made twice): the
    re-sweep still re-uses the hashes and leaves the path once."""
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    notes = str(evidence / "c/Users/Public/notes.txt")
    with CaseStore.open(case_dir) as store:
        first = _sweep(store, [evidence])
        store.con.execute("INSERT INTO files SELECT * FROM files WHERE path = ?", [notes])
        second = _sweep(store, [evidence])
        count = store.con.execute("SELECT count(*) FROM files WHERE path = ?", [notes]).fetchone()
        total = store.con.execute("SELECT count(*) FROM files").fetchone()
    assert (second.hashed, second.reused) == (0, first.hashed)
    assert count == (1,) and total == (second.files,)


def test_a_windows_volume_is_mapped_to_c_when_no_root_map_covers_it(
    tmp_path: Path, case_dir: Path
) -> None:
    volume = tmp_path / "mnt" / "c"
    (volume / "WINDOWS" / "System32").mkdir(parents=True)
    (volume / "WINDOWS" / "System32" / "cmd.exe").write_bytes(b"MZ not really")
    with CaseStore.open(case_dir) as store:
        report = collect_files(store, [str(volume)], CollectOptions(host="img"))
        store.con.complete()
        rows = store.con.sql("SELECT os, windows_path FROM files WHERE name = 'cmd.exe'").fetchall()
    assert report.assumed_root_maps == [f"{volume}=C:\\"]
    assert rows == [("windows", "c:\\windows\\system32\\cmd.exe")]


def test_a_huge_directory_is_not_hashed_by_one_worker_alone(tmp_path: Path) -> None:
    """A walk slice stops between directories only, so a flat directory is one slice: its worker
    hashes at most ``budget`` files itself and leaves the rest (and larger files) to be spread
    over every worker in chunks."""
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(10):
        (flat / f"f{i}.txt").write_bytes(b"x" * i)
    (flat / "large.bin").write_bytes(b"y" * (sweep_worker.INLINE_BYTES + 1))
    settings = walk.WalkSettings(os_name="linux")
    swept = sweep_worker.walk_and_examine([(os.fsencode(flat), False)], settings, 3, True)
    assert swept.rows.num_rows == swept.hashed == 3
    assert swept.rows.column("sha256").null_count == 0
    left = swept.listed.table
    assert left.num_rows == 8 and "large.bin" in left.column("name").to_pylist()
    assert set(swept.rows.column("name").to_pylist()).isdisjoint(left.column("name").to_pylist())


def _state(store: CaseStore) -> list[tuple[Any, ...]]:
    return store.con.execute(
        "SELECT path, md5, sha256, run_id FROM files ORDER BY path, run_id"
    ).fetchall()


def _change_tree(evidence: Path) -> None:
    (evidence / "c/Users/Public/notes.txt").write_bytes(b"changed by the actor\n")
    (evidence / "c/empty.dat").unlink()
    (evidence / "c/Users/Public/new.txt").write_bytes(b"new\n")


class _FailingProgress:
    """Fails on the sweep's second write, after the first batch was committed."""

    def __init__(self) -> None:
        self.calls = 0

    def advance(self, files: int, nbytes: int) -> None:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("the sweep fails half-way")


def test_a_failed_resweep_leaves_the_previous_sweep_intact(tmp_path: Path, case_dir: Path) -> None:
    """Rows are committed in batches, yet a sweep that fails half-way changes nothing."""
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence])
        before = _state(store)
        _change_tree(evidence)
        options = CollectOptions(host="evidence", batch_rows=1)
        with pytest.raises(RuntimeError, match="half-way"):
            collect_files(store, [str(evidence)], options, _FailingProgress())
        after = _state(store)
        runs = store.con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
        kept = store.con.execute("SELECT count(*) FROM sweep_kept").fetchone()
    assert after == before
    assert runs == [("ok",), ("failed",)] and kept == (0,)


_KILLED_SWEEP = """
import os, sys
from pathlib import Path
from seawall.case.store import CaseStore
from seawall.collect.files import CollectOptions, collect_files

class Killer:
    def advance(self, files, nbytes):
        if nbytes:  # just after the first rows of hashed files were committed
            os._exit(9)  # no cleanup at all, as a kill or a power cut

with CaseStore.open(Path(sys.argv[1])) as store:
    options = CollectOptions(host="evidence", batch_rows=1)
    collect_files(store, [sys.argv[2]], options, Killer())
"""


def _survivors(marker: str, deadline: float) -> list[int]:
    """Live processes whose command line names ``marker``, once ``deadline`` seconds have
    passed without all of them exiting (zombies are dead: only their parent must reap them)."""
    end = time.monotonic() + deadline
    while True:
        alive: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue  # gone meanwhile
            if state != "Z" and os.fsencode(marker) in argv:
                alive.append(int(entry.name))
        if not alive or time.monotonic() > end:
            return alive
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc (Linux)")
def test_a_resweep_cut_short_is_discarded_when_the_case_is_next_opened(
    tmp_path: Path, case_dir: Path
) -> None:
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence])
        before = _state(store)
    _change_tree(evidence)
    killed = subprocess.Popen([sys.executable, "-c", _KILLED_SWEEP, str(case_dir), str(evidence)])
    assert killed.wait(timeout=120) == 9
    # its workers die with it instead of waiting for work for ever (reparented to pid 1)
    survivors = _survivors(str(case_dir), deadline=5.0)
    for pid in survivors:  # ours: do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
    # the killed sweep had committed rows: opened bare, the case still holds them
    with duckdb.connect(str(case_dir / DATABASE_NAME)) as bare:
        left = bare.execute(
            "SELECT count(*) FROM files JOIN runs USING (run_id) WHERE status = 'running'"
        ).fetchone()
    assert left is not None and left[0] > 0
    with CaseStore.open(case_dir) as store:
        after = _state(store)
        runs = store.con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
        kept = store.con.execute("SELECT count(*) FROM sweep_kept").fetchone()
        third = _sweep(store, [evidence])
    assert after == before
    assert runs == [("ok",), ("interrupted",)] and kept == (0,)
    assert third.hashed == 2  # the changed and the new file; the rest is re-used


def test_a_changed_max_size_changes_the_rows_it_concerns(tmp_path: Path, case_dir: Path) -> None:
    """A file over a new --max-size gets a note instead of its hashes; without the limit again it
    is read again (a row with a note has no hashes to re-use)."""
    evidence = tmp_path / "evidence"
    _build_tree(evidence)
    big = str(evidence / "c/big.bin")
    with CaseStore.open(case_dir) as store:
        _sweep(store, [evidence])
        limited = _sweep(store, [evidence], max_size=1000)
        noted = _rows(store)[big]
        again = _sweep(store, [evidence])
        hashed = _rows(store)[big]
    assert limited.too_large == 1 and noted["sha256"] is None
    assert noted["note"] == "larger than --max-size 1000: not hashed"
    assert again.hashed == 1 and hashed["note"] is None
    assert hashed["sha256"] == hashlib.sha256(BIG).hexdigest()


def test_a_worker_whose_parent_is_already_gone_exits() -> None:
    """The parent may die between the fork and the death-signal request: the worker checks."""
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        orphans.die_with_parent(os.getppid() + 1)  # "forked by" a process that is not its parent
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 1


def test_part_of_a_windows_image_gets_the_volume_s_windows_paths(
    tmp_path: Path, case_dir: Path
) -> None:
    """Sweeping ``image/Users`` alone: the volume's top is found above it and mapped to C:."""
    image = tmp_path / "image"
    (image / "Windows" / "System32").mkdir(parents=True)
    (image / "Users" / "bob" / "Downloads").mkdir(parents=True)
    (image / "Users" / "bob" / "Downloads" / "putty.exe").write_bytes(b"MZ not really")
    for os_name in ("windows", "auto"):
        with CaseStore.open(case_dir) as store:
            options = CollectOptions(host=f"img-{os_name}", os_name=os_name)
            report = collect_files(store, [str(image / "Users")], options)
            store.con.complete()
            rows = store.con.execute(
                "SELECT os, windows_path FROM files WHERE host = ?", [f"img-{os_name}"]
            ).fetchall()
        assert report.assumed_root_maps == [f"{image}=C:\\"]
        assert rows == [("windows", "c:\\users\\bob\\downloads\\putty.exe")]
        assert report.warnings == []


def test_users_and_program_files_make_a_windows_volume_too(tmp_path: Path) -> None:
    image = tmp_path / "export"
    (image / "users" / "bob").mkdir(parents=True)
    (image / "Program Files").mkdir()
    below = os.fsencode(image / "users" / "bob")
    assert paths.windows_volume_of(below) == os.fsencode(image)
    (image / "Program Files").rmdir()
    assert paths.windows_volume_of(below) is None


def test_a_windows_folder_swept_alone_warns_that_it_has_no_windows_path(
    tmp_path: Path, case_dir: Path
) -> None:
    users = tmp_path / "copied" / "Users"
    (users / "bob").mkdir(parents=True)
    (users / "bob" / "putty.exe").write_bytes(b"MZ not really")
    with CaseStore.open(case_dir) as store:
        report = collect_files(store, [str(users)], CollectOptions(host="h", os_name="windows"))
        store.con.complete()
        rows = store.con.sql("SELECT os, windows_path FROM files").fetchall()
    assert rows == [("windows", None)] and report.assumed_root_maps == []
    [warning] = report.warnings
    assert warning.path == str(users) and "--root-map SRC=DST" in warning.message
    assert f"{users}=C:\\Users" in warning.message
