"""Multi-source reputation lookups over a real CISA import plus small lists of our own."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.case.store import CaseStore
from seawall.intel.importer import import_files
from seawall.intel.lookup import Verdict, lookup, lookup_bulk
from tests.conftest import shared

STIX1 = "advisories/cisa-stix/AA26-204A.stix_.xml"
STIX21 = "advisories/cisa-stix/AA26-204A.stix_.json"


@pytest.fixture
def store(case_dir: Path, tmp_path: Path) -> CaseStore:
    ours = tmp_path / "ours.csv"
    ours.write_text(
        "value,type,confidence,comment\n"
        "198.18.0.0/15,cidr,80,benchmark range (reserved, so benign)\n"
        "45.77.0.0/16,cidr,70,hosting range used for staging\n"
        "2a05:d014::/32,cidr,70,v6 network\n"
        "weak-signal.net,domain,20,low-confidence tip\n"
        "d41d8cd98f00b204e9800998ecf8427e,md5,90,empty file\n"
        "co.uk,domain,90,over-generic\n"
        "bücher-shop.de,domain,90,internationalised name\n"
        "hxxp://drop.evil-cdn[.]net/Payload.EXE,url,90,defanged URL with a mixed-case path\n",
        encoding="utf-8",
    )
    case = CaseStore.open(case_dir)
    import_files(case, [shared(STIX1)], source_name="CISA STIX 1")
    import_files(case, [shared(STIX21)], source_name="CISA STIX 2.1")
    import_files(case, [ours], source_name="our list")
    return case


def _one(store: CaseStore, value: str) -> dict[str, object]:
    (result,) = lookup(store, [value])
    return result.as_dict()


def test_subdomain_of_an_indicator_domain_is_malicious_by_parent_domain(store: CaseStore) -> None:
    result = _one(store, "login.portal.mailnalysis.com")
    assert result["verdict"] == "malicious"
    hows = {m["match"] for m in result["matches"]}  # type: ignore[attr-defined]
    assert hows == {"parent-domain"}
    assert result["sources"] == ["CISA STIX 1", "CISA STIX 2.1"]


def test_exact_domain_names_every_source(store: CaseStore) -> None:
    result = _one(store, "MAILNALYSIS[.]COM.")
    assert result["verdict"] == "malicious"
    assert {m["match"] for m in result["matches"]} == {"exact"}  # type: ignore[attr-defined]
    assert len(result["sources"]) == 2  # type: ignore[arg-type]


def test_a_registrable_domain_never_matches_its_public_suffix(store: CaseStore) -> None:
    assert _one(store, "innocent-shop.co.uk")["verdict"] == "unknown"


def test_url_host_and_cidr_matches(store: CaseStore) -> None:
    url = _one(store, "hxxps://i.mailnalysis[.]com/owa/auth?x=1")
    assert url["verdict"] == "malicious"
    assert "url-host" in {m["match"] for m in url["matches"]}  # type: ignore[attr-defined]
    inside = _one(store, "45.77.12.34")
    assert inside["verdict"] == "malicious"
    assert {m["match"] for m in inside["matches"]} == {"cidr"}  # type: ignore[attr-defined]
    v6 = _one(store, "2A05:D014:0000::1")
    assert v6["verdict"] == "malicious"


def test_internationalised_names_and_mixed_case_urls(store: CaseStore) -> None:
    assert _one(store, "WWW.BÜCHER-SHOP.DE")["verdict"] == "malicious"
    assert _one(store, "www.xn--bcher-shop-9db.de")["verdict"] == "malicious"
    url = _one(store, "http://drop.evil-cdn.net/payload.exe")
    assert url["verdict"] == "malicious"
    assert {m["match"] for m in url["matches"]} == {"exact"}  # type: ignore[attr-defined]


def test_benign_suspicious_and_unknown(store: CaseStore) -> None:
    assert _one(store, "D41D8CD98F00B204E9800998ECF8427E")["verdict"] == "benign"
    assert _one(store, "198.18.3.4")["verdict"] == "benign"
    assert _one(store, "weak-signal.net")["verdict"] == "suspicious"
    assert _one(store, "never-heard-of-it.org")["verdict"] == "unknown"
    private = _one(store, "10.1.2.3")
    assert private["verdict"] == "benign" and "private" in str(private["reason"]).lower()


def test_bulk_and_detailed_lookups_agree(store: CaseStore) -> None:
    values = [
        "mailnalysis.com",
        "a.b.mailnalysis.com",
        "45.77.1.1",
        "weak-signal.net",
        "nothing.example.org",
        "d41d8cd98f00b204e9800998ecf8427e",
    ]
    bulk = lookup_bulk(store, values).to_pylist()
    detailed = lookup(store, values)
    assert [row["query"] for row in bulk] == values
    for row, result in zip(bulk, detailed, strict=True):
        if row["verdict"] != "unknown":
            assert row["verdict"] == result.verdict.value
    assert detailed[0].verdict is Verdict.MALICIOUS
