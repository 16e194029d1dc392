"""Evaluate detection trees over a slice of events, column-wise, each distinct test once.

DuckDB plans every statement anew, and for Sigma's 2,800 rules (4,500 once the two forms of
``process_creation`` and the like are counted) planning costs milliseconds a rule: more than
scanning the events. So the hunt evaluates the same trees the SQL renderer turns into SQL, with
Arrow's compute kernels (the same RE2 regular expressions DuckDB uses), and with savings that
SQL planning cannot give:

- every field of a slice is dictionary-encoded once, and a test (``Image`` ends with
  ``\\powershell.exe``) runs once over the field's *distinct* values, then reaches the rows
  through the dictionary indices: event logs repeat the same images, parents, users and command
  lines all day long;
- the plain tests of all the hunt's rules are answered together, column by column
  (:mod:`seawall.detect.sigma.index`), and only the rules whose needed tests matched some value
  (the *candidates*) are evaluated at all;
- a candidate is evaluated on the rows of the kinds of event its log source allows (a
  :class:`View`), every other test of its tree once per slice and kind however many rules use
  it, and an AND stops at its first child that matches no row.

The semantics are :mod:`seawall.detect.sigma.sql`'s, test for test (a test of the project runs the
SQL form of every rule in DuckDB and compares): case-insensitive strings, wildcards, a missing
field matching nothing, NOT of a missing field's test true.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawall.detect.sigma.facts import leaves
from seawall.detect.sigma.index import Found, RuleIndex
from seawall.detect.sigma.ir import ANY, LITERAL, ONE, Glob, Node, is_int_field
from seawall.detect.sigma.sql import glob_pieces, ip_key, ip_range

Mask = np.ndarray[Any, np.dtype[np.bool_]]
Rows = np.ndarray[Any, np.dtype[np.int64]]


class Field:
    """One column of the slice: dictionary indices per row and the distinct values."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks() if encoded.num_chunks != 1 else encoded.chunk(0)
        self.values: pa.Array = encoded.dictionary
        size = len(self.values)
        # a missing value points one past the dictionary, where every test is false
        self.indices = encoded.indices.fill_null(size).to_numpy(zero_copy_only=False)
        self._lower: pa.Array | None = None
        self._keys: list[str | None] | None = None

    @property
    def lower(self) -> pa.Array:
        if self._lower is None:
            self._lower = pc.utf8_lower(self.values)
        return self._lower

    def ip_keys(self) -> list[str | None]:
        if self._keys is None:
            self._keys = [ip_key(v) for v in self.values.to_pylist()]
        return self._keys


def distinct_mask(distinct: pa.Array | Mask) -> Mask:
    """A per-distinct-value boolean (null = false) as a numpy mask."""
    if isinstance(distinct, pa.Array):
        return distinct.fill_null(False).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
    return distinct


class Slice:
    """The events of one slice (an Arrow table of one column per field) and what every test of
    the hunt found in them."""

    def __init__(self, table: pa.Table, columns: Mapping[tuple[str, str], str]) -> None:
        self.size = table.num_rows
        self.table = table
        self.columns = columns
        self.fields: dict[str, Field] = {}
        self.found: Found = {}
        self.distinct: dict[bytes | int, Mask] = {}  # per-distinct-value results of other tests
        self._kinds: dict[Any, Rows] = {}
        channel = pc.dictionary_encode(table.column("_channel")).combine_chunks()
        names = pc.utf8_lower(channel.dictionary).to_pylist()
        self._channel_names: list[str] = [*names, ""]  # a missing channel is ''
        self._channels = channel.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
        event_ids = table.column("_event_id").cast(pa.int64()).fill_null(-1)
        self._event_ids = event_ids.to_numpy()

    def field(self, name: str) -> Field:
        found = self.fields.get(name)
        if found is None:
            found = self.fields[name] = Field(self.table.column(name))
        return found

    def find(self, index: RuleIndex) -> None:
        """Answer every plain test of the hunt, column by column, over the distinct values."""
        for name, cased in index.columns:
            field = self.field(name)
            if not len(field.values):
                continue
            values = (field.values if cased else field.lower).to_pylist()
            self.found.update(index.matcher(name, cased).run(values))

    def rows(self, channels: Sequence[str] | None, event_ids: Sequence[int] | None) -> Rows:
        """The rows of the kinds of event a log source allows (channels ignoring case)."""
        key = (None if channels is None else tuple(channels), event_ids)
        found = self._kinds.get(key)
        if found is None:
            mask = np.ones(self.size, np.bool_)
            if channels is not None:
                wanted = {c.lower() for c in channels}
                allowed = np.array([n in wanted for n in self._channel_names], np.bool_)
                mask &= allowed[self._channels]
            if event_ids is not None:
                mask &= np.isin(self._event_ids, np.array(list(event_ids), np.int64))
            found = self._kinds[key] = np.flatnonzero(mask)
        return found


class Tree:
    """A tree with, for each of its tests, the key equal tests share (a plain test's id in the
    hunt's :class:`~.index.RuleIndex`, else the test marshalled) and, for a plain test, its id
    and the column it reads (the ids of the nodes below are valid while the tree lives: it is
    held here).

    ``plain`` is the plain test id of each of the tree's tests left to right, or -1 (the
    tree's :class:`~.facts.Facts` give it, mapped to the index's ids)."""

    def __init__(self, tree: Node, plain: Sequence[int], index: RuleIndex) -> None:
        self.root = tree
        self.key: dict[int, bytes | int] = {}
        self.plain: dict[int, tuple[int, str]] = {}
        found = leaves(tree)
        if len(found) != len(plain):
            raise ValueError("the tree's facts do not describe it")
        for leaf, number in zip(found, plain, strict=True):
            if number < 0:
                self.key[id(leaf)] = marshal.dumps(leaf)  # type: ignore[arg-type]
            else:
                self.key[id(leaf)] = number
                self.plain[id(leaf)] = (number, index.tests[number][0])


class View:
    """The rows of a slice that a tree is evaluated on, and the tests answered for them."""

    def __init__(self, data: Slice, rows: Rows) -> None:
        self.data = data
        self.rows = rows
        self.size = len(rows)
        self._indices: dict[str, np.ndarray[Any, Any]] = {}
        self._tests: dict[bytes | int, Mask] = {}

    def indices(self, name: str) -> np.ndarray[Any, Any]:
        found = self._indices.get(name)
        if found is None:
            found = self._indices[name] = self.data.field(name).indices[self.rows]
        return found

    def spread(self, name: str, distinct: Mask) -> Mask:
        """A per-distinct-value mask of column ``name`` as a mask of the view's rows."""
        if not distinct.any():  # most tests match no value: no per-row work
            return np.zeros(self.size, np.bool_)
        extended = np.zeros(len(distinct) + 1, np.bool_)
        extended[:-1] = distinct
        return extended[self.indices(name)]  # type: ignore[no-any-return]

    def matches(self, tree: Tree) -> Mask:
        """The view's rows where the tree holds."""
        return self._eval(tree.root, tree)

    def _eval(self, node: Node, tree: Tree) -> Mask:
        kind = node[0]
        if kind == "and":
            result: Mask | None = None
            for child in node[1]:
                value = self._eval(child, tree)
                result = value if result is None else result & value
                if not result.any():
                    break
            return result if result is not None else np.ones(self.size, np.bool_)
        if kind == "or":
            result = np.zeros(self.size, np.bool_)
            for child in node[1]:
                result = result | self._eval(child, tree)
            return result
        if kind == "not":
            return ~self._eval(node[1], tree)
        key = tree.key[id(node)]
        found = self._tests.get(key)
        if found is None:
            found = self._tests[key] = self._leaf(node, tree)
        return found

    def _leaf(self, node: Node, tree: Tree) -> Mask:
        plain = tree.plain.get(id(node))
        if plain is not None:  # answered for the whole slice by its column's matcher
            number, name = plain
            passed = self.data.found.get(number)
            if passed is None:
                return np.zeros(self.size, np.bool_)
            return self.spread(name, passed)
        kind = node[0]
        if kind in ("null", "exists"):
            name = self.data.columns[(node[1], "raw")]
            present = self.indices(name) < len(self.data.field(name).values)
            return np.asarray(present if kind == "exists" and node[2] else ~present, np.bool_)
        if kind == "ref":
            return self._reference(node)
        name, distinct = self._distinct(node, tree.key[id(node)])
        return self.spread(name, distinct)

    def _distinct(self, node: Node, key: bytes | int) -> tuple[str, Mask]:
        """The column a test reads and its per-distinct-value result (once per slice)."""
        kind = node[0]
        data = self.data
        if kind == "str":
            name = data.columns[(node[1], "raw" if node[3] else "lower")]
        elif kind == "kw":
            name = data.columns[("", "text")]
        elif kind in ("num", "cmp"):
            name = data.columns[(node[1], "int" if is_int_field(node[1]) else "raw")]
        elif kind == "re":
            name = data.columns[(node[1], "raw")]
        elif kind == "cidr":
            name = data.columns[(node[1], "ip")]
        else:
            raise ValueError(f"unknown node {kind!r}")
        found = data.distinct.get(key)
        if found is None:
            found = data.distinct[key] = distinct_mask(_test(node, data.field(name)))
        return name, found

    def _reference(self, node: Node) -> Mask:
        left_name = self.data.columns[(node[1], "lower")]
        right_name = self.data.columns[(node[2], "lower")]
        left, right = self.data.field(left_name), self.data.field(right_name)
        left_rows, right_rows = self.indices(left_name), self.indices(right_name)
        if not len(left.values) or not len(right.values):
            return np.zeros(self.size, np.bool_)
        a = pc.take(left.lower, pa.array(np.minimum(left_rows, len(left.values) - 1)))
        b = pc.take(right.lower, pa.array(np.minimum(right_rows, len(right.values) - 1)))
        found = [
            x is not None
            and y is not None
            and (x.startswith(y) if node[3] else x.endswith(y) if node[4] else x == y)
            for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)
        ]
        present = (left_rows < len(left.values)) & (right_rows < len(right.values))
        return np.asarray(np.array(found, dtype=np.bool_) & present, np.bool_)


def _test(node: Node, field: Field) -> pa.Array | Mask:
    """A test that is not plain text, over a column's distinct values."""
    kind = node[0]
    if kind == "str":
        cased = bool(node[3])
        return glob_test(field.values if cased else field.lower, node[2], cased)
    if kind == "kw":
        return glob_test(field.lower, [(ANY, ""), *node[1], (ANY, "")], False)
    if kind == "num":
        return _number(node[1], node[2], field)
    if kind == "cmp":
        test = _COMPARE[node[2]]
        number = node[3]
        return np.array(
            [
                (v := _as_number(x)) is not None and test(v, number)
                for x in field.values.to_pylist()
            ],
            dtype=np.bool_,
        )
    if kind == "re":
        flags = f"(?{node[3]})" if node[3] else ""
        return pc.match_substring_regex(field.values, flags + node[2])
    if kind == "cidr":
        low, high = ip_range(node[2])
        return np.array(
            [k is not None and low <= k <= high for k in field.ip_keys()], dtype=np.bool_
        )
    raise ValueError(f"unknown node {kind!r}")


def _number(name: str, number: Any, field: Field) -> pa.Array | Mask:
    if is_int_field(name):
        if not float(number).is_integer():
            return np.zeros(len(field.values), np.bool_)
        return pc.equal(field.values, pa.scalar(int(number), field.values.type))
    text = str(int(number)) if float(number).is_integer() else str(number)
    return pc.equal(field.values, text)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _as_number(value: Any) -> float | None:
    """The value read as a number as DuckDB's ``TRY_CAST(… AS DOUBLE)`` reads it, else None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def glob_test(values: pa.Array, glob: Glob, cased: bool) -> pa.Array:
    """A boolean per value: the value matches the glob (literals lowered unless ``cased``)."""
    pieces = glob_pieces(glob, cased)
    kinds = [p[0] for p in pieces]
    literals = [p[1] for p in pieces if p[0] == LITERAL]
    if not pieces:
        return pc.equal(values, "")
    if kinds == [LITERAL]:
        return pc.equal(values, literals[0])
    if kinds == [ANY]:
        return pc.is_valid(values)
    if kinds == [ANY, LITERAL, ANY]:
        return pc.match_substring(values, literals[0])
    if kinds == [LITERAL, ANY]:
        return pc.starts_with(values, literals[0])
    if kinds == [ANY, LITERAL]:
        return pc.ends_with(values, literals[0])
    pattern = "".join(
        "%" if kind == ANY else "_" if kind == ONE else re.sub(r"([%_\\])", r"\\\1", text)
        for kind, text in pieces
    )
    return pc.match_like(values, pattern)
