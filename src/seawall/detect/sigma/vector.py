"""Evaluate detection trees over a slice of events, column-wise, each distinct test once.

DuckDB plans every statement anew, and for Sigma's 2,800 rules (4,500 once the two forms of
``process_creation`` and the like are counted) planning costs milliseconds a rule: more than
scanning the events. So the hunt evaluates the same trees the SQL renderer turns into SQL, with
Arrow's compute kernels (the same RE2 regular expressions DuckDB uses), and with two savings that
SQL planning cannot give:

- every field of a slice is dictionary-encoded, and a test (``Image`` ends with
  ``\\powershell.exe``) runs once over the field's *distinct* values, then reaches the rows
  through the dictionary indices: event logs repeat the same images, parents, users and command
  lines all day long;
- a test is computed once per slice however many rules use it (hundreds of rules test the same
  images), and an AND stops at its first child that matches no row;
- the plain-text tests of a field (equals, contains, starts with, ends with: nearly all of
  SigmaHQ's) are answered together, in one Aho-Corasick pass over the field's distinct values
  for all the group's literals, instead of one kernel call per literal.

The semantics are :mod:`seawall.detect.sigma.sql`'s, test for test (a test of the project runs the
SQL form of every rule in DuckDB and compares): case-insensitive strings, wildcards, a missing
field matching nothing, NOT of a missing field's test true.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawall.detect.sigma.ir import ANY, LITERAL, ONE, Glob, Node, is_int_field
from seawall.detect.sigma.sql import glob_pieces, ip_key, ip_range

Mask = np.ndarray[Any, np.dtype[np.bool_]]
PlainTest = tuple[tuple[str, str], bool, tuple[str, str]]
"""(column key, cased, (test, literal)): a test of plain text (see :func:`literal_tests`)."""


class _Field:
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

    def rows(self, distinct: pa.Array | Mask) -> Mask:
        """A per-distinct-value boolean (null = false) as a per-row mask."""
        if isinstance(distinct, pa.Array):
            distinct = distinct.fill_null(False).to_numpy(zero_copy_only=False)
        if not distinct.any():  # most tests match no value: no per-row work
            return np.zeros(len(self.indices), np.bool_)
        extended = np.zeros(len(distinct) + 1, np.bool_)
        extended[:-1] = distinct
        return extended[self.indices]  # type: ignore[no-any-return]


class Leaves:
    """What each test of a hunt's trees is, worked out once for every slice: a key that equal
    tests share (so a slice computes each once) and, for plain-text tests, the literal test."""

    def __init__(self, trees: Iterable[Node]) -> None:
        self.trees = list(trees)  # the ids below are valid while the trees live
        self.key: dict[int, bytes] = {}
        self.plain: dict[int, PlainTest | None] = {}
        self.plain_of: dict[int, list[PlainTest]] = {}
        self.needs: dict[int, list[list[PlainTest]]] = {}
        for tree in self.trees:
            self.needs[id(tree)] = _necessary_tests(tree)
            plain: list[PlainTest] = []
            for leaf in _leaves(tree):
                self.key[id(leaf)] = marshal.dumps(leaf)  # type: ignore[arg-type]
                found = self.plain[id(leaf)] = _plain_test(leaf)
                if found is not None:
                    plain.append(found)
            self.plain_of[id(tree)] = plain


class Slice:
    """The events of one slice (an Arrow table of one column per field name) and its tests."""

    def __init__(
        self, table: pa.Table, columns: dict[tuple[str, str], str], leaves: Leaves
    ) -> None:
        self.size = table.num_rows
        self.table = table
        self.columns = columns
        self.leaves = leaves
        self._fields: dict[str, _Field] = {}
        self._tests: dict[bytes, Mask] = {}
        self._literals: dict[tuple[str, bool, str, str], np.ndarray[Any, Any]] = {}
        self._found: dict[tuple[str, bool, str, str], bool] = {}

    def prepare(self, trees: Iterable[Node]) -> None:
        """Answer every plain-text test of the trees at once, field by field."""
        wanted: dict[tuple[str, bool], set[tuple[str, str]]] = {}
        for tree in trees:
            for column, cased, test in self.leaves.plain_of[id(tree)]:
                wanted.setdefault((self.columns[column], cased), set()).add(test)
        for (name, cased), tests in wanted.items():
            field = self._field(name)
            values = (field.values if cased else field.lower).to_pylist()
            for (kind, literal), distinct in literal_tests(values, tests).items():
                self._literals[(name, cased, kind, literal)] = distinct
                self._found[(name, cased, kind, literal)] = bool(distinct.any())

    def possible(self, tree: Node) -> bool:
        """False when a test the tree cannot hold without matches no value of this slice (most
        rules, most slices): the tree is then not evaluated at all."""
        for alternatives in self.leaves.needs[id(tree)]:
            found = [
                self._found.get((self.columns[column], cased, test, literal))
                for column, cased, (test, literal) in alternatives
            ]
            if found and all(f is False for f in found):
                return False
        return True

    def _field(self, name: str) -> _Field:
        found = self._fields.get(name)
        if found is None:
            found = self._fields[name] = _Field(self.table.column(name))
        return found

    def column(self, field: str, use: str) -> _Field:
        return self._field(self.columns[(field, use)])

    def matches(self, tree: Node) -> Mask:
        """The rows where the tree holds."""
        return self._eval(tree)

    def _eval(self, node: Node) -> Mask:
        kind = node[0]
        if kind == "and":
            result: Mask | None = None
            for child in node[1]:
                value = self._eval(child)
                result = value if result is None else result & value
                if not result.any():
                    break
            return result if result is not None else np.ones(self.size, np.bool_)
        if kind == "or":
            result = np.zeros(self.size, np.bool_)
            for child in node[1]:
                result = result | self._eval(child)
            return result
        if kind == "not":
            return ~self._eval(node[1])
        key = self.leaves.key[id(node)]
        found = self._tests.get(key)
        if found is None:
            found = self._tests[key] = self._leaf(node)
        return found

    def _leaf(self, node: Node) -> Mask:
        kind = node[0]
        if kind in ("str", "kw"):
            plain = self.leaves.plain[id(node)]
            if plain is not None:
                (field_name, use), cased, (test, literal) = plain
                name = self.columns[(field_name, use)]
                distinct = self._literals.get((name, cased, test, literal))
                if distinct is not None:
                    return self._field(name).rows(distinct)
        if kind == "str":
            cased = bool(node[3])
            field = self.column(node[1], "raw" if cased else "lower")
            values = field.values if cased else field.lower
            return field.rows(glob_test(values, node[2], cased))
        if kind == "num":
            return self._number(node[1], node[2])
        if kind == "cmp":
            return self._compare(node[1], node[2], node[3])
        if kind in ("null", "exists"):
            field = self.column(node[1], "raw")
            present = field.indices < len(field.values)
            return np.asarray(present if kind == "exists" and node[2] else ~present, np.bool_)
        if kind == "re":
            field = self.column(node[1], "raw")
            flags = f"(?{node[3]})" if node[3] else ""
            return field.rows(pc.match_substring_regex(field.values, flags + node[2]))
        if kind == "cidr":
            field = self.column(node[1], "ip")
            low, high = ip_range(node[2])
            inside = [k is not None and low <= k <= high for k in field.ip_keys()]
            return field.rows(np.array(inside, dtype=np.bool_))
        if kind == "ref":
            return self._reference(node)
        if kind == "kw":
            field = self.column("", "text")
            glob = [(ANY, ""), *node[1], (ANY, "")]
            return field.rows(glob_test(field.lower, glob, False))
        raise ValueError(f"unknown node {kind!r}")

    def _number(self, name: str, number: Any) -> Mask:
        if is_int_field(name):
            field = self.column(name, "int")
            if not float(number).is_integer():
                return np.zeros(self.size, np.bool_)
            return field.rows(pc.equal(field.values, pa.scalar(int(number), field.values.type)))
        field = self.column(name, "raw")
        text = str(int(number)) if float(number).is_integer() else str(number)
        return field.rows(pc.equal(field.values, text))

    def _compare(self, name: str, op: str, number: Any) -> Mask:
        field = self.column(name, "int" if is_int_field(name) else "raw")
        test = _COMPARE[op]
        found = [
            (v := _as_number(x)) is not None and test(v, number) for x in field.values.to_pylist()
        ]
        return field.rows(np.array(found, dtype=np.bool_))

    def _reference(self, node: Node) -> Mask:
        left = self.column(node[1], "lower")
        right = self.column(node[2], "lower")
        if not len(left.values) or not len(right.values):
            return np.zeros(self.size, np.bool_)
        a = pc.take(left.lower, pa.array(np.minimum(left.indices, len(left.values) - 1)))
        b = pc.take(right.lower, pa.array(np.minimum(right.indices, len(right.values) - 1)))
        found = [
            x is not None
            and y is not None
            and (x.startswith(y) if node[3] else x.endswith(y) if node[4] else x == y)
            for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True)
        ]
        present = (left.indices < len(left.values)) & (right.indices < len(right.values))
        return np.asarray(np.array(found, dtype=np.bool_) & present, np.bool_)


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


def _leaves(node: Node) -> Iterator[Node]:
    if node[0] in ("and", "or"):
        for child in node[1]:
            yield from _leaves(child)
    elif node[0] == "not":
        yield from _leaves(node[1])
    else:
        yield node


def _necessary_tests(tree: Node) -> list[list[PlainTest]]:
    """Groups of plain-text tests of which the tree needs one to hold: its top-level AND's
    plain tests, and its ORs made only of plain tests."""
    needs: list[list[PlainTest]] = []
    conjuncts = [tree]
    while conjuncts:
        node = conjuncts.pop()
        if node[0] == "and":
            conjuncts.extend(node[1])
            continue
        if node[0] == "or" and _has_not(node):
            continue  # `a or not b` can hold where a matches nothing
        leaves = list(_leaves(node)) if node[0] == "or" else [node]
        tests = [_plain_test(leaf) for leaf in leaves]
        if tests and all(t is not None for t in tests):
            needs.append([t for t in tests if t is not None])
    return needs


def _has_not(node: Node) -> bool:
    if node[0] == "not":
        return True
    return node[0] in ("and", "or") and any(_has_not(child) for child in node[1])


def _plain_test(node: Node) -> PlainTest | None:
    """(column key, cased, (test, literal)) for a test of plain text, else None."""
    if node[0] == "str":
        cased = bool(node[3])
        column = (node[1], "raw" if cased else "lower")
        pieces = glob_pieces(node[2], cased)
    elif node[0] == "kw":
        cased = False
        column = ("", "text")
        pieces = glob_pieces([(ANY, ""), *node[1], (ANY, "")], False)
    else:
        return None
    kinds = tuple(p[0] for p in pieces)
    literals = [p[1] for p in pieces if p[0] == LITERAL]
    test = _PLAIN.get(kinds)
    if test is None or not literals or not literals[0]:
        return None
    return column, cased, (test, literals[0])


_PLAIN = {
    (LITERAL,): "equals",
    (ANY, LITERAL, ANY): "contains",
    (LITERAL, ANY): "starts",
    (ANY, LITERAL): "ends",
}


def literal_tests(
    values: list[str | None], tests: set[tuple[str, str]]
) -> dict[tuple[str, str], np.ndarray[Any, Any]]:
    """For each (test, literal), a boolean per value: equality by lookup, the rest in one
    Aho-Corasick pass that reports every occurrence of every literal in every value."""
    size = len(values)
    result = {test: np.zeros(size, np.bool_) for test in tests}
    # lower-cased distinct values can repeat ('System32', 'system32'): every index counts
    positions: dict[str, list[int]] = {}
    for index, value in enumerate(values):
        if value is not None:
            positions.setdefault(value, []).append(index)
    for test, literal in tests:
        if test == "equals" and literal in positions:
            result[(test, literal)][positions[literal]] = True
    searched = {literal for test, literal in tests if test != "equals"}
    if not searched:
        return result
    automaton = ahocorasick.Automaton()
    for literal in searched:
        automaton.add_word(literal, literal)
    automaton.make_automaton()
    contains = {lit: result.get(("contains", lit)) for lit in searched}
    starts = {lit: result.get(("starts", lit)) for lit in searched}
    ends = {lit: result.get(("ends", lit)) for lit in searched}
    for index, value in enumerate(values):
        if not value:
            continue
        last = len(value) - 1
        for end, literal in automaton.iter(value):
            found = contains[literal]
            if found is not None:
                found[index] = True
            if end == last:
                found = ends[literal]
                if found is not None:
                    found[index] = True
            if end == len(literal) - 1:
                found = starts[literal]
                if found is not None:
                    found[index] = True
    return result


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
