"""The numpy probes of plain values against Python's own reading of the same values, and the
numpy path against the SQL path on the same values."""

from __future__ import annotations

import ipaddress
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.intel.importer import import_files
from seawall.intel.lookup import lookup_bulk
from seawall.intel.lookup_probes import plain_probes

# The SQL path's address test (seawall.intel.lookup_sql._IPV4), as Python reads it.
_OCTET = r"(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(\.{_OCTET}){{3}}")


def _values(rng: random.Random, count: int) -> list[str | None]:
    labels = ["a", "mail", "x-1", "co", "uk", "0", "12", "255", "256", "010", "", "999"]
    values: list[str | None] = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.45:
            values.append(".".join(rng.choice(labels) for _ in range(rng.randrange(1, 7))))
        elif pick < 0.8:
            octets = [str(rng.choice([0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255, 256, 300]))]
            octets += [rng.choice(["0", "7", "07", "007", "42", "255", "256", "1000"])]
            octets += [str(rng.randrange(256)) for _ in range(2)]
            rng.shuffle(octets)
            values.append(".".join(octets[: rng.choice([3, 4, 4, 4, 5])]))
        elif pick < 0.9:
            values.append(f"{rng.getrandbits(128):032x}")
        elif pick < 0.95:
            values.append(rng.choice(["", ".", "..", "1..2.3", "1.2.3.", "x", "1.2.3.4x"]))
        else:
            values.append(None)
    return values


def _expected(
    values: list[str | None], plain: list[bool], sizes: tuple[int, ...], plens: tuple[int, ...]
) -> tuple[set[tuple[int, str]], set[tuple[int, int]], list[bool]]:
    parents: set[tuple[int, str]] = set()
    networks: set[tuple[int, int]] = set()
    stays = list(plain)
    for qid, value in enumerate(values):
        if value is None or not plain[qid]:
            continue
        if value[:1].isdigit() and _IPV4.fullmatch(value):
            octets = value.split(".")
            if any(len(o) > 1 and o.startswith("0") for o in octets):
                stays[qid] = False  # zero-padded: the SQL path spells its canonical form
                continue
            address = ipaddress.IPv4Address(".".join(octets))
            for plen in plens:
                network = ipaddress.IPv4Network(f"{address}/{plen}", strict=False)
                networks.add((qid, (plen << 32) | int(network.network_address)))
            continue
        parts = value.split(".")
        if len(parts) >= 3:
            parents.update((qid, ".".join(parts[-s:])) for s in sizes if s < len(parts))
    return parents, networks, stays


def test_plain_probes_agree_with_python() -> None:
    rng = random.Random(7)
    values = _values(rng, 4000)
    plain = [rng.random() < 0.9 for _ in values]
    sizes, plens = (2, 3, 5), (8, 16, 20, 24, 32)
    array = pa.array(["padding", *values], pa.string())[1:]  # an offset into its buffers
    mask = np.array(plain) & np.array([v is not None for v in values])
    probes = plain_probes(array, mask, 1000, sizes, plens)
    parents, networks, stays = _expected(values, list(mask), sizes, plens)
    found_parents = {
        (row["qid"] - 1000, row["key"])
        for batch in probes.parents
        for row in batch.to_pylist()
        if row["key"] is not None
    }
    found_networks = {(row["qid"] - 1000, row["net"]) for row in probes.networks.to_pylist()}
    assert found_parents == parents
    assert found_networks == networks
    assert probes.plain.tolist() == stays
    assert parents and networks and sum(stays) < int(mask.sum())  # zero-padded ones too


def test_plain_probes_of_nothing() -> None:
    probes = plain_probes(pa.array([], pa.string()), np.zeros(0, bool), 0, (2,), (24,))
    assert probes.parents[0].num_rows == 0 and probes.networks.num_rows == 0
    probes = plain_probes(pa.array(["", ""], pa.string()), np.ones(2, bool), 0, (2,), (24,))
    assert probes.plain.tolist() == [True, True] and probes.networks.num_rows == 0


def test_the_numpy_path_answers_as_the_sql_path(case_dir: Path, tmp_path: Path) -> None:
    """A value written with ``[.]`` for its last dot is the same value to a lookup, but it is
    not plain: it is taken apart by the SQL path. Both paths give every value the same answer."""
    indicators = ["evil-example.net", "a.b.deep-example.org", "mail1.co.uk", "45.77.12.7"]
    indicators += ["45.0.0.0/8", "45.77.12.0/24", "45.77.12.32/27", "5.6.0.0/16"]
    ours = tmp_path / "ours.csv"
    rows = "".join(f"{i},{'cidr' if '/' in i else ''},90,x\n" for i in indicators)
    ours.write_text("value,type,confidence,comment\n" + rows, encoding="utf-8")
    rng = random.Random(11)
    values = [v for v in _values(rng, 600) if v and "." in v.strip(".")]
    values += ["x.evil-example.net", "z.y.a.b.deep-example.org", "x.mail1.co.uk"]
    values += ["45.77.12.33", "045.77.12.7", "45.77.12.7", "5.6.7.8", "45.1.2.3"]
    defanged = [v[: v.rindex(".")] + "[.]" + v[v.rindex(".") + 1 :] for v in values]
    with CaseStore.open(case_dir) as case:
        import_files(case, [ours], source_name="ours")
        plain = lookup_bulk(case, values).drop_columns(["query"]).to_pylist()
        general = lookup_bulk(case, defanged).drop_columns(["query"]).to_pylist()
    assert plain == general
    assert {row["how"] for row in plain} >= {"exact", "parent-domain", "cidr", None}
