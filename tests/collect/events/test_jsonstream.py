"""JSON values from a byte stream: every shape exports come in, in bounded reads."""

from __future__ import annotations

import io
import json

import pytest

from seawall.collect.base import Mediator
from seawall.collect.events import jsonstream
from seawall.collect.events.jsonstream import JsonValues


def _values(data: bytes, mediator: Mediator | None = None) -> list[tuple[int, object]]:
    values = JsonValues(io.BytesIO(data), "f", mediator or Mediator(), data[:4096])
    return [(v.line, v.value) for v in values]


@pytest.fixture(autouse=True)
def _tiny_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of 7 bytes: every value and number is cut by a read somewhere."""
    monkeypatch.setattr(jsonstream, "READ_SIZE", 7)


def test_ndjson_arrays_and_pretty_objects_alike() -> None:
    records = [{"a": 1, "b": "x\u00e9"}, {"a": 22, "b": [1, 2]}, {"a": 333}]
    ndjson = "\n".join(json.dumps(r) for r in records).encode() + b"\n"
    array = json.dumps(records, indent=2).encode()
    pretty = "\n".join(json.dumps(r, indent=4) for r in records).encode()
    assert _values(ndjson) == [(1, records[0]), (2, records[1]), (3, records[2])]
    assert [v for _, v in _values(array)] == records
    assert [line for line, _ in _values(pretty)] == [1, 5, 12]
    utf16 = "\ufeff".encode("utf-16-le") + json.dumps(records, indent=2).encode("utf-16-le")
    assert [v for _, v in _values(utf16)] == records
    assert [v for _, v in _values(b"[1, 22, 333]")] == [1, 22, 333]


def test_a_bad_value_costs_its_line_only() -> None:
    mediator = Mediator()
    data = b'{"a": 1}\n{"a": 2,, }\nnot json\n{"a": 3}\n{"a": "open\n'
    assert _values(data, mediator) == [(1, {"a": 1}), (4, {"a": 3})]
    assert [w.location for w in mediator.kept] == ["f:2", "f:5"]
    assert "(and 1 more line before the next value)" in mediator.kept[0].message


def test_a_value_over_the_limit_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "MAX_VALUE", 100)
    mediator = Mediator()
    data = b'{"a": "' + b"x" * 500 + b'"}\n{"a": 2}\n'
    assert _values(data, mediator) == [(2, {"a": 2})]
    assert "more than 100 characters" in mediator.kept[0].message
