"""Where a report may be written: never under the evidence, never over a file without saying so.

Evidence is read-only (the design's first rule), and a report written into an evidence folder
changes it: a later sweep would collect the report, a mounted image would be written to, and
the folder's timestamps change. The case knows what was collected: the roots and paths every
``collect`` command was given (``runs``) and every evidence file a reader ingested
(``evidence_sources``). A report path inside one of those folders, or equal to one of those
files, is refused. A root that is a file system's root (``/``, ``C:\\``: a live system swept
whole) cannot be told from anywhere else to write to, so it does not count; the files collected
under it still do.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from seawall.case.store import CaseStore
from seawall.errors import UsageError

# ``runs.arguments`` keys that name what a collect command read.
_EVIDENCE_ARGUMENTS = ("roots", "paths", "imports")


def evidence_paths(store: CaseStore) -> list[Path]:
    """Every folder and file the case's collect commands read, made absolute."""
    store.con.complete()
    found: dict[str, None] = {}
    rows = store.con.execute(
        "SELECT arguments FROM runs WHERE starts_with(command, 'collect')"
    ).fetchall()
    for (arguments,) in rows:
        try:
            parsed = json.loads(arguments) if arguments else {}
        except ValueError:
            continue
        for key in _EVIDENCE_ARGUMENTS:
            values = parsed.get(key) if isinstance(parsed, dict) else None
            for value in values if isinstance(values, list) else ():
                if isinstance(value, str) and value:
                    found[value] = None
    for (path,) in store.con.execute("SELECT DISTINCT path FROM evidence_sources").fetchall():
        if path:
            found[str(path)] = None
    return [_absolute(Path(p)) for p in found]


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # a symlink loop: as written, made absolute
        return path.absolute()


def check_out(out: Path, evidence: list[Path]) -> Path:
    """``out`` made absolute, or a usage error when it lies in the evidence or is a folder."""
    target = _absolute(out)
    if target.is_dir():
        raise UsageError(f"--out {out} is a directory: name the report file")
    for path in evidence:
        if target == path:
            raise UsageError(f"--out {out} is evidence this case collected: evidence is read-only")
        if path.parent == path:  # a file system's root: see the module docstring
            continue
        if path.is_dir() and target.is_relative_to(path):
            raise UsageError(
                f"--out {out} is inside {path}, which this case collected evidence from:"
                " evidence is never written to; write the report elsewhere"
            )
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_out(target: Path, text: str) -> bool:
    """Write ``text`` to ``target`` whole or not at all (a temporary file renamed over it);
    True when it replaced an existing file."""
    replaced = target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        Path(temporary).chmod(0o666 & ~_umask())  # as open() would have made it, not 0600
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return replaced
