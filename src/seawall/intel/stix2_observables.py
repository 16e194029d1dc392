"""The STIX 2 cyber-observable vocabulary: which pattern paths and observable properties hold
an indicator value seawall can match, and of which type.

Split from :mod:`seawall.intel.stix2` because patterns and observed objects describe the same
objects (``file:hashes.MD5`` in a pattern is ``hashes["MD5"]`` on a ``file`` object), so their
mapping to :class:`IndicatorType` must stay in one place. Patterns are parsed with the official
``stix2patterns`` grammar, never with regular expressions: a pattern is a small language with
escapes, sets and boolean structure that a regex silently gets wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stix2patterns.v20.pattern import Pattern as Pattern20
from stix2patterns.v21.pattern import Pattern as Pattern21

from seawall.model.indicator import IndicatorType

_HASHES: dict[str, IndicatorType] = {
    "MD5": IndicatorType.MD5,
    "SHA1": IndicatorType.SHA1,
    "SHA256": IndicatorType.SHA256,
    "SHA512": IndicatorType.SHA512,
    "SSDEEP": IndicatorType.SSDEEP,
}

# (object type, property path) -> indicator type; ``file:name`` is refined to a path below.
_PATHS: dict[tuple[str, tuple[str, ...]], IndicatorType] = {
    ("file", ("name",)): IndicatorType.FILE_NAME,
    ("file", ("parent_directory_ref", "path")): IndicatorType.FILE_PATH,
    ("directory", ("path",)): IndicatorType.FILE_PATH,
    ("domain-name", ("value",)): IndicatorType.DOMAIN,
    ("ipv4-addr", ("value",)): IndicatorType.IPV4,
    ("ipv6-addr", ("value",)): IndicatorType.IPV6,
    ("url", ("value",)): IndicatorType.URL,
    ("email-addr", ("value",)): IndicatorType.EMAIL,
    ("email-message", ("from_ref", "value")): IndicatorType.EMAIL,
    ("email-message", ("sender_ref", "value")): IndicatorType.EMAIL,
    ("email-message", ("subject",)): IndicatorType.EMAIL_SUBJECT,
    ("mutex", ("name",)): IndicatorType.MUTEX,
    ("windows-registry-key", ("key",)): IndicatorType.REGISTRY,
}


def refine_type(kind: IndicatorType, value: str) -> IndicatorType:
    """Sources put full paths in "file name" fields and CIDR ranges in address fields."""
    if kind is IndicatorType.FILE_NAME and ("/" in value or "\\" in value):
        return IndicatorType.FILE_PATH
    if kind in (IndicatorType.IPV4, IndicatorType.IPV6) and "/" in value:
        return IndicatorType.CIDR
    return kind


def hash_type(name: str) -> IndicatorType | None:
    """``MD5``, ``SHA-256``, ``'SHA-1'``, ``sha_512``…: producers spell hash names freely."""
    return _HASHES.get(name.upper().replace("-", "").replace("_", ""))


class _Listener:
    """Collects what ``Pattern.inspect()`` flattens away: set members and ``AND`` joins.

    ANTLR's tree walker calls these methods by name, so no subclassing of the (untyped)
    generated listener is needed.
    """

    def __init__(self) -> None:
        self.sets: dict[str, list[str]] = {}
        self.has_and = False

    def enterEveryRule(self, ctx: Any) -> None:  # noqa: N802 - ANTLR's protocol
        return None

    def exitEveryRule(self, ctx: Any) -> None:  # noqa: N802
        return None

    def visitTerminal(self, node: Any) -> None:  # noqa: N802
        return None

    def visitErrorNode(self, node: Any) -> None:  # noqa: N802
        return None

    def exitPropTestSet(self, ctx: Any) -> None:  # noqa: N802
        literal = ctx.setLiteral()
        self.sets[literal.getText()] = [item.getText() for item in literal.primitiveLiteral()]

    def exitComparisonExpressionAnd(self, ctx: Any) -> None:  # noqa: N802
        if ctx.AND():
            self.has_and = True


def _string_literal(token: str) -> str | None:
    """The value of a STIX string literal token (``'a\\'b'``), or None for other literals."""
    if len(token) < 2 or not token.startswith("'") or not token.endswith("'"):
        return None
    out: list[str] = []
    chars = iter(token[1:-1])
    for char in chars:
        out.append(next(chars, "\\") if char == "\\" else char)
    return "".join(out)


@dataclass(slots=True)
class PatternResult:
    """What a pattern yields: usable values, what could not be used (for one warning), and
    whether the values are only part of the evidence (``AND`` / ``FOLLOWEDBY``)."""

    values: list[tuple[IndicatorType, str]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    compound: bool = False


def parse_pattern(pattern: str, version: str) -> PatternResult:
    """Map each ``=`` / ``IN`` comparison to typed values; raises ``ParseException`` if invalid."""
    compiled = Pattern20(pattern) if version == "2.0" else Pattern21(pattern)
    listener = _Listener()
    compiled.walk(listener)
    data = compiled.inspect()
    result = PatternResult()
    for obj_type, comparisons in data.comparisons.items():
        for path, op, literal in comparisons:
            # Index steps are ints, or a sentinel object for ``[*]``.
            steps = tuple(str(step) if isinstance(step, str | int) else "*" for step in path)
            shown = f"{obj_type}:{'.'.join(steps)} {op} {literal}"
            kind: IndicatorType | None
            if obj_type == "file" and len(steps) == 2 and steps[0] == "hashes":
                kind = hash_type(steps[1])
            else:
                kind = _PATHS.get((obj_type, steps))
            if kind is None or op not in ("=", "IN"):
                result.unsupported.append(shown)
                continue
            tokens = listener.sets.get(literal, []) if op == "IN" else [literal]
            for token in tokens:
                value = _string_literal(token)
                if value is None or not value.strip():
                    result.unsupported.append(f"{shown} (value {token} is not a usable string)")
                else:
                    result.values.append((refine_type(kind, value), value))
    # ``[a] OR [b]``: each alone suffices. AND / FOLLOWEDBY: each is only part of the evidence.
    result.compound = listener.has_and or bool(set(data.observation_ops) & {"AND", "FOLLOWEDBY"})
    return result


# --------------------------------------------------------------------------------------------
# Cyber-observable objects (observed-data and loose SCOs).
# --------------------------------------------------------------------------------------------

SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip

_SCO_VALUE: dict[str, tuple[str, IndicatorType]] = {
    "directory": ("path", IndicatorType.FILE_PATH),
    "domain-name": ("value", IndicatorType.DOMAIN),
    "ipv4-addr": ("value", IndicatorType.IPV4),
    "ipv6-addr": ("value", IndicatorType.IPV6),
    "url": ("value", IndicatorType.URL),
    "email-addr": ("value", IndicatorType.EMAIL),
    "mutex": ("name", IndicatorType.MUTEX),
    "windows-registry-key": ("key", IndicatorType.REGISTRY),
}

Resolver = Callable[[Any], dict[str, Any] | None]

# Observables whose IOC values live in the objects they reference (read on their own).
REFERENCES_ONLY = frozenset({"network-traffic"})

# References whose target's value ``sco_values`` reads through the referencing observable.
READ_THROUGH = ("from_ref", "sender_ref", "parent_directory_ref")


def sco_values(sco: dict[str, Any], resolve: Resolver) -> list[tuple[IndicatorType, str]] | None:
    """Indicator values of one observable, or None when its type holds none seawall can use."""
    kind = sco.get("type")
    found: list[tuple[IndicatorType, str]] = []

    def put(indicator_type: IndicatorType, value: Any) -> None:
        if isinstance(value, str) and value.strip():
            found.append((refine_type(indicator_type, value), value))

    if kind in _SCO_VALUE:
        prop, indicator_type = _SCO_VALUE[kind]
        put(indicator_type, sco.get(prop))
    elif kind == "file":
        hashes = sco.get("hashes")
        if isinstance(hashes, dict):
            for name, value in hashes.items():
                kind_of_hash = hash_type(str(name))
                if kind_of_hash is not None:
                    put(kind_of_hash, value)
        put(IndicatorType.FILE_NAME, sco.get("name"))
        parent = resolve(sco.get("parent_directory_ref"))
        if parent is not None:
            put(IndicatorType.FILE_PATH, parent.get("path"))
    elif kind == "email-message":
        for ref in READ_THROUGH[:2]:
            addr = resolve(sco.get(ref))
            if addr is not None:
                put(IndicatorType.EMAIL, addr.get("value"))
        put(IndicatorType.EMAIL_SUBJECT, sco.get("subject"))
    else:
        return None
    return found
