"""File indicators against the ``files`` table: hashes, names, paths and Loki path regexes.

Hashes meet indicators in one SQL join per hash type (a sweep can hold millions of files). Names
and exact paths are dictionary look-ups and globs and Loki regexes are Python ``re`` over one
streamed pass of the path columns alone (full rows are fetched for the matches only): Loki's
regexes are Python syntax, and ``%AppData%`` globs need a look-ahead, which DuckDB's RE2 lacks.
Every hit is judged by :func:`seawall.detect.filejudge.judge_file` (location, renamed binary,
signature), because a hash of genuine PuTTY is only suspicious outside PuTTY's folder.
"""

from __future__ import annotations

import ntpath
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from seawall.case.store import CaseStore
from seawall.detect.analytics import AnalyticContext, Hit, analytic
from seawall.detect.analytics.ioc_fuzzy import ssdeep_rows
from seawall.detect.evidence import (
    FILE_COLUMNS,
    STREAM_BATCH_ROWS,
    describe_sources,
    digest_unchanged,
    evidence,
    indicator_refs,
    indicator_verdict,
    stream,
)
from seawall.detect.filejudge import NOT_JUDGED_FIX, judge_file, judged_path
from seawall.model.finding import IndicatorRef, Severity
from seawall.model.reason import reason
from seawall.model.verdict import Verdict
from seawall.triage.knowngood import DUAL_USE_TAG
from seawall.triage.locations import ToolLocations, split_env_prefix

HASH_TYPES = ("md5", "sha1", "sha256")
# A regex compiled case-insensitively (Windows paths) and as written (POSIX paths).
_Pair = tuple[re.Pattern[str], re.Pattern[str]]
_SELECT = ", ".join(f"f.{column}" for column in FILE_COLUMNS)
_USABLE = "rejected_reason IS NULL AND benign_reason IS NULL"

_HASH_SQL = " UNION ALL ".join(
    f"SELECT {_SELECT}, i.type AS ioc_type, i.value AS ioc_value FROM files f "
    f"JOIN indicators i ON i.type = '{kind}' AND f.{kind} = i.value WHERE i.{_USABLE}"
    for kind in HASH_TYPES
)


def _file_hit(
    row: dict[str, Any],
    ref: IndicatorRef,
    locations: ToolLocations,
    how: str,
    *,
    score: float | None = None,
    severity: Severity | None = None,
    exact: bool = False,
) -> Hit:
    """A hit on one file: the indicator, how it matched, and the file's judgement.

    An ``exact`` match (the file's own hash) has the indicator's verdict
    (:func:`indicator_verdict`: what ``intel lookup`` says of it); a name, a path pattern or a
    fuzzy hash says less about the file and is suspicious at most, and so is a dual-use hash (a
    known-good binary the actors used: where the file sits decides). The file's judgement can
    explain any of them away (``benign``).
    """
    judgement = judge_file(row, locations)
    path = judged_path(row)
    reasons = [
        reason(
            "ioc.match",
            f"{how}; reported by {describe_sources(ref)}",
            how=how,
            indicator={"type": ref.type, "value": ref.value},
            sources=[source.source for source in ref.sources],
        )
    ]
    dual_use = DUAL_USE_TAG in ref.tags
    if dual_use:
        notes = [s.context.get("dual_use") for s in ref.sources]
        note = next((str(n) for n in notes if n), "dual-use: a known-good binary's hash")
        reasons.append(
            reason(
                "ioc.dual-use",
                f"{note}; judged by location: {judgement.verdict}",
                location_verdict=judgement.verdict.value,
            )
        )
    reasons.extend(judgement.reasons)
    strength = indicator_verdict(ref) if exact and not dual_use else Verdict.SUSPICIOUS
    return Hit(
        summary=f"{path}: {how}",
        keys=(row.get("host"), row.get("path"), ref.type, ref.value),
        evidence=(evidence(row, ref),),
        host=row.get("host"),
        first_seen=row.get("mtime"),
        last_seen=row.get("mtime"),
        score=score,
        severity=severity,
        techniques=(*ref.techniques, *judgement.techniques),
        verdict=judgement.verdict_for(strength),
        suppression=judgement.suppression,
        reasons=tuple(reasons),
    )


@analytic("ioc.file-hash")
def file_hash(context: AnalyticContext) -> Iterator[Hit]:
    """Files whose MD5, SHA-1, SHA-256 or SHA-512 is a usable hash indicator, or whose ssdeep
    value is similar enough to an ssdeep indicator.

    The sweep records MD5, SHA-1 and SHA-256; SHA-512 and ssdeep indicators are rare, so those
    files are hashed here, from the evidence, only when the case holds such indicators (for
    ssdeep, only the files whose size allows a match: :mod:`.ioc_fuzzy`).
    """
    rows = context.store.con.sql(_HASH_SQL).to_arrow_table().to_pylist()
    for row in rows:
        row["how"] = f"its {row['ioc_type'].upper()} {row['ioc_value']} is an indicator"
    rows.extend(_sha512_rows(context))
    fuzzy = _usable(context, "ssdeep")
    if fuzzy:
        rows.extend(ssdeep_rows(context, fuzzy))
    refs = indicator_refs(context.store, ((r["ioc_type"], r["ioc_value"]) for r in rows))
    locations = context.tool_locations()
    for row in rows:
        kind, value, how = row.pop("ioc_type"), row.pop("ioc_value"), row.pop("how")
        score = row.pop("similarity", None)
        exact = kind != "ssdeep"
        yield _file_hit(row, refs[(kind, value)], locations, how, score=score, exact=exact)


def _sha512_rows(context: AnalyticContext) -> list[dict[str, Any]]:
    """Swept files whose SHA-512, computed now from the unchanged evidence, is an indicator."""
    wanted = set(_usable(context, "sha512"))
    if not wanted:
        return []
    hashed = unreachable = 0
    found: list[dict[str, Any]] = []
    sql = f"SELECT {_SELECT} FROM files f WHERE coalesce(f.file_kind, 'regular') = 'regular'"
    for row in stream(context.store, sql):
        digest = digest_unchanged(str(row["path"]), int(row.get("size") or 0), "sha512")
        if digest is None:
            unreachable += 1
            continue
        hashed += 1
        if digest in wanted:
            how = f"its SHA512 {digest} is an indicator (hashed at hunt time)"
            found.append({**row, "ioc_type": "sha512", "ioc_value": digest, "how": how})
    context.note(
        f"{len(wanted)} SHA-512 indicators: {hashed} swept files hashed from the evidence,"
        f" {unreachable} no longer reachable unchanged (not checked)"
    )
    return found


def glob_regex(pattern: str, *, windows: bool) -> re.Pattern[str]:
    """A glob as a regex: ``*`` within one folder, ``**`` across folders, ``?`` one character.

    A Windows pattern may start with an environment folder (``%ProgramFiles%``, ``%AppData%``…),
    matched where it lies on a standard install (per-user folders: in any user's profile).
    """
    separator = "\\" if windows else "/"
    not_sep = "[^" + re.escape(separator) + "]"
    head, pattern = split_env_prefix(pattern.lower()) if windows else ("", pattern)
    out: list[str] = [head]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        out.append(f"{not_sep}*" if char == "*" else not_sep if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.IGNORECASE if windows else 0)


def _usable(context: AnalyticContext, kind: str) -> list[str]:
    rows = context.store.con.execute(
        f"SELECT value FROM indicators WHERE type = ? AND {_USABLE} ORDER BY value", [kind]
    ).fetchall()
    context.store.con.complete()
    return [str(row[0]) for row in rows]


def _windows_indicator(value: str) -> bool:
    return not value.startswith("/")


def _is_pattern(path: str) -> bool:
    """Wildcards, or a Windows environment folder that stands for a folder on every host."""
    return "*" in path or "?" in path or (_windows_indicator(path) and path.startswith("%"))


@analytic("ioc.file-name")
def file_name(context: AnalyticContext) -> Iterator[Hit]:
    """Files whose name is a ``file_name`` indicator or whose path is a ``file_path`` one."""
    names = set(_usable(context, "file_name"))
    paths = _usable(context, "file_path")
    exact = {p for p in paths if not _is_pattern(p)}
    globs = [(p, glob_regex(p, windows=_windows_indicator(p))) for p in paths if _is_pattern(p)]
    if not names and not paths:
        context.note("no usable file_name or file_path indicators in the case")
        return
    if any(_windows_indicator(p) for p in paths):
        _note_unmapped(context, "Windows file_path indicators were not compared with")
    matched: list[tuple[int, str, str, str]] = []
    for row_id, name, key, windows, _shown in _path_keys(context.store):
        if name in names:
            matched.append((row_id, "file_name", name, f"its name {name} is an indicator"))
        if key in exact:
            matched.append((row_id, "file_path", key, f"its path {key} is an indicator"))
        for pattern, compiled in globs:
            if _windows_indicator(pattern) == windows and compiled.fullmatch(key):
                how = f"its path matches the indicator glob {pattern}"
                matched.append((row_id, "file_path", pattern, how))
    rows = _rows_by_id(context.store, {row_id for row_id, *_ in matched})
    refs = indicator_refs(context.store, ((kind, value) for _, kind, value, _ in matched))
    locations = context.tool_locations()
    for row_id, kind, value, how in matched:
        yield _file_hit(rows[row_id], refs[(kind, value)], locations, how)


def _note_unmapped(context: AnalyticContext, what: str) -> None:
    """Coverage ``partial`` for each host whose Windows files were swept without their Windows
    paths (part of an image without ``--root-map``): ``what`` could not be judged for them."""
    rows = context.store.con.sql(
        "SELECT host, count(*) FROM files WHERE os = 'windows' AND windows_path IS NULL"
        " GROUP BY ALL ORDER BY host"
    ).fetchall()
    for host, count in rows:
        context.not_judged(
            f"{what} {count} files of host {host} that have no Windows path: {NOT_JUDGED_FIX}"
        )


def _path_keys(store: CaseStore) -> Iterator[tuple[int, str, str, bool, str]]:
    """Per file: row id, lower-case name, path key, whether it is a Windows path, shown path.

    Only these columns cross into Python (a sweep can hold millions of rows); full rows are
    fetched for the matches alone. Windows paths compare lower-case with backslashes, POSIX
    paths exactly; the shown path is the one a judgement uses.
    """
    reader = store.con.sql("SELECT rowid, name, path, windows_path, os FROM files").to_arrow_reader(
        STREAM_BATCH_ROWS
    )
    for batch in reader:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row_id, name, path, mapped, os_name in zip(*columns, strict=True):
            windows = bool(mapped) or os_name == "windows"
            path = path or ""
            if not windows:
                key = shown = path
            elif mapped:
                key = shown = mapped
            else:
                key, shown = ntpath.normpath(path.replace("/", "\\")).lower(), path
            yield row_id, (name or "").lower(), key, windows, shown


def _rows_by_id(store: CaseStore, row_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The evidence rows of the matched files, in one join."""
    if not row_ids:
        return {}
    wanted = pa.table({"row_id": pa.array(sorted(row_ids), pa.int64())})
    with store.registered(f"_rows_{uuid.uuid4().hex}", wanted) as table:
        sql = (
            f"SELECT f.rowid AS _row_id, {_SELECT} FROM files f"
            f" JOIN {table} w ON w.row_id = f.rowid"
        )
        found = store.con.sql(sql).to_arrow_table().to_pylist()
    return {row.pop("_row_id"): row for row in found}


def _loki_severity(score: int | None) -> Severity | None:
    """Loki's levels: 100 alert, 60 warning, 40 notice (its defaults), below that info."""
    if score is None:
        return None
    if score >= 100:
        return "high"
    if score >= 60:
        return "medium"
    return "low" if score >= 40 else "info"


def _context_value(ref: IndicatorRef, key: str) -> Any:
    for source in ref.sources:
        value = source.context.get(key)
        if value is not None:
            return value
    return None


@analytic("ioc.path-regex")
def path_regex(context: AnalyticContext) -> Iterator[Hit]:
    """Loki-style path regexes (with their false-positive regex and score) over every path.

    Windows paths are matched case-insensitively (the sweep stores them lower-cased); POSIX paths
    as they are. A path that also matches the indicator's false-positive regex is skipped, as Loki
    does, and counted in the coverage notes.
    """
    values = _usable(context, "path_regex")
    if not values:
        context.note("no usable path_regex indicators in the case")
        return
    refs = indicator_refs(context.store, (("path_regex", v) for v in values))
    compiled: list[tuple[IndicatorRef, int | None, _Pair, _Pair | None]] = []
    for value in values:
        ref = refs[("path_regex", value)]
        score = _context_value(ref, "score")
        fp = _context_value(ref, "false_positive_regex")
        try:
            patterns = (re.compile(value, re.IGNORECASE), re.compile(value))
            fps = (re.compile(fp, re.IGNORECASE), re.compile(fp)) if fp else None
        except re.error as error:
            context.note(f"path_regex {value!r} skipped: {error}")
            continue
        compiled.append((ref, int(score) if isinstance(score, int) else None, patterns, fps))
    skipped = 0
    matched: list[tuple[int, IndicatorRef, int | None]] = []
    for row_id, _name, _key, windows, text in _path_keys(context.store):
        variant = 0 if windows else 1
        for ref, score, patterns, fps in compiled:
            if patterns[variant].search(text):
                if fps is not None and fps[variant].search(text):
                    skipped += 1
                    continue
                matched.append((row_id, ref, score))
    if skipped:
        context.note(f"{skipped} path matches skipped by their indicator's false-positive regex")
    rows = _rows_by_id(context.store, {row_id for row_id, _, _ in matched})
    locations = context.tool_locations()
    for row_id, ref, score in matched:
        row = rows[row_id]
        shown = "no score" if score is None else f"Loki score {score}"
        yield _file_hit(
            row,
            ref,
            locations,
            f"its path matches the indicator regex {ref.value} ({shown})",
            score=None if score is None else float(max(0, min(100, score))),
            severity=_loki_severity(score),
        )
