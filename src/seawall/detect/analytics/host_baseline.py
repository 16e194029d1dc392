"""What changed on a host since its learned baseline (``host.baseline-anomaly``).

AA21-200A asks defenders to establish system baselines and watch for anomalies (M-NET-4), and
names C:\\Windows\\Debug and C:\\PerfLogs as the actors' staging folders. ``seawall baseline
learn --until T`` runs the detection's ``baseline`` query over the view ``host_items``: the
(host, Windows path, SHA-256) of every executable, script and archive swept in a system or
staging folder by a sweep started by T, every service, scheduled task and autorun logged by T
with what it runs, and markers saying which hosts were swept by T and which of their logs
(System, Security, Sysmon) reach back to T. The ``files`` table keeps only each host's latest
sweep (a re-sweep keeps an unchanged file's row from the earlier sweep), so the baseline is this
copy: learn it after a first sweep, re-sweep later, and hunt.

This is a Python analytic only because SQL cannot say "not run": without a learned baseline
there is nothing to compare with, and the coverage says so instead of reporting zero. A host
the baseline cannot vouch for (not swept by T, or whose log starts after T) is not judged, and
the coverage is ``partial`` naming it, since every one of its files would otherwise look new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from seawall.detect.analytics import AnalyticContext, Hit, NotRun, analytic
from seawall.detect.evidence import split_provenance
from seawall.model.finding import Evidence, Severity
from seawall.model.reason import Reason, reason

_LEARNED_SQL = """
SELECT max(learned_until) FROM baselines WHERE detection_id = $detection AND kind = 'period'
"""

# What the baseline vouches for, what is new or changed, and what cannot be judged.
_CHANGES_SQL = """
WITH base AS (
  SELECT DISTINCT host, item, source FROM baselines
  WHERE detection_id = $detection AND kind = 'seen'
),
covered AS (SELECT DISTINCT host, item FROM base WHERE item = 'swept' OR item LIKE 'log:%'),
known AS (SELECT host, item, any_value(source) AS source FROM base GROUP BY ALL),
candidates AS (
  SELECT i.* FROM host_items i
  WHERE (i.kind = 'file' AND (i.host, 'swept') IN (SELECT (host, item) FROM covered))
     OR (i.kind <> 'file' AND i.seen_at > $until
         AND (i.host, 'log:' || i.channel) IN (SELECT (host, item) FROM covered))
),
changed AS (
  SELECT c.*, k.source AS baseline_value, k.item IS NOT NULL AS known_item
  FROM candidates c LEFT JOIN known k ON k.host = c.host AND k.item = c.item
  WHERE NOT EXISTS (
    SELECT 1 FROM base x
    WHERE x.host = c.host AND x.item = c.item AND x.source IS NOT DISTINCT FROM c.value
  )
)
SELECT host, kind, item, value, any_value(baseline_value) AS baseline_value,
  bool_or(known_item) AS known_item, min(seen_at) AS first_seen, max(seen_at) AS last_seen,
  count(*) AS occurrences, any_value(windows_path) AS windows_path, any_value(name) AS name,
  any_value(size) AS size, any_value(file_type) AS file_type,
  any_value(signature_status) AS signature_status, any_value(signer) AS signer,
  any_value(pe_company) AS pe_company, any_value(account) AS account,
  list(struct_pack(source_file := source_file, source_sha256 := source_sha256,
                   record_ref := record_ref, channel := channel, event_id := event_id)
       ORDER BY seen_at) AS records
FROM changed
GROUP BY host, kind, item, value
ORDER BY host, kind, item
"""

_UNJUDGED_SQL = """
WITH covered AS (
  SELECT DISTINCT host, item FROM baselines
  WHERE detection_id = $detection AND kind = 'seen' AND (item = 'swept' OR item LIKE 'log:%')
)
SELECT 'files' AS what, list(DISTINCT host ORDER BY host) AS hosts
FROM host_items WHERE kind = 'file' AND (host, 'swept') NOT IN (SELECT (host, item) FROM covered)
UNION ALL
SELECT 'events', list(DISTINCT label ORDER BY label)
FROM (SELECT *, host || ' (' || channel || ')' AS label FROM host_items)
WHERE kind <> 'file' AND seen_at > $until
  AND (host, 'log:' || channel) NOT IN (SELECT (host, item) FROM covered)
"""

_ADVISORY = ("\\windows\\debug\\", "\\perflogs\\")
_STARTUP = "\\start menu\\programs\\startup\\"
_SYSTEM = ("\\windows\\system32\\", "\\windows\\syswow64\\")
_ARCHIVES = frozenset(("zip", "rar", "7z", "cab", "gzip", "bzip2", "xz", "zstd", "tar"))
_ARCHIVE_NAMES = (".zip", ".rar", ".7z", ".cab", ".gz", ".tgz", ".bz2", ".xz", ".tar")
_EXECUTABLES = frozenset(("pe32", "pe32+", "msdos", "elf"))
# What a service, task or autorun runs that makes it worth more than a new installer's entry.
_ODD_COMMAND = (
    "powershell",
    "cmd /c",
    "cmd.exe /c",
    "mshta",
    "rundll32",
    "regsvr32",
    "\\temp\\",
    "\\users\\",
    "\\programdata\\",
    "\\perflogs\\",
    "\\windows\\debug\\",
)
_TECHNIQUE = {"service": "T1543.003", "task": "T1053.005", "autorun": "T1547.001"}


def _severity(score: float) -> Severity:
    return "high" if score >= 70 else "medium" if score >= 45 else "low"


def _folder(path: str) -> tuple[int, str]:
    """The weight of the folder a new file appeared in, and why."""
    tail = path[2:] if len(path) > 2 and path[1] == ":" else path
    if tail.startswith(_ADVISORY):
        return 80, "in a folder AA21-200A names as APT40's staging folder"
    if _STARTUP in tail:
        return 75, "in a Startup folder: it runs at every logon"
    if tail.startswith(_SYSTEM) or tail.count("\\") == 2:
        return 60, "in a Windows system folder, where only installers and updates write"
    return 55, "in a folder anyone can write to that holds no user data by design"


def _file_hit(row: dict[str, Any], until: datetime) -> Hit:
    path = str(row["windows_path"])
    points, where = _folder(path)
    file_type = row.get("file_type")
    status = row.get("signature_status")
    changed = bool(row["known_item"])
    is_archive = file_type in _ARCHIVES or path.endswith(_ARCHIVE_NAMES)
    reasons: list[Reason] = [
        reason(
            "baseline.changed" if changed else "baseline.new",
            (
                f"{path} holds other content than at the baseline ({until:%Y-%m-%d %H:%M}Z:"
                f" SHA-256 {row['baseline_value']})"
                if changed
                else f"{path} was not there at the baseline ({until:%Y-%m-%d %H:%M}Z)"
            ),
            baseline_until=until.isoformat(),
            baseline_sha256=row["baseline_value"],
        ),
        reason("baseline.folder", where),
    ]
    if file_type in _EXECUTABLES and status in ("unsigned", "invalid"):
        points += 20 if status == "invalid" else 10
        reasons.append(reason("baseline.unsigned", f"an executable whose signature is {status}"))
    elif status == "signed-trusted":
        points -= 30
        reasons.append(
            reason("baseline.signed", f"signed by {row.get('signer') or 'a trusted publisher'}")
        )
    if changed and status != "unsigned":
        points -= 10
    score = float(max(10, min(100, points)))
    techniques = ["T1074.001"] if is_archive or path[2:].startswith(_ADVISORY) else []
    if not is_archive:
        techniques.append("T1105")
    what = "archive" if is_archive else "executable or script"
    summary = f"{'changed' if changed else 'new'} {what} {path} on {row['host']} since the baseline"
    return _hit(row, summary, score, techniques, reasons)


def _entry_hit(row: dict[str, Any], until: datetime) -> Hit:
    kind = str(row["kind"])
    changed = bool(row["known_item"])
    value = str(row["value"] or "")
    points = (70 if kind == "service" else 60) - (5 if changed else 0)
    name = row.get("name") or row["item"].split(":", 1)[1]
    reasons = [
        reason(
            "baseline.changed" if changed else "baseline.new",
            (
                f"{kind} {name} ran {row['baseline_value']!r} before {until:%Y-%m-%d %H:%M}Z"
                if changed
                else f"no {kind} {name} was logged on this host before {until:%Y-%m-%d %H:%M}Z"
            ),
            baseline_until=until.isoformat(),
            baseline_value=row["baseline_value"],
        )
    ]
    odd = [word for word in _ODD_COMMAND if word in value]
    if odd:
        points += 10
        reasons.append(
            reason("baseline.command", f"it runs {value[:200]!r} ({', '.join(odd)})", words=odd)
        )
    summary = (
        f"{'changed' if changed else 'new'} {kind} {name} on {row['host']} since the"
        f" baseline: {value[:150]}"
    )
    return _hit(row, summary, float(points), [_TECHNIQUE[kind]], reasons)


def _hit(
    row: dict[str, Any],
    summary: str,
    score: float,
    techniques: list[str],
    reasons: list[Reason],
) -> Hit:
    """A finding about one item of ``host_items`` (a file, service, task or autorun)."""
    return Hit(
        summary=summary,
        keys=(row["host"], row["item"], row["value"]),
        evidence=_evidence(row),
        host=row["host"],
        user=row.get("account"),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        score=score,
        severity=_severity(score),
        techniques=tuple(techniques),
        own_techniques=True,
        reasons=tuple(reasons),
    )


def _evidence(row: dict[str, Any]) -> tuple[Evidence, ...]:
    records = [dict(r) for r in row["records"]]
    shown = {k: v for k, v in row.items() if k != "records" and v is not None}
    first = records[0] if records else {}
    fields, provenance = split_provenance({**shown, **first})
    return (
        Evidence(
            row=fields,
            provenance=provenance,
            records=[split_provenance(r)[1] for r in records] if len(records) > 1 else [],
        ),
    )


def _rows(context: AnalyticContext, sql: str, until: datetime) -> Iterator[dict[str, Any]]:
    relation = context.store.con.sql(
        sql, params={"detection": context.detection_id, "until": until}
    )
    for batch in relation.to_arrow_reader(10_000):
        yield from batch.to_pylist()


@analytic("host.baseline-anomaly")
def baseline_anomaly(context: AnalyticContext) -> Iterator[Hit]:
    found = context.store.con.sql(
        _LEARNED_SQL, params={"detection": context.detection_id}
    ).fetchall()
    until = found[0][0] if found else None
    if until is None:
        raise NotRun(
            "no baseline learned: run `seawall baseline learn --until TIME` after a first sweep"
            " (collect files) and over the event logs up to TIME, then sweep again and hunt;"
            " archives in staging folders are reported without one by host.staging-archive"
        )
    for row in _rows(context, _UNJUDGED_SQL, until):
        hosts = row["hosts"] or []
        if not hosts:
            continue
        shown = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
        if row["what"] == "files":
            context.not_judged(
                f"files of {shown} were not compared: the baseline holds no sweep of them"
                f" started by {until:%Y-%m-%d %H:%M}Z (sweep them, learn the baseline, sweep"
                " again)"
            )
        else:
            context.not_judged(
                f"services, tasks and autoruns of {shown} were not compared: the baseline"
                f" holds none of that log up to {until:%Y-%m-%d %H:%M}Z (collect the log with"
                " its earlier events and learn again)"
            )
    for row in _rows(context, _CHANGES_SQL, until):
        yield _file_hit(row, until) if row["kind"] == "file" else _entry_hit(row, until)
