"""Allowlist files: YAML or CSV told by content, every mistake at its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.errors import BadInputError, UsageError
from seawall.triage.allowlist import glob_regex, load_allowlist, matches_detection, user_regex


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_and_csv_give_the_same_entries(tmp_path: Path) -> None:
    yaml_file = _write(
        tmp_path,
        "a.yml",
        "# who may map admin shares\nallow:\n"
        "  - detection: evtx.admin-share-mapping\n    user: 'CORP\\svc'\n"
        "    source: 10.0.0.0/8\n    item: 'C$'\n    until: 2025-01-01T00:00:00+02:00\n"
        "    reason: backups\n",
    )
    csv_file = _write(
        tmp_path,
        "a.csv",
        "\ufeffReason,Detection,User,Source,Item,Until\n"
        "backups,evtx.admin-share-mapping,CORP\\svc,10.0.0.0/8,C$,2025-01-01T00:00:00+02:00\n",
    )
    from_yaml = load_allowlist(yaml_file)
    from_csv = load_allowlist(csv_file)
    assert [e.entry for e in from_yaml] == [e.entry for e in from_csv]
    assert from_yaml[0].origin == f"{yaml_file}:3" and from_csv[0].origin == f"{csv_file}:2"
    assert from_yaml[0].entry.until is not None and from_yaml[0].entry.until.utcoffset() is not None
    assert matches_detection(from_yaml, "evtx.admin-share-mapping")
    assert not matches_detection(from_yaml, "evtx.remote-auth-audit")


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("r.yml", "allow:\n  - user: bob\n", 2, "reason"),
        ("k.yml", "allow:\n  - reason: x\n    users: bob\n", 3, "users"),
        ("t.yml", "allow:\n  - reason: x\n    until: someday\n", 3, "until"),
        ("s.yml", "allow: [\n", 2, "YAML syntax error"),
        ("c.csv", "user,reason\nbob,ok\nalice\n", 3, "1 fields where the header has 2"),
        ("u.csv", "user,reason,colour\nbob,ok,red\n", 1, "unknown column(s) colour"),
        ("n.csv", "user,item,why\nbob,x,y\n", 1, ""),
    ],
)
def test_errors_name_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(BadInputError) as caught:
        load_allowlist(path)
    assert caught.value.location == f"{path}:{line}"
    assert message in caught.value.message


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_allowlist(tmp_path / "nope.yml")


def test_globs() -> None:
    assert glob_regex("ADMIN$") == "admin\\$"
    assert glob_regex("fs*.corp?") == "fs.*\\.corp."
    assert user_regex("svc") == "(.*\\\\)?svc(@.*)?"
    assert user_regex("CORP\\svc") == "corp\\\\svc"
