"""A straightforward Python evaluation of Sigma rules over event dicts, to check the hunt against.

Written apart from seawall's compiler, SQL renderer and column-wise evaluator: it reads pySigma's
own parsed condition tree (after the same published pipelines) and decides each value with plain
Python (``re``, ``ipaddress``, ``float``), one event at a time.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.pipelines.common import windows_logsource_mapping
from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping, sysmon_pipeline
from sigma.pipelines.windows.windows import (
    generic_logsource_to_windows_audit_event_mapping,
    windows_audit_pipeline,
    windows_generic_category_channel_mapping,
    windows_logsource_pipeline,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
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
    SpecialChars,
)

Event = dict[str, Any]
SYSTEM = {
    "EventID": "event_id",
    "Channel": "channel",
    "Provider_Name": "provider",
    "Computer": "computer",
    "EventRecordID": "record_id",
}

# pySigma annotates this mapping as ast.Dict
_AUDIT_CATEGORIES: set[str] = set(generic_logsource_to_windows_audit_event_mapping)  # type: ignore[call-overload]


def _text(value: Any) -> str | None:
    """A JSON value as text, the way a JSON path read gives it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def event_dict(row: dict[str, Any]) -> Event:
    """An ``events`` row as the reference reads it: the data fields as text, system fields."""
    data = json.loads(row["data"]) if row.get("data") else {}
    event: Event = {key: _text(value) for key, value in data.items()}
    for sigma, column in SYSTEM.items():
        event[sigma] = row.get(column)
    event["_text"] = "\n".join("" if v is None else str(_text(v)) for v in data.values())
    event["_row"] = row.get("_row")
    return event


def _field(event: Event, name: str) -> Any:
    value = event.get(name)
    if name in SYSTEM and value is not None and SYSTEM[name] in ("event_id", "record_id"):
        return value  # an integer
    return value


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _glob_regex(value: SigmaString, anywhere: bool = False) -> str:
    parts = [".*"] if anywhere else []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        else:
            parts.append(re.escape(str(part)))
    if anywhere:
        parts.append(".*")
    return "".join(parts)


@cache
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _matches_string(value: Any, pattern: SigmaString, cased: bool) -> bool:
    text = _as_text(value)
    if text is None:
        return False
    if not cased:
        return (
            _compiled(_glob_regex(pattern).lower(), re.DOTALL).fullmatch(text.lower()) is not None
        )
    return _compiled(_glob_regex(pattern), re.DOTALL).fullmatch(text) is not None


_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}
_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
}


def _value(event: Event, name: str, value: Any) -> bool:
    found = _field(event, name)
    if isinstance(value, SigmaExpansion):
        return any(_value(event, name, v) for v in value.values)
    if isinstance(value, SigmaNull):
        return found is None
    if isinstance(value, SigmaExists):
        return (found is not None) == bool(value.exists)
    if found is None:
        return False
    if isinstance(value, SigmaCasedString):
        return _matches_string(found, value, True)
    if isinstance(value, SigmaString):
        return _matches_string(found, value, False)
    if isinstance(value, SigmaNumber):
        if isinstance(found, int):
            return float(found) == float(value.number)
        number = value.number
        text = str(int(number)) if float(number).is_integer() else str(number)
        return str(found) == text
    if isinstance(value, SigmaBool):
        return str(found).lower() == ("true" if value.boolean else "false")
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= _FLAGS[flag]
        return _compiled(str(value.regexp), flags).search(str(found)) is not None
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(str(found).strip()) in value.network
        except ValueError:
            return False
    if isinstance(value, SigmaCompareExpression):
        try:
            number = float(str(found).strip())
        except ValueError:
            return False
        return _COMPARE[value.op](number, float(value.number.number))
    if isinstance(value, SigmaFieldReference):
        other = _field(event, value.field)
        if other is None:
            return False
        a, b = str(found).lower(), str(other).lower()
        return (
            a.startswith(b) if value.starts_with else a.endswith(b) if value.ends_with else a == b
        )
    raise NotImplementedError(type(value).__name__)


def _keyword(event: Event, value: Any) -> bool:
    if isinstance(value, SigmaExpansion):
        return any(_keyword(event, v) for v in value.values)
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value.number))
    pattern = _glob_regex(value, anywhere=True).lower()
    return _compiled(pattern, re.DOTALL).fullmatch(str(event["_text"]).lower()) is not None


def holds(node: Any, event: Event) -> bool:
    """Whether pySigma's condition tree holds for the event."""
    if isinstance(node, ConditionAND):
        return all(holds(a, event) for a in node.args)
    if isinstance(node, ConditionOR):
        return any(holds(a, event) for a in node.args)
    if isinstance(node, ConditionNOT):
        return not holds(node.args[0], event)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _value(event, str(node.field), node.value)
    if isinstance(node, ConditionValueExpression):
        return _keyword(event, node.value)
    raise NotImplementedError(type(node).__name__)


@dataclass
class ReferenceRule:
    """One rule, parsed by pySigma once per pipeline it is read with."""

    id: str
    path: Path
    forms: list[tuple[list[Any], Sequence[str] | None]]
    """(condition trees, channels or None for any) per pipeline."""


def _pipelines(rule: SigmaRule) -> list[Any]:
    category = (rule.logsource.category or "").lower()
    if not category:
        return [windows_logsource_pipeline()]
    found = []
    if category in sysmon_generic_logsource_eventid_mapping:
        found.append(sysmon_pipeline() + windows_logsource_pipeline())
    if category in _AUDIT_CATEGORIES:
        found.append(windows_audit_pipeline() + windows_logsource_pipeline())
    if category in windows_generic_category_channel_mapping:
        found.append(windows_logsource_pipeline())
    return found


def load_reference(path: Path) -> list[ReferenceRule]:
    """The Windows rules of a file, each with its forms (none when no pipeline maps it)."""
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    rules: list[ReferenceRule] = []
    parsed = SigmaCollection.from_dicts(copy.deepcopy(documents), collect_errors=True)
    for index, rule in enumerate(parsed.rules):
        if not isinstance(rule, SigmaRule) or rule.errors:
            continue
        forms: list[tuple[list[Any], Sequence[str] | None]] = []
        for pipeline in _pipelines(rule):
            fresh = SigmaCollection.from_dicts(copy.deepcopy(documents), collect_errors=True)
            item = fresh.rules[index]
            assert isinstance(item, SigmaRule)
            pipeline.apply(item)
            trees = [c.parsed for c in item.detection.parsed_condition]
            service = item.logsource.service
            channels = windows_logsource_mapping.get(service) if service else None
            names = [channels] if isinstance(channels, str) else channels
            forms.append((trees, names))
        rules.append(ReferenceRule(str(rule.id), path, forms))
    return rules


def by_channel(events: Iterable[Event]) -> dict[str | None, list[Event]]:
    """Events by channel (a rule whose service names channels reads only theirs)."""
    found: dict[str | None, list[Event]] = {}
    for event in events:
        found.setdefault(event.get("Channel"), []).append(event)
    return found


def reference_hits(rule: ReferenceRule, events: dict[str | None, list[Event]]) -> set[int]:
    """Row ids of the events any form of the rule holds for."""
    hits: set[int] = set()
    for trees, channels in rule.forms:
        names = list(events) if channels is None else channels
        for name in names:
            for event in events.get(name, []):
                if any(holds(tree, event) for tree in trees):
                    hits.add(int(event["_row"]))
    return hits
