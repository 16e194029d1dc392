"""``ioc_match``: the reputation rules of ``intel lookup`` in a detection's SQL.

The same case and values as a lookup, compared match for match with ``lookup`` (which is
itself tested against Python's own reading of each value), so that the two cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from seawall.case.store import CaseStore
from seawall.intel.importer import import_files
from seawall.intel.lookup import lookup
from tests.conftest import shared

VALUES = [
    "login.portal.mailnalysis.com",
    "MAILNALYSIS[.]COM.",
    "mailnalysis.com",
    "innocent-shop.co.uk",
    "hxxps://i.mailnalysis[.]com/owa/auth?x=1",
    "http://45.77.1.2:8080/x",
    "http://045.077.001.002/x",
    "45.77.12.34",
    "045.077.012.034",
    "198.18.7.7",
    "a.weak-signal.net",
    "user@mail.weak-signal.net",
    "someone[at]mailnalysis[.]com",
    "http://drop.evil-cdn.net/payload.exe",
    "HTTP://DROP.EVIL-CDN.NET/PAYLOAD.EXE",
    "drop.evil-cdn.net",
    "d41d8cd98f00b204e9800998ecf8427e",
    "1.2.3.999",
    "putty.exe",
    "",
    "nothing-here.example",
]


@pytest.fixture
def store(case_dir: Path, tmp_path: Path) -> CaseStore:
    ours = tmp_path / "ours.csv"
    ours.write_text(
        "value,type,confidence,comment\n"
        "198.18.0.0/15,cidr,80,benchmark range (reserved, so benign)\n"
        "45.77.0.0/16,cidr,70,hosting range used for staging\n"
        "45.77.1.0/24,cidr,90,the staging server's own network\n"
        "weak-signal.net,domain,20,low-confidence tip\n"
        "d41d8cd98f00b204e9800998ecf8427e,md5,90,empty file\n"
        "hxxp://drop.evil-cdn[.]net/Payload.EXE,url,90,defanged URL with a mixed-case path\n"
        "drop.evil-cdn.net,domain,60,the URL's host\n",
        encoding="utf-8",
    )
    case = CaseStore.open(case_dir)
    import_files(case, [shared("advisories/cisa-stix/AA26-204A.stix_.json")], source_name="CISA")
    import_files(case, [ours], source_name="our list")
    return case


def _sql_matches(store: CaseStore) -> dict[str, set[tuple[str, str, str, str]]]:
    table = pa.table({"value": VALUES})
    with store.registered("_values", table):
        rows = store.con.execute(
            "SELECT v.value, m.how, m.indicator_type, m.indicator, m.verdict"
            " FROM _values v, ioc_match(v.value) m"
        ).fetchall()
    found: dict[str, set[tuple[str, str, str, str]]] = {v: set() for v in VALUES}
    for value, how, kind, indicator, verdict in rows:
        found[value].add((how, kind, indicator, verdict))
    return found


def test_sql_matching_finds_what_a_lookup_finds(store: CaseStore) -> None:
    sql = _sql_matches(store)
    for result in lookup(store, VALUES):
        expected = {(m.how, m.indicator_type, m.indicator) for m in result.matches}
        got = {(how, kind, indicator) for how, kind, indicator, _ in sql[result.query]}
        assert got == expected, result.query
        if expected:  # the strongest verdict is the lookup's
            order = ("benign", "suspicious", "malicious")
            best = max((v for *_, v in sql[result.query]), key=order.index)
            if result.verdict.value != "benign":
                assert best == result.verdict.value, result.query
    assert {h for h, *_ in sql["login.portal.mailnalysis.com"]} == {"parent-domain"}
    assert ("cidr", "cidr", "45.77.1.0/24", "malicious") in sql["http://045.077.001.002/x"]
    assert not sql["1.2.3.999"] and not sql[""] and not sql["nothing-here.example"]


def test_a_detection_can_join_a_table_of_observations(store: CaseStore) -> None:
    """The pattern network detections use: distinct observed values, each matched once."""
    table = pa.table({"query": ["x.mailnalysis.com", "x.mailnalysis.com", "example.org"]})
    with store.registered("_dns", table):
        rows = store.con.execute(
            "WITH q AS (SELECT query, count(*) AS n FROM _dns GROUP BY query)"
            " SELECT q.query, q.n, m.how, m.indicator FROM q, ioc_match(q.query) m"
        ).fetchall()
    assert rows == [("x.mailnalysis.com", 2, "parent-domain", "mailnalysis.com")]


def test_the_relation_form_matches_like_the_value_form(store: CaseStore) -> None:
    """``ioc_matches(relation)`` (set-wise, for millions of values) answers as ``ioc_match``."""
    table = pa.table({"value": VALUES + VALUES})  # values may repeat: answered once each
    with store.registered("_values", table):
        each = store.con.execute(
            "SELECT DISTINCT v.value, m.how, m.indicator_type, m.indicator, m.verdict"
            " FROM _values v, ioc_match(v.value) m"
        ).fetchall()
        together = store.con.execute(
            "SELECT value, how, indicator_type, indicator, verdict FROM ioc_matches('_values')"
        ).fetchall()
    assert together and sorted(each) == sorted(together)
