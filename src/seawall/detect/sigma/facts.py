"""What the hunt must know of a detection tree before it looks at any event.

Worked out once, when a rule is compiled, and cached with it (a hunt of 3,000 rules would
otherwise walk 60,000 tests of their trees before reading an event):

- the fields the tree reads, each with its use (:func:`seawall.detect.sigma.ir.fields_of`);
- its *plain* tests: equals, contains, starts with or ends with one literal (nearly all of
  SigmaHQ's), which the hunt answers for every rule at once with one Aho-Corasick pass over a
  field's distinct values;
- its *needs*: groups of plain tests of which the tree needs one to hold (its top-level AND's
  plain tests, and its ORs made only of plain tests). Where a need has no test that matches any
  value, the tree cannot hold, and it is not evaluated at all: most rules, on most events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seawall.detect.sigma.ir import ANY, LITERAL, Node, fields_of
from seawall.detect.sigma.sql import glob_pieces

Column = tuple[str, str]
"""(field, use): a column of the events the hunt reads (see :func:`~.ir.fields_of`)."""
PlainTest = tuple[Column, bool, str, str]
"""(column, cased, test, literal); test: ``equals``, ``contains``, ``starts`` or ``ends``."""

_PLAIN = {
    (LITERAL,): "equals",
    (ANY, LITERAL, ANY): "contains",
    (LITERAL, ANY): "starts",
    (ANY, LITERAL): "ends",
}
# Separators of a test's parts in its key, and of keys in the cache (never in field names,
# and a literal holding one only makes its key longer: the last part is the rest).
_PART, _KEY = "\x1f", "\x1e"


def test_key(test: PlainTest) -> str:
    """A plain test as one string (equal tests, equal keys): 60,000 tests of a rule set read
    back from the cache as strings take a tenth of the time of as many tuples."""
    (field, use), cased, kind, literal = test
    return _PART.join((field, use, "c" if cased else "", kind, literal))


def parse_test_key(key: str) -> PlainTest:
    field, use, cased, kind, literal = key.split(_PART, 4)
    return (field, use), cased == "c", kind, literal


@dataclass(frozen=True, slots=True)
class Facts:
    """A tree's fields, plain tests (:func:`test_key`), needs (indices into ``tests``), and for
    each of its tests left to right (:func:`leaves`) the index of its plain test, or -1 (so
    that a hunt prepares a tree without working its tests out again)."""

    fields: tuple[Column, ...]
    tests: tuple[str, ...]
    needs: tuple[tuple[int, ...], ...]
    leaf_tests: tuple[int, ...]

    def to_plain(self) -> tuple[Any, ...]:
        """Plain values for the rule cache (marshal): the tests as one string."""
        return (self.fields, _KEY.join(self.tests), self.needs, self.leaf_tests)

    @classmethod
    def from_plain(cls, data: Any) -> Facts:
        """From :meth:`to_plain`'s values (marshal gives tuples back as tuples)."""
        fields, tests, needs, leaf_tests = data
        return cls(fields, tuple(tests.split(_KEY)) if tests else (), needs, leaf_tests)


def facts_of(tree: Node) -> Facts:
    """The tree's fields, plain tests, needs and the plain test of each of its tests."""
    tests: dict[str, int] = {}
    leaf_tests: list[int] = []
    for leaf in leaves(tree):
        found = plain_test(leaf)
        if found is None:
            leaf_tests.append(-1)
        else:
            leaf_tests.append(tests.setdefault(test_key(found), len(tests)))
    needs = tuple(
        tuple(sorted({tests[test_key(test)] for test in group})) for group in _necessary_tests(tree)
    )
    return Facts(
        tuple(sorted(fields_of(tree))),
        tuple(tests),
        tuple(dict.fromkeys(needs)),
        tuple(leaf_tests),
    )


def leaves(node: Node) -> list[Node]:
    """The tree's tests, left to right (a list: cheaper than nested generators, and a hunt
    walks a thousand trees)."""
    found: list[Node] = []
    _collect(node, found)
    return found


def _collect(node: Node, found: list[Node]) -> None:
    kind = node[0]
    if kind in ("and", "or"):
        for child in node[1]:
            _collect(child, found)
    elif kind == "not":
        _collect(node[1], found)
    else:
        found.append(node)


def plain_test(node: Node) -> PlainTest | None:
    """(column, cased, test, literal) for a test of plain text, else None."""
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
    return column, cased, test, literals[0]


def _necessary_tests(tree: Node) -> list[list[PlainTest]]:
    """Groups of plain tests of which the tree needs one to hold: its top-level AND's plain
    tests, and its ORs made only of plain tests."""
    needs: list[list[PlainTest]] = []
    conjuncts = [tree]
    while conjuncts:
        node = conjuncts.pop()
        if node[0] == "and":
            conjuncts.extend(node[1])
            continue
        if node[0] == "or" and _has_not(node):
            continue  # `a or not b` can hold where a matches nothing
        found = leaves(node) if node[0] == "or" else [node]
        tests = [plain_test(leaf) for leaf in found]
        if tests and all(t is not None for t in tests):
            needs.append([t for t in tests if t is not None])
    return needs


def _has_not(node: Node) -> bool:
    if node[0] == "not":
        return True
    return node[0] in ("and", "or") and any(_has_not(child) for child in node[1])
