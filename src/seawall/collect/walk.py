"""The sweep's walk: iterative, ``O_NOATIME`` on every directory, every oddity a warning.

The walk is iterative (an explicit stack of directories) so that a deep tree cannot exhaust
Python's recursion limit, and it opens each directory ``O_NOATIME`` and lists it through that file
descriptor, so that sweeping evidence does not even change its directories' access times.

**Slices.** A walk runs in slices (``walk_slice``): a stack of directories in, at most about
``budget`` entries listed, and out come what was found as one Arrow table of ``STAT_SCHEMA``
columns (built here, in C++, not as a Python row per file), the warnings, and the directories still
to walk. A slice is plain data both ways, so the sweep runs slices in its worker processes (both
cores stat files while the parent only joins and writes), and a re-sweep of an unchanged tree never
builds a Python object per file beyond the ``stat`` result itself. Following symlinks needs one set
of the directories already walked (loop detection), so that walk runs its slices in one process.
"""

from __future__ import annotations

import errno
import itertools
import os
import pwd
import stat
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import pyarrow as pa

from seawall.collect.paths import RootMap, windows_path

MAX_PATH_BYTES = 4096
_NOATIME = getattr(os, "O_NOATIME", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_IFMT, _IFREG, _IFDIR, _IFLNK = 0o170000, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK
NOT_FOLLOWED = "symlink (not followed)"

# What the walk knows of each file it records: the ``files`` columns that come from ``stat`` and
# the path, plus ``raw`` (the path's bytes, only when they are not UTF-8, so that the file can be
# opened again: ``path`` then holds ``\\xNN`` escapes) and ``followed`` (a symlink the sweep
# followed: opened without ``O_NOFOLLOW``). ``note`` is set when the file will not be hashed.
STAT_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("name", pa.string()),
        ("size", pa.int64()),
        ("mtime", pa.timestamp("us")),
        ("atime", pa.timestamp("us")),
        ("ctime", pa.timestamp("us")),
        ("owner", pa.string()),
        ("mode", pa.int32()),
        ("inode", pa.uint64()),
        ("device", pa.uint64()),
        ("mtime_ns", pa.int64()),
        ("os", pa.string()),
        ("windows_path", pa.string()),
        ("file_kind", pa.string()),
        ("uid", pa.int64()),
        ("gid", pa.int64()),
        ("note", pa.string()),
        ("raw", pa.binary()),
        ("followed", pa.bool_()),
    ]
)

_SPECIAL = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


def show(path: bytes) -> str:
    """A recordable text form of a path: bytes that are not UTF-8 stay visible as ``\\xNN``."""
    return path.decode("utf-8", errors="backslashreplace")


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


@dataclass(frozen=True, slots=True)
class WalkSettings:
    """What a walk slice needs of the sweep's options (plain data: it goes to the workers)."""

    os_name: str
    """The OS of the root being walked (``windows``: no owner names, they are the mount's)."""
    excludes: tuple[str, ...] = ()
    windows_excludes: bool = False
    """Match ``excludes`` case-insensitively (``--os windows``)."""
    follow_symlinks: bool = False
    max_size: int | None = None
    root_maps: tuple[RootMap, ...] = ()


# A directory to walk: its path, and whether to open it ``O_NOFOLLOW`` (all but a root).
Dir = tuple[bytes, bool]
# (path, message, skipped): ``skipped`` when the entry gets no row or no hashes because of it.
WalkWarning = tuple[str, str, bool]


@dataclass(slots=True)
class Listed:
    """What one slice of a walk found."""

    table: pa.Table
    warnings: list[WalkWarning] = field(default_factory=list)
    excluded: int = 0
    too_large: int = 0
    rest: list[Dir] = field(default_factory=list)
    """Directories still to walk."""


_users: dict[int, str | None] = {}


def _user(uid: int) -> str | None:
    if uid not in _users:
        try:
            _users[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            _users[uid] = None
    return _users[uid]


class _Slice:
    """The entries one slice records, kept as ``stat`` results plus a few parallel lists."""

    def __init__(self, settings: WalkSettings, visited: set[tuple[int, int]] | None) -> None:
        self.settings = settings
        self.visited = visited
        self.paths: list[str] = []
        self.names: list[str] = []
        self.stats: list[os.stat_result] = []
        self.raws: list[bytes | None] = []
        self.links: list[int] = []
        """Positions of symlinks (all other entries are regular files)."""
        self.followed: list[int] = []
        self.listed = 0
        self.warnings: list[WalkWarning] = []
        self.excluded = 0

    def warn(self, path: bytes | str, message: str, skipped: bool = True) -> None:
        text = path if isinstance(path, str) else show(path)
        self.warnings.append((text, message, skipped))

    def excluded_here(self, text_path: str, name: str) -> bool:
        windows = self.settings.windows_excludes
        if windows:
            text_path, name = text_path.lower(), name.lower()
        for pattern in self.settings.excludes:
            subject = text_path if "/" in pattern else name
            if fnmatchcase(subject, pattern.lower() if windows else pattern):
                self.excluded += 1
                return True
        return False

    def add(self, path: str, name: str, st: os.stat_result, raw: bytes | None) -> None:
        self.paths.append(path)
        self.names.append(name)
        self.stats.append(st)
        self.raws.append(raw)

    def symlink(
        self, path: str, name: str, raw: bytes, lst: os.stat_result, stack: list[Dir], odd: bool
    ) -> None:
        keep = raw if odd else None
        if not self.settings.follow_symlinks:
            self.links.append(len(self.paths))
            self.add(path, name, lst, keep)
            return
        try:
            target = os.stat(raw)  # noqa: PTH116 (bytes paths)
        except OSError as error:
            reason = "symlink loop" if error.errno == errno.ELOOP else error.strerror
            self.warn(path, f"symlink not followed: {reason}")
            self.links.append(len(self.paths))
            self.add(path, name, lst, keep)
            return
        mode = target.st_mode
        if stat.S_ISDIR(mode):
            key = (target.st_dev, target.st_ino)
            assert self.visited is not None
            if key in self.visited:
                self.warn(path, "symlink loop: its target directory was already walked")
                return
            self.visited.add(key)
            stack.append((raw, True))
        elif stat.S_ISREG(mode):
            self.links.append(len(self.paths))
            self.followed.append(len(self.paths))
            self.add(path, name, target, keep)
        else:
            kind = _SPECIAL.get(stat.S_IFMT(mode), "special file")
            self.warn(path, f"skipped: symlink to a {kind}")

    def table(self) -> tuple[pa.Table, int]:
        """The entries as a ``STAT_SCHEMA`` table, and how many are over ``--max-size``."""
        stats, count = self.stats, len(self.paths)
        settings = self.settings
        # A stat result is a tuple (mode, ino, dev, nlink, uid, gid, size, ...): transposed in C.
        fields: list[list[int]] = [list(c) for c in itertools.islice(zip(*stats, strict=True), 7)]
        modes, inodes, devices, _, uids, gids, sizes = fields if count else [[]] * 7
        kinds: list[str] = ["regular"] * count
        notes: list[str | None] = [None] * count
        followed = [False] * count
        for i in self.links:
            kinds[i], notes[i] = "symlink", NOT_FOLLOWED
        for i in self.followed:
            notes[i], followed[i] = None, True
        too_large = 0
        if settings.max_size is not None:
            limit = settings.max_size
            for i, size in enumerate(sizes):
                if size > limit and notes[i] is None:
                    notes[i] = f"larger than --max-size {limit}: not hashed"
                    too_large += 1
        # A mounted image's uids belong to the mount, not to the Windows owner (a SID).
        windows = settings.os_name == "windows"
        owners = [None] * count if windows else [_user(u) for u in uids]
        maps = list(settings.root_maps)
        mapped = (
            [
                windows_path(raw if raw is not None else path.encode(), maps)
                for path, raw in zip(self.paths, self.raws, strict=True)
            ]
            if maps
            else None
        )
        columns = [
            pa.array(self.paths, pa.string()),
            pa.array(self.names, pa.string()),
            pa.array(sizes, pa.int64()),
            # Microseconds: Arrow takes them as-is for timestamp[us].
            pa.array([s.st_mtime_ns // 1000 for s in stats], pa.timestamp("us")),
            pa.array([s.st_atime_ns // 1000 for s in stats], pa.timestamp("us")),
            pa.array([s.st_ctime_ns // 1000 for s in stats], pa.timestamp("us")),
            pa.array(owners, pa.string()),
            pa.array(modes, pa.int32()),
            pa.array(inodes, pa.uint64()),
            pa.array(devices, pa.uint64()),
            pa.array([s.st_mtime_ns for s in stats], pa.int64()),
            pa.array([settings.os_name] * count, pa.string()),
            pa.array(mapped, pa.string()) if mapped is not None else pa.nulls(count, pa.string()),
            pa.array(kinds, pa.string()),
            pa.array(uids, pa.int64()),
            pa.array(gids, pa.int64()),
            pa.array(notes, pa.string()),
            pa.array(self.raws, pa.binary()),
            pa.array(followed, pa.bool_()),
        ]
        return pa.Table.from_arrays(columns, schema=STAT_SCHEMA), too_large


def _list_directory(walk: _Slice, directory: bytes, fd: int, stack: list[Dir]) -> None:
    """List one directory into ``walk``; ``entry.stat`` uses the listing's fd, so it stays here.

    The loop is the hot path of a re-sweep (every entry of the tree, every time): a regular file
    with an ASCII name costs a ``stat``, one string concatenation and four list appends.
    """
    odd_dir = not directory.isascii() and _not_utf8(directory)
    text_dir = show(directory)
    prefix = text_dir if text_dir.endswith("/") else text_dir + "/"
    raw_prefix = directory if directory.endswith(b"/") else directory + b"/"
    room = MAX_PATH_BYTES - len(raw_prefix)
    excludes = bool(walk.settings.excludes)
    follow = walk.settings.follow_symlinks
    paths, names, stats, raws = walk.paths, walk.names, walk.stats, walk.raws
    listed = 0
    try:
        with os.scandir(fd) as listing:
            for entry in listing:
                listed += 1
                name = entry.name
                odd, bad_name = odd_dir, False
                if name.isascii():
                    if len(name) > room:
                        walk.warn(
                            (raw_prefix + name.encode())[:200] + b"...",
                            f"skipped: path longer than {MAX_PATH_BYTES} bytes",
                        )
                        continue
                    path = prefix + name
                else:
                    raw_name = os.fsencode(name)
                    if len(raw_name) > room:
                        walk.warn(
                            (raw_prefix + raw_name)[:200] + b"...",
                            f"skipped: path longer than {MAX_PATH_BYTES} bytes",
                        )
                        continue
                    if _not_utf8(raw_name):
                        odd = bad_name = True
                        name = show(raw_name)
                    path = prefix + name
                if excludes and walk.excluded_here(path, name):
                    continue
                if not follow and entry.is_dir(follow_symlinks=False):
                    # The listing's type says so: no stat needed (its own listing will follow).
                    if bad_name:
                        walk.warn(path, "name is not valid UTF-8: recorded with \\x escapes", False)
                    stack.append((raw_prefix + os.fsencode(entry.name), True))
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    walk.warn(path, "skipped: vanished during the sweep")
                    continue
                except OSError as error:
                    walk.warn(path, f"skipped: cannot stat: {error.strerror}")
                    continue
                if bad_name:
                    walk.warn(path, "name is not valid UTF-8: recorded with \\x escapes", False)
                kind = st.st_mode & _IFMT
                if kind == _IFREG:
                    paths.append(path)
                    names.append(name)
                    stats.append(st)
                    raws.append(raw_prefix + os.fsencode(entry.name) if odd else None)
                elif kind == _IFDIR:
                    if follow:
                        assert walk.visited is not None
                        walk.visited.add((st.st_dev, st.st_ino))
                    stack.append((raw_prefix + os.fsencode(entry.name), True))
                elif kind == _IFLNK:
                    raw = raw_prefix + os.fsencode(entry.name)
                    walk.symlink(path, name, raw, st, stack, odd)
                else:
                    walk.warn(path, f"skipped: {_SPECIAL.get(kind, 'special file')}")
    except OSError as error:
        walk.warn(directory, f"directory listing failed part-way: {error.strerror}", False)
    walk.listed += listed


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def walk_slice(
    dirs: list[Dir],
    settings: WalkSettings,
    budget: int,
    visited: set[tuple[int, int]] | None = None,
) -> Listed:
    """Walk ``dirs`` (a stack: the last is walked first) until about ``budget`` entries are
    listed; what is left comes back in ``Listed.rest``. ``visited`` is needed to follow
    symlinks (the directories already walked, by device and inode)."""
    if settings.follow_symlinks and visited is None:
        raise ValueError("following symlinks needs the set of visited directories")
    walk = _Slice(settings, visited)
    stack = list(dirs)
    while stack and walk.listed < budget:
        directory, nofollow = stack.pop()
        try:
            fd = _open_dir(directory, nofollow=nofollow)
        except OSError as error:
            walk.warn(directory, f"cannot read directory: {error.strerror}")
            continue
        try:
            _list_directory(walk, directory, fd, stack)
        finally:
            os.close(fd)
    table, too_large = walk.table()
    return Listed(table, walk.warnings, walk.excluded, too_large, stack)


def walk_root(
    root: bytes, settings: WalkSettings, visited: set[tuple[int, int]] | None = None
) -> Listed:
    """Start the walk of one root the responder named: a file is recorded, a directory becomes
    ``rest``. A root is followed even if it is a symlink."""
    walk = _Slice(settings, visited)
    rest: list[Dir] = []
    try:
        st = os.stat(root)  # noqa: PTH116 (bytes paths)
    except OSError as error:
        walk.warn(root, f"cannot stat root: {error.strerror}")
    else:
        if stat.S_ISREG(st.st_mode):
            text = show(root)
            walk.add(text, text.rsplit("/", 1)[-1], st, root if _not_utf8(root) else None)
        elif stat.S_ISDIR(st.st_mode):
            if visited is not None:
                visited.add((st.st_dev, st.st_ino))
            rest.append((root, False))
        else:
            walk.warn(root, f"skipped: root is a {_SPECIAL.get(stat.S_IFMT(st.st_mode))}")
    table, too_large = walk.table()
    return Listed(table, walk.warnings, walk.excluded, too_large, rest)
