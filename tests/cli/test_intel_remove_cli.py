"""`seawall intel remove SOURCE`: a source and its sightings go, and what they alone made known.

The derived state must match a case that never imported the source: indicator summaries,
indicators no other source sighted, and the lookup's probe index (``indicator_keys``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seawall.case.schema import INDICATOR_KEYS_SQL
from seawall.case.store import CaseStore
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun

# Two sources share evil-apt.net: A is sure of it, B is not. A alone knows an address, a
# network and a URL with capitals (the index keeps an extra lower-cased key for it).
A = (
    "Indicator,Type,Confidence\n"
    "evil-apt.net,domain,90\n"
    "45.77.20.7,ip,80\n"
    "45.77.10.0/24,cidr,80\n"
    "http://Evil-APT.net/Drop.php,url,80\n"
)
B = "Indicator,Type,Confidence\nevil-apt.net,domain,20\nother.example.org,domain,90\n"


def _rows(store: CaseStore, sql: str) -> list[tuple[Any, ...]]:
    return sorted(store.con.execute(sql).fetchall(), key=repr)


def _derived(case_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The state a removal must keep right, with the probe index as the schema derives it."""
    with CaseStore.open(case_dir, create=False) as store:
        return {
            "indicators": _rows(
                store, "SELECT type, value, confidence, valid_until, source_count FROM indicators"
            ),
            "keys": _rows(store, "SELECT * FROM indicator_keys"),
            "fresh keys": _rows(store, INDICATOR_KEYS_SQL.format(where="true")),
            "sightings": _rows(store, "SELECT type, value, source_id FROM sightings"),
        }


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(A, encoding="utf-8")
    b.write_text(B, encoding="utf-8")
    return a, b


def test_removal_leaves_the_case_as_if_the_source_was_never_imported(
    run_json: JsonRun, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    a, b = files
    only_b, both = tmp_path / "only-b", tmp_path / "both"
    run_json(["--case", str(only_b), "intel", "import", str(b)], ExitCode.OK)
    imported = run_json(["--case", str(both), "intel", "import", str(a), str(b)], ExitCode.OK)
    sha_a = imported["files"][0]["sha256"]
    case = ["--case", str(both)]
    before = run_json([*case, "intel", "lookup", "x.evil-apt.net", "45.77.10.9"], ExitCode.OK)
    assert [r["verdict"] for r in before["results"]] == ["malicious", "malicious"]

    removed = run_json([*case, "intel", "remove", "a.csv"], ExitCode.OK)
    assert removed["sha256"] == sha_a
    assert (removed["sightings"], removed["indicators_removed"]) == (4, 3)
    assert removed["indicators_kept"] == 1

    after, reference = _derived(both), _derived(only_b)
    assert after["keys"] == after["fresh keys"]  # the probe index agrees with indicators
    for part in ("indicators", "keys"):
        assert after[part] == reference[part]
    looked = run_json(
        [*case, "intel", "lookup", "x.evil-apt.net", "45.77.10.9", "45.77.20.7"], ExitCode.OK
    )
    # B alone is not sure of the domain; the address and the network are unknown again
    assert [r["verdict"] for r in looked["results"]] == ["suspicious", "unknown", "unknown"]
    sources = run_json([*case, "intel", "sources"], ExitCode.OK)["sources"]
    assert [s["name"] for s in sources] == ["b.csv"]
    # the file is no longer known: importing it again imports it afresh
    again = run_json([*case, "intel", "import", str(a)], ExitCode.OK)
    assert again["files"][0]["already_imported"] is False and again["indicators"] == 4


def test_remove_by_sha256_and_the_text_summary(
    run_json: JsonRun, case_dir: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from seawall.cli.app import run

    imported = run_json(["--case", str(case_dir), "intel", "import", *map(str, files)], ExitCode.OK)
    sha_b = imported["files"][1]["sha256"]
    capsys.readouterr()
    assert run(["--case", str(case_dir), "intel", "remove", sha_b.upper()]) == ExitCode.OK
    out = " ".join(capsys.readouterr().out.split())
    assert "removed b.csv" in out
    assert "2 sightings; 1 indicator no other source knows removed, 1 kept by other sources" in out


def test_unknown_and_ambiguous_sources_are_usage_errors(
    run_json: JsonRun, case_dir: Path, files: tuple[Path, Path]
) -> None:
    case = ["--case", str(case_dir)]
    run_json([*case, "intel", "import", *map(str, files), "--source", "CISA"], ExitCode.OK)
    missing = run_json([*case, "intel", "remove", "nobody"], ExitCode.USAGE)
    assert "no intel source named 'nobody'" in missing["error"]["message"]
    ambiguous = run_json([*case, "intel", "remove", "CISA"], ExitCode.USAGE)
    assert "2 sources are named 'CISA': give one SHA-256" in ambiguous["error"]["message"]
    assert run_json([*case, "case", "info"], ExitCode.OK)["tables"]["sources"] == 2


def test_lookup_from_file_answers_each_distinct_value_once(
    run_json: JsonRun, case_dir: Path, files: tuple[Path, Path], tmp_path: Path
) -> None:
    run_json(["--case", str(case_dir), "intel", "import", str(files[0])], ExitCode.OK)
    queries = tmp_path / "observed.txt"
    queries.write_text("evil-apt.net\n8.8.8.8\nevil-apt.net\n\n8.8.8.8\nevil-apt.net\n")
    argv = ["--case", str(case_dir), "intel", "lookup", "evil-apt.net", "--from-file", str(queries)]
    results = run_json(argv, ExitCode.OK)["results"]
    assert [r["query"] for r in results] == ["evil-apt.net", "8.8.8.8"]
