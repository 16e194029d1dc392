"""The sweep's walk: iterative, ``O_NOATIME`` on every directory, every oddity a warning.

The walk is iterative (``os.scandir`` over an explicit stack) so that a deep tree cannot exhaust
Python's recursion limit, and it opens each directory ``O_NOATIME`` and lists it through that file
descriptor, so that sweeping evidence does not even change its directories' access times.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from seawall.collect.files import CollectOptions

MAX_PATH_BYTES = 4096
_NOATIME = getattr(os, "O_NOATIME", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def _open_dir(path: bytes, *, nofollow: bool) -> int:
    """Open a directory for listing without updating its access time (retry if EPERM)."""
    flags = _DIR_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0)
    if _NOATIME:
        try:
            return os.open(path, flags | _NOATIME)
        except PermissionError as error:
            if error.errno != errno.EPERM:
                raise
    return os.open(path, flags)


def _join(directory: bytes, name: bytes) -> bytes:
    return directory + name if directory.endswith(b"/") else directory + b"/" + name


_SPECIAL = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


@dataclass(frozen=True, slots=True)
class Found:
    """A file the walk found: ``st`` is the target's stat when a symlink was followed."""

    path: bytes
    st: os.stat_result
    kind: Literal["regular", "symlink"]
    followed: bool = False


# (path, message, skipped): ``skipped`` when the entry gets no hashes because of the problem.
Warn = Callable[[bytes, str, bool], None]


class Walker:
    """Iterative walk of the roots, reporting every oddity to ``warn`` and going on."""

    def __init__(self, options: CollectOptions, warn: Warn) -> None:
        self.options = options
        self._sink = warn
        self.excluded = 0
        self._visited: set[tuple[int, int]] = set()
        self._windows_excludes = options.os_name == "windows"

    def warn(self, path: bytes, message: str, skipped: bool = True) -> None:
        self._sink(path, message, skipped)

    def _is_excluded(self, path: bytes, name: bytes) -> bool:
        if not self.options.excludes:
            return False
        text_path, text_name = os.fsdecode(path), os.fsdecode(name)
        if self._windows_excludes:
            text_path, text_name = text_path.lower(), text_name.lower()
        for pattern in self.options.excludes:
            subject = text_path if "/" in pattern else text_name
            wanted = pattern.lower() if self._windows_excludes else pattern
            if fnmatchcase(subject, wanted):
                return True
        return False

    def walk(self, roots: list[bytes]) -> Iterator[Found]:
        for root in roots:
            try:
                # A root the responder named is followed even if a symlink. Bytes paths: no pathlib.
                st = os.stat(root)  # noqa: PTH116
            except OSError as error:
                self.warn(root, f"cannot stat root: {error.strerror}", True)
                continue
            if stat.S_ISREG(st.st_mode):
                yield Found(root, st, "regular")
            elif stat.S_ISDIR(st.st_mode):
                self._visited.add((st.st_dev, st.st_ino))
                yield from self._walk_tree(root)
            else:
                self.warn(root, f"skipped: root is a {_SPECIAL.get(stat.S_IFMT(st.st_mode))}")

    def _walk_tree(self, root: bytes) -> Iterator[Found]:
        stack: list[tuple[bytes, bool]] = [(root, False)]
        while stack:
            directory, nofollow = stack.pop()
            try:
                fd = _open_dir(directory, nofollow=nofollow)
            except OSError as error:
                self.warn(directory, f"cannot read directory: {error.strerror}")
                continue
            subdirs: list[bytes] = []
            try:
                yield from self._list(directory, fd, subdirs)
            finally:
                os.close(fd)
            # Reversed, so that the stack pops them in name order: a stable, readable walk.
            stack.extend((d, True) for d in reversed(subdirs))

    def _list(self, directory: bytes, fd: int, subdirs: list[bytes]) -> Iterator[Found]:
        """List one directory; ``entry.stat`` uses the listing's fd, so it stays inside here."""
        try:
            with os.scandir(fd) as listing:
                entries = sorted(listing, key=lambda e: e.name)
                for entry in entries:
                    yield from self._entry(directory, entry, subdirs)
        except OSError as error:
            self.warn(directory, f"directory listing failed part-way: {error.strerror}", False)

    def _entry(
        self, directory: bytes, entry: os.DirEntry[str], subdirs: list[bytes]
    ) -> Iterator[Found]:
        name = os.fsencode(entry.name)
        path = _join(directory, name)
        if len(path) > MAX_PATH_BYTES:
            self.warn(path[:200] + b"...", f"skipped: path longer than {MAX_PATH_BYTES} bytes")
            return
        if self._is_excluded(path, name):
            self.excluded += 1
            return
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            self.warn(path, "skipped: vanished during the sweep")
            return
        except OSError as error:
            self.warn(path, f"skipped: cannot stat: {error.strerror}")
            return
        try:
            name.decode("utf-8")
        except UnicodeDecodeError:
            self.warn(path, "name is not valid UTF-8: recorded with \\x escapes", False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            if self.options.follow_symlinks:
                self._visited.add((st.st_dev, st.st_ino))
            subdirs.append(path)
        elif stat.S_ISREG(mode):
            yield Found(path, st, "regular")
        elif stat.S_ISLNK(mode):
            yield from self._symlink(path, st, subdirs)
        else:
            self.warn(path, f"skipped: {_SPECIAL.get(stat.S_IFMT(mode), 'special file')}")

    def _symlink(self, path: bytes, lst: os.stat_result, subdirs: list[bytes]) -> Iterator[Found]:
        if not self.options.follow_symlinks:
            yield Found(path, lst, "symlink")
            return
        try:
            target = os.stat(path)  # noqa: PTH116 (bytes paths)
        except OSError as error:
            reason = "symlink loop" if error.errno == errno.ELOOP else error.strerror
            self.warn(path, f"symlink not followed: {reason}")
            yield Found(path, lst, "symlink")
            return
        if stat.S_ISDIR(target.st_mode):
            key = (target.st_dev, target.st_ino)
            if key in self._visited:
                self.warn(path, "symlink loop: its target directory was already walked")
                return
            self._visited.add(key)
            subdirs.append(path)
        elif stat.S_ISREG(target.st_mode):
            yield Found(path, target, "symlink", followed=True)
        else:
            kind = _SPECIAL.get(stat.S_IFMT(target.st_mode), "special file")
            self.warn(path, f"skipped: symlink to a {kind}")
