"""Python analytics: the few detections SQL cannot say, registered under a name YAML refers to.

A detection file names its analytic (``python: ioc.file-hash``); the engine looks the name up in
this explicit registry (pySigma style: no discovery magic, a typo is an error that lists the known
names). An analytic receives an :class:`AnalyticContext` and yields :class:`Hit` objects; the
engine turns hits into findings, so every analytic gets ids, severity, techniques and coverage the
same way as SQL detections. An analytic that cannot look (no rules given, evidence unreachable)
raises :class:`NotRun` with the reason, which the coverage report shows instead of a silent zero;
one that looked but could not judge part of its input says so with
:meth:`AnalyticContext.not_judged` (coverage ``partial``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.errors import UsageError
from seawall.model.finding import Evidence, Severity, Suppression
from seawall.model.reason import Reason
from seawall.model.verdict import Verdict
from seawall.triage.locations import ToolLocations

# Modules that register the shipped analytics; imported on first use of the registry.
BUILTIN_MODULES = (
    "seawall.detect.analytics.ioc_files",
    "seawall.detect.analytics.masquerade",
    "seawall.detect.analytics.yara_scan",
    "seawall.detect.analytics.yara_default",
    "seawall.detect.analytics.webshells",
    "seawall.detect.analytics.host_baseline",
)


class NotRun(Exception):  # noqa: N818 (a verdict, not an error: the coverage reads it)
    """The analytic could not look; ``reason`` says why and what the user can do about it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HuntOptions:
    """What the user asked of this hunt, beyond which detections to run."""

    yara_dirs: tuple[Path, ...] = ()
    webroots: tuple[str, ...] = ()
    """``--webroot`` folders; the engine replaces them by the forms swept paths use
    (:func:`seawall.detect.webroots.resolve_webroots`) before any analytic runs."""
    location_file: Path | None = None


@dataclass(slots=True)
class AnalyticContext:
    """Everything an analytic may use; ``notes`` end up in the detection's coverage entry."""

    store: CaseStore
    run_id: str
    detection_id: str
    parameters: dict[str, Any]
    options: HuntOptions
    now: datetime
    notes: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)

    def tool_locations(self) -> ToolLocations:
        """The table of standard tool locations, with the user's ``--locations`` extension."""
        return ToolLocations.load(self.options.location_file)

    def note(self, message: str) -> None:
        """Something the analyst must know about this detection's run (partial coverage…)."""
        self.notes.append(message)

    def not_judged(self, message: str) -> None:
        """Part of the input could not be judged: the coverage becomes ``partial`` with
        ``message`` (what was left out and how to fix it), and the hunt cannot exit 0."""
        self.unjudged.append(message)


@dataclass(frozen=True, slots=True)
class Hit:
    """One match, before the engine makes it a finding.

    ``keys`` identify the match across runs (they feed the stable finding id); ``techniques`` are
    added to the detection's own (e.g. T1036.005 for a tool outside its standard folder), or,
    with ``own_techniques``, are the finding's only ones (a recon detection declares every
    discovery technique, a finding carries those of its commands); ``score`` and ``severity``
    default to the detection's severity when None.

    ``reasons`` are :class:`~seawall.model.reason.Reason` objects (a code, the sentence, its
    values) or plain sentences, which the engine makes reasons of code ``match``. ``verdict`` is
    a :class:`~seawall.model.verdict.Verdict` word (the engine also reads version 1's words).
    ``suppression`` keeps the finding but takes it off the review list, saying why; a hit that
    only sets ``suppressed`` gets a suppression of kind ``judgement`` with its last reason.
    """

    summary: str
    keys: tuple[Any, ...]
    evidence: tuple[Evidence, ...] = ()
    host: str | None = None
    user: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    score: float | None = None
    severity: Severity | None = None
    techniques: tuple[str, ...] = ()
    own_techniques: bool = False
    verdict: str = Verdict.SUSPICIOUS
    suppressed: bool = False
    suppression: Suppression | None = None
    reasons: tuple[str | Reason, ...] = ()


Analytic = Callable[[AnalyticContext], Iterable[Hit]]

_REGISTRY: dict[str, Analytic] = {}
_loaded = False


def analytic(name: str) -> Callable[[Analytic], Analytic]:
    """Register ``function`` as the analytic ``name``; registering a name twice is a bug."""

    def register(function: Analytic) -> Analytic:
        if name in _REGISTRY and _REGISTRY[name] is not function:
            raise RuntimeError(f"analytic {name!r} is registered twice")
        _REGISTRY[name] = function
        return function

    return register


def registry() -> dict[str, Analytic]:
    """All registered analytics by name (the shipped ones are imported on first call)."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(_REGISTRY)


def get_analytic(name: str) -> Analytic:
    """The analytic ``name``, or a usage error listing the known ones."""
    found = registry()
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise UsageError(f"no Python analytic named {name!r} (known: {known})")
    return found[name]
