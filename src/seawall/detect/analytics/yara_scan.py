"""YARA rules (``--yara DIR``, yara-x) over the swept files that are still reachable.

The hunt runs on the case, but YARA needs the bytes: a file is re-read only when its recorded path
is still there and its size is unchanged, and it passes the size and type filters. A case moved to
another machine cannot be scanned, and the coverage report says so (how many files were not
reachable) rather than reporting zero matches. Evidence is opened read-only with ``O_NOATIME``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yara_x

from seawall.detect.analytics import AnalyticContext, Hit, NotRun, analytic
from seawall.detect.evidence import FILE_COLUMNS, evidence, read_unchanged, stream
from seawall.detect.filejudge import judge_file, judged_path
from seawall.errors import BadInputError
from seawall.model.reason import reason

DEFAULT_MAX_SIZE = 32 * 1024 * 1024
RULE_SUFFIXES = (".yar", ".yara")
_SELECT = ", ".join(FILE_COLUMNS)


def compile_rules(directories: tuple[Path, ...]) -> tuple[yara_x.Rules, int]:
    """Compile every ``*.yar``/``*.yara`` under the directories; a bad rule names its file."""
    compiler = yara_x.Compiler()
    count = 0
    for directory in directories:
        if not directory.is_dir():
            raise BadInputError("not a directory of YARA rules", str(directory))
        for path in sorted(directory.rglob("*")):
            if path.suffix.lower() not in RULE_SUFFIXES or not path.is_file():
                continue
            try:
                compiler.add_source(path.read_text(encoding="utf-8"), origin=str(path))
            except (yara_x.CompileError, UnicodeDecodeError) as error:
                raise BadInputError(f"YARA rule does not compile: {error}", str(path)) from None
            count += 1
    if count == 0:
        raise NotRun(f"no .yar/.yara files in {', '.join(str(d) for d in directories)}")
    return compiler.build(), count


@analytic("ioc.yara")
def yara(context: AnalyticContext) -> Iterator[Hit]:
    """Scan reachable files with the user's YARA rules; unreachable evidence is counted."""
    if not context.options.yara_dirs:
        raise NotRun("no YARA rules given: pass --yara DIR")
    rules, count = compile_rules(context.options.yara_dirs)
    max_size = int(context.parameters.get("max_size_bytes", DEFAULT_MAX_SIZE))
    skip_types = [str(t).lower() for t in context.parameters.get("skip_file_types", [])]
    scanner = yara_x.Scanner(rules)
    scanner.set_timeout(int(context.parameters.get("timeout_seconds", 30)))
    locations = context.tool_locations()
    scanned = unreachable = filtered = 0
    found: list[tuple[dict[str, Any], list[str]]] = []
    sql = f"SELECT {_SELECT} FROM files WHERE coalesce(file_kind, 'regular') = 'regular'"
    for row in stream(context.store, sql):
        size = row.get("size")
        file_type = str(row.get("file_type") or "").lower()
        if size is None or size > max_size or any(t in file_type for t in skip_types):
            filtered += 1
            continue
        data = read_unchanged(str(row["path"]), int(size))
        if data is None:
            unreachable += 1
            continue
        scanned += 1
        try:
            results = scanner.scan(data)
        except (yara_x.ScanError, yara_x.TimeoutError) as error:
            context.note(f"{row['path']}: YARA scan failed: {error}")
            continue
        names = [f"{rule.namespace}:{rule.identifier}" for rule in results.matching_rules]
        if names:
            found.append((row, names))
    context.note(
        f"{count} rule files; {scanned} files scanned, {filtered} outside the size/type filters,"
        f" {unreachable} no longer reachable at their recorded path"
    )
    if scanned == 0 and unreachable:
        raise NotRun(
            f"none of the {unreachable} files in the case is reachable any more (was the case"
            " moved, or the image unmounted?): YARA needs the evidence's bytes"
        )
    for row, names in found:
        judgement = judge_file(row, locations)
        # Content matched, so a standard folder does not explain the hit away (a trojanised
        # tool sits exactly there): the location is shown but the finding is never suppressed.
        reasons = list(judgement.reasons)
        if judgement.suppressed:
            reasons.append(
                reason(
                    "yara.content",
                    "not suppressed: a YARA match is about content, not location",
                )
            )
        yield Hit(
            summary=f"{judged_path(row)}: YARA {', '.join(names)}",
            keys=(row.get("host"), row.get("path"), tuple(names)),
            evidence=(evidence({**row, "yara_rules": names}),),
            host=row.get("host"),
            first_seen=row.get("mtime"),
            last_seen=row.get("mtime"),
            techniques=judgement.techniques,
            reasons=(
                reason("yara.match", f"matched YARA rules {', '.join(names)}", rules=names),
                *reasons,
            ),
        )
