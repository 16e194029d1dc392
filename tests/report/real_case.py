"""A real case for the renderers: CISA's AA26-204A intel (its STIX 2.1 and STIX 1.2 files)
imported through the CLI, a Zeek DNS log collected through the CLI, and a hunt by the shipped
network indicator detections."""

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
# The shipped indicator detections over the network logs.
DETECTIONS = ("net.dns-ioc", "net.ioc-ip")


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
    request = HuntRequest(detection_ids=DETECTIONS)
    with CaseStore.open(case) as store:
        return hunt(store, request)
