"""A Sigma detection as a small tree of plain values: what the compiler makes of pySigma's
condition tree, what the cache keeps, and what the SQL renderer reads.

pySigma has already applied every modifier by the time a condition tree exists (``contains`` is
a string with wildcards, ``windash`` and ``base64offset`` are expansions, ``all`` is an AND,
``cidr`` a network, ``re`` a regular expression with its flags…), so the tree keeps only what a
match needs, as tuples and lists of strings and numbers: it serialises to JSON as it is, and it is
rendered to SQL (for DuckDB here, transpiled for Spark) without pySigma. Tuples and lists are
the same to every reader of a tree (the cache gives lists back).

Nodes (the first element names the kind):

- ``("and", [nodes])``, ``("or", [nodes])``, ``("not", node)``
- ``("str", field, glob, cased)``: the field's text matches ``glob`` (a list of ``(kind, text)``
  pieces: ``l`` literal, ``*`` any run, ``?`` one character), case-insensitively unless
  ``cased``
- ``("num", field, number)``: the field equals the number
- ``("cmp", field, op, number)``: the field, read as a number, compared with ``op``
  (``<``, ``<=``, ``>``, ``>=``)
- ``("null", field)``: the field is absent or null
- ``("exists", field, yes)``: the field is present (``yes``) or absent
- ``("re", field, pattern, flags)``: a regular expression search, flags among ``ims``
- ``("cidr", field, network)``: the field is an IP address inside the network
- ``("ref", field, other, starts, ends)``: the field equals (starts with / ends with) the value
  of ``other``, case-insensitively
- ``("kw", glob)``: the event's text (its data values, one per line) contains ``glob``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Built as tuples, read back from the cache as lists: code only indexes them.
Node = Sequence[Any]
Glob = Sequence[Sequence[str]]

LITERAL, ANY, ONE = "l", "*", "?"

# Sigma field -> (``events`` column, kind); every other field is a key of ``data``.
SYSTEM_FIELDS: dict[str, tuple[str, str]] = {
    "EventID": ("event_id", "int"),
    "Channel": ("channel", "text"),
    "Provider_Name": ("provider", "text"),
    "Computer": ("computer", "text"),
    "EventRecordID": ("record_id", "int"),
}


def is_int_field(field: str) -> bool:
    """Whether the field is an integer column of ``events`` (compared as a number)."""
    return SYSTEM_FIELDS.get(field, ("", ""))[1] == "int"


def fields_of(node: Node) -> set[tuple[str, str]]:
    """Every (field, use) the node reads; uses: ``raw`` (text), ``lower``, ``int`` (an integer
    column), ``ip`` (canonical address key), ``text`` (the whole event, for keywords)."""
    kind = node[0]
    if kind in ("and", "or"):
        return set().union(*(fields_of(child) for child in node[1]))
    if kind == "not":
        return fields_of(node[1])
    if kind == "str":
        return {(node[1], "raw" if node[3] else "lower")}
    if kind in ("num", "cmp"):
        return {(node[1], "int" if is_int_field(node[1]) else "raw")}
    if kind in ("null", "exists", "re"):
        return {(node[1], "raw")}
    if kind == "cidr":
        return {(node[1], "ip")}
    if kind == "ref":
        return {(node[1], "lower"), (node[2], "lower")}
    if kind == "kw":
        return {("", "text")}
    raise ValueError(f"unknown node {kind!r}")


def channels_of(node: Node) -> frozenset[str] | None:
    """The channels (ignoring case) an event must be in for the node to hold; None: any."""
    return _necessary(node, _channel_leaf)


def event_ids_of(node: Node) -> frozenset[int] | None:
    """The event ids an event must have for the node to hold, None if any."""
    return _necessary(node, _event_id_leaf)


def _channel_leaf(node: Node) -> frozenset[Any] | None:
    if node[0] == "str" and node[1] == "Channel" and all(p[0] == LITERAL for p in node[2]):
        return frozenset({"".join(p[1] for p in node[2])})
    return None


def _event_id_leaf(node: Node) -> frozenset[Any] | None:
    if node[0] == "num" and node[1] == "EventID" and float(node[2]).is_integer():
        return frozenset({int(node[2])})
    if node[0] == "str" and node[1] == "EventID" and all(p[0] == LITERAL for p in node[2]):
        text = "".join(p[1] for p in node[2]).strip()
        if text.isdigit():
            return frozenset({int(text)})
    return None


def _necessary(node: Node, leaf: Any) -> frozenset[Any] | None:
    """A set S such that the node can only hold for an event whose value is in S (an over-
    approximation: it narrows the events a rule is evaluated on, never decides a match)."""
    kind = node[0]
    if kind == "and":
        found = [s for s in (_necessary(c, leaf) for c in node[1]) if s is not None]
        if not found:
            return None
        result = found[0]
        for other in found[1:]:
            result = result & other
        return result
    if kind == "or":
        parts = [_necessary(c, leaf) for c in node[1]]
        if not parts or any(p is None for p in parts):
            return None
        return frozenset().union(*(p for p in parts if p is not None))
    if kind == "not":
        return None
    value: frozenset[Any] | None = leaf(node)
    return value
