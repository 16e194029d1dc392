"""Web shells on internet-facing servers (AA21-200A: APT40 plants China Chopper; M-NET-1).

Files under a web root (auto-detected IIS, Apache/nginx, Tomcat and WordPress roots, plus the
user's ``--webroot`` folders in the forms the sweep recorded: :mod:`seawall.detect.webroots`)
with a server-side script extension are judged from the assessment the sweep stored for them
(scripts under a well-known web root), or else re-read from the evidence while it is reachable,
by :func:`seawall.features.webshell.assess`: request data flowing into code evaluation, China
Chopper one-liners, obfuscation, uploader/file-manager traits, and per-language behaviours
(request data reaching a command, a class loader, JNDI, a JDBC or socket connection, a file
write, cfexecute...), each reason naming the behaviour. A file much newer than its neighbours in
the same folder is named in the reasons, since a planted shell usually is. Evidence that is no
longer reachable is counted in the coverage, never taken as clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from seawall.detect.analytics import AnalyticContext, Hit, NotRun, analytic
from seawall.detect.evidence import FILE_COLUMNS, evidence, read_unchanged, stream
from seawall.detect.filejudge import judged_path
from seawall.detect.webroots import under_webroot
from seawall.features.webshell import (
    WEB_EXTENSIONS,
    WebshellAssessment,
    assess,
    assessment_from_json,
    is_web_root,
)
from seawall.model.reason import Reason, reason

DEFAULT_MAX_BYTES = 4 * 1024 * 1024

# Each server-side script with the median modification time of all files in its folder. Only
# scripts cross into Python (the folder statistics need every file, so they are computed first).
_SQL = f"""
SELECT * EXCLUDE (extension) FROM (
    SELECT {", ".join(FILE_COLUMNS)}, webshell,
        lower(regexp_extract(name, '\\.[^.]*$')) AS extension,
        median(epoch(mtime)) OVER (PARTITION BY host, parent) AS sibling_median_epoch,
        count(*) OVER (PARTITION BY host, parent) AS siblings
    FROM (
        SELECT *,
            regexp_replace(replace(coalesce(windows_path, path), '\\', '/'), '/[^/]*$', '')
                AS parent
        FROM files WHERE coalesce(file_kind, 'regular') = 'regular'
    )
)
WHERE extension IN ({", ".join(f"'{e}'" for e in sorted(WEB_EXTENSIONS))})
"""


def _in_scope(row: dict[str, Any], roots: tuple[str, ...]) -> bool:
    path, windows = row.get("path"), row.get("windows_path")
    if under_webroot(path, windows, roots):
        return True
    return any(is_web_root(str(p)) for p in (path, windows) if p)


def _newer_than_siblings(row: dict[str, Any], days: float) -> Reason | None:
    """A reason when the file is ``days`` newer than the median of its folder, else None."""
    mtime, median = row.get("mtime"), row.get("sibling_median_epoch")
    if not isinstance(mtime, datetime) or median is None or int(row.get("siblings") or 0) < 3:
        return None
    newer = mtime - datetime.fromtimestamp(float(median))
    if newer < timedelta(days=days):
        return None
    neighbours = int(row["siblings"]) - 1
    return reason(
        "recency.neighbours",
        f"modified {newer.days} days after most files in its folder"
        f" ({neighbours} neighbours): planted files often stand out so",
        days_newer=newer.days,
        neighbours=neighbours,
    )


def behaviour_reasons(result: WebshellAssessment) -> list[Reason]:
    """The assessment's reasons, each coded by the behaviour it found (``webshell.NAME``) with
    its weight in the score and the feature's value; plain ``webshell`` for an assessment stored
    before behaviours were recorded."""
    if not len(result.reasons) == len(result.behaviours) == len(result.weights):
        return [reason("webshell", text) for text in result.reasons]
    return [
        reason(
            f"webshell.{name}",
            text,
            weight=weight,
            value=result.features.get(name),
        )
        for text, name, weight in zip(
            result.reasons, result.behaviours, result.weights, strict=True
        )
    ]


@analytic("web.webshell")
def webshells(context: AnalyticContext) -> Iterator[Hit]:
    """Assess server-side scripts under web roots; unreachable evidence is counted, not trusted."""
    roots = tuple(context.options.webroots)
    max_bytes = int(context.parameters.get("max_bytes", DEFAULT_MAX_BYTES))
    recent_days = float(context.parameters.get("newer_than_siblings_days", 30))
    in_scope = assessed = unreachable = from_case = 0
    for row in stream(context.store, _SQL):
        if not _in_scope(row, roots):
            continue
        in_scope += 1
        result = assessment_from_json(row.pop("webshell"))
        if result is not None:
            from_case += 1
        else:
            data = read_unchanged(str(row["path"]), int(row.get("size") or 0), max_bytes)
            if data is None:
                unreachable += 1
                continue
            result = assess(data, str(row.get("name") or ""))
        assessed += 1
        if not result.is_webshell:
            continue
        reasons = behaviour_reasons(result)
        recency = _newer_than_siblings(row, recent_days)
        if recency:
            reasons.append(recency)
        yield Hit(
            summary=f"{judged_path(row)}: looks like {_a(result.language or 'script')} web shell"
            f" (score {result.score:.0f})",
            keys=(row.get("host"), row.get("path"), row.get("sha256")),
            evidence=(evidence({**row, "webshell_features": result.features}),),
            host=row.get("host"),
            first_seen=row.get("mtime"),
            last_seen=row.get("mtime"),
            score=result.score,
            reasons=tuple(reasons),
        )
    if in_scope == 0:
        raise NotRun(
            "no server-side scripts under a web root in the case: collect the web server's"
            " document root (IIS inetpub, /var/www, Tomcat webapps…) or name it with --webroot"
        )
    context.note(
        f"{in_scope} scripts under web roots: {assessed} assessed ({from_case} from features"
        f" extracted at collect time, {assessed - from_case} read from the evidence now),"
        f" {unreachable} no longer reachable at their recorded path (not assessed)"
    )
    if assessed == 0:
        raise NotRun(
            f"none of the {unreachable} web-root scripts is reachable any more: the assessment"
            " needs the evidence's bytes"
        )


def _a(word: str) -> str:
    """``a php``, ``an asp``: the article by the word's first letter (the language names)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
