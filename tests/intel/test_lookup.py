"""Multi-source reputation lookups over a real CISA import plus small lists of our own."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pyarrow as pa
import pytest

from seawall.case.schema import INDICATOR_KEYS_SQL, LATEST_VERSION, MIGRATIONS
from seawall.case.store import CaseStore
from seawall.intel import lookup as lookup_module
from seawall.intel.importer import import_files
from seawall.intel.lookup import Verdict, _probe_plan, lookup, lookup_bulk
from seawall.intel.lookup_sql import ProbePlan
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


# -- the probe index (indicator_keys) ---------------------------------------------------------

_INDEX_COLUMNS = "key, h, type, value, benign_reason, confidence, valid_until, net_plen, labels"


def _index_differences(case: CaseStore) -> int:
    """Rows in which the stored probe index and a fresh derivation from indicators differ."""
    derived = f"SELECT {_INDEX_COLUMNS} FROM ({INDICATOR_KEYS_SQL.format(where='true')})"
    stored = f"SELECT {_INDEX_COLUMNS} FROM indicator_keys"
    row = case.con.execute(
        f"SELECT count(*) FROM (({stored} EXCEPT ALL {derived})"
        f" UNION ALL ({derived} EXCEPT ALL {stored}))"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _csv(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.write_text("value,type,confidence,comment\n" + rows, encoding="utf-8")
    return path


def _bulk(case: CaseStore, values: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = lookup_bulk(case, values).to_pylist()
    return rows


def test_the_probe_index_is_derived_from_usable_indicators(store: CaseStore) -> None:
    assert _index_differences(store) == 0
    rejected = store.con.execute(
        "SELECT count(*) FROM indicator_keys k JOIN indicators i"
        " ON i.type = k.type AND i.value = coalesce(k.value, k.key)"
        " WHERE i.rejected_reason IS NOT NULL"
    ).fetchone()
    assert rejected == (0,)  # co.uk (a public suffix) is not in it, so it can never match


def test_the_probe_index_follows_every_import(case_dir: Path, tmp_path: Path) -> None:
    weak = _csv(tmp_path, "weak.csv", "rising-threat.net,domain,20,tip\n")
    strong = _csv(
        tmp_path, "strong.csv", "rising-threat.net,domain,95,confirmed\n45.77.0.0/16,cidr,90,y\n"
    )
    with CaseStore.open(case_dir) as case:
        import_files(case, [weak], source_name="weak")
        assert _bulk(case, ["a.b.rising-threat.net"])[0]["verdict"] == "suspicious"
        import_files(case, [strong], source_name="strong")
        # the second source raised the indicator's confidence: the index carries it too
        assert _bulk(case, ["a.b.rising-threat.net"])[0]["verdict"] == "malicious"
        assert _index_differences(case) == 0
        before = case.con.execute("SELECT count(*) FROM indicator_keys").fetchone()
        import_files(case, [weak, strong])  # already imported: nothing changes
        assert case.con.execute("SELECT count(*) FROM indicator_keys").fetchone() == before
        assert _index_differences(case) == 0


def test_an_older_case_gets_its_probe_index_on_open(case_dir: Path, tmp_path: Path) -> None:
    ours = _csv(tmp_path, "ours.csv", "old-threat.org,domain,90,x\n45.77.0.0/16,cidr,70,y\n")
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        # make it a case written before the index existed (undo migrations 3 to 7)
        case.con.execute("DROP TABLE indicator_keys")
        case.con.execute("ALTER TABLE files DROP COLUMN webshell")  # migration 4
        case.con.execute("DROP TABLE sweep_kept")  # migration 5
        for table in ("events", "dns", "http", "conn", "auth", "web"):  # migration 7
            case.con.execute(f"DROP TABLE {table}")
        for statement in MIGRATIONS[0].statements:
            if statement.split("(")[0].split()[-1] in (
                "events",
                "dns",
                "http",
                "conn",
                "auth",
                "web",
            ):
                case.con.execute(statement)
        added = ("evidence_sources", "tls", "smb", "netlog", "scan", "baselines", "results")
        entities = ("hosts", "host_addresses", "accounts", "links")
        for table in (*added, "verdicts", "suppressions", *entities):
            case.con.execute(f"DROP TABLE {table}")
        case.con.execute("DELETE FROM schema_version")
        case.con.execute("INSERT INTO schema_version VALUES (2, 'v2', now(), 'old')")
        assert case.schema_version() == 2
    with CaseStore.open(case_dir) as case:
        assert case.schema_version() == LATEST_VERSION
        assert _index_differences(case) == 0
        rows = _bulk(case, ["x.old-threat.org", "45.77.3.4", "other.org"])
        assert [r["verdict"] for r in rows] == ["malicious", "malicious", "unknown"]
        assert [r["how"] for r in rows] == ["parent-domain", "cidr", None]


def test_the_probe_index_keeps_its_text_uncompressed(case_dir: Path, tmp_path: Path) -> None:
    """Every bulk lookup scans the whole index: its text columns are stored as they are (no
    dictionary or FSST strings to decode), in new cases and in cases from before (see
    test_an_older_case_gets_its_probe_index_on_open for an index rebuilt by the migrations)."""
    rows = "".join(f"host{i}.example-{i % 97}.net,domain,{i % 100},x\n" for i in range(4000))
    ours = _csv(tmp_path, "many.csv", rows + "10.1.2.3,ipv4,90,private\n")
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="many")
        case.con.execute("CHECKPOINT")
        stored = case.con.execute(
            "SELECT column_name, list(DISTINCT compression ORDER BY compression)"
            " FROM pragma_storage_info('indicator_keys') WHERE segment_type = 'VARCHAR'"
            " GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [name for name, _ in stored] == ["benign_reason", "key", "type", "value"]
    assert {kind for _, kinds in stored for kind in kinds} <= {"Uncompressed", "Constant"}
    assert ("key", ["Uncompressed"]) in stored


def test_several_matches_fold_into_one_answer(case_dir: Path, tmp_path: Path) -> None:
    ours = _csv(
        tmp_path,
        "ours.csv",
        "evil-example.net,domain,90,parent\na.evil-example.net,domain,20,weak child\n",
    )
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        values = ["A.evil-example.net", "b.evil-example.net", "evil-example.net", "nope.org"]
        rows = _bulk(case, values)
        assert [r["query"] for r in rows] == values
        # exact (low confidence) and parent-domain (high): the best verdict, the strongest match
        assert rows[0] == {
            "query": "A.evil-example.net",
            "verdict": "malicious",
            "matches": 2,
            "how": "exact",
            "indicator": "a.evil-example.net",
        }
        assert (rows[1]["matches"], rows[1]["how"]) == (1, "parent-domain")
        assert (rows[2]["matches"], rows[2]["how"]) == (1, "exact")
        assert (rows[3]["verdict"], rows[3]["matches"]) == ("unknown", 0)
        # two parents match equally strongly: the nearer one is named
        (nested,) = _bulk(case, ["b.a.evil-example.net"])
        assert (nested["matches"], nested["how"]) == (2, "parent-domain")
        assert nested["indicator"] == "a.evil-example.net"
        (detailed,) = lookup(case, ["A.evil-example.net"])
        assert detailed.verdict is Verdict.MALICIOUS
        assert {m.how for m in detailed.matches} == {"exact", "parent-domain"}


def test_probes_are_made_only_for_what_the_case_holds(case_dir: Path, tmp_path: Path) -> None:
    names = _csv(tmp_path, "names.csv", "name-only.net,domain,90,x\n")
    networks = _csv(tmp_path, "networks.csv", "45.77.0.0/16,cidr,70,y\n")
    with CaseStore.open(case_dir) as case:
        import_files(case, [names], source_name="names")
        assert _probe_plan(case) == ProbePlan((), (2,))
        rows = _bulk(case, ["45.77.1.2", "www.name-only.net"])
        assert [r["verdict"] for r in rows] == ["unknown", "malicious"]
        import_files(case, [networks], source_name="networks")
        assert _probe_plan(case) == ProbePlan((16,), (2,))
        rows = _bulk(case, ["45.77.1.2", "www.name-only.net"])
        assert [r["verdict"] for r in rows] == ["malicious", "malicious"]


def test_a_changed_hash_function_is_noticed(store: CaseStore) -> None:
    values = ["login.portal.mailnalysis.com", "45.77.12.34", "never-heard-of-it.org"]
    expected = _bulk(store, values)
    # as if the case had been indexed by a DuckDB whose hash() differs from this one's
    store.con.execute("UPDATE indicator_keys SET h = h + 1 WHERE net_plen IS NULL")
    assert not _probe_plan(store).stored_hash
    assert _bulk(store, values) == expected


def test_an_empty_bulk_lookup(store: CaseStore) -> None:
    result = lookup_bulk(store, [])
    assert result.num_rows == 0
    assert result.column_names == ["query", "verdict", "matches", "how", "indicator"]


def test_bulk_values_python_canonicalises_land_in_place(store: CaseStore) -> None:
    # IPv6 and non-ASCII values are normalised in Python, in both halves of the input
    values = ["2A05:D014::1", "WWW.BÜCHER-SHOP.DE", "x.example.org", "45.77.1.1"] * 3
    values += ["2a05:d014::9", "never-heard-of-it.org", "www.bücher-shop.de"]
    rows = _bulk(store, values)
    assert [r["query"] for r in rows] == values
    verdicts = [r["verdict"] for r in rows]
    assert verdicts == ["malicious", "malicious", "unknown", "malicious"] * 3 + [
        "malicious",
        "unknown",
        "malicious",
    ]
    assert rows[0]["how"] == "cidr" and rows[0]["indicator"] == "2a05:d014::/32"


def test_bulk_answers_are_dictionary_encoded_strings(store: CaseStore) -> None:
    values = ["mailnalysis.com", "a.b.mailnalysis.com", "45.77.1.1", "nothing.example.org"] * 2
    result = lookup_bulk(store, values)
    for column in ("verdict", "how", "indicator"):
        assert pa.types.is_dictionary(result.schema.field(column).type)
        assert pa.types.is_string(result.schema.field(column).type.value_type)
    assert result.schema.field("matches").type == pa.int64()
    rows = result.to_pylist()
    assert [r["verdict"] for r in rows[:4]] == ["malicious", "malicious", "malicious", "unknown"]
    assert [r["how"] for r in rows[:4]] == ["exact", "parent-domain", "cidr", None]
    assert [r["indicator"] for r in rows[:4]] == [
        "mailnalysis.com",
        "mailnalysis.com",
        "45.77.0.0/16",
        None,
    ]
    # each verdict and match kind is named once, so grouping by the column groups by name
    counts = result.group_by("verdict").aggregate([("query", "count")]).to_pylist()
    assert sorted((c["verdict"], c["query_count"]) for c in counts) == [
        ("malicious", 6),
        ("unknown", 2),
    ]
    # an indicator may sit under several indices: decoded, the strings are the same
    decoded = result.column("indicator").cast(pa.string()).to_pylist()
    assert decoded == [r["indicator"] for r in rows]
    with store.registered("bulk_answer", result):
        by_sql = store.con.execute(
            "SELECT indicator, count(*) FROM bulk_answer WHERE how = 'parent-domain' GROUP BY 1"
        ).fetchall()
    assert by_sql == [("mailnalysis.com", 2)]


def test_bulk_values_answer_alike_in_every_block(store: CaseStore) -> None:
    # Values that need refanging, URLs, e-mail addresses, IPv6 and non-ASCII names are found
    # block by block (see lookup._blocks): spread over several blocks, at their edges too,
    # among plain values, each gets the answer it gets on its own.
    special = [
        "hxxps://i.mailnalysis[.]com/owa/auth?x=1",
        "MAILNALYSIS[.]COM.",
        "someone@mailnalysis.com",
        "someone[@]mailnalysis(.)com",
        "2A05:D014::1",
        "WWW.BÜCHER-SHOP.DE",
        "http://45.77.9.9/x",
        "hxxpmailnalysis.com",
        "fxp.mailnalysis.com",
        "(not a value)",
    ]
    block = lookup_module._BLOCK_ROWS
    size = 3 * block + 100
    values = [f"filler-{i}.example.org" if i % 3 else "x.mailnalysis.com" for i in range(size)]
    # five at a time: at the start, across the first and the second block edge, at the end
    groups = [special[:5], special[5:], special[::2], special[1::2]]
    placed: dict[int, str] = {}
    for start, group in zip([0, block - 2, 2 * block - 3, size - 5], groups, strict=True):
        for offset, value in enumerate(group):
            placed[start + offset] = values[start + offset] = value
    alone = dict(zip(special, _bulk(store, special), strict=True))
    rows = _bulk(store, values)
    for position, value in placed.items():
        assert rows[position] == alone[value], value
    plain = [r for i, r in enumerate(rows) if i not in placed]
    assert {(r["verdict"], r["how"]) for r in plain if r["query"] == "x.mailnalysis.com"} == {
        ("malicious", "parent-domain")
    }
    assert {r["verdict"] for r in plain if r["query"] != "x.mailnalysis.com"} == {"unknown"}
    assert [alone[value]["how"] for value in special] == [
        "url-host",
        "exact",
        "email-domain",
        "email-domain",
        "cidr",
        "parent-domain",
        "cidr",
        None,  # a name (no colon: not a defanged scheme), not under mailnalysis.com
        "parent-domain",
        None,
    ]


def test_lookups_read_values_as_the_importer_does(case_dir: Path, tmp_path: Path) -> None:
    """The SQL typing and refanging agree with the importer's Python: a name that merely starts
    like a defanged scheme is a name, an out-of-range octet makes no address (and no network
    probe), zero-padded octets are decimal, and every defanged scheme the importer knows is
    refanged in a lookup too."""
    ours = _csv(
        tmp_path,
        "ours.csv",
        "fxpro.com,domain,90,a broker whose name starts like fxp\n"
        "hxpress.net,domain,90,starts like hxp\n"
        "45.10.1.1,ipv4,90,an address\n"
        "1.2.6.0/24,cidr,90,a network\n"
        "drop.evil-cdn.net,domain,90,a host\n",
    )
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        values = [
            "fxpro.com",
            "www.hxpress.net",
            "1.2.3.999",
            "045.010.001.001",
            "hxp://drop.evil-cdn.net/a",
            "h**ps://drop.evil-cdn.net/b",
            "fxp://drop.evil-cdn.net/c",
        ]
        rows = {r["query"]: (r["verdict"], r["how"]) for r in _bulk(case, values)}
        detailed = {r.query: r.verdict.value for r in lookup(case, values)}
    assert rows == {
        "fxpro.com": ("malicious", "exact"),
        "www.hxpress.net": ("malicious", "parent-domain"),
        "1.2.3.999": ("unknown", None),  # not 1.2.6.0/24 by an overflowing octet
        "045.010.001.001": ("malicious", "exact"),
        "hxp://drop.evil-cdn.net/a": ("malicious", "url-host"),
        "h**ps://drop.evil-cdn.net/b": ("malicious", "url-host"),
        "fxp://drop.evil-cdn.net/c": ("malicious", "url-host"),
    }
    assert detailed == {value: verdict for value, (verdict, _) in rows.items()}


def test_networks_of_every_prefix_length_match_like_ipaddress(
    case_dir: Path, tmp_path: Path
) -> None:
    """Networks of every prefix length (plain addresses numbered in numpy, the others in SQL)
    find exactly the networks Python's ipaddress says hold the address: zero-padded octets are
    decimal, a URL's address host counts, and an octet out of range makes no address."""
    networks = ["45.0.0.0/8", "45.77.0.0/16", "45.77.12.0/24", "45.77.12.34/32"]
    networks += ["45.77.12.32/27", "45.64.0.0/10", "45.77.0.0/20", "5.6.0.0/16"]
    rows = "".join(f"{network},cidr,90,n\n" for network in networks)
    ours = _csv(tmp_path, "networks.csv", rows + "45.77.12.7,ipv4,90,an address\n")
    values = [
        "45.77.12.34",
        "045.077.012.034",
        "45.77.12.35",
        "45.77.12.7",
        "45.77.13.1",
        "45.77.16.1",
        "45.78.0.1",
        "46.0.0.1",
        "5.6.7.8",
        "5.60.7.8",
        "http://45.77.12.34/x",
        "http://045.77.012.034:8080/x",
        "45.77.12.999",
        "1.2.3.4.5",
    ]
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        cidr = case.con.execute("SELECT value FROM indicators WHERE type = 'cidr'").fetchall()
        stored = [value for (value,) in cidr]
        assert len(stored) == len(networks)
        assert set(_probe_plan(case).plens) == {8, 10, 16, 20, 24, 27, 32}
        answers = _bulk(case, values)
    expected = []
    for value in values:
        host = value.split("://")[-1].split("/")[0].split(":")[0]
        try:
            address = ipaddress.IPv4Address(".".join(str(int(o)) for o in host.split(".")))
        except ValueError:
            address = None
        inside = [n for n in stored if address and address in ipaddress.ip_network(n)]
        expected.append(len(inside) + (value == "45.77.12.7"))
    assert [a["matches"] for a in answers] == expected
    assert expected[:2] == [7, 7] and expected[-2:] == [0, 0]
    assert [a["how"] for a in answers[:4]] == ["cidr", "cidr", "cidr", "exact"]
    # the strongest of equal network matches is the longest indicator, as for any other match
    assert answers[0]["indicator"] == "45.77.12.32/27"


def test_parent_domains_of_names_of_every_length(case_dir: Path, tmp_path: Path) -> None:
    """Parents are found for names of three, four and more labels (plain names in numpy, the
    others in SQL), for URL hosts and e-mail domains too, and only whole labels match: every
    indicator domain the name ends in after a dot, as Python sees it."""
    domains = ["evil-example.net", "mail1.co.uk", "a.b.deep-example.org", "b.deep-example.org"]
    ours = _csv(tmp_path, "names.csv", "".join(f"{d},domain,90,x\n" for d in domains))
    values = [
        "x.evil-example.net",
        "y.x.evil-example.net",
        "z.y.x.evil-example.net",
        "w.z.y.x.evil-example.net",
        "notevil-example.net",
        "x.notevil-example.net",
        "mail1.co.uk",
        "x.mail1.co.uk",
        "y.x.mail1.co.uk",
        "co.uk",
        "x.co.uk",
        "a.b.deep-example.org",
        "z.a.b.deep-example.org",
        "y.z.a.b.deep-example.org",
        "x..evil-example.net",
        "https://Z.Y.X.Evil-Example.NET/path",
        "someone@y.x.mail1.co.uk",
    ]
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        answers = _bulk(case, values)
    for value, answer in zip(values, answers, strict=True):
        name = value.lower().split("://")[-1].split("/")[0].split("@")[-1]
        parents = [d for d in domains if name.endswith("." + d)]
        exact = [d for d in domains if d == value]
        assert answer["matches"] == len(parents) + len(exact), value
    assert [a["how"] for a in answers[:4]] == ["parent-domain"] * 4
    assert answers[13]["indicator"] == "a.b.deep-example.org"  # the nearest parent is named
