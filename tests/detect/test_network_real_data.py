"""Network detections on real logs (``../shared/data/network``), collected with the real CLI.

- The iodine dnsmasq log (a real iodine DNS tunnel's handshake and polling, 21 questions, all
  under ``example.attack``): the tunnel domain is the first DNS-tunnel finding.
- The WRCCDC 2018 Zeek logs (21 minutes of a red-team/blue-team competition): what fires, and
  why the rest does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.model.finding import ResultDocument
from tests.conftest import shared
from tests.detect.netcase import collect_logs, coverage, of, run_hunt

IODINE = "network/iodine-dnsmasq-logs/.circleci/images/dns_server/example-logs/dnsmasq.log"
WRCCDC = "network/wrccdc2018-zeek/zeek-default"
NETWORK = [
    "net.dns-tunnel",
    "net.dns-unapproved-resolver",
    "net.beacon",
    "net.rare-destination",
    "net.baseline-anomaly",
    "net.admin-share-mapping",
]


def test_iodine_tunnel_domain_ranks_first(case_dir: Path) -> None:
    collect_logs(case_dir, shared(IODINE), options=["--year", "2020"])
    document = run_hunt(case_dir, ["net.dns-tunnel"])
    found = of(document, "net.dns-tunnel")
    assert found, coverage(document, "net.dns-tunnel")
    top = found[0]
    assert "example.attack" in top.summary and top.host == "172.18.0.3"
    # a short handshake: the data-record route carries it (NULL, TXT, SRV and CNAME questions
    # for ever new names, from one client), not the names' length
    assert any(r.text.startswith("types ") and "100%" in r.text for r in top.reasons)
    assert any(r.text.startswith("spread 0.00") for r in top.reasons)


@pytest.fixture(scope="module")
def wrccdc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ResultDocument]:
    case_dir = tmp_path_factory.mktemp("wrccdc") / "case"
    collect_logs(case_dir, shared(WRCCDC))
    return case_dir, run_hunt(case_dir, NETWORK)


def test_wrccdc_dns_analytics_stay_quiet_and_why(wrccdc: tuple[Path, ResultDocument]) -> None:
    """No tunnel: the domains with the most distinct names are reverse-lookup zones
    (digits only), Active Directory and mDNS service names (short words), CDN and Microsoft's
    footprintdns.com measurement names (hex, but asked by several hosts, few names each).
    No unapproved resolver: every direct question to a public server comes from a host that
    answers DNS for others (a resolver recursing to root and authoritative servers). No beacon,
    rare or new destination: the capture lasts 21 minutes, shorter than the hour a series must
    span."""
    case_dir, document = wrccdc
    for detection in (
        "net.dns-tunnel",
        "net.dns-unapproved-resolver",
        "net.beacon",
        "net.rare-destination",
        "net.baseline-anomaly",
    ):
        assert coverage(document, detection).status == "ran", detection
        assert not of(document, detection), detection
    scored = run_hunt(case_dir, ["net.dns-tunnel"], {"net.dns-tunnel": {"min_score": 0}})
    ranked = of(scored, "net.dns-tunnel")
    assert ranked[0].score < 25, ranked[0].summary
    assert "footprintdns.com" in " ".join(f.summary for f in ranked[:3])
    reverse = [f for f in ranked if "in-addr.arpa" in f.summary]
    assert reverse and all(f.score == 0 for f in reverse)
    resolvers = run_hunt(
        case_dir,
        ["net.dns-unapproved-resolver"],
        {"net.dns-unapproved-resolver": {"min_resolver_clients": 1000}},
    )
    # counted as clients instead, the recursing resolvers would be reported
    assert {f.host for f in of(resolvers, "net.dns-unapproved-resolver")} >= {"10.47.3.142"}


def test_wrccdc_admin_shares_on_the_wire(wrccdc: tuple[Path, ResultDocument]) -> None:
    """The red team's PsExec-like runs: ADMIN$ mapped with the service-control pipe opened and
    a temporary file written to ADMIN$\\Temp, with the accounts Zeek saw authenticate."""
    _, document = wrccdc
    found = of(document, "net.admin-share-mapping")
    admin = [f for f in found if "ADMIN$" in f.summary]
    assert admin and all(f.severity == "high" for f in admin)
    written = next(f for f in admin if "10.47.21.82" in f.summary)
    assert any("Temp\\wdszAPrV.tmp" in r.text for r in written.reasons)
    assert any("svcctl" in r.text for f in admin for r in f.reasons)
    assert any("JERRY\\Administrator" in f.summary for f in admin)
    ipc_only = [
        f for f in found if "IPC$" in f.summary and not any("svcctl" in r.text for r in f.reasons)
    ]
    assert ipc_only and all(f.severity == "low" for f in ipc_only)
