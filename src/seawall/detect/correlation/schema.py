"""The ``correlation:`` block of a detection file: which findings it reads, how it groups them,
and when a group is an incident (after Sigma's correlation rules).

.. code-block:: yaml

    correlation:
      type: value_count          # event_count | value_count | temporal | temporal_ordered
      rules: ["*"]               # detection ids (or fnmatch patterns) whose findings it reads
      group_by: [host]           # host | user | detection (nothing: one group)
      link_by: [movement, account, value]   # join groups (see below)
      timespan: 48h              # findings closer than this in time belong together
      condition: {field: detection, gte: 2}
      min_severity: low          # findings below are not read (info inventories)

A group is the findings with equal ``group_by`` keys (the host as the entities identify it, the
account likewise); within it, findings are chained in time order, each within ``timespan`` of
the previous one (an intrusion is a chain of steps, not a fixed window: that differs from
Sigma, whose window starts at the first event). ``link_by`` joins chains of different groups:
``movement`` through a lateral-movement finding (admin shares, remote logons, service
installs) to the findings on its source and target hosts; ``account`` and ``value`` through an
account, or an address, domain, hash or indicator, that findings share within ``timespan`` —
unless the value is too common to tell anything (its prevalence, see the detection's
``max_link_prevalence``). Each joined set of findings is then judged:

- ``event_count``: the number of findings meets ``condition``;
- ``value_count``: the number of distinct values of ``condition.field`` (``detection``,
  ``host``, ``user``, ``tactic``, ``plane``, ``technique``) meets ``condition``;
- ``temporal``: every entry of ``rules`` has a finding in the set;
- ``temporal_ordered``: they do, in the order ``rules`` lists them.

Findings suppressed or reviewed as false positive or benign are never read: an incident is made
of what is left to review.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from seawall.model.finding import Severity

CorrelationType = Literal["event_count", "value_count", "temporal", "temporal_ordered"]
GroupKey = Literal["host", "user", "detection"]
LinkKind = Literal["movement", "account", "value"]
CountedField = Literal["detection", "host", "user", "tactic", "plane", "technique"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``48h``, ``7d`` (Sigma's ``timespan`` forms)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 48h or 7d")
    amount = int(match.group(1))
    if amount <= 0:
        raise ValueError(f"timespan {text!r} must be more than zero")
    return timedelta(**{_UNITS[match.group(2)]: amount})


def _duration(value: str) -> str:
    parse_duration(value)
    return value.strip()


Pattern = Annotated[str, StringConstraints(pattern=r"^[a-z0-9*?.\[\]-]+$")]


class Condition(BaseModel):
    """When a group is an incident: comparisons that must all hold, on the number of findings
    or, with ``field``, on the number of distinct values of that field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: CountedField | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None
    eq: int | None = None

    @model_validator(mode="after")
    def _compares(self) -> Self:
        if all(v is None for v in (self.gt, self.gte, self.lt, self.lte, self.eq)):
            raise ValueError("give at least one of gt, gte, lt, lte, eq")
        return self

    def holds(self, count: int) -> bool:
        return (
            (self.gt is None or count > self.gt)
            and (self.gte is None or count >= self.gte)
            and (self.lt is None or count < self.lt)
            and (self.lte is None or count <= self.lte)
            and (self.eq is None or count == self.eq)
        )

    def text(self) -> str:
        words = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "="}
        parts = [
            f"{words[name]} {value}"
            for name in ("gt", "gte", "lt", "lte", "eq")
            if (value := getattr(self, name)) is not None
        ]
        return " and ".join(parts)


class Correlation(BaseModel):
    """A detection's ``correlation:`` block (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: CorrelationType
    rules: list[Pattern] = Field(default_factory=lambda: ["*"], min_length=1)
    group_by: list[GroupKey] = Field(default_factory=list)
    link_by: list[LinkKind] = Field(default_factory=list)
    timespan: Annotated[str, AfterValidator(_duration)]
    condition: Condition | None = None
    min_severity: Severity = "low"

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type in ("event_count", "value_count") and self.condition is None:
            raise ValueError(f"a {self.type} correlation needs a condition")
        if self.type == "value_count" and (self.condition is None or self.condition.field is None):
            raise ValueError("a value_count correlation needs condition.field")
        if self.type in ("temporal", "temporal_ordered") and len(self.rules) < 2:
            raise ValueError(f"a {self.type} correlation names at least two rules")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a key twice")
        return self

    @property
    def window(self) -> timedelta:
        return parse_duration(self.timespan)
