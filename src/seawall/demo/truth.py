"""The ground truth: what the hunt must report, as data, and how a hunt's result is judged by it.

``ground-truth.json`` (written by :func:`write_truth`) lists every item of the intrusion
(:class:`seawall.demo.scenario.Item`): its host (with the names and addresses it goes by), the
detections that must each report it, those that may, the texts that identify their findings,
and the evidence it lives in (files, lines, records: what the writers noted). It also lists the
benign look-alikes that must not be reported, and the threshold: unsuppressed findings at or
above it that no item explains are false positives.

:func:`assess` judges a result document (``seawall hunt --json``, as a dict) against it. An
item is ``found`` when every detection it names reported it; ``missed`` when one of them ran and
did not; ``not-evaluated`` when one of them did not run (not built yet, or its evidence was not
collected: the coverage says which), so that a demo run before every reader and detection has
landed says exactly what it could and could not check.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seawall.demo.clock import BASE, DAYS, at
from seawall.demo.evidence import Manifest, write_text
from seawall.demo.scenario import DNS_DOMAIN, ORG, Scenario
from seawall.demo.story import Item

THRESHOLD = "medium"
THRESHOLD_REASON = (
    "info and low findings are inventories the advisory asks for (every discovery command, every"
    " service install, IPC$ use), reported whatever their context; from medium up, a finding"
    " claims something is wrong, so each must be explained by a ground-truth item"
)
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
FORMAT = 1


def host_aliases(scenario: Scenario, name: str) -> list[str]:
    """The names and address a host goes by in findings (lower case)."""
    if name in scenario.hosts:
        ip = scenario.hosts[name].ip
    else:
        index = int(name[2:]) - 1
        ip = scenario.workstation_of(scenario.users[index])[1]
    return [name.lower(), f"{name.lower()}.{DNS_DOMAIN}", ip]


def _item(scenario: Scenario, item: Item, manifest: Manifest) -> dict[str, Any]:
    hosts: list[str] = []
    for name in (item.host, *item.via):
        if name is not None:
            hosts.extend(host_aliases(scenario, name))
    return {
        "id": item.id,
        "step": item.step,
        "title": item.title,
        "kind": item.kind,
        "plane": item.plane,
        "host": item.host,
        "hosts": hosts,
        "user": item.user,
        "techniques": list(item.techniques),
        "detections": list(item.detections),
        "also": list(item.also),
        "match": [text.lower() for text in item.match],
        "note": item.note,
        "evidence": manifest.notes.get(item.id, []),
    }


def ground_truth(scenario: Scenario, manifest: Manifest, putty_origin: str) -> dict[str, Any]:
    infra = scenario.infra
    return {
        "format": FORMAT,
        "scenario": {
            "name": "APT40-style intrusion (AA21-200A)",
            "organisation": ORG,
            "domain": DNS_DOMAIN,
            "seed": scenario.seed,
            "scale": scenario.scale,
            "window": [BASE.isoformat(), at(DAYS).isoformat()],
            "putty": putty_origin,
            "hosts": [
                {"name": host.name, "ip": host.ip, "role": host.role}
                for host in scenario.hosts.values()
            ],
            "workstations": len(scenario.users),
            "infrastructure": asdict(infra),
        },
        "threshold": THRESHOLD,
        "threshold_reason": THRESHOLD_REASON,
        "items": [_item(scenario, item, manifest) for item in scenario.items],
        "lookalikes": [
            {
                "id": look.id,
                "title": look.title,
                "hosts": host_aliases(scenario, look.host),
                "match": [text.lower() for text in look.match],
                "why": look.why,
            }
            for look in scenario.lookalikes
        ],
        "timeline": [
            {
                "step": step.id,
                "time": step.time.isoformat(),
                "title": step.title,
                "techniques": list(step.techniques),
                "items": list(step.items),
            }
            for step in sorted(scenario.steps, key=lambda s: s.time)
        ],
    }


def write_truth(path: Path, truth: dict[str, Any]) -> None:
    write_text(path, json.dumps(truth, indent=2, ensure_ascii=False) + "\n", at(DAYS))


# -- judging a hunt -------------------------------------------------------------------------------


def _bare(account: str | None) -> str | None:
    if not account:
        return None
    return account.rsplit("\\", 1)[-1].split("@", 1)[0].lower()


def _text(finding: dict[str, Any]) -> str:
    return json.dumps(finding, ensure_ascii=False, default=str).lower().replace("\\\\", "\\")


def matches(finding: dict[str, Any], entry: dict[str, Any], detections: list[str]) -> bool:
    """Whether ``finding`` (a finding of a result document) reports ``entry`` (an item or a
    look-alike of the ground truth) through one of ``detections``."""
    if finding.get("detection_id") not in detections:
        return False
    text = _text(finding)
    hosts = entry.get("hosts") or []
    if hosts:
        host = str(finding.get("host") or "").lower()
        named = host in hosts or host.split(".")[0] in hosts
        # a finding without a host (an account's) or about a destination (whose host is one of
        # its clients) may name the host in its text
        if not named and not any(alias in text for alias in hosts):
            return False
    user = entry.get("user")
    if user and _bare(finding.get("user")) != user.lower() and user.lower() not in text:
        return False
    return all(needle in text for needle in entry.get("match", []))


@dataclass(slots=True)
class ItemResult:
    id: str
    title: str
    status: str
    """found, missed, or not-evaluated"""
    found_by: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Required detections that ran and did not report the item."""
    not_evaluated: dict[str, str] = field(default_factory=dict)
    """Required detections that did not run, and why."""


@dataclass(slots=True)
class Assessment:
    items: list[ItemResult]
    unexpected: list[dict[str, Any]]
    """Unsuppressed findings at or above the threshold that no item explains."""
    lookalikes: list[dict[str, Any]]
    """Findings that report a benign look-alike (unsuppressed, at or above the threshold)."""
    threshold: str

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "found": self.count("found"),
            "missed": self.count("missed"),
            "not_evaluated": self.count("not-evaluated"),
            "items": [asdict(item) for item in self.items],
            "unexpected": [_brief(f) for f in self.unexpected],
            "lookalikes_reported": [_brief(f) for f in self.lookalikes],
        }


def _brief(finding: dict[str, Any]) -> dict[str, Any]:
    keys = ("detection_id", "severity", "host", "user", "summary")
    return {key: finding.get(key) for key in keys}


def _why_not_run(entry: dict[str, Any] | None, detection: str, known: set[str] | None) -> str:
    if entry is None:
        if known is not None and detection not in known:
            return "not built yet"
        return "not part of the hunt (not in the pack, not requested)"
    reason = str(entry.get("reason") or "")
    if reason.startswith("not built yet"):
        return "not built yet"
    return f"{entry.get('status')}: {reason}" if reason else str(entry.get("status"))


def assess(
    truth: dict[str, Any], document: dict[str, Any], known: set[str] | None = None
) -> Assessment:
    """Judge a hunt's result document against the ground truth (``known``: the detection ids
    this seawall has, to tell one not built yet from one left out of the hunt)."""
    findings = list(document.get("findings") or [])
    coverage = {entry["detection_id"]: entry for entry in document.get("coverage") or []}
    threshold = SEVERITY_RANK[truth.get("threshold", THRESHOLD)]
    results: list[ItemResult] = []
    for item in truth["items"]:
        result = ItemResult(item["id"], item["title"], "found")
        for detection in item["detections"]:
            entry = coverage.get(detection)
            if entry is None or entry.get("status") not in ("ran", "partial"):
                result.not_evaluated[detection] = _why_not_run(entry, detection, known)
            elif any(matches(f, item, [detection]) for f in findings):
                result.found_by.append(detection)
            else:
                result.missing.append(detection)
        if result.missing:
            result.status = "missed"
        elif result.not_evaluated:
            result.status = "not-evaluated"
        results.append(result)
    loud = [
        f
        for f in findings
        if not f.get("suppressed") and SEVERITY_RANK.get(f.get("severity", "info"), 0) >= threshold
    ]
    unexpected = [
        f
        for f in loud
        if not any(matches(f, item, item["detections"] + item["also"]) for item in truth["items"])
    ]
    detections = sorted({f.get("detection_id", "") for f in findings})
    lookalikes = [f for f in loud for look in truth["lookalikes"] if matches(f, look, detections)]
    return Assessment(results, unexpected, lookalikes, truth.get("threshold", THRESHOLD))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: ground-truth format {data.get('format')!r}, expected {FORMAT}")
    return data
