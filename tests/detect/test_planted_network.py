"""Planted cases in 200,000 DNS rows and their flows: every one found, nothing else reported.

``benchmarks/netplant.py`` writes a Zeek ``dns.log`` and ``conn.log`` whose background holds
what naive detectors fire on (hashed CDN and anti-virus names, reverse lookups, Active Directory
SRV names, fleet-wide telemetry every 15 minutes, the resolvers' own recursion) and plants
tunnels, beacons, indicator hits, unapproved resolvers and exfiltration, each from one client.
They go through ``seawall collect logs`` and ``seawall intel import`` like a user's files; the
detections run with their default parameters and thresholds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.netplant import PLANTED, plant

from seawall.cli.app import run
from seawall.errors import ExitCode
from seawall.model.finding import ResultDocument
from tests.detect.netcase import collect_logs, coverage, import_intel, of, run_hunt

ROWS = 200_000
DETECTIONS = sorted({case.detection for case in PLANTED})


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("planted")
    dns, conn, indicators = plant(folder / "logs", ROWS)
    case = folder / "case"
    collect_logs(case, dns, conn)
    import_intel(case, indicators)
    return case


@pytest.fixture(scope="module")
def document(case_dir: Path) -> ResultDocument:
    return run_hunt(case_dir, DETECTIONS)


def test_every_detection_ran(document: ResultDocument) -> None:
    for detection in DETECTIONS:
        assert coverage(document, detection).status == "ran", detection


@pytest.mark.parametrize("case", PLANTED, ids=lambda c: f"{c.detection}:{c.key}")
def test_every_planted_case_is_found(document: ResultDocument, case: object) -> None:
    from benchmarks.netplant import Planted

    assert isinstance(case, Planted)
    found = [f for f in of(document, case.detection) if f.host == case.host]
    assert any(case.key in f.summary for f in found), (case.what, [f.summary for f in found])


def test_nothing_else_is_reported(document: ResultDocument) -> None:
    """The background (CDNs, anti-virus look-ups, reverse lookups, AD, telemetry beacons of
    every host, resolvers recursing) stays under every default threshold."""
    expected = {(c.detection, c.host) for c in PLANTED}
    extra = [
        (f.detection_id, f.host, f.summary)
        for f in document.findings
        if (f.detection_id, f.host) not in expected
    ]
    assert not extra
    for case in PLANTED:  # and one finding per planted case, not several
        same = [f for f in of(document, case.detection) if f.host == case.host]
        assert len(same) == 1, [f.summary for f in same]


def test_scores_are_explained_by_their_sub_scores(document: ResultDocument) -> None:
    tunnel = of(document, "net.dns-tunnel")[0]
    for part in (
        "names",
        "length",
        "entropy",
        "mix",
        "types",
        "unique",
        "volume",
        "timing",
        "spread",
        "score",
    ):
        assert any(r.text.startswith(part + " ") for r in tunnel.reasons), part
    beacon = next(f for f in of(document, "net.beacon") if f.host == "10.5.6.7")
    for part in (
        "timing skew",
        "timing madm",
        "count",
        "duration",
        "size skew",
        "size madm",
        "smallness",
        "spread",
        "score",
    ):
        assert any(r.text.startswith(part + " ") for r in beacon.reasons), part
    assert beacon.score >= 90  # 60 s +- 5 s, near-constant sizes, all day
    jittery = next(f for f in of(document, "net.beacon") if f.host == "10.5.6.8")
    assert 70 <= jittery.score < beacon.score  # 30% jitter costs, but it is still a beacon
    # the indicator hits carry their indicator with the source that reported it
    hit = of(document, "net.ioc-ip")[0]
    assert hit.evidence[0].indicator is not None
    assert hit.evidence[0].indicator.sources


def test_rare_and_new_destinations_are_the_planted_ones(case_dir: Path) -> None:
    """Least frequency across 200 clients, and new since a learned baseline (noon): the
    persistent rare destinations are the planted beacons, tunnels and DNS over TLS; the one
    taken up after noon is the DNS-over-TLS resolver."""
    planted = {c.host for c in PLANTED}
    document = run_hunt(case_dir, ["net.rare-destination"])
    rare = of(document, "net.rare-destination")
    assert rare and {f.host for f in rare} <= planted
    assert {"203.0.113.50", "cdn-statics-edge.com", "check-in-service.com"} <= {
        f.summary.split(" ")[0] for f in rare
    }
    argv = [
        "--case",
        str(case_dir),
        "baseline",
        "learn",
        "--until",
        "2024-06-01T12:00:00Z",
        "--detection",
        "net.baseline-anomaly",
        "--json",
    ]
    assert run(argv) == ExitCode.OK
    new = of(run_hunt(case_dir, ["net.baseline-anomaly"]), "net.baseline-anomaly")
    assert [(f.host, f.summary.split(" ")[0]) for f in new] == [("10.7.7.8", "1.1.1.1")]
    assert "the learned baseline" in new[0].summary
