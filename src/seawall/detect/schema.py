"""The detection file schema, and loading detection files with ``file:line`` errors.

Detections are data (elastic/detection-rules style): a YAML file states what it looks for, the
ATT&CK techniques, severity, the tables it needs, the query (DuckDB SQL) *or* the name of a
registered Python analytic, its parameters, its known false positives and a triage note. False
positives and triage are required because a finding an analyst cannot judge is noise. Every
problem in a hand-written file is reported at its line, like packs and tool-location files.

``requires`` says what data a detection needs, so that "nothing found" is never confused with
"nothing to look at": a plain table name (the table must hold rows), or a table with the
telemetry inside it that must be present, as alternatives (``any_of``): a channel or provider,
event ids, and fields that must carry a value (e.g. Security 4688 *with* ``CommandLine``, or
Sysmon 1). :mod:`seawall.detect.requires` checks them against the case before the query runs.

``context`` names what a detection judges against besides the evidence (the hunt's allowlist,
a learned baseline, a parameter such as trusted networks) and what its results mean when that
is not given; ``baseline`` is the query ``seawall baseline learn`` runs to learn what is normal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

from seawall.case.schema import CASE_TABLES
from seawall.detect.correlation.schema import Correlation
from seawall.errors import BadInputError, UsageError
from seawall.intel.attack import is_valid_technique_id
from seawall.model.finding import Severity
from seawall.model.tables import table as table_spec
from seawall.yamldoc import (
    parse_model,
    read_bounded_utf8,
)

DETECTION_ID_PATTERN = r"^[a-z][a-z0-9]*(?:\.[a-z0-9][a-z0-9-]*)+$"
MAX_DETECTION_BYTES = 1024 * 1024
MAX_YAML_NODES = 50_000
_PARAMETER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Tables a detection may require: the case's tables, except those hunts and triage write.
_HUNT_TABLES = ("findings", "runs", "results", "verdicts", "suppressions")
REQUIRABLE_TABLES = tuple(t for t in CASE_TABLES if t not in _HUNT_TABLES)
# What a detection's ``context`` may name besides its own parameters.
CONTEXT_KINDS = ("allowlist", "baseline")


def _technique(value: str) -> str:
    if not is_valid_technique_id(value):
        raise ValueError(f"{value!r} is not an ATT&CK technique id like T1074 or T1036.005")
    return value.upper()


def _table(value: str) -> str:
    if value not in REQUIRABLE_TABLES:
        raise ValueError(f"unknown table {value!r} (known: {', '.join(REQUIRABLE_TABLES)})")
    return value


def _parameters(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    for name in value:
        if not _PARAMETER.match(name):
            raise ValueError(f"parameter name {name!r} must be lower_snake_case (bound as ${name})")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TechniqueId = Annotated[str, AfterValidator(_technique)]
TableName = Annotated[str, AfterValidator(_table)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]


class DataSource(BaseModel):
    """One kind of telemetry inside a table: for ``events`` a channel and/or provider, event ids
    and fields that must carry a value; for other tables, columns that must not be NULL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Text | None = None
    provider: Text | None = None
    event_ids: list[int] = Field(default_factory=list)
    fields: list[FieldName] = Field(default_factory=list)
    label: Text | None = None
    """How messages name it (default: the channel's short name and the event ids)."""
    hint: Text | None = None
    """What to change when the events are there but lack the fields (an audit policy…)."""

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if not (self.channel or self.provider or self.event_ids or self.fields):
            raise ValueError("give a channel, provider, event_ids or fields")
        return self


class Requirement(BaseModel):
    """A table that must hold rows and, when ``any_of`` is given, at least one of the kinds of
    telemetry it lists (the detection runs over those present and says which are not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: TableName
    any_of: list[DataSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sources_fit_the_table(self) -> Self:
        if self.table == "events":
            return self
        columns = set(table_spec(self.table).columns)
        for source in self.any_of:
            if source.channel or source.provider or source.event_ids:
                raise ValueError(
                    f"channel, provider and event_ids apply to events, not {self.table}"
                )
            unknown = [f for f in source.fields if f not in columns]
            if unknown:
                raise ValueError(f"table {self.table} has no column {', '.join(unknown)}")
        return self


class Alternatives(BaseModel):
    """Data that can come from several tables (DNS questions from ``dns`` or Sysmon 22 in
    ``events``; names from ``dns``, ``http`` and ``tls``): the detection can look when at least
    one alternative is present, reads every one that is, and its coverage notes name those
    that are not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    any: list[TableName | Requirement] = Field(min_length=2)

    @property
    def requirements(self) -> list[Requirement]:
        return [
            item if isinstance(item, Requirement) else Requirement(table=item) for item in self.any
        ]


class Detection(BaseModel):
    """One detection file (see the module docstring and the README's detection section)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=DETECTION_ID_PATTERN)]
    title: Text
    description: Text
    techniques: list[TechniqueId] = Field(default_factory=list)
    """Required, except for a correlation: its incidents carry their findings' techniques."""
    guidance: list[Text] = Field(default_factory=list)
    severity: Severity
    requires: list[TableName | Requirement | Alternatives] = Field(default_factory=list)
    # What the user must give before this detection can run at all (their YARA rules, a history
    # of snapshots to baseline against); pack coverage then counts it as "conditional", not as
    # covering a technique on its own.
    needs_input: Text | None = None
    sql: Text | None = None
    python: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*$")] | None = None
    correlation: Correlation | None = None
    """A correlation (:mod:`seawall.detect.correlation`): it reads the hunt's findings, after
    every other detection, and makes incidents."""
    parameters: Annotated[dict[str, JsonValue], AfterValidator(_parameters)] = Field(
        default_factory=dict
    )
    false_positives: list[Text]
    triage: Text
    context: dict[str, Text] = Field(default_factory=dict)
    """What the detection judges against (``allowlist``, ``baseline``, a parameter name) and
    what its findings mean when that is not given (a note in the coverage report)."""
    baseline: Text | None = None
    """SQL that ``seawall baseline learn`` runs (``$until`` bound) to learn what is normal."""
    coverage_notes: Text | None = None
    """SQL run after the detection: each non-empty ``note`` it returns is a coverage note (what
    the detection could not judge in this case, e.g. indicators of a kind it does not match)."""

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        bodies = [b for b in (self.sql, self.python, self.correlation) if b is not None]
        if len(bodies) != 1:
            raise ValueError(
                "give exactly one of `sql` (DuckDB SQL), `python` (analytic name) or `correlation`"
            )
        if self.correlation is None and not self.techniques:
            raise ValueError("techniques: give at least one ATT&CK technique")
        return self

    @model_validator(mode="after")
    def _context_names_known_things(self) -> Self:
        for name in self.context:
            if name not in CONTEXT_KINDS and name not in self.parameters:
                known = ", ".join([*CONTEXT_KINDS, *sorted(self.parameters)])
                raise ValueError(f"context {name!r} is neither a parameter nor one of {known}")
        if self.baseline is not None and "baseline" not in self.context:
            raise ValueError(
                "a detection with a `baseline` query must say in `context` what its"
                " findings mean without one"
            )
        return self

    @property
    def requirements(self) -> list[Requirement | Alternatives]:
        """``requires`` with plain table names as requirements of rows only."""
        return [
            item if isinstance(item, Requirement | Alternatives) else Requirement(table=item)
            for item in self.requires
        ]


@dataclass(frozen=True, slots=True)
class LoadedDetection:
    """A validated detection and the file it came from (shown in coverage and errors)."""

    detection: Detection
    origin: str


def parse_detection(text: str, display: str) -> Detection:
    """Validate detection YAML ``text``; ``display`` names the file in error locations."""
    return parse_model(
        text,
        display,
        Detection,
        max_nodes=MAX_YAML_NODES,
        noun="detection",
        not_mapping="expected a mapping with id, title, sql or python, …",
    )


def _read(entry: Traversable | Path, display: str) -> Detection:
    try:
        with entry.open("rb") as handle:
            data = handle.read(MAX_DETECTION_BYTES + 1)
    except OSError as error:
        raise BadInputError(f"cannot read: {error.strerror or error}", display) from error
    text = read_bounded_utf8(data, display, MAX_DETECTION_BYTES, noun="detection")
    return parse_detection(text, display)


def load_detection_file(path: Path) -> LoadedDetection:
    """One detection file; a missing file is a usage error, a bad one a ``BadInputError``."""
    if not path.is_file():
        raise UsageError(f"no such detection file: {path}")
    return LoadedDetection(_read(path, str(path)), str(path))


def _entries(directory: Traversable | Path) -> Iterable[Traversable | Path]:
    return sorted(
        (e for e in directory.iterdir() if e.is_file() and e.name.endswith((".yml", ".yaml"))),
        key=lambda entry: entry.name,
    )


def load_directory(directory: Path) -> list[LoadedDetection]:
    """Every ``*.yml``/``*.yaml`` file of a user's detection directory, in name order."""
    if not directory.is_dir():
        raise UsageError(f"--detections {directory}: not a directory")
    try:
        entries = _entries(directory)
    except OSError as error:
        raise BadInputError(f"cannot read: {error.strerror or error}", str(directory)) from None
    return [LoadedDetection(_read(e, str(e)), str(e)) for e in entries]


def shipped_detections() -> list[LoadedDetection]:
    """The detections shipped in ``seawall/detect/detections``."""
    folder = resources.files("seawall.detect").joinpath("detections")
    if not folder.is_dir():
        return []
    return [
        LoadedDetection(_read(e, f"detections/{e.name}"), f"detections/{e.name}")
        for e in _entries(folder)
    ]


def merge(*groups: Iterable[LoadedDetection]) -> dict[str, LoadedDetection]:
    """Detections by id; the same id in two files is an error naming both, never a silent pick."""
    found: dict[str, LoadedDetection] = {}
    for group in groups:
        for loaded in group:
            ident = loaded.detection.id
            if ident in found:
                raise BadInputError(
                    f"detection id {ident!r} is also defined in {found[ident].origin}",
                    loaded.origin,
                )
            found[ident] = loaded
    return found


def parameter_values(detection: Detection) -> dict[str, Any]:
    """The parameters as plain Python values (for DuckDB binding and analytics)."""
    return dict(detection.parameters)
