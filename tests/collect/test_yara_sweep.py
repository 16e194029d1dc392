"""The sweep scans what the default YARA policy selects with the shipped set, stores the matches
in ``files.yara``, and the hunt's ``ioc.yara-default`` turns them into findings from the case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from seawall.case.store import CaseStore
from seawall.cli import collect
from seawall.cli.output import CliState
from seawall.collect.files import CollectOptions, collect_files
from seawall.detect.engine import HuntRequest, hunt
from seawall.errors import UsageError
from seawall.features.yara_set import set_info
from tests.features.test_yara import CHOPPER, PE_HEAD


def _tree(root: Path) -> dict[str, Path]:
    """A mounted Windows volume: a web root with China Chopper, a PE dropped in a user's
    Downloads, the same PE in System32, and a text file."""
    files = {
        "shell": root / "inetpub" / "wwwroot" / "aspnet_client" / "errorEE.aspx",
        "dropped": root / "Users" / "bob" / "Downloads" / "update.exe",
        "system": root / "Windows" / "System32" / "svc.exe",
        "notes": root / "Users" / "bob" / "notes.txt",
    }
    contents = {"shell": CHOPPER, "dropped": PE_HEAD, "system": PE_HEAD, "notes": b"hello"}
    for key, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[key])
    return files


def _yara_by_name(store: CaseStore) -> dict[str, Any]:
    rows = store.con.execute("SELECT name, yara FROM files").fetchall()
    return {name: (json.loads(value) if value is not None else None) for name, value in rows}


def test_the_default_policy_scans_scripts_and_dropped_executables(
    tmp_path: Path, case_dir: Path
) -> None:
    _tree(tmp_path / "c")
    with CaseStore.open(case_dir) as store:
        report = collect_files(store, [str(tmp_path / "c")], CollectOptions(workers=1))
        found = _yara_by_name(store)
    assert report.yara_set == set_info().version
    assert (report.yara_scanned, report.yara_matched) == (2, 1)
    assert found["svc.exe"] is None  # C:\Windows\System32 is not scanned by default
    assert found["notes.txt"] is None
    assert found["update.exe"] == {"set": set_info().version, "scope": "all", "hits": []}
    rules = {hit["rule"] for hit in found["errorEE.aspx"]["hits"]}
    assert "ChinaChopper_Generic" in rules


def test_the_hunt_makes_a_finding_with_the_rule_and_its_metadata(
    tmp_path: Path, case_dir: Path
) -> None:
    _tree(tmp_path / "c")
    with CaseStore.open(case_dir) as store:
        collect_files(store, [str(tmp_path / "c")], CollectOptions(workers=2))
        result = hunt(store, HuntRequest(detection_ids=("ioc.yara-default",)))
    (finding,) = result.findings
    assert finding.detection_id == "ioc.yara-default"
    assert "c:\\inetpub\\wwwroot\\aspnet_client\\erroree.aspx" in finding.summary.lower()
    assert "ChinaChopper_Generic" in finding.summary
    assert "T1505.003" in finding.techniques
    assert finding.severity == "high"
    chopper = next(r for r in finding.reasons if "ChinaChopper_Generic" in r.text)
    text = chopper.text
    assert "Florian Roth" in text and "reference http" in text and "eval(Request" in text
    assert chopper.code == "yara.match" and chopper.data["rule"] == "ChinaChopper_Generic"
    assert "Florian Roth" in str(chopper.data["author"])
    hits = finding.evidence[0].row["yara_hits"]
    assert isinstance(hits, list) and hits
    (coverage,) = [c for c in result.coverage if c.detection_id == "ioc.yara-default"]
    assert coverage.status == "ran" and "2 files scanned" in coverage.notes[0]


def test_no_default_yara_stores_nothing_and_the_hunt_says_why(
    tmp_path: Path, case_dir: Path
) -> None:
    _tree(tmp_path / "c")
    with CaseStore.open(case_dir) as store:
        report = collect_files(store, [str(tmp_path / "c")], CollectOptions(yara="off"))
        assert set(_yara_by_name(store).values()) == {None}
        result = hunt(store, HuntRequest(detection_ids=("ioc.yara-default",)))
    assert report.yara_set is None and report.yara_scanned == 0
    (coverage,) = result.coverage
    assert coverage.status == "not-run" and "--no-default-yara" in (coverage.reason or "")


def test_yara_all_scans_every_file(tmp_path: Path, case_dir: Path) -> None:
    _tree(tmp_path / "c")
    with CaseStore.open(case_dir) as store:
        report = collect_files(store, [str(tmp_path / "c")], CollectOptions(yara="all"))
        found = _yara_by_name(store)
    assert report.yara_scanned == 4
    assert all(value is not None for value in found.values())


def test_a_resweep_scans_unchanged_files_that_its_policy_now_selects(
    tmp_path: Path, case_dir: Path
) -> None:
    """Rows swept with the shipped set off are read again when it is on (the policy changed),
    then re-used as they are; changing nothing else."""
    _tree(tmp_path / "c")
    root = [str(tmp_path / "c")]
    with CaseStore.open(case_dir) as store:
        collect_files(store, root, CollectOptions(yara="off"))
        again = collect_files(store, root, CollectOptions())
        assert again.yara_scanned == 2 and again.hashed == 4 and again.reused == 0
        third = collect_files(store, root, CollectOptions())
        assert third.yara_scanned == 0 and third.reused == 4
        assert "ChinaChopper_Generic" in json.dumps(_yara_by_name(store)["errorEE.aspx"])
        # matches of an older set version are not trusted: those files are read again
        store.con.execute(
            "UPDATE files SET yara = replace(yara::VARCHAR, ?, 'signature-base@old')::JSON"
            " WHERE yara IS NOT NULL",
            [set_info().version],
        )
        fourth = collect_files(store, root, CollectOptions())
        assert fourth.yara_scanned == 2 and fourth.reused == 2
        assert {str(v["set"]) for v in _yara_by_name(store).values() if v} == {set_info().version}


def test_cli_flags_and_report(tmp_path: Path, case_dir: Path) -> None:
    _tree(tmp_path / "c")
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(case_dir=case_dir)

    root.add_typer(collect.app, name="collect")
    sweep = ["collect", "files", str(tmp_path / "c"), "--json"]
    result = CliRunner().invoke(root, [*sweep, "--no-default-yara"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["yara_set"] is None and document["yara_scanned"] == 0
    result = CliRunner().invoke(root, [*sweep, "--yara-all"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["yara_set"] == set_info().version and document["yara_scanned"] == 4
    both = CliRunner().invoke(root, [*sweep, "--yara-all", "--no-default-yara"])
    assert isinstance(both.exception, UsageError)


def test_a_resweep_with_yara_all_rescans_what_the_scripts_set_alone_scanned(
    tmp_path: Path, case_dir: Path
) -> None:
    _tree(tmp_path / "c")
    root = [str(tmp_path / "c")]
    with CaseStore.open(case_dir) as store:
        collect_files(store, root, CollectOptions())
        everything = collect_files(store, root, CollectOptions(yara="all"))
        # the PE was scanned with every rule already; the script (scripts' set) and the files
        # the default policy left alone are read again
        assert (everything.yara_scanned, everything.reused) == (3, 1)
        scopes = {name: v["scope"] for name, v in _yara_by_name(store).items()}
    assert set(scopes.values()) == {"all"}
