"""Why a finding matched and how it was judged, as data: a code, a sentence and its values.

A reason used to be a sentence, which a person can read but a renderer cannot use: the HTML
report could not group findings by "tool outside its folder", correlation could not ask which
findings rest on an indicator match, and the CSV could not sort by a recon burst's number of
commands. A :class:`Reason` keeps the sentence (``text``, shown as it is) and adds a ``code``
(dotted, lower-case: what kind of reason it is) and ``data`` (the values the sentence was made
from: the tool, its expected folders, the indicator, the rule, a sub-score).

Codes seawall's own detections give (others may add theirs; renderers fall back to ``text``):

========================  ===========================================================
``match``                 a detection's own sentence (SQL ``reasons`` text; plain strings
                          from analytics), with ``reason_*`` columns as data
``ioc.match``             an indicator matched: ``how``, ``indicator`` {type, value},
                          ``sources``
``ioc.dual-use``          the indicator is a known-good binary's hash: judged by location
``location.standard``     a known tool in a standard folder for it (``tool``, ``folder``)
``location.nonstandard``  a known tool outside every standard folder (``tool``,
                          ``found_in``, ``expected``): T1036.005
``location.unknown-tool`` the file is not a tool the location table knows
``location.not-judged``   a known tool whose Windows path the sweep did not record
``location.tool``         why the tool is in the location table (its sources)
``signature.invalid``     the Authenticode signature does not verify (``signer``)
``signature.untrusted``   signed by a certificate that chains to no trusted root
``signature.status``      the signature status, for the record
``renamed``               the PE was built under another name (``original``, ``name``)
``renamed.vendor-naming`` the renaming looks like the vendor's own naming
``webshell.<behaviour>``  a web-shell behaviour (``request_to_sink``, ``recon_markers``…)
                          with its ``weight`` in the score
``recency.neighbours``    a file much newer than the others in its folder
``yara.match``            YARA rules matched (``rules``)
``yara.content``          a YARA match is not explained away by a standard folder
``verdict.v1``            a version-1 finding's verdict word seawall no longer knows
========================  ===========================================================
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

REASON_CODE_PATTERN = r"^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$"
# The code of a reason given as a plain sentence (analytics written before reasons had codes).
MATCH = "match"

ReasonCode = Annotated[str, StringConstraints(pattern=REASON_CODE_PATTERN)]


class Reason(BaseModel):
    """One reason: ``code`` (what kind), ``text`` (the sentence an analyst reads), ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ReasonCode
    text: str
    data: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_sentence(cls, value: Any) -> Any:
        """A plain sentence is a reason of code ``match`` (producers written before codes)."""
        return {"code": MATCH, "text": value} if isinstance(value, str) else value


def as_reason(value: str | Reason) -> Reason:
    """A reason, from a plain sentence (code ``match``) or as it is."""
    return value if isinstance(value, Reason) else Reason(code=MATCH, text=value)


def reason(code: str, text: str, **data: Any) -> Reason:
    """``Reason(code, text, data)`` with the data as keyword arguments (``None`` left out;
    the values must be JSON values: pydantic checks them)."""
    return Reason.model_validate(
        {"code": code, "text": text, "data": {k: v for k, v in data.items() if v is not None}}
    )
