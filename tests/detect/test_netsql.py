"""The network detections' SQL helpers agree with the Python they stand for.

``registrable_domains`` is the public suffix list's algorithm in SQL: it must give exactly what
:func:`seawall.intel.hygiene.registrable_domain` gives (the import's notion of a domain), on the
list's own test cases and on names that exercise every kind of rule.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import publicsuffixlist
import pyarrow as pa
import pytest

from seawall.case.store import CaseStore
from seawall.detect import netsql
from seawall.intel.hygiene import public_suffix_list, registrable_domain

_CHECK = re.compile(r"checkPublicSuffix\('([^']*)', (?:'([^']*)'|null)\);")


def _psl_test_names() -> list[str]:
    text = (Path(publicsuffixlist.__file__).parent / "test_psl.txt").read_text("utf-8")
    # names as the readers store them: lower-case
    return [m.group(1).lower() for m in _CHECK.finditer(text) if m.group(1).isascii()]


def _rule_names() -> list[str]:
    """Names around every kind of rule: under, at and above exact, wildcard and exception
    rules, a few labels deep."""
    names: list[str] = []
    for rule in sorted(public_suffix_list()._publicsuffix):
        if not rule.isascii() or len(names) > 40_000:
            continue
        bare = rule.lstrip("!").removeprefix("*.")
        names += [bare, f"x.{bare}", f"a.b.{bare}", f"q.w.e.r.{bare}"]
        if rule.startswith("*."):
            names.append(f"any.{bare}")
    return names


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    with CaseStore.open(tmp_path_factory.mktemp("case")) as store:
        netsql.install(store.con)
        yield store.con


def _sql_domains(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, str | None]:
    con.register("_names", pa.table({"name": names, "n": range(len(names))}))
    try:
        rows = con.execute("SELECT * FROM registrable_domains('_names')").fetchall()
    finally:
        con.unregister("_names")
    # every row comes back once, with its own columns
    assert sorted((name, n) for name, n, _ in rows) == sorted(
        zip(names, range(len(names)), strict=True)
    )
    return {name: domain for name, _, domain in rows}


def test_registrable_domains_agree_with_the_hygiene(con: duckdb.DuckDBPyConnection) -> None:
    extra = [
        "example.attack",
        "yrbqlj.example.attack",
        "154.0.16.172.in-addr.arpa",
        "adstrofudge-2._udisks-ssh._tcp.local",
        "www.city.kawasaki.jp",
        "a.b.c.kawasaki.jp",
        "city.kawasaki.jp",
        "kawasaki.jp",
        "d111111abcdef8.cloudfront.net",
        "s3.eu-west-1.amazonaws.com",
        "bucket.s3.eu-west-1.amazonaws.com",
        "xn--85x722f.xn--55qx5d.cn",
        "a..b.com",
        ".lead.example",
        "com",
        "",
    ]
    names = sorted(set(_psl_test_names() + _rule_names() + extra))
    found = _sql_domains(con, names)
    wrong = {n: (found.get(n), registrable_domain(n)) for n in names}
    wrong = {n: pair for n, pair in wrong.items() if pair[0] != pair[1]}
    assert not wrong, list(wrong.items())[:20]
    assert found["yrbqlj.example.attack"] == "example.attack"
    assert found["www.city.kawasaki.jp"] == "city.kawasaki.jp"
    assert found["a.b.c.kawasaki.jp"] == "b.c.kawasaki.jp"
    assert found["com"] is None


def test_char_entropy_is_shannon_entropy(con: duckdb.DuckDBPyConnection) -> None:
    words = ["", "a", "aaaa", "hello", "labzmrbelnrg2q5er5jm15kousqlmc0y"]
    con.register("_w", pa.table({"w": words}))
    try:
        got = dict(con.execute("SELECT w, char_entropy(w) FROM _w").fetchall())
    finally:
        con.unregister("_w")
    for word in words:
        counts = Counter(word)
        expected = -sum(c / len(word) * math.log2(c / len(word)) for c in counts.values())
        assert got[word] == pytest.approx(expected + 0.0, abs=1e-9), word


def test_ramp_and_private_addresses(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT ramp(5, 10, 20), ramp(15, 10, 20), ramp(25, 10, 20), ramp(NULL, 1, 2)"
    ).fetchall()
    assert rows == [(0.0, 0.5, 1.0, None)]
    private = [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "fd12:3456::1",
        "fe80::1",
        "::1",
    ]
    public = ["172.32.0.1", "8.8.8.8", "100.128.0.1", "2001:db8::1", "11.0.0.1", "-", None]
    con.register("_a", pa.table({"ip": private + public}))
    try:
        got = dict(con.execute("SELECT ip, is_private_ip(ip) FROM _a").fetchall())
    finally:
        con.unregister("_a")
    assert all(got[ip] for ip in private)
    assert not any(got[ip] for ip in public)
