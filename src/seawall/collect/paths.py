"""Map the paths of a mounted Windows image to the Windows paths the evidence had on its host.

A responder mounts ``C:`` of an image at ``/mnt/c``; indicators, location rules and the advisory
all speak of ``C:\\Program Files\\PuTTY\\putty.exe``. ``--root-map /mnt/c=C:\\`` records, next to
the path as walked, the Windows path the file had. Windows compares paths case-insensitively, so
the mapped path is stored lower-cased: later matching (including ``%ProgramFiles%``-style folders,
which are expanded at match time, not here) is a plain string comparison.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from seawall.errors import UsageError


@dataclass(frozen=True, slots=True)
class RootMap:
    """One ``SRC=DST`` mapping: ``source`` is an absolute, normalised POSIX path (as bytes)."""

    source: bytes
    target: str

    @property
    def text(self) -> str:
        return f"{os.fsdecode(self.source)}={self.target}"


def absolute(path: str | bytes) -> bytes:
    """The absolute, normalised form of ``path`` as bytes, without resolving symlinks.

    Symlinks are not resolved because the path as walked is what the responder gave and what the
    record keeps; resolving could also step outside the evidence.
    """
    raw = os.fsencode(path)
    return os.path.normpath(os.path.abspath(raw))  # noqa: PTH100 (bytes paths, no pathlib)


def parse_root_map(text: str) -> RootMap:
    """Parse ``SRC=DST``; the first ``=`` splits, since POSIX mount points rarely contain one."""
    source, sep, target = text.partition("=")
    if not sep or not source or not target:
        raise UsageError(f"--root-map wants SRC=DST (e.g. /mnt/c=C:\\), got {text!r}")
    target = target.replace("/", "\\")
    drive = len(target) >= 2 and target[1] == ":" and target[0].isalpha()
    if not drive and not target.startswith("\\\\"):  # C:\ or a UNC path \\server\share
        raise UsageError(f"--root-map target {target!r} is not a Windows path like C:\\")
    return RootMap(absolute(source), target)


def _under(path: bytes, root: bytes) -> bool:
    return path == root or path.startswith(root.rstrip(b"/") + b"/")


def windows_path(path: bytes, maps: list[RootMap]) -> str | None:
    """The lower-cased Windows path of ``path`` under the longest matching map, or ``None``.

    Undecodable bytes in a name are kept visible as ``\\xNN`` escapes, like the recorded path.
    """
    mapped = windows_form(path, maps)
    return None if mapped is None else mapped.lower()


def windows_form(path: bytes, maps: list[RootMap]) -> str | None:
    """The Windows path of ``path`` in its original case (what Loki's YARA ``filepath`` holds:
    rules test ``filepath contains "\\Temporary Internet Files\\"``), or ``None``."""
    best: RootMap | None = None
    for mapping in maps:
        if _under(path, mapping.source) and (
            best is None or len(mapping.source) > len(best.source)
        ):
            best = mapping
    if best is None:
        return None
    rest = path[len(best.source) :].strip(b"/")
    target = best.target.rstrip("\\")
    if rest:
        tail = rest.decode("utf-8", errors="backslashreplace").replace("/", "\\")
        mapped = f"{target}\\{tail}"
    else:
        mapped = target + "\\" if target.endswith(":") else target
    return mapped


def is_under_any(path: bytes, maps: list[RootMap]) -> bool:
    return any(_under(path, m.source) for m in maps)


# A folder that holds ``Users`` and one of these is the top of a Windows system volume even
# when ``Windows\System32`` was not copied with it (an image exported without the OS folders).
_PROGRAM_FOLDERS = frozenset({"program files", "program files (x86)", "programdata"})


def _subfolders(path: bytes) -> dict[str, bytes]:
    """The folders directly under ``path`` by lower-cased name (symlinks are not followed)."""
    found: dict[str, bytes] = {}
    try:
        with os.scandir(path) as listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False):
                    found.setdefault(os.fsdecode(entry.name).lower(), entry.path)
    except OSError:
        pass
    return found


def is_windows_volume(root: bytes) -> bool:
    """Whether ``root`` is the top of a Windows system volume: it holds ``Windows/System32``,
    or ``Users`` with ``Program Files``, ``Program Files (x86)`` or ``ProgramData``.

    Names are compared case-insensitively, as Windows does: a volume mounted by ntfs-3g or
    copied to ext4 keeps ``Windows`` or ``WINDOWS`` as it was written.
    """
    folders = _subfolders(root)
    windows = folders.get("windows")
    if windows is not None and "system32" in _subfolders(windows):
        return True
    return "users" in folders and not _PROGRAM_FOLDERS.isdisjoint(folders)


def windows_volume_of(path: bytes) -> bytes | None:
    """The top of the Windows system volume that ``path`` lies in: ``path`` itself or the
    nearest folder above it that :func:`is_windows_volume`, else None.

    A responder sweeps part of an image (``image/Users``, ``/mnt/c/Program Files``); its files
    still had Windows paths on their host, which the volume's top gives (``C:\\``).
    """
    current = absolute(path)
    while True:
        if is_windows_volume(current):
            return current
        parent = os.path.dirname(current)  # noqa: PTH120 (bytes paths, no pathlib)
        if parent == current:
            return None
        current = parent
