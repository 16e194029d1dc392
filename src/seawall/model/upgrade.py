"""Read what older seawall versions stored: version 1 findings, and the old verdict words.

A case keeps its ``findings`` table across seawall versions, so findings stored by a version-1
hunt (reasons as sentences, verdicts such as ``legit-tool-nonstandard-location``) must still read
as version-2 :class:`~seawall.model.finding.Finding` objects. The old verdict words become a
:class:`~seawall.model.verdict.Verdict` and, where they said *why*, the reason code that now says
it. Analytics written against the old ``Hit.verdict`` strings (on branches not yet merged) are
read the same way by the engine.
"""

from __future__ import annotations

import re
from typing import Any

from seawall.model.finding import Finding
from seawall.model.reason import MATCH, Reason
from seawall.model.verdict import Verdict

# Version-1 verdict words: the verdict they mean now, and the reason code that says why (the
# sentence with that code is among the finding's reasons).
LEGACY_VERDICTS: dict[str, tuple[Verdict, str | None]] = {
    "legit-tool-standard-location": (Verdict.BENIGN, "location.standard"),
    "legit-tool-nonstandard-location": (Verdict.SUSPICIOUS, "location.nonstandard"),
    "location-not-judged": (Verdict.SUSPICIOUS, "location.not-judged"),
    "renamed-binary": (Verdict.SUSPICIOUS, "renamed"),
    "signature-invalid": (Verdict.SUSPICIOUS, "signature.invalid"),
    "signature-untrusted": (Verdict.SUSPICIOUS, "signature.untrusted"),
    "allowlisted": (Verdict.SUSPICIOUS, None),
}
# How version 1 worded the judgement's sentences (filejudge of that version): their codes now.
_V1_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"^its Authenticode signature is invalid", "signature.invalid"),
        (r"^signed by a certificate that chains to no trusted root", "signature.untrusted"),
        (r"^renamed: the PE was built as ", "renamed"),
        (r"^location not judged: ", "location.not-judged"),
        (r" is in a standard location for it \(", "location.standard"),
        (
            r" normally lives in .*; found in |has no standard location; found in ",
            "location.nonstandard",
        ),
        (r" is not in the table of legitimate tools$", "location.unknown-tool"),
        (r"^signature status: ", "signature.status"),
        (r"^matched YARA rules ", "yara.match"),
    )
)
_SUPPRESSED_TEXT = re.compile(r"^suppressed: (?:allowlisted by )?(.*)$", re.DOTALL)
_ENTRY = re.compile(r"^(.+?:\d+): (.*)$", re.DOTALL)


def verdict_of(word: str) -> Verdict:
    """A verdict word of any version as a :class:`Verdict`; ``ValueError`` for an unknown one."""
    if word in Verdict._value2member_map_:
        return Verdict(word)
    if word in LEGACY_VERDICTS:
        return LEGACY_VERDICTS[word][0]
    known = ", ".join(v.value for v in Verdict)
    raise ValueError(f"verdict {word!r} is not one of {known}")


def split_entry(text: str) -> tuple[str | None, str]:
    """``file:line: reason`` (what ``allowlisted(...)`` returns) as the entry and its reason."""
    match = _ENTRY.match(text)
    return (match.group(1), match.group(2)) if match else (None, text)


def _is_v1(data: dict[str, Any]) -> bool:
    reasons = data.get("reasons") or []
    return any(isinstance(r, str) for r in reasons) or (
        "suppression" not in data and bool(data.get("suppressed"))
    )


def upgrade_finding(data: dict[str, Any]) -> Finding:
    """A stored finding of format 1 or 2 as a version-2 :class:`Finding`."""
    if not _is_v1(data):
        return Finding.model_validate(data)
    old = dict(data)
    word = str(old.get("verdict") or "suspicious")
    reasons: list[Reason] = []
    try:
        verdict = verdict_of(word)
    except ValueError:  # a word of an analytic seawall does not know: kept as a reason
        verdict = Verdict.SUSPICIOUS
        reasons.append(Reason(code="verdict.v1", text=f"stored with the verdict {word!r}"))
    suppression: dict[str, Any] | None = None
    for text in old.get("reasons") or []:
        if not isinstance(text, str):
            reasons.append(Reason.model_validate(text))
            continue
        suppressed = _SUPPRESSED_TEXT.match(text)
        if suppressed is not None:
            entry, why = split_entry(suppressed.group(1))
            kind = "allowlist" if word == "allowlisted" else "judgement"
            suppression = {"kind": kind, "reason": why, "entry": entry}
            continue
        given = next((c for pattern, c in _V1_SENTENCES if pattern.search(text)), MATCH)
        reasons.append(Reason(code=given, text=text))
    if old.get("suppressed") and suppression is None:
        suppression = {"kind": "judgement", "reason": f"suppressed as {word}"}
    old.update(
        verdict=verdict.value,
        reasons=[r.model_dump() for r in reasons],
        suppression=suppression,
        suppressed=suppression is not None,
    )
    return Finding.model_validate(old)
