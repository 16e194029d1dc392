"""Render a detection tree as a SQL boolean expression (DuckDB; transpiles to Spark with sqlglot).

The semantics are Sigma's, not SQL's:

- strings compare case-insensitively (both sides lower-cased) unless ``|cased``; ``*`` and
  ``?`` are wildcards, every other character (``%``, ``_``, ``\\``) is literal;
- a missing field never matches, and ``not`` of a missing field's test is true: SQL's NULL is
  made false under every NOT (an expression without NOT is TRUE under SQL's three-valued logic
  exactly when it is true with NULL read as false, so only NOT needs it);
- ``|re`` is a search with the rule's ``i``/``m``/``s`` flags inline, case-sensitive otherwise;
- numbers equal the field's text (``LogonType: 3`` is ``'3'``), ``|gt``… compare the field read as
  a number; ``|cidr`` compares canonical addresses (``sigma_ip_key``, a function seawall
  registers: IPv4 and IPv6, whatever the spelling);
- keywords search the event's data values joined by newlines (``sigma_event_text(data)``, a
  macro seawall defines), case-insensitively.

Fields are reached through an *accessor*: :func:`event_accessor` reads the ``events`` table
directly (the portable form, one rule per query), and the hunt's own accessor reads columns it
extracted once for many rules.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

from seawall.detect.sigma.ir import ANY, LITERAL, ONE, SYSTEM_FIELDS, Glob, Node, is_int_field

Accessor = Callable[[str, str], str]
"""(Sigma field, use) -> SQL expression; uses: raw, lower, ip, int, text (see :func:`render`)."""

IP_KEY_FUNCTION = "sigma_ip_key"
EVENT_TEXT_FUNCTION = "sigma_event_text"
_ESCAPES = "!#~^|$&@"


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def event_accessor(field: str, use: str) -> str:
    """Fields of the ``events`` table itself: system columns, or keys of ``data``."""
    if use == "text":
        return f"lower({EVENT_TEXT_FUNCTION}(data))"
    if field in SYSTEM_FIELDS:
        column, kind = SYSTEM_FIELDS[field]
        raw = column if kind == "text" or use == "int" else f"CAST({column} AS VARCHAR)"
    else:
        raw = f"(data->>{quote(field)})"
    if use == "lower":
        return f"lower({raw})"
    if use == "ip":
        return f"{IP_KEY_FUNCTION}({raw})"
    return raw


def render(node: Node, col: Accessor) -> str:
    """The tree as one SQL boolean expression (NULL only where the value is false)."""
    kind = node[0]
    if kind == "and":
        return "(" + " AND ".join(render(c, col) for c in node[1]) + ")"
    if kind == "or":
        return "(" + " OR ".join(render(c, col) for c in node[1]) + ")"
    if kind == "not":
        return f"(NOT coalesce({render(node[1], col)}, false))"
    if kind == "str":
        cased = bool(node[3])
        return _glob(col(node[1], "raw" if cased else "lower"), node[2], cased)
    if kind == "num":
        return _number(node[1], node[2], col)
    if kind == "cmp":
        field = node[1]
        value = (
            col(field, "int") if is_int_field(field) else f"TRY_CAST({col(field, 'raw')} AS DOUBLE)"
        )
        return f"({value} {node[2]} {_literal_number(node[3])})"
    if kind == "null":
        return f"({col(node[1], 'raw')} IS NULL)"
    if kind == "exists":
        return f"({col(node[1], 'raw')} IS {'NOT ' if node[2] else ''}NULL)"
    if kind == "re":
        flags = f"(?{node[3]})" if node[3] else ""
        return f"regexp_matches({col(node[1], 'raw')}, {quote(flags + node[2])})"
    if kind == "cidr":
        low, high = ip_range(node[2])
        return f"({col(node[1], 'ip')} BETWEEN {quote(low)} AND {quote(high)})"
    if kind == "ref":
        left, right = col(node[1], "lower"), col(node[2], "lower")
        if node[3]:
            return f"starts_with({left}, {right})"
        if node[4]:
            return f"ends_with({left}, {right})"
        return f"({left} = {right})"
    if kind == "kw":
        return _glob(col("", "text"), [(ANY, ""), *node[1], (ANY, "")], False)
    raise ValueError(f"unknown node {kind!r}")


def _number(field: str, number: Any, col: Accessor) -> str:
    if is_int_field(field):
        if float(number).is_integer():
            return f"({col(field, 'int')} = {int(number)})"
        return "false"
    return f"({col(field, 'raw')} = {quote(_number_text(number))})"


def _number_text(number: Any) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _literal_number(number: Any) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def glob_pieces(glob: Glob, cased: bool) -> list[tuple[str, str]]:
    """The glob with its literals lower-cased unless ``cased``, runs of ``*`` merged."""
    pieces: list[tuple[str, str]] = []
    for kind, text in glob:
        if kind == ANY and pieces and pieces[-1][0] == ANY:
            continue
        pieces.append((kind, text if cased or kind != LITERAL else text.lower()))
    return pieces


def _glob(value: str, glob: Glob, cased: bool) -> str:
    pieces = glob_pieces(glob, cased)
    kinds = [p[0] for p in pieces]
    literals = [p[1] for p in pieces if p[0] == LITERAL]
    if not pieces:
        return f"({value} = '')"
    if kinds == [LITERAL]:
        return f"({value} = {quote(literals[0])})"
    if kinds == [ANY]:
        return f"({value} IS NOT NULL)"
    if kinds == [ANY, LITERAL, ANY]:
        return f"contains({value}, {quote(literals[0])})"
    if kinds == [LITERAL, ANY]:
        return f"starts_with({value}, {quote(literals[0])})"
    if kinds == [ANY, LITERAL]:
        return f"ends_with({value}, {quote(literals[0])})"
    return _like(value, pieces)


def _like(value: str, pieces: Sequence[tuple[str, str]]) -> str:
    text = "".join(p[1] for p in pieces if p[0] == LITERAL)
    escape = ""
    if "%" in text or "_" in text:
        escape = next(c for c in _ESCAPES if c not in text)
    pattern: list[str] = []
    for kind, literal in pieces:
        if kind == ANY:
            pattern.append("%")
        elif kind == ONE:
            pattern.append("_")
        elif escape:
            pattern.append("".join(escape + c if c in f"%_{escape}" else c for c in literal))
        else:
            pattern.append(literal)
    clause = f" ESCAPE {quote(escape)}" if escape else ""
    return f"({value} LIKE {quote(''.join(pattern))}{clause})"


def ip_key(text: str | None) -> str | None:
    """A canonical, fixed-width, order-preserving key of an IP address (None if not one)."""
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    width = 8 if address.version == 4 else 32
    return f"v{address.version}:{int(address):0{width}x}"


def ip_range(network: str) -> tuple[str, str]:
    """The lowest and highest key of a network's addresses."""
    parsed = ipaddress.ip_network(network, strict=False)
    width = 8 if parsed.version == 4 else 32
    low = f"v{parsed.version}:{int(parsed.network_address):0{width}x}"
    high = f"v{parsed.version}:{int(parsed.broadcast_address):0{width}x}"
    return low, high


def rule_query(tree: Node) -> str:
    """One rule as a standalone query over ``events`` (the portable form Spark runs)."""
    return f"SELECT * FROM events WHERE {render(tree, event_accessor)}"
