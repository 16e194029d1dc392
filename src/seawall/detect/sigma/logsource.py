"""Which events a Sigma rule's log source means, as pySigma's Windows and Sysmon pipelines say.

A rule's log source is turned into conditions on the event by the published pipelines, not by a
table of our own: ``pysigma-pipeline-sysmon`` maps a generic category to its Sysmon event id
(``process_creation`` → Sysmon 1), ``pysigma-pipeline-windows``'s audit pipeline maps the
categories Windows' own auditing also logs to their Security event and field names
(``process_creation`` → Security 4688 with ``Image`` → ``NewProcessName``), and its log-source
pipeline adds the channel of each service (``security`` → ``Security``). A category both know is
compiled twice, and the rule holds when either variant holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping, sysmon_pipeline
from sigma.pipelines.windows.windows import (
    generic_logsource_to_windows_audit_event_mapping,
    windows_audit_pipeline,
    windows_generic_category_channel_mapping,
    windows_logsource_pipeline,
)
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaLogSource

# pySigma annotates this mapping as ast.Dict
_AUDIT_CATEGORIES: set[str] = set(generic_logsource_to_windows_audit_event_mapping)  # type: ignore[call-overload]


@dataclass(frozen=True, slots=True)
class VariantSpec:
    """One way a rule is compiled: its name and the pipeline that makes it."""

    name: str
    pipeline: Callable[[], ProcessingPipeline]


# Built once: a pipeline resets its state on every ``apply``, and building the Windows one
# (a processing item per channel) costs more than applying it.
@cache
def _sysmon() -> ProcessingPipeline:
    return sysmon_pipeline() + windows_logsource_pipeline()  # type: ignore[no-any-return]


@cache
def _audit() -> ProcessingPipeline:
    return windows_audit_pipeline() + windows_logsource_pipeline()


@cache
def _service() -> ProcessingPipeline:
    return windows_logsource_pipeline()


SYSMON = VariantSpec("sysmon", _sysmon)
AUDIT = VariantSpec("security-audit", _audit)
SERVICE = VariantSpec("channel", _service)


def variants(logsource: SigmaLogSource) -> tuple[list[VariantSpec], str | None]:
    """The pipelines a rule is compiled with, or the reason its log source has no events here."""
    product = (logsource.product or "").lower()
    category = (logsource.category or "").lower()
    if product != "windows":
        what = product or "none"
        return [], f"log source product {what}: seawall hunts Windows events with Sigma"
    if category:
        found: list[VariantSpec] = []
        if category in sysmon_generic_logsource_eventid_mapping:
            found.append(SYSMON)
        if category in _AUDIT_CATEGORIES:
            found.append(AUDIT)
        if category in windows_generic_category_channel_mapping:
            found.append(SERVICE)
        if not found:
            return [], (
                f"log source category {category} is mapped to no Windows event by the"
                " Sysmon and Windows pipelines"
            )
        return found, None
    return [SERVICE], None
