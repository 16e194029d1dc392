"""pySigma's condition tree (after the processing pipelines) to seawall's detection tree.

Everything a rule uses that seawall cannot evaluate exactly raises :class:`Unsupported` with the
reason, and the rule is then listed as not run with that reason: a rule is never half compiled.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from seawall.detect.sigma.ir import ANY, LITERAL, ONE, Glob, Node


class Unsupported(Exception):  # noqa: N818 (a verdict on a rule, shown as its not-run reason)
    """A rule uses something seawall does not evaluate; ``reason`` says what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_COMPARE = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
}
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def compile_rule(rule: SigmaRule) -> Node:
    """The rule's detection (its conditions OR-ed) as a tree; raises :class:`Unsupported`."""
    try:
        trees = [condition.parsed for condition in rule.detection.parsed_condition]
    except SigmaError as error:
        raise Unsupported(f"condition cannot be parsed: {error}") from error
    nodes = [_node(tree) for tree in trees]
    if not nodes:
        raise Unsupported("the rule has no condition")
    return nodes[0] if len(nodes) == 1 else ("or", nodes)


def glob_of(value: SigmaString) -> Glob:
    """A Sigma string as glob pieces; a placeholder left by ``|expand`` has no value here."""
    pieces: list[tuple[str, str]] = []
    for part in value.s:
        if isinstance(part, str):
            if pieces and pieces[-1][0] == LITERAL:
                pieces[-1] = (LITERAL, pieces[-1][1] + part)
            else:
                pieces.append((LITERAL, part))
        elif part is SpecialChars.WILDCARD_MULTI:
            if not (pieces and pieces[-1][0] == ANY):
                pieces.append((ANY, ""))
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append((ONE, ""))
        elif isinstance(part, Placeholder):
            raise Unsupported(
                f"placeholder %{part.name}% (|expand) has no value: seawall defines no"
                " placeholder values"
            )
        else:
            raise Unsupported(f"unknown string part {part!r}")
    return tuple(pieces)


def _node(item: Any) -> Node:
    if isinstance(item, ConditionAND):
        return ("and", [_node(a) for a in item.args])
    if isinstance(item, ConditionOR):
        return ("or", [_node(a) for a in item.args])
    if isinstance(item, ConditionNOT):
        return ("not", _node(item.args[0]))
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return _field_value(str(item.field), item.value)
    if isinstance(item, ConditionValueExpression):
        return _keyword(item.value)
    raise Unsupported(f"condition element {type(item).__name__} is not supported")


def _keyword(value: Any) -> Node:
    if isinstance(value, SigmaExpansion):
        return ("or", [_keyword(v) for v in value.values])
    if isinstance(value, SigmaCasedString):
        raise Unsupported("case-sensitive keyword (|cased without a field)")
    if isinstance(value, SigmaString):
        return ("kw", glob_of(value))
    if isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
        return ("kw", ((LITERAL, str(value.number)),))
    raise Unsupported(f"keyword of type {type(value).__name__} is not supported")


def _field_value(field: str, value: Any) -> Node:
    if not field:
        return _keyword(value)
    if isinstance(value, SigmaExpansion):
        return ("or", [_field_value(field, v) for v in value.values])
    if isinstance(value, SigmaCasedString):
        return ("str", field, glob_of(value), True)
    if isinstance(value, SigmaString):
        return ("str", field, glob_of(value), False)
    if isinstance(value, SigmaTimestampPart):
        raise Unsupported(f"time-part modifier on {field} is not supported")
    if isinstance(value, SigmaNumber):
        return ("num", field, value.number)
    if isinstance(value, SigmaBool):
        return ("str", field, ((LITERAL, "true" if value.boolean else "false"),), False)
    if isinstance(value, SigmaNull):
        return ("null", field)
    if isinstance(value, SigmaExists):
        return ("exists", field, bool(value.exists))
    if isinstance(value, SigmaRegularExpression):
        flags = "".join(sorted(_FLAGS[f] for f in value.flags))
        return ("re", field, str(value.regexp), flags)
    if isinstance(value, SigmaCIDRExpression):
        return ("cidr", field, str(value.network))
    if isinstance(value, SigmaCompareExpression):
        if value.op not in _COMPARE:
            raise Unsupported(f"comparison {value.op.name} on {field} is not supported")
        return ("cmp", field, _COMPARE[value.op], value.number.number)
    if isinstance(value, SigmaFieldReference):
        return ("ref", field, value.field, value.starts_with, value.ends_with)
    raise Unsupported(f"value of type {type(value).__name__} on {field} is not supported")
