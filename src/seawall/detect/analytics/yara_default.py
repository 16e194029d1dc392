"""Matches of the shipped signature-base YARA set, from the case alone (``files.yara``).

The sweep scanned the files its policy selects (server-side scripts, executables outside the
system's folders; all files with ``--yara-all``) and stored each match with the rule's name,
namespace (upstream file), meta and matched strings, so this analytic needs no evidence: a case
moved to another machine still yields its findings. One finding per file lists every rule that
matched, each with its author and reference (the Detection Rule License asks that messages built
from a rule's matches keep its author). Severity follows the highest rule ``score`` as Loki and
THOR read it (75 when a rule states none): at least 75 is high, at least 40 medium, else low.
Web-shell rules add T1505.003, hack-tool rules T1588.002, masquerading rules (a system file's
name on other content) T1036.005.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from seawall.detect.analytics import AnalyticContext, Hit, NotRun, analytic
from seawall.detect.evidence import FILE_COLUMNS, evidence, stream
from seawall.detect.filejudge import judged_path
from seawall.model.finding import Severity
from seawall.model.reason import Reason, reason

DEFAULT_SCORE = 75
_SELECT = ", ".join(FILE_COLUMNS)
_WEBSHELL = re.compile(r"webshell|chopper|web shell", re.IGNORECASE)
_HACKTOOL = re.compile(r"hktl|hacktool|hack tool|mimikatz|cobalt ?strike|empire|powersploit", re.I)
_MASQUERADE = re.compile(r"_anomaly|cloaked|suspicious_size|renamed", re.IGNORECASE)


def rule_score(hit: dict[str, Any]) -> int:
    raw = hit.get("meta", {}).get("score")
    try:
        return int(raw) if raw is not None else DEFAULT_SCORE
    except (TypeError, ValueError):
        return DEFAULT_SCORE


def severity_of(score: int) -> Severity:
    return "high" if score >= 75 else "medium" if score >= 40 else "low"


def techniques_of(hit: dict[str, Any]) -> set[str]:
    text = " ".join(
        [hit.get("rule", ""), hit.get("namespace", ""), str(hit.get("meta", {}).get("description"))]
    )
    found = set()
    if _WEBSHELL.search(text):
        found.add("T1505.003")
    if _HACKTOOL.search(f"{hit.get('rule', '')} {hit.get('namespace', '')}"):
        found.add("T1588.002")
    if _MASQUERADE.search(hit.get("rule", "")):
        found.add("T1036.005")
    return found


def reason_of(hit: dict[str, Any]) -> Reason:
    """The rule's match as a reason (``yara.match``): the sentence, and the rule's name,
    namespace, score, author and reference as data."""
    meta = hit.get("meta", {})
    return reason(
        "yara.match",
        describe(hit),
        rule=hit.get("rule"),
        namespace=hit.get("namespace"),
        score=rule_score(hit),
        author=meta.get("author"),
        reference=meta.get("reference"),
    )


def describe(hit: dict[str, Any]) -> str:
    """One reason line: the rule, who wrote it, what it finds, where to read more, and what it
    matched."""
    meta = hit.get("meta", {})
    parts = [f"matched signature-base rule {hit['rule']} ({hit.get('namespace')})"]
    if meta.get("author"):
        parts.append(f"by {meta['author']}")
    text = " ".join(parts)
    if meta.get("description"):
        text += f": {meta['description']}"
    text += f"; score {rule_score(hit)}"
    if meta.get("reference"):
        text += f"; reference {meta['reference']}"
    strings = [f"{s['id']} at {s['offset']} '{s['excerpt']}'" for s in hit.get("strings", [])[:3]]
    if strings:
        text += "; strings " + ", ".join(strings)
    return text


@analytic("ioc.yara-default")
def yara_default(context: AnalyticContext) -> Iterator[Hit]:
    """Findings from the matches the sweep stored; coverage says what was scanned."""
    rows = context.store.con.execute(
        "SELECT count(*), count(*) FILTER (WHERE json_extract_string(yara, '$.note') IS NOT NULL),"
        " list(DISTINCT json_extract_string(yara, '$.set')) FROM files WHERE yara IS NOT NULL"
    ).fetchall()
    scanned, unscanned, versions = rows[0]
    if not scanned:
        raise NotRun(
            "no file in the case was scanned with the shipped YARA set: sweep with `seawall"
            " collect files` (not --no-default-yara); files swept by an older seawall are"
            " scanned when swept again"
        )
    context.note(
        f"{scanned} files scanned with the shipped set ({', '.join(sorted(versions))}) at collect"
        f" time, {unscanned} of them not fully (over the size cap or timed out: see their"
        " `yara.note`)"
    )
    sql = (
        f"SELECT {_SELECT}, yara FROM files WHERE yara IS NOT NULL"
        " AND json_array_length(json_extract(yara, '$.hits')) > 0"
    )
    for row in stream(context.store, sql):
        document = json.loads(row.pop("yara"))
        hits: list[dict[str, Any]] = document.get("hits", [])
        scores = [rule_score(h) for h in hits]
        best = max(scores)
        techniques: set[str] = set()
        for hit in hits:
            techniques |= techniques_of(hit)
        names = [h["rule"] for h in hits]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        yield Hit(
            summary=f"{judged_path(row)}: YARA {shown}",
            keys=(row.get("host"), row.get("path"), row.get("sha256"), tuple(sorted(names))),
            evidence=(evidence({**row, "yara_set": document.get("set"), "yara_hits": hits}),),
            host=row.get("host"),
            first_seen=row.get("mtime"),
            last_seen=row.get("mtime"),
            score=float(min(100, max(0, best))),
            severity=severity_of(best),
            techniques=tuple(sorted(techniques)),
            reasons=tuple(reason_of(h) for h in hits),
        )
