"""Judge a legitimate tool by where its file sits.

AA21-200A's hash indicators include PuTTY, cmd.exe and svchost.exe: the actors ran genuine
binaries from folders those tools never live in. A hash hit on such a file is a false positive in
``C:\\Program Files\\PuTTY`` and masquerading (ATT&CK T1036.005) in ``C:\\Users\\Public``, so
every file-based finding is judged against a table of where legitimate tools live.

The table ships as ``seawall/data/locations/tool-locations.json`` (built from LOLBAS and our
``extra-tools.yml`` by ``tools/build_tool_locations.py``); a user extends it with a YAML file of
the same schema as ``extra-tools.yml``. Locations are patterns:

* Windows patterns are lower-case, start with an environment folder (``%systemroot%``,
  ``%programfiles%``…) or a drive, and are matched case-insensitively. Environment folders expand
  to the defaults of a standard install (``%systemroot%`` = ``C:\\Windows``). ``%userprofile%``
  (and ``%appdata%``, ``%localappdata%``, ``%temp%``) match any profile under ``C:\\Users``
  except ``Public``, which every user can write to and is a favourite drop folder.
* **Drive letters are not ignored.** The expanded folders are on ``C:`` only: a collector maps a
  mounted image's system volume to ``C:\\`` (``--root-map``), and a hunt must not suppress
  ``D:\\Windows\\System32\\cmd.exe`` or ``E:\\Program Files\\PuTTY\\putty.exe`` by assumption. A
  site that installs to other drives says so in its YAML (``d:\\apps\\putty`` or ``*:\\apps``).
* ``*`` matches within one folder name (versions, WinSxS components), never across ``\\``.
* POSIX patterns start with ``/`` and are matched exactly (case-sensitive), for Linux tools.

A path that starts with ``/`` is POSIX; anything else is a Windows path.
"""

from __future__ import annotations

import json
import ntpath
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from seawall.errors import BadInputError, UsageError
from seawall.model.verdict import Verdict
from seawall.yamldoc import (
    parse_model,
    read_bounded_utf8,
)

FORMAT = 1
TABLE_NAME = "tool-locations.json"
NONSTANDARD_TECHNIQUE = "T1036.005"
MAX_EXTENSION_BYTES = 4 * 1024 * 1024
MAX_YAML_NODES = 200_000
# How many expected folders a reason sentence spells out before "and N more".
MAX_FOLDERS_IN_REASON = 3

# Environment folders with one default value on a standard x64 install.
FIXED_FOLDERS: Mapping[str, str] = {
    "%systemroot%": "c:\\windows",
    "%windir%": "c:\\windows",
    "%systemdrive%": "c:",
    "%programfiles%": "c:\\program files",
    "%programw6432%": "c:\\program files",
    "%programfiles(x86)%": "c:\\program files (x86)",
    "%commonprogramfiles%": "c:\\program files\\common files",
    "%commonprogramw6432%": "c:\\program files\\common files",
    "%commonprogramfiles(x86)%": "c:\\program files (x86)\\common files",
    "%programdata%": "c:\\programdata",
    "%allusersprofile%": "c:\\programdata",
    "%public%": "c:\\users\\public",
}
# Per-user folders: the part below the profile folder.
PROFILE_FOLDERS: Mapping[str, str] = {
    "%userprofile%": "",
    "%appdata%": "\\appdata\\roaming",
    "%localappdata%": "\\appdata\\local",
    "%temp%": "\\appdata\\local\\temp",
    "%tmp%": "\\appdata\\local\\temp",
}
_DISPLAY: Mapping[str, str] = {
    "%systemroot%": "%SystemRoot%",
    "%windir%": "%WinDir%",
    "%systemdrive%": "%SystemDrive%",
    "%programfiles%": "%ProgramFiles%",
    "%programw6432%": "%ProgramW6432%",
    "%programfiles(x86)%": "%ProgramFiles(x86)%",
    "%commonprogramfiles%": "%CommonProgramFiles%",
    "%commonprogramw6432%": "%CommonProgramW6432%",
    "%commonprogramfiles(x86)%": "%CommonProgramFiles(x86)%",
    "%programdata%": "%ProgramData%",
    "%allusersprofile%": "%AllUsersProfile%",
    "%public%": "%Public%",
    "%userprofile%": "%UserProfile%",
    "%appdata%": "%AppData%",
    "%localappdata%": "%LocalAppData%",
    "%temp%": "%Temp%",
    "%tmp%": "%Tmp%",
}
_ENV_PREFIX = re.compile(r"^%[a-z0-9_()]+%", re.IGNORECASE)
_DRIVE = re.compile(r"^([a-z*]):(?:\\|$)")
_TECHNIQUE = re.compile(r"^T\d{4}(?:\.\d{3})?$")
# In patterns, a profile folder is any user's except the world-writable Public one.
_PROFILE_REGEX = r"c:\\users\\(?!public(?:\\|$))[^\\]+"
# In observed paths an unexpanded %UserProfile% is some user's profile: a placeholder name.
_PROFILE_KEY = "c:\\users\\%username%"


class Location(StrEnum):
    """Where a file sits for its tool: a reason code of a finding, not a verdict.

    The location is one reason among others (a renamed or badly signed binary in its standard
    folder is still suspicious), so it is told as the code of a
    :class:`~seawall.model.reason.Reason`; :attr:`verdict` is what the location alone says.
    """

    STANDARD = "location.standard"
    NONSTANDARD = "location.nonstandard"
    UNKNOWN_TOOL = "location.unknown-tool"

    @property
    def verdict(self) -> Verdict:
        """A tool where it belongs is benign, elsewhere suspicious; an unknown tool: unknown."""
        return _LOCATION_VERDICTS[self]


_LOCATION_VERDICTS = {
    Location.STANDARD: Verdict.BENIGN,
    Location.NONSTANDARD: Verdict.SUSPICIOUS,
    Location.UNKNOWN_TOOL: Verdict.UNKNOWN,
}


def _sentence(text: str) -> str:
    """``text`` as a sentence that can be followed by another (a user's reason may end bare)."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class LocationJudgement:
    """Why a file is or is not where its tool belongs; renderers show ``reasons`` verbatim.

    ``data`` holds the values of the first reason (the tool, the folder it was found in, the
    standard folders) for the structured reason a finding carries.
    """

    location: Location
    reasons: tuple[str, ...]
    expected: tuple[str, ...]
    techniques: tuple[str, ...]
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return self.location.verdict


@dataclass(frozen=True)
class ToolEntry:
    """One legitimate tool: its file name and the location patterns where it is expected."""

    name: str
    locations: tuple[str, ...]
    sources: tuple[str, ...]
    techniques: tuple[str, ...]
    why: str


# ----------------------------------------------------------------------------- path handling


def is_posix_path(path: str) -> bool:
    """POSIX paths start with ``/``; Windows evidence is mapped to drive or UNC paths first."""
    return path.startswith("/")


def windows_path_key(path: str) -> str:
    """The normalised form used for matching: lower-case, backslashes, no ``.``/``..``.

    Device prefixes (``\\\\?\\``, ``\\??\\``) are dropped, a leading environment folder is
    expanded to its default, and ``..`` is resolved lexically so that ``Program Files\\PuTTY\\..\\
    ..\\Users\\x\\putty.exe`` cannot pass for the PuTTY folder.
    """
    text = path.strip().replace("/", "\\")
    lowered = text.lower()
    if lowered.startswith("\\\\?\\unc\\"):
        lowered = "\\\\" + lowered[8:]
    elif lowered.startswith(("\\\\?\\", "\\??\\", "\\\\.\\")):
        lowered = lowered[4:]
    lowered = _expand_key_prefix(lowered)
    if not lowered:
        return ""
    return ntpath.normpath(lowered)


def _expand_key_prefix(text: str) -> str:
    match = _ENV_PREFIX.match(text)
    if match is None:
        return text
    name, rest = match.group(0), text[match.end() :]
    if name in FIXED_FOLDERS:
        return FIXED_FOLDERS[name] + rest
    if name in PROFILE_FOLDERS:
        return _PROFILE_KEY + PROFILE_FOLDERS[name] + rest
    return text


def posix_path_key(path: str) -> str:
    """POSIX paths are case-sensitive: only ``//``, ``.`` and ``..`` are normalised."""
    return posixpath.normpath(path.strip())


def split_env_prefix(pattern: str) -> tuple[str, str]:
    """A lower-case Windows pattern's leading environment folder as a regex, and the rest.

    ``%programfiles%\\x`` gives ``c:\\program files`` (escaped) and ``\\x``; a per-user folder
    such as ``%appdata%`` matches that folder of any user's profile but Public's. A pattern
    without a known environment folder gives an empty regex and itself.
    """
    match = _ENV_PREFIX.match(pattern)
    if match is None:
        return "", pattern
    name, rest = match.group(0), pattern[match.end() :]
    if name in FIXED_FOLDERS:
        return re.escape(FIXED_FOLDERS[name]), rest
    if name in PROFILE_FOLDERS:
        return _PROFILE_REGEX + re.escape(PROFILE_FOLDERS[name]), rest
    return "", pattern


def _windows_pattern_regex(pattern: str) -> re.Pattern[str]:
    head, rest = split_env_prefix(pattern)
    body = r"[^\\]*".join(re.escape(part) for part in rest.split("*"))
    return re.compile(head + body)


def _posix_pattern_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(r"[^/]*".join(re.escape(part) for part in pattern.split("*")))


def display_folder(pattern: str) -> str:
    """The folder of a pattern for a sentence, with environment names in their usual case."""
    if is_posix_path(pattern):
        return posixpath.dirname(pattern) or "/"
    folder = pattern.rsplit("\\", 1)[0] if "\\" in pattern else pattern
    match = _ENV_PREFIX.match(folder)
    if match is not None and match.group(0) in _DISPLAY:
        return _DISPLAY[match.group(0)] + folder[match.end() :]
    return folder


# ----------------------------------------------------------------------------- schema


def normalise_folder(folder: str) -> str:
    """Check and normalise one folder pattern (the schema's single rule, shared by the builder).

    Windows folders are lower-cased with backslashes and must be rooted in a known environment
    folder, a drive (``*:`` = any drive) or a UNC share; POSIX folders must be absolute.
    Neither may contain ``.``/``..`` or empty parts, which would make a pattern mean two things.
    """
    text = folder.strip()
    if not text:
        raise ValueError("a folder pattern is empty")
    if is_posix_path(text):
        text = text.rstrip("/") or "/"
        parts = text.split("/")[1:]
    else:
        text = text.replace("/", "\\").lower().rstrip("\\")
        match = _ENV_PREFIX.match(text)
        if match is not None:
            if match.group(0) not in FIXED_FOLDERS and match.group(0) not in PROFILE_FOLDERS:
                known = ", ".join(sorted([*FIXED_FOLDERS, *PROFILE_FOLDERS]))
                raise ValueError(f"unknown environment folder {match.group(0)} (known: {known})")
            rest = text[match.end() :]
        elif _DRIVE.match(text + "\\"):
            rest = text[2:]
        elif text.startswith("\\\\") and len(text) > 2:
            rest = text[1:]
        else:
            raise ValueError(
                f"folder {folder!r} is not absolute: start it with an environment folder such "
                "as %programfiles%, a drive such as c:\\ or *:\\, or / for POSIX"
            )
        if rest and not rest.startswith("\\"):
            raise ValueError(f"folder {folder!r}: expected a backslash after the root")
        parts = rest.split("\\")[1:] if rest else []
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"folder {folder!r} has an empty, '.' or '..' part")
    return text


def normalise_name(name: str) -> str:
    """A tool is looked up by its file name on disk: lower-case, no folder, no wildcard."""
    text = name.strip().lower()
    if not text or any(char in text for char in "\\/*"):
        raise ValueError(f"tool name {name!r} must be a bare file name without '*'")
    return text


def check_technique(value: str) -> str:
    """ATT&CK ids only, so a typo cannot hide in the table."""
    if not _TECHNIQUE.match(value):
        raise ValueError(f"{value!r} is not an ATT&CK technique id like T1036 or T1036.005")
    return value


Folder = Annotated[str, AfterValidator(normalise_folder)]
ToolName = Annotated[str, AfterValidator(normalise_name)]
TechniqueId = Annotated[str, AfterValidator(check_technique)]


class ToolGroup(BaseModel):
    """Tools installed together: every name is expected in every folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: list[ToolName] = Field(min_length=1)
    folders: list[Folder]
    why: str = Field(min_length=1)
    techniques: list[TechniqueId] = Field(default_factory=list)

    def locations(self) -> list[tuple[str, str]]:
        """``(name, pattern)`` pairs: each folder joined with each name."""
        pairs: list[tuple[str, str]] = []
        for folder in self.folders:
            separator = "/" if is_posix_path(folder) else "\\"
            base = folder.rstrip(separator)
            pairs.extend((name, f"{base}{separator}{name}") for name in self.names)
        return pairs


class ExtensionFile(BaseModel):
    """The hand-written YAML schema (our ``extra-tools.yml`` and a user's own file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tools: list[ToolGroup]


class ToolRecord(BaseModel):
    """One tool of the shipped JSON table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ToolName
    locations: list[str]
    sources: list[str] = Field(min_length=1)
    techniques: list[TechniqueId]
    why: str
    lolbas_entries: list[str]


class ToolTable(BaseModel):
    """The shipped JSON document; ``format`` changes when readers must change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int
    lolbas: dict[str, Any]
    tools: list[ToolRecord]


# ----------------------------------------------------------------------------- loading


def load_extension_file(path: Path) -> ExtensionFile:
    """Parse and validate a YAML extension file; every problem is ``BadInputError`` at file:line."""
    if not path.is_file():
        raise UsageError(f"no such tool-locations file: {path}")
    display = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_EXTENSION_BYTES + 1)
    except OSError as error:
        raise BadInputError(f"cannot read: {error.strerror or error}", display) from error
    return parse_extension(read_bounded_utf8(data, display, MAX_EXTENSION_BYTES), display)


def parse_extension(text: str, display: str) -> ExtensionFile:
    """Validate extension YAML ``text``; ``display`` names the source in error locations."""
    return parse_model(
        text,
        display,
        ExtensionFile,
        max_nodes=MAX_YAML_NODES,
        noun="file",
        not_mapping="expected a mapping with a 'tools' list",
    )


@cache
def _shipped_records() -> tuple[ToolRecord, ...]:
    resource = resources.files("seawall.data").joinpath("locations", TABLE_NAME)
    table = ToolTable.model_validate(json.loads(resource.read_text(encoding="utf-8")))
    if table.format != FORMAT:
        raise BadInputError(f"unsupported tool-locations format {table.format}", TABLE_NAME)
    return tuple(table.tools)


@dataclass
class _Accumulator:
    locations: set[str]
    sources: set[str]
    techniques: set[str]
    whys: list[str]


class ToolLocations:
    """The table of legitimate tools, compiled for matching; build it with :meth:`load`."""

    def __init__(self, tools: Iterable[ToolEntry]) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._windows: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        self._posix: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for tool in self._tools.values():
            for pattern in tool.locations:
                if is_posix_path(pattern):
                    compiled = _posix_pattern_regex(pattern)
                    self._posix.setdefault(tool.name, []).append((pattern, compiled))
                else:
                    compiled = _windows_pattern_regex(pattern)
                    self._windows.setdefault(tool.name, []).append((pattern, compiled))

    @classmethod
    def load(cls, extra: Path | None = None) -> ToolLocations:
        """The shipped table, extended by the user's YAML file ``extra`` when given (read once
        per version of the file: every file detection of a hunt asks for the table)."""
        if extra is None:
            return _shipped_locations()
        try:
            version = extra.stat()
        except OSError:  # let the reading say what is wrong with it
            return cls._extended(extra)
        return _extended_locations(extra.resolve(), version.st_mtime_ns, version.st_size)

    @classmethod
    def _extended(cls, extra: Path) -> ToolLocations:
        found: dict[str, _Accumulator] = {}
        for record in _shipped_records():
            found[record.name] = _Accumulator(
                set(record.locations), set(record.sources), set(record.techniques), [record.why]
            )
        for group in load_extension_file(extra).tools:
            for name in group.names:
                entry = found.setdefault(name, _Accumulator(set(), set(), set(), []))
                entry.sources.add("user")
                entry.techniques.update(group.techniques)
                # The user's reason is labelled with its file, so that a reader can tell it
                # from the shipped one it follows and knows where to change it.
                why = _sentence(f"{extra.name}: {group.why}")
                if why not in entry.whys:
                    entry.whys.append(why)
            for name, pattern in group.locations():
                found[name].locations.add(pattern)
        return cls(
            ToolEntry(
                name=name,
                locations=tuple(sorted(entry.locations)),
                sources=tuple(sorted(entry.sources)),
                techniques=tuple(sorted(entry.techniques)),
                why=" ".join(_sentence(why) for why in entry.whys if why.strip()),
            )
            for name, entry in sorted(found.items())
        )

    def __len__(self) -> int:
        return len(self._tools)

    def tools(self) -> tuple[ToolEntry, ...]:
        """Every tool, sorted by name (for listing and documentation)."""
        return tuple(self._tools[name] for name in sorted(self._tools))

    def tool(self, file_name: str) -> ToolEntry | None:
        """The entry for a file name (any case), or None when it is not a known tool."""
        return self._tools.get(file_name.strip().lower())

    def names(self, *, posix: bool) -> frozenset[str]:
        """The tool names with at least one standard location on POSIX or on Windows.

        A Windows-only tool found on a Linux host (Wine, a web app's download folder) says
        nothing about masquerading there, so location checks only look at tools of the file's
        platform.
        """
        table = self._posix if posix else self._windows
        return frozenset(name for name, patterns in table.items() if patterns)

    def is_known_tool(self, file_name: str) -> bool:
        """True when the file name (any case) is in the table."""
        return self.tool(file_name) is not None

    def judge(self, path: str) -> LocationJudgement:
        """Judge one file path: standard location, non-standard (T1036.005), or unknown tool."""
        posix = is_posix_path(path)
        key = posix_path_key(path) if posix else windows_path_key(path)
        name = (posixpath.basename(key) if posix else ntpath.basename(key)).lower()
        tool = self._tools.get(name)
        if tool is None:
            reason = f"{name or path!r} is not in the table of legitimate tools"
            return LocationJudgement(Location.UNKNOWN_TOOL, (reason,), (), (), {"name": name})
        candidates = (self._posix if posix else self._windows).get(name, [])
        for pattern, compiled in candidates:
            if compiled.fullmatch(key):
                reason = f"{name} is in a standard location for it ({display_folder(pattern)})"
                data = {"tool": name, "folder": display_folder(pattern)}
                return LocationJudgement(
                    Location.STANDARD, (reason, tool.why), tool.locations, (), data
                )
        return LocationJudgement(
            Location.NONSTANDARD,
            (self._nonstandard_reason(tool, path, posix), tool.why),
            tool.locations,
            (NONSTANDARD_TECHNIQUE,),
            {
                "tool": tool.name,
                "found_in": _found_in(path, posix),
                "expected": list(dict.fromkeys(display_folder(p) for p in tool.locations)),
            },
        )

    @staticmethod
    def _nonstandard_reason(tool: ToolEntry, path: str, posix: bool) -> str:
        folder = _found_in(path, posix) or "(no folder)"
        folders = list(dict.fromkeys(display_folder(pattern) for pattern in tool.locations))
        if not folders:
            return f"{tool.name} has no standard location; found in {folder}"
        listed = " or ".join(folders[:MAX_FOLDERS_IN_REASON])
        more = len(folders) - MAX_FOLDERS_IN_REASON
        if more > 0:
            listed += f" (and {more} more)"
        return f"{tool.name} normally lives in {listed}; found in {folder}"


def _found_in(path: str, posix: bool) -> str:
    """The folder a judged file was found in, as written (Windows separators for Windows)."""
    shown = path.strip() if posix else path.strip().replace("/", "\\")
    return posixpath.dirname(shown) if posix else ntpath.dirname(shown)


@lru_cache(maxsize=8)
def _extended_locations(extra: Path, mtime_ns: int, size: int) -> ToolLocations:
    """``ToolLocations`` with ``extra``, cached by the file's version (its mtime and size)."""
    return ToolLocations._extended(extra)


@cache
def _shipped_locations() -> ToolLocations:
    """Compiled once per process: the shipped table never changes while seawall runs."""
    return ToolLocations(
        ToolEntry(
            name=record.name,
            locations=tuple(record.locations),
            sources=tuple(record.sources),
            techniques=tuple(record.techniques),
            why=record.why,
        )
        for record in _shipped_records()
    )
