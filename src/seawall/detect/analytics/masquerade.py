"""Masquerading without an indicator: tools out of place, renamed binaries, broken signatures.

AA21-200A's IOC-3 guidance: the actors ran genuine PuTTY, cmd.exe and svchost.exe from folders
those tools never live in. An advisory's hash list only covers the copies it names, so these
analytics look at every swept file (T1036):

``host.legit-tool-location``
    A file named like a known tool of its platform outside every standard folder (T1036.005).
    A known tool signed by a certificate that chains to no trusted root (self-signed: someone
    re-signed it) is reported too, with that reason and T1036.001: at the detection's severity
    outside its folders, at low severity in them (never suppressed).
    Files of a Windows host swept without a Windows path (part of an image, no ``--root-map``)
    cannot be judged: they make the coverage ``partial``, with the fix, never a silent zero.
``host.renamed-binary``
    A PE whose original file name differs from its name on disk, where either name is a known
    tool (T1036.003); low severity when it looks like the vendor's own naming (trusted-signed,
    in place, built as no other tool: :func:`seawall.detect.filejudge.assess_renaming`). Other
    renamed PE files are counted in the coverage notes and listed at low severity when the
    detection's ``all_renamed`` parameter is true.
``host.signature-invalid``
    An Authenticode signature that does not verify: the signed file was altered (T1036.001).

Each hit carries the same judgement as an IOC hit (:func:`seawall.detect.filejudge.judge_file`),
so the analyst reads one vocabulary of verdicts and reasons everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from seawall.detect.analytics import AnalyticContext, Hit, NotRun, analytic
from seawall.detect.evidence import FILE_COLUMNS, evidence, stream
from seawall.detect.filejudge import (
    NOT_JUDGED_FIX,
    FileJudgement,
    assess_renaming,
    judge_file,
    judged_path,
    lacks_windows_path,
)
from seawall.model.finding import Severity
from seawall.model.reason import reason
from seawall.model.verdict import Verdict
from seawall.triage.locations import Location, is_posix_path

_SELECT = ", ".join(f"f.{column}" for column in FILE_COLUMNS)
_REGULAR = "coalesce(f.file_kind, 'regular') = 'regular'"


def _count(context: AnalyticContext, where: str) -> int:
    rows = context.store.con.sql(f"SELECT count(*) FROM files f WHERE {where}").fetchall()
    return int(rows[0][0])


def _hit(row: dict[str, Any], judgement: FileJudgement, summary: str, **extra: Any) -> Hit:
    extra.setdefault("reasons", judgement.reasons)
    return Hit(
        summary=f"{judged_path(row)}: {summary}",
        keys=(row.get("host"), row.get("path"), row.get("sha256")),
        evidence=(evidence(row),),
        host=row.get("host"),
        first_seen=row.get("mtime"),
        last_seen=row.get("mtime"),
        techniques=judgement.techniques,
        verdict=judgement.verdict_for(Verdict.SUSPICIOUS),
        suppression=judgement.suppression,
        **extra,
    )


def _on_posix(row: dict[str, Any]) -> bool:
    """Whether the file is judged as a POSIX path (no Windows mapping, not a Windows host)."""
    return not row.get("windows_path") and is_posix_path(str(row.get("path") or ""))


@analytic("host.legit-tool-location")
def legit_tool_location(context: AnalyticContext) -> Iterator[Hit]:
    """Files named like a known tool of their platform, outside all of its standard folders."""
    total = _count(context, "true")
    locations = context.tool_locations()
    windows_names, posix_names = locations.names(posix=False), locations.names(posix=True)
    names = pa.table({"name": sorted(windows_names | posix_names)})
    standard = elsewhere = foreign = resigned = 0
    unjudged: dict[str, int] = {}
    with context.store.registered(f"_tools_{uuid.uuid4().hex}", names) as table:
        sql = (
            f"SELECT {_SELECT} FROM files f WHERE {_REGULAR}"
            f" AND lower(f.name) IN (SELECT name FROM {table})"
        )
        rows = list(stream(context.store, sql))
    for row in rows:
        name = str(row.get("name") or "").lower()
        if lacks_windows_path(row):
            if name in windows_names:
                host = str(row.get("host"))
                unjudged[host] = unjudged.get(host, 0) + 1
            continue
        if name not in (posix_names if _on_posix(row) else windows_names):
            foreign += name in windows_names
            continue
        location = locations.judge(judged_path(row))
        untrusted = row.get("signature_status") == "signed-untrusted"
        resigned += untrusted
        if location.location is not Location.NONSTANDARD:
            standard += 1
            if untrusted:  # in place, but signed by nobody its vendor's certificate chains to
                summary = f"{name} in its standard folder, signed by an untrusted certificate"
                yield _hit(row, judge_file(row, locations), summary, severity="low")
            continue
        elsewhere += 1
        judgement = judge_file(row, locations)
        signed = " (signed by an untrusted certificate)" if untrusted else ""
        yield _hit(row, judgement, f"{name} outside its standard folders{signed}")
    not_judged = sum(unjudged.values())
    context.note(
        f"{standard + elsewhere + not_judged} of {total} swept files are named like a known tool"
        f" of their platform: {standard} in a standard location, {elsewhere} elsewhere"
        + (f", {not_judged} not judged (no Windows path)" if not_judged else "")
        + (f"; {resigned} of them signed by an untrusted certificate" if resigned else "")
    )
    for host, count in sorted(unjudged.items()):
        context.not_judged(
            f"{count} files of host {host} named like a known Windows tool have no Windows path"
            f" and were not judged: {NOT_JUDGED_FIX}"
        )
    if foreign:
        context.note(
            f"{foreign} files swept as Linux are named like a Windows tool and were not judged"
            " (if they come from a Windows image, sweep it with --os windows and --root-map)"
        )


@analytic("host.renamed-binary")
def renamed_binary(context: AnalyticContext) -> Iterator[Hit]:
    """PE files whose original name differs from the name on disk, where a known tool is named."""
    locations = context.tool_locations()
    list_all = bool(context.parameters.get("all_renamed", False))
    has_version = f"{_REGULAR} AND trim(coalesce(f.pe_original_name, '')) <> ''"
    with_version = _count(context, has_version)
    if with_version == 0:
        raise NotRun(
            "no swept file has PE version info (no Windows executables in the case, or they were"
            " swept by a seawall that did not read PE metadata)"
        )
    # Same names in any case are never renamed: only the rest crosses into Python.
    differs = "lower(f.name) <> lower(trim(f.pe_original_name))"
    sql = f"SELECT {_SELECT} FROM files f WHERE {has_version} AND {differs}"
    renamed = other = 0
    for row in stream(context.store, sql):
        renaming = assess_renaming(row, locations)
        if renaming is None:
            continue
        renamed += 1
        severity: Severity | None = "low" if renaming.vendor_naming else None
        if not renaming.tools:
            other += 1
            if not list_all:
                continue
            severity = "low"
        judgement = judge_file(row, locations)
        summary = f"built as {renaming.original}, called {row.get('name')}"
        if renaming.tools:
            summary += f" (known tool: {', '.join(renaming.tools)})"
        extra = (
            (reason("renamed.vendor-naming", renaming.reason, original=renaming.original),)
            if renaming.reason
            else ()
        )
        yield _hit(row, judgement, summary, severity=severity, reasons=(*judgement.reasons, *extra))
    shown = "listed at low severity" if list_all else "not listed (parameter all_renamed)"
    context.note(
        f"{with_version} PE files with an original file name: {renamed} renamed,"
        f" {renamed - other} of them naming a known tool; {other} others {shown}"
    )


@analytic("host.signature-invalid")
def signature_invalid(context: AnalyticContext) -> Iterator[Hit]:
    """Files whose Authenticode signature is present but does not verify."""
    counts = dict(
        context.store.con.sql(
            "SELECT signature_status, count(*) FROM files"
            " WHERE signature_status IS NOT NULL GROUP BY ALL"
        ).fetchall()
    )
    if not counts:
        raise NotRun(
            "no swept file has a signature status (no PE files in the case, or they were swept"
            " by a seawall that did not check Authenticode)"
        )
    locations = context.tool_locations()
    sql = f"SELECT {_SELECT} FROM files f WHERE {_REGULAR} AND f.signature_status = 'invalid'"
    for row in stream(context.store, sql):
        signer = f" (signer {row['signer']})" if row.get("signer") else ""
        yield _hit(row, judge_file(row, locations), f"Authenticode signature invalid{signer}")
    shown = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    context.note(f"PE signature status of swept files: {shown}")
