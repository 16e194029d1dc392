"""The one vocabulary of judgements: what seawall concludes (``Verdict``) and what an analyst
concludes about a finding (``Review``).

Before version 2 of the result document seawall spoke three vocabularies: the reputation
lookup's malicious/suspicious/benign/unknown, the location table's
``legit-tool-standard-location``/``…-nonstandard-location``/``unknown``, and free strings on
findings (``renamed-binary``, ``signature-invalid``, ``allowlisted``…). A renderer could not
colour, count or filter them without knowing every producer. Now:

- :class:`Verdict` is seawall's judgement of a value or a finding, the same four words
  everywhere (``intel lookup``, findings, ``locations check``, every renderer): ``malicious``
  (the evidence says so on its own: an active, confident indicator), ``suspicious`` (worth an
  analyst's look), ``benign`` (explained away: a legitimate tool in its standard folder, an
  indicator known to be harmless) and ``unknown`` (nothing to judge by; unknown is not clean).
  *Why* a verdict was reached is never a verdict word any more: it is a
  :class:`~seawall.model.reason.Reason` with a code (``location.nonstandard``, ``renamed``,
  ``signature.invalid``…), so the location judgement is a reason, not a verdict.
- :class:`Review` is the analyst's answer about a *finding*, recorded by
  ``seawall triage mark``: ``true-positive`` (the detection was right and it matters),
  ``false-positive`` (the detection was wrong: the evidence does not show what it claims) and
  ``benign`` (right about the activity, but the activity is legitimate).

Why two types rather than one enum of six words: they answer different questions, asked of
different parties. A detection cannot know whether it is a true positive, and "unknown" or
"malicious" is not an answer an analyst gives about a finding; one enum would let each side
pick the other's words, and every report must show both side by side (seawall said
*suspicious*, the analyst said *false-positive*). Where the two overlap they share the word
and its meaning: ``Review.BENIGN`` is ``Verdict.BENIGN`` (``"benign"``), the activity is real
and legitimate.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """seawall's judgement of a value (intel lookup) or a finding."""

    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    BENIGN = "benign"
    UNKNOWN = "unknown"


class Review(StrEnum):
    """An analyst's judgement of a finding (``seawall triage mark``)."""

    TRUE_POSITIVE = "true-positive"
    FALSE_POSITIVE = "false-positive"
    BENIGN = Verdict.BENIGN.value


# Reviews that dismiss a finding: it is not left "to review" and does not make a hunt exit 1.
DISMISSING_REVIEWS = frozenset({Review.FALSE_POSITIVE, Review.BENIGN})
