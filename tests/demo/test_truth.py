"""Judging a result document by the ground truth: found, missed, not evaluated, unexpected."""

from __future__ import annotations

from typing import Any

from seawall.demo.truth import assess, matches

ITEM: dict[str, Any] = {
    "id": "shell",
    "title": "web shell",
    "hosts": ["web01", "web01.corp.example", "10.0.0.10"],
    "user": None,
    "detections": ["web.webshell", "ioc.file-hash"],
    "also": ["ioc.yara"],
    "match": ["shell.aspx"],
}
AUTH_ITEM: dict[str, Any] = {
    "id": "vpn",
    "title": "vpn",
    "hosts": [],
    "user": "p.morgan",
    "detections": ["auth.no-mfa"],
    "also": [],
    "match": [],
}
TRUTH: dict[str, Any] = {
    "format": 1,
    "threshold": "medium",
    "items": [ITEM, AUTH_ITEM],
    "lookalikes": [{"id": "putty", "hosts": ["adm01"], "match": ["program files\\putty"]}],
}


def finding(detection: str, host: str | None, summary: str, **extra: Any) -> dict[str, Any]:
    return {
        "detection_id": detection,
        "host": host,
        "summary": summary,
        "severity": "high",
        "suppressed": False,
        **extra,
    }


def coverage(*ran: str, not_run: dict[str, str] | None = None) -> list[dict[str, Any]]:
    entries = [{"detection_id": d, "status": "ran"} for d in ran]
    entries += [
        {"detection_id": d, "status": "not-run", "reason": r} for d, r in (not_run or {}).items()
    ]
    return entries


def test_a_finding_matches_by_detection_host_user_and_text() -> None:
    shell = finding("web.webshell", "WEB01", "c:\\inetpub\\shell.aspx: a web shell")
    assert matches(shell, ITEM, ["web.webshell"])
    assert matches({**shell, "host": "web01.corp.example"}, ITEM, ["web.webshell"])
    assert not matches({**shell, "host": "FS01"}, ITEM, ["web.webshell"])
    assert not matches(shell, ITEM, ["ioc.file-hash"])
    assert not matches({**shell, "summary": "other.aspx"}, ITEM, ["web.webshell"])
    # no host on the finding: its text may name the host's address
    hostless = finding("web.webshell", None, "shell.aspx served from 10.0.0.10")
    assert matches(hostless, ITEM, ["web.webshell"])
    account = finding("auth.no-mfa", None, "signed in", user="p.morgan@corp.example")
    assert matches(account, AUTH_ITEM, ["auth.no-mfa"])
    assert not matches({**account, "user": "d.tan@corp.example"}, AUTH_ITEM, ["auth.no-mfa"])


def test_found_missed_not_evaluated_and_unexpected() -> None:
    document = {
        "findings": [
            finding("web.webshell", "WEB01", "shell.aspx"),
            finding("ioc.yara", "WEB01", "shell.aspx matches a rule"),  # an "also": expected
            finding("host.renamed-binary", "FS01", "x.exe built as rar.exe"),  # unexplained
            finding("host.renamed-binary", "FS01", "y.exe", severity="low"),  # under threshold
            finding("ioc.file-hash", "ADM01", "c:\\program files\\putty\\putty.exe"),
        ],
        "coverage": coverage(
            "web.webshell",
            "ioc.file-hash",
            "ioc.yara",
            "host.renamed-binary",
            not_run={"auth.no-mfa": "table auth is empty: run `seawall collect logs`"},
        ),
    }
    result = assess(TRUTH, document, known={"web.webshell", "ioc.file-hash", "auth.no-mfa"})
    shell, vpn = result.items
    assert shell.status == "missed" and shell.missing == ["ioc.file-hash"]
    assert shell.found_by == ["web.webshell"]
    assert vpn.status == "not-evaluated"
    assert "table auth is empty" in vpn.not_evaluated["auth.no-mfa"]
    assert [f["summary"] for f in result.unexpected] == [
        "x.exe built as rar.exe",
        "c:\\program files\\putty\\putty.exe",
    ]
    assert [f["host"] for f in result.lookalikes] == ["ADM01"]
    counts = result.as_dict()
    assert (counts["found"], counts["missed"], counts["not_evaluated"]) == (0, 1, 1)


def test_a_detection_not_built_is_said_so() -> None:
    result = assess(TRUTH, {"findings": [], "coverage": []}, known={"web.webshell"})
    shell = result.items[0]
    assert shell.not_evaluated["ioc.file-hash"] == "not built yet"
    assert "not part of the hunt" in shell.not_evaluated["web.webshell"]
