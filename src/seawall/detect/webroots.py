"""The user's ``--webroot`` folders, in the forms the swept paths were recorded in.

A sweep records each file's path as walked from an absolute, normalised root (symlinks not
resolved: ``seawall.collect.paths.absolute``) and, on a Windows volume, its lower-cased Windows
path. A web root the user types is often neither: relative to the current folder, through a
symlink (``/var/www`` -> ``/srv/www``), with a trailing slash, or in Windows form in any case.
:func:`resolve_webroots` turns each into every form a swept path could have, and refuses one
that names no swept file: a typo must not silently leave a web root unchecked.
"""

from __future__ import annotations

import json
import ntpath
import os
from collections.abc import Iterable

from seawall.case.store import CaseStore
from seawall.collect.paths import absolute
from seawall.errors import UsageError


def is_windows_form(root: str) -> bool:
    """``C:\\inetpub`` or ``\\\\server\\share``: a Windows path, compared with ``windows_path``."""
    return "\\" in root or (len(root) > 1 and root[1] == ":" and root[0].isalpha())


def _windows_form(root: str) -> str:
    text = root.replace("/", "\\")
    drive, _ = ntpath.splitdrive(text)
    if not drive or not ntpath.isabs(text):
        raise UsageError(
            f"--webroot {root!r} is a Windows path without its drive: give it whole"
            " (e.g. C:\\inetpub\\wwwroot) or give the folder as swept (a POSIX path)"
        )
    return ntpath.normpath(text).lower().rstrip("\\")


def _swept_roots(store: CaseStore) -> list[bytes]:
    """The roots of the sweeps whose rows the case holds (as recorded: absolute, unresolved)."""
    rows = store.con.sql(
        "SELECT arguments FROM runs WHERE command = 'collect files' AND status = 'ok'"
        " AND run_id IN (SELECT DISTINCT run_id FROM files)"
    ).fetchall()
    roots: set[bytes] = set()
    for (arguments,) in rows:
        try:
            found = json.loads(arguments).get("roots") or []
        except (ValueError, AttributeError):
            continue
        roots.update(os.fsencode(str(root)) for root in found)
    return sorted(roots)


def _under(path: bytes, root: bytes) -> bool:
    return path == root or path.startswith(root.rstrip(b"/") + b"/")


def _posix_forms(root: str, swept: list[bytes]) -> list[str]:
    """``root`` as typed (made absolute), resolved, and as seen from each swept root.

    A symlink on either side is followed through the swept roots: the user's path and each
    swept root are resolved, and a resolved path under a resolved root is given back under the
    root as it was walked (which is how the sweep recorded its files).
    """
    typed = absolute(root)
    real = os.path.realpath(typed)
    forms = {typed, real}
    for swept_root in swept:
        real_root = os.path.realpath(swept_root)
        if _under(real, real_root):
            rest = real[len(real_root.rstrip(b"/")) :]
            forms.add(swept_root.rstrip(b"/") + rest if rest else swept_root)
    return sorted(os.fsdecode(form) for form in forms)


def _matches(store: CaseStore, posix: list[str], windows: str | None) -> int:
    """How many swept files lie under any of the forms."""
    clauses: list[str] = []
    params: list[str] = []
    for form in posix:
        clauses.append("(path = ? OR starts_with(path, ?))")
        params += [form, form.rstrip("/") + "/"]
    if windows is not None:
        clauses.append("(windows_path = ? OR starts_with(windows_path, ?))")
        params += [windows, windows + "\\"]
    rows = store.con.execute(
        f"SELECT count(*) FROM files WHERE {' OR '.join(clauses)}", params
    ).fetchall()
    store.con.complete()
    return int(rows[0][0])


def resolve_webroots(store: CaseStore, given: Iterable[str]) -> tuple[str, ...]:
    """Every form of each ``--webroot`` that swept paths may use (POSIX forms start with ``/``;
    Windows forms are lower-case with backslashes); a usage error for one that names no swept
    file, with what was tried."""
    swept: list[bytes] | None = None
    resolved: list[str] = []
    for root in given:
        if not root.strip():
            raise UsageError("--webroot wants a folder, got an empty value")
        if is_windows_form(root):
            posix: list[str] = []
            windows: str | None = _windows_form(root)
        else:
            swept = _swept_roots(store) if swept is None else swept
            posix, windows = _posix_forms(root, swept), None
        if not _matches(store, posix, windows):
            tried = ", ".join([*posix, *([windows] if windows else [])])
            raise UsageError(
                f"--webroot {root!r} matches no swept file (tried {tried}): sweep the web"
                " server's folder first (`seawall collect files`), or give it as swept"
                " (its path as walked, or its Windows path when the sweep mapped one)"
            )
        resolved += posix + ([windows] if windows else [])
    return tuple(dict.fromkeys(resolved))


def under_webroot(path: str | None, windows_path: str | None, forms: tuple[str, ...]) -> bool:
    """Whether a swept file lies under one of the resolved forms (exact string prefixes)."""
    for form in forms:
        if form.startswith("/"):
            if path and (path == form or path.startswith(form.rstrip("/") + "/")):
                return True
        elif windows_path and (windows_path == form or windows_path.startswith(form + "\\")):
            return True
    return False
