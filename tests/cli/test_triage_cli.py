"""`seawall triage`: allowlists applied to stored findings afterwards, analysts' verdicts that
survive re-hunts, and both shown in every report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.errors import ExitCode
from tests.cli.conftest import JsonRun
from tests.detect.helpers import PUTTY_MD5, import_list, place, putty, sweep

HASH = "ioc.file-hash"
LOCATION = "host.legit-tool-location"


@pytest.fixture
def case(tmp_path: Path, case_dir: Path, run_json: JsonRun) -> list[str]:
    """PuTTY in C:\\Users\\Public\\Music on ws1, its MD5 an indicator, hunted: two findings."""
    root = tmp_path / "c"
    place(root, "Users/Public/Music/putty.exe", putty())
    sweep(case_dir, root)
    import_list(case_dir, tmp_path / "iocs.txt", [PUTTY_MD5])
    argv = ["--case", str(case_dir)]
    hunted = run_json([*argv, "hunt"], ExitCode.FINDINGS)
    assert sorted(f["detection_id"] for f in hunted["findings"]) == [LOCATION, HASH]
    return argv


def _by_detection(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["detection_id"]: f for f in document["findings"]}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_allowlist_applies_to_stored_findings_without_hunting(
    case: list[str], tmp_path: Path, run_json: JsonRun
) -> None:
    allow = _write(
        tmp_path / "allow.yml",
        "allow:\n"
        "  - path: 'C:\\Users\\Public\\Music\\*'\n"
        "    detection: 'ioc.*'\n"
        "    until: 2099-01-01\n"
        "    reason: the lab's copy, kept for tests\n"
        "  - {host: 'db*', reason: matches nothing here}\n"
        "  - {detection: 'host.*', until: 2020-01-01, reason: an old exception}\n",
    )
    with CaseStore.open(Path(case[1])) as store:
        hunts = len(store.con.execute("SELECT * FROM runs").fetchall())
    dry = run_json([*case, "triage", "apply", str(allow), "--dry-run"], ExitCode.OK)
    assert dry["dry_run"] and dry["suppressed"] == 1 and dry["run_id"] is None
    assert run_json([*case, "findings"], ExitCode.OK)["count"] == 2  # nothing recorded
    applied = run_json([*case, "triage", "apply", str(allow)], ExitCode.OK)
    assert [(e["entry"], e["matched"]) for e in applied["entries"]] == [
        (f"{allow}:2", 1),
        (f"{allow}:6", 0),
    ]
    assert applied["expired"] == [
        f"{allow}:7: expired on 2020-01-01T23:59:59.999999+00:00: not applied"
    ]
    # `findings` leaves it out, and shows it with what suppressed it when asked.
    listed = run_json([*case, "findings"], ExitCode.OK)
    assert listed["count"] == 1 and listed["suppressed_hidden"] == 1
    everything = _by_detection(run_json([*case, "findings", "--suppressed"], ExitCode.OK))
    suppression = everything[HASH]["suppression"]
    assert suppression["kind"] == "triage" and suppression["entry"] == f"{allow}:2"
    assert suppression["reason"] == "the lab's copy, kept for tests"
    assert suppression["expires"].startswith("2099-01-01T23:59:59")
    assert everything[LOCATION]["suppressed"] is False
    # A re-hunt joins it in: the id is stable.
    again = _by_detection(run_json([*case, "hunt"], ExitCode.FINDINGS))
    assert again[HASH]["suppression"]["entry"] == f"{allow}:2"
    with CaseStore.open(Path(case[1])) as store:
        runs = store.con.execute("SELECT command FROM runs ORDER BY started_at").fetchall()
    assert [r[0] for r in runs[hunts:]] == ["triage apply", "hunt"]
    # Applying the edited file again replaces what it recorded.
    _write(allow, "allow:\n  - {host: 'db*', reason: matches nothing here}\n")
    emptied = run_json([*case, "triage", "apply", str(allow)], ExitCode.OK)
    assert emptied["suppressed"] == 0 and emptied["released"] == 1
    assert run_json([*case, "findings"], ExitCode.OK)["count"] == 2


def test_a_suppression_whose_entry_expired_no_longer_holds(
    case: list[str], tmp_path: Path, run_json: JsonRun, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = _write(tmp_path / "allow.csv", "detection,until,reason\nhost.*,2099-12-31,ok\n")
    assert run_json([*case, "triage", "apply", str(allow)], ExitCode.OK)["suppressed"] == 1
    assert run_json([*case, "findings"], ExitCode.OK)["count"] == 1
    with CaseStore.open(Path(case[1])) as store:  # time passes
        store.con.execute("UPDATE suppressions SET expires = TIMESTAMP '2021-01-01'")
    capsys.readouterr()
    shown = run_json([*case, "findings"], ExitCode.OK)
    assert shown["count"] == 2
    assert shown["warnings"] == [
        f"allowlist entry {allow}:2 (expired 2021-01-01 00:00:00Z) no longer applies:"
        " 1 finding(s) it suppressed are shown again"
    ]


def test_verdicts_are_kept_with_who_and_when_and_survive_rehunts(
    case: list[str], run_json: JsonRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEAWALL_ANALYST", "ana")
    found = _by_detection(run_json([*case, "findings"], ExitCode.OK))
    hash_id = found[HASH]["finding_id"]
    marked = run_json(
        [*case, "triage", "mark", hash_id[:8], "true-positive", "--reason", "staged by APT40"],
        ExitCode.OK,
    )
    assert marked["finding_id"] == hash_id and marked["previous"] is None
    assert marked["review"]["analyst"] == "ana" and marked["review"]["verdict"] == "true-positive"
    location_id = found[LOCATION]["finding_id"]
    mark = [*case, "triage", "mark", location_id, "false-positive", "--reason"]
    run_json([*mark, "a copy for the tests"], ExitCode.OK)
    # A confirmed finding is still a finding: the hunt exits 1 for it, and shows both reviews.
    again = _by_detection(run_json([*case, "hunt"], ExitCode.FINDINGS))
    assert again[HASH]["review"]["reason"] == "staged by APT40"
    assert again[LOCATION]["review"]["verdict"] == "false-positive"
    # Once nothing is left to review (false positive or benign), the hunt exits 0.
    monkeypatch.setenv("SEAWALL_ANALYST", "bob")
    changed = run_json(
        [*case, "triage", "mark", hash_id, "benign", "--reason", "a test"], ExitCode.OK
    )
    assert changed["previous"]["analyst"] == "ana"
    assert run_json([*case, "hunt"], ExitCode.OK)["findings"][0]["review"]["analyst"] in (
        "ana",
        "bob",
    )
    listing = run_json([*case, "triage", "list"], ExitCode.OK)
    assert sorted((r["verdict"], r["analyst"]) for r in listing["reviews"]) == [
        ("benign", "bob"),
        ("false-positive", "ana"),
    ]
    history = run_json([*case, "triage", "list", "--history"], ExitCode.OK)["reviews"]
    assert [r["verdict"] for r in history if r["finding_id"] == hash_id] == [
        "true-positive",
        "benign",
    ]
    assert all(r["what"] for r in history)


def test_mark_refuses_what_it_cannot_record(case: list[str], run_json: JsonRun) -> None:
    mark = [*case, "triage", "mark"]
    unknown = run_json([*mark, "ffffffff", "benign", "--reason", "x"], ExitCode.USAGE)
    assert "no stored finding has an id starting 'ffffffff'" in unknown["error"]["message"]
    found = run_json([*case, "findings"], ExitCode.OK)["findings"][0]["finding_id"]
    wrong = run_json([*mark, found, "malicious", "--reason", "x"], ExitCode.USAGE)
    assert "true-positive, false-positive, benign" in wrong["error"]["message"]
    empty = run_json([*mark, found, "benign", "--reason", " "], ExitCode.USAGE)
    assert "--reason" in empty["error"]["message"]
    assert run_json([*mark, "", "benign", "--reason", "x"], ExitCode.USAGE)


def test_a_hunt_time_allowlist_judges_paths_and_values_of_any_detection(
    case: list[str], tmp_path: Path, run_json: JsonRun
) -> None:
    allow = _write(
        tmp_path / "allow.yml",
        f"allow:\n  - {{value: '{PUTTY_MD5.upper()}', reason: the advisory's own sample}}\n"
        "  - {path: '/no/such/*', reason: never}\n",
    )
    hunted = _by_detection(run_json([*case, "hunt", "--allowlist", str(allow)], ExitCode.OK))
    # The value is the file's MD5: both file findings carry it in their evidence.
    suppression = hunted[HASH]["suppression"]
    assert suppression == {
        "kind": "allowlist",
        "reason": "the advisory's own sample",
        "entry": f"{allow}:2",
        "applied": None,
        "expires": None,
    }
    assert hunted[LOCATION]["suppression"]["entry"] == f"{allow}:2"


def test_text_views_show_the_review_and_the_suppression(
    case: list[str], tmp_path: Path, run_json: JsonRun, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _by_detection(run_json([*case, "findings"], ExitCode.OK))
    run_json(
        [*case, "triage", "mark", found[HASH]["finding_id"], "true-positive", "--reason", "real"],
        ExitCode.OK,
    )
    allow = _write(tmp_path / "a.yml", "allow:\n  - {detection: 'host.*', reason: in the lab}\n")
    run_json([*case, "triage", "apply", str(allow)], ExitCode.OK)
    capsys.readouterr()
    assert run([*case, "findings", "--suppressed"]) == ExitCode.OK
    text = capsys.readouterr().out
    assert "reviewed true-positive by" in text and ": real" in text
    assert f"suppressed: allowlisted by {allow}:2: in the lab (triage apply," in text
    assert run([*case, "triage", "list"]) == ExitCode.OK
    listed = capsys.readouterr().out
    assert "Reviews (1)" in listed and "Suppressions (1)" in listed  # cells fold at 80 columns
