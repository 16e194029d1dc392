"""A real case for the renderers: CISA's AA26-204A intel (its STIX 2.1 and STIX 1.2 files)
imported through the CLI, a Zeek DNS log collected through the CLI, and a hunt by a DNS
indicator detection loaded from a directory (as a user's own detection would be)."""

from __future__ import annotations

import json
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.cli.app import run
from seawall.detect.engine import HuntRequest, hunt
from seawall.errors import ExitCode
from seawall.model.finding import ResultDocument
from tests.conftest import shared

STIX2 = "advisories/cisa-stix/AA26-204A.stix_.json"
STIX1 = "advisories/cisa-stix/AA26-204A.stix_.xml"
# The indicators of mailnalysis.com and 193.238.152.66 in the STIX 2.1 file.
DOMAIN_INDICATOR = "indicator--09e4a68c-2474-406e-b69a-475ba2dc6c9c"
IP_INDICATOR = "indicator--2fa69d63-a893-407b-858f-cb392e252781"
DETECTION = "test.dns-ioc"

_DETECTION_YAML = """\
id: test.dns-ioc
title: DNS query or answer matches an indicator
description: A DNS query names an indicated domain, or an answer is an indicated address.
techniques: [T1071.004]
guidance: []
severity: high
requires: [dns, indicators]
sql: |
  WITH seen AS (
    SELECT *, unnest(list_concat([query], coalesce(answers, []))) AS observed FROM dns
  )
  SELECT s.host, s.time AS first_seen, s.time AS last_seen, s.query, s.client_ip,
    s.answers, m.indicator_type, m.indicator,
    format('{} asked for {} ({} {})', s.client_ip, s.query, m.indicator_type, m.indicator)
      AS summary,
    s.source_file, s.source_sha256, s.record_ref
  FROM seen s, ioc_match(s.observed) m
false_positives: [Security tools that resolve indicators to test them.]
triage: Find the process that asked on the client.
"""


def _dns(ts: float, uid: str, client: str, query: str, answers: list[str]) -> dict[str, object]:
    return {
        "_path": "dns",
        "ts": ts,
        "uid": uid,
        "id.orig_h": client,
        "id.orig_p": 50000,
        "id.resp_h": "192.0.2.53",
        "id.resp_p": 53,
        "proto": "udp",
        "query": query,
        "qtype_name": "A",
        "rcode_name": "NOERROR",
        "answers": answers,
        "TTLs": [60.0] * len(answers),
        "trans_id": 7,
    }


def real_document(root: Path) -> ResultDocument:
    """Import, collect and hunt in ``root/case``; the hunt's result document."""
    case = root / "case"
    for intel in (shared(STIX2), shared(STIX1)):
        assert run(["--case", str(case), "intel", "import", str(intel), "--json"]) == ExitCode.OK
    log = root / "dns.log"
    lines = [
        _dns(1_784_000_000.25, "C1", "192.0.2.7", "i.mailnalysis.com", ["198.51.100.9"]),
        _dns(1_784_000_300.5, "C2", "192.0.2.7", "i.mailnalysis.com", ["198.51.100.9"]),
        _dns(1_784_003_600.0, "C3", "192.0.2.8", "updates.example.org", ["193.238.152.66"]),
        _dns(1_784_003_700.0, "C4", "192.0.2.8", "www.example.com", ["93.184.215.14"]),
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    code = run(["--case", str(case), "collect", "logs", str(log), "--host", "ws7", "--json"])
    assert code == ExitCode.OK
    detections = root / "detections"
    detections.mkdir()
    (detections / f"{DETECTION}.yml").write_text(_DETECTION_YAML, encoding="utf-8")
    request = HuntRequest(detection_ids=(DETECTION,), detection_dirs=(detections,))
    with CaseStore.open(case) as store:
        return hunt(store, request)
