"""The indicator model: what readers yield and what the store keeps.

Readers produce :class:`RawIndicator` (the value as the source wrote it, optionally typed);
:mod:`seawall.intel.normalize` turns it into a canonical ``(type, value)`` and
:mod:`seawall.intel.hygiene` decides whether it is usable. One ``(type, value)`` seen by several
sources is one indicator with several sightings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class IndicatorType(StrEnum):
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    SSDEEP = "ssdeep"
    FILE_NAME = "file_name"
    FILE_PATH = "file_path"
    # A regular expression over full paths, as Loki/THOR filename IOC lists hold them.
    PATH_REGEX = "path_regex"
    DOMAIN = "domain"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    CIDR = "cidr"
    URL = "url"
    EMAIL = "email"
    EMAIL_SUBJECT = "email_subject"
    MUTEX = "mutex"
    REGISTRY = "registry"
    CVE = "cve"


HASH_TYPES: frozenset[IndicatorType] = frozenset(
    {
        IndicatorType.MD5,
        IndicatorType.SHA1,
        IndicatorType.SHA256,
        IndicatorType.SHA512,
        IndicatorType.SSDEEP,
    }
)


@dataclass(frozen=True, slots=True)
class RawIndicator:
    """One indicator as a source states it, before normalisation.

    ``type`` is ``None`` when the source does not say (plain lists): it is then detected from the
    value. ``location`` names where in the source file it came from, for warnings.
    """

    value: str
    type: IndicatorType | None = None
    location: str | None = None
    external_id: str | None = None
    title: str | None = None
    description: str | None = None
    confidence: int | None = None  # 0..100; None when the source does not say
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    techniques: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    context: dict[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntelWarning:
    """A problem in one place of an input that did not stop the import."""

    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


@dataclass(slots=True)
class IntelDocument:
    """Everything one intel file yielded: indicators plus document-level context."""

    format: str
    title: str | None = None
    indicators: list[RawIndicator] = field(default_factory=list)
    warnings: list[IntelWarning] = field(default_factory=list)
    # Techniques the document as a whole refers to (e.g. a STIX report's attack-patterns).
    techniques: list[str] = field(default_factory=list)
    producer: str | None = None

    def warn(self, location: str, message: str) -> None:
        self.warnings.append(IntelWarning(location, message))
