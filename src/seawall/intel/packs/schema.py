"""The typed shape of an advisory pack.

A pack is data a user can write without touching Python, so the schema is strict: unknown keys
are rejected (a misspelt ``detection:`` must not silently drop the mapping it carried), ATT&CK ids
are checked by syntax here and resolved against the knowledge base in
:mod:`seawall.intel.packs.coverage`, and every cross-reference inside the pack is checked so that a
typo fails loudly at load time instead of showing up as a gap in a coverage report.

Duplicate ids and bad cross-references are raised as :class:`PydanticCustomError` carrying the
offending item's ``index`` in their context, so that the loader can point at the item's line.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

TECHNIQUE_PATTERN = r"^T\d{4}(\.\d{3})?$"
SOFTWARE_PATTERN = r"^S\d{4}$"
GROUP_PATTERN = r"^G\d{4}$"
ATTACK_MITIGATION_PATTERN = r"^M\d{4}$"
# Detection ids are ``family.name`` (``web.webshell``, ``sigma.<rule-id>``): lower case so that an
# id in a pack and the id in a detection file compare equal without normalisation.
DETECTION_PATTERN = r"^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9_-]*)+$"
GUIDANCE_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d+$"
PACK_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
TACTIC_PATTERN = r"^[a-z]+(-[a-z]+)*$"
URL_PATTERN = r"^https?://\S+$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TechniqueId = Annotated[str, StringConstraints(pattern=TECHNIQUE_PATTERN)]
SoftwareId = Annotated[str, StringConstraints(pattern=SOFTWARE_PATTERN)]
GroupId = Annotated[str, StringConstraints(pattern=GROUP_PATTERN)]
AttackMitigationId = Annotated[str, StringConstraints(pattern=ATTACK_MITIGATION_PATTERN)]
DetectionId = Annotated[str, StringConstraints(pattern=DETECTION_PATTERN)]
GuidanceId = Annotated[str, StringConstraints(pattern=GUIDANCE_PATTERN)]
TacticName = Annotated[str, StringConstraints(pattern=TACTIC_PATTERN)]
Url = Annotated[str, StringConstraints(pattern=URL_PATTERN)]

MitigationCategory = Literal["ioc-guidance", "patch", "credentials", "network"]
# TLP 1.0 labels are kept as issued (AA21-200A was TLP:WHITE); ``Pack.tlp_v2`` gives today's name.
Tlp = Literal["TLP:CLEAR", "TLP:WHITE", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
SoftwareType = Literal["malware", "tool"]

_TLP_V2: dict[str, str] = {"TLP:WHITE": "TLP:CLEAR"}


def _unique(what: str) -> AfterValidator:
    return AfterValidator(lambda values: _no_duplicates(values, what))


Aliases = Annotated[list[Text], _unique("alias")]
DetectionIds = Annotated[list[DetectionId], _unique("detection")]
AttackMitigationIds = Annotated[list[AttackMitigationId], _unique("ATT&CK mitigation")]
TechniqueIds = Annotated[list[TechniqueId], _unique("technique")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_duplicates(values: list[str], what: str) -> list[str]:
    """Reject a repeated value; the error names the index so the loader can find its line."""
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise PydanticCustomError(
                "duplicate_value",
                "duplicate {what} '{value}' (first given as item {first})",
                {"what": what, "value": value, "first": seen[value], "index": index},
            )
        seen[value] = index
    return values


class PackReference(_Strict):
    """A document the pack's content comes from or that responders should read with it."""

    title: Text
    url: Url


class PackActor(_Strict):
    """The actor the advisory is about, tied to its ATT&CK group so techniques can be checked."""

    name: Text
    attack_group_id: GroupId
    aliases: Aliases = Field(default_factory=list)


class PackTechnique(_Strict):
    """One ATT&CK technique the advisory attributes to the actor, and what could see it.

    ``detections`` may be empty: that is an honest "nothing seawall reads can see this" and the
    coverage report shows the technique as uncovered rather than hiding it.
    """

    id: TechniqueId
    name: Text
    tactics: list[TacticName] = Field(default_factory=list)
    note: Text
    detections: DetectionIds = Field(default_factory=list)


class PackSoftware(_Strict):
    """One ATT&CK software entry (malware or tool) the advisory names, and what could see it."""

    id: SoftwareId
    name: Text
    type: SoftwareType
    note: Text
    detections: DetectionIds = Field(default_factory=list)


class PackMitigation(_Strict):
    """One item of the advisory's guidance, restated, and whether evidence can show it is met.

    A non-checkable item must say why: "we cannot check this" without a reason is
    indistinguishable from "we forgot", and the reason is what the report shows the analyst.
    """

    id: GuidanceId
    category: MitigationCategory
    title: Text
    text: Text
    checkable: bool
    # Validated even when absent, so a missing reason is an error at this key's place.
    not_checkable_reason: Text | None = Field(default=None, validate_default=True)
    attack_mitigations: AttackMitigationIds = Field(default_factory=list)
    techniques: TechniqueIds = Field(default_factory=list)
    detections: DetectionIds = Field(default_factory=list)

    @field_validator("not_checkable_reason")
    @classmethod
    def _reason_iff_not_checkable(cls, reason: str | None, info: ValidationInfo) -> str | None:
        checkable = info.data.get("checkable")
        if checkable is None:  # ``checkable`` itself is invalid and already reported
            return reason
        if not checkable and reason is None:
            raise PydanticCustomError(
                "reason_required",
                "not_checkable_reason is required when checkable is false",
            )
        if checkable and reason is not None:
            raise PydanticCustomError(
                "reason_forbidden",
                "not_checkable_reason must be absent when checkable is true",
            )
        return reason


class Pack(_Strict):
    """An advisory as data: metadata, actor, ATT&CK content, guidance, and covering detections."""

    id: Annotated[str, StringConstraints(pattern=PACK_ID_PATTERN)]
    title: Text
    advisory_id: Text
    published: date
    publishers: list[Text] = Field(min_length=1)
    tlp: Tlp
    url: Url
    references: list[PackReference] = Field(default_factory=list)
    # The ATT&CK release the advisory was written against; ids are also checked in the current one.
    attack_version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
    actor: PackActor
    summary: Text
    techniques: list[PackTechnique] = Field(default_factory=list)
    software: list[PackSoftware] = Field(default_factory=list)
    mitigations: list[PackMitigation] = Field(default_factory=list)

    @field_validator("techniques")
    @classmethod
    def _unique_technique_ids(cls, items: list[PackTechnique]) -> list[PackTechnique]:
        _no_duplicates([item.id for item in items], "technique id")
        return items

    @field_validator("software")
    @classmethod
    def _unique_software_ids(cls, items: list[PackSoftware]) -> list[PackSoftware]:
        _no_duplicates([item.id for item in items], "software id")
        return items

    @field_validator("mitigations")
    @classmethod
    def _unique_mitigation_ids(cls, items: list[PackMitigation]) -> list[PackMitigation]:
        _no_duplicates([item.id for item in items], "mitigation id")
        return items

    @model_validator(mode="after")
    def _mitigation_techniques_are_in_pack(self) -> Pack:
        """A mitigation may only point at techniques the pack lists: catches typos in user packs."""
        known = {technique.id for technique in self.techniques}
        for index, mitigation in enumerate(self.mitigations):
            for position, technique in enumerate(mitigation.techniques):
                if technique not in known:
                    raise PydanticCustomError(
                        "unknown_technique",
                        "mitigation {mitigation} refers to technique {technique}, "
                        "which the pack does not list",
                        {
                            "mitigation": mitigation.id,
                            "technique": technique,
                            "path": ("mitigations", index, "techniques", position),
                        },
                    )
        return self

    @property
    def tlp_v2(self) -> str:
        """The TLP 2.0 label (TLP:WHITE became TLP:CLEAR in 2022)."""
        return _TLP_V2.get(self.tlp, self.tlp)

    def detection_ids(self) -> list[str]:
        """Every detection id the pack refers to, in first-mention order."""
        ordered: dict[str, None] = {}
        lists = [item.detections for item in self.techniques]
        lists += [item.detections for item in self.software]
        lists += [item.detections for item in self.mitigations]
        for detections in lists:
            for detection in detections:
                ordered.setdefault(detection)
        return list(ordered)
