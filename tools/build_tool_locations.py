"""Build the shipped "where legitimate tools live" table from LOLBAS and our extension file.

AA21-200A's hashes include genuine tools run from odd folders, so seawall judges each hit by its
location (``seawall.triage.locations``). LOLBAS documents the ``Full_Path`` of ~240 Microsoft
binaries, scripts and libraries; ``src/seawall/data/locations/extra-tools.yml`` adds the
dual-use tools the advisory names or implies and the system binaries actors borrow names from.

LOLBAS paths are written for people, so they are normalised into patterns:

* ``C:\\Windows`` → ``%systemroot%``, ``C:\\Program Files (x86)`` → ``%programfiles(x86)%``,
  ``C:\\Program Files`` → ``%programfiles%``, ``C:\\ProgramData`` → ``%programdata%``,
  ``C:\\Users\\<username>`` (or ``<user>``, ``user``) → ``%userprofile%``;
* placeholders (``<version>``, ``<version_packageid>``) and version-only folders
  (``4.18.2008.9-0``, ``114.0.1823.43``) → ``*``, as are WinSxS component folders and the
  version part of Store package folders (``microsoft.windowsterminal_*``);
* entries that are not locations (``no default``, ``C:\\there\\is\\no\\default\\...``) are
  dropped and listed on stderr.

A tool is keyed by the file name in the path, not the LOLBAS ``Name`` (``Dfshim.dll``'s paths
are ``Dfsvc.exe``): the judgement looks up the name on disk. The output is deterministic (sorted,
no dates) so a rebuild reproduces the shipped JSON byte for byte, which a test checks.

Usage (from the project root)::

    python tools/build_tool_locations.py [--lolbas ../shared/data/filesystem/lolbas/yml] \
        [--extra src/seawall/data/locations/extra-tools.yml] \
        [--out src/seawall/data/locations/tool-locations.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from seawall.triage.locations import (
    FORMAT,
    ToolRecord,
    ToolTable,
    check_technique,
    load_extension_file,
    normalise_folder,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOLBAS = ROOT.parent / "shared" / "data" / "filesystem" / "lolbas" / "yml"
DEFAULT_EXTRA = ROOT / "src" / "seawall" / "data" / "locations" / "extra-tools.yml"
DEFAULT_OUT = ROOT / "src" / "seawall" / "data" / "locations" / "tool-locations.json"

# Longest first: "c:\program files (x86)" must win over "c:\program files".
_PREFIXES = (
    ("c:\\program files (x86)", "%programfiles(x86)%"),
    ("c:\\program files", "%programfiles%"),
    ("c:\\programdata", "%programdata%"),
    ("c:\\windows", "%systemroot%"),
)
_USER_PROFILE = re.compile(r"^c:\\users\\(?:<[^>\\]*>|user)(?=\\)")
_NO_DEFAULT = re.compile(r"no[ \\]default")
_PLACEHOLDER = re.compile(r"<[^>\\]*>")
_VERSION_FOLDER = re.compile(r"^\d+(?:\.\d+)+(?:-\d+)?$")
_STORE_PACKAGE = re.compile(r"^([a-z0-9.]+)_\d+(?:\.\d+)+_[a-z0-9]+__[a-z0-9]+$")


@dataclass
class _Tool:
    locations: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    techniques: set[str] = field(default_factory=set)
    whys: list[str] = field(default_factory=list)
    lolbas_entries: set[str] = field(default_factory=set)


def lolbas_pattern(raw: str) -> str | None:
    """The pattern for one LOLBAS ``Full_Path``, or None when it names no real location."""
    text = raw.strip().replace("/", "\\").lower()
    if _NO_DEFAULT.search(text) or not re.match(r"^[a-z]:\\", text):
        return None
    text = _USER_PROFILE.sub("%userprofile%", text)
    for prefix, variable in _PREFIXES:
        if text == prefix or text.startswith(prefix + "\\"):
            text = variable + text[len(prefix) :]
            break
    parts = text.split("\\")
    for index, part in enumerate(parts[:-1]):
        part = _PLACEHOLDER.sub("*", part)
        if _VERSION_FOLDER.match(part):
            part = "*"
        package = _STORE_PACKAGE.match(part)
        if package is not None:
            part = package.group(1) + "_*"
        if index > 0 and parts[index - 1] == "winsxs" and parts[0] == "%systemroot%":
            part = "*"
        parts[index] = part
    folder = normalise_folder("\\".join(parts[:-1]))
    return f"{folder}\\{parts[-1]}"


_ARCHITECTURES = ("x86", "x64", "arm", "arm64")
_PROGRAM_FILES = ("%programfiles%", "%programfiles(x86)%")


def sibling_patterns(pattern: str) -> set[str]:
    """The pattern and the folders Windows installs the same binary in alongside it.

    LOLBAS lists one path per binary, but a 64-bit Windows ships its 32-bit twin: System32 and
    the Windows folder have a SysWOW64 copy, .NET has ``Framework`` and ``Framework64`` (of any
    version), applications install under either Program Files, and the Windows Kits ship one
    folder per architecture. Checked on xcyclopedia's known-good binaries
    (``benchmarks/masquerade_eval.py``), where these were most of the copies judged out of place.
    """
    found = {pattern}
    folder, _, name = pattern.rpartition("\\")
    for prefix in ("%systemroot%\\system32", "%systemroot%\\syswow64"):
        if folder == prefix or folder.startswith(prefix + "\\"):
            rest = folder[len(prefix) :]
            found |= {f"%systemroot%\\{bits}{rest}\\{name}" for bits in ("system32", "syswow64")}
    if folder == "%systemroot%":
        found.add(f"%systemroot%\\syswow64\\{name}")
    dotnet = re.match(r"^%systemroot%\\microsoft\.net\\framework(?:64)?\\v[^\\]*(.*)$", folder)
    if dotnet is not None:
        found |= {
            f"%systemroot%\\microsoft.net\\{bits}\\v*{dotnet.group(1)}\\{name}"
            for bits in ("framework", "framework64")
        }
    for current in list(found):
        head, _, rest = current.partition("\\")
        if head in _PROGRAM_FILES:
            found |= {f"{other}\\{rest}" for other in _PROGRAM_FILES}
    for current in list(found):
        if "\\windows kits\\" in current:
            parts = current.split("\\")
            for index, part in enumerate(parts[:-1]):
                if part in _ARCHITECTURES:
                    found |= {
                        "\\".join([*parts[:index], a, *parts[index + 1 :]]) for a in _ARCHITECTURES
                    }
    return found


def read_lolbas(
    directory: Path, tools: dict[str, _Tool], dropped: list[str], homeless: dict[str, _Tool]
) -> list[Path]:
    """Merge every LOLBAS YAML file into ``tools``; returns the files read, sorted.

    Entries without any real location go to ``homeless`` (by lower-case ``Name``): their ATT&CK
    ids still enrich a tool that ``extra-tools.yml`` gives a location (e.g. procdump.exe).
    """
    files = sorted(directory.rglob("*.yml"), key=lambda p: p.relative_to(directory).as_posix())
    for path in files:
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        label = str(entry["Name"])
        techniques = {
            check_technique(str(command["MitreID"]).strip())
            for command in entry.get("Commands") or []
            if command.get("MitreID")
        }
        for item in entry.get("Full_Path") or []:
            raw = str(item.get("Path") or "")
            pattern = lolbas_pattern(raw)
            if pattern is None:
                dropped.append(f"{path.relative_to(directory).as_posix()}: {raw!r}")
                spare = homeless.setdefault(label.lower(), _Tool())
                spare.techniques.update(techniques)
                spare.lolbas_entries.add(label)
                continue
            tool = tools.setdefault(pattern.rsplit("\\", 1)[1], _Tool())
            tool.locations.update(sibling_patterns(pattern))
            tool.sources.add("lolbas")
            tool.techniques.update(techniques)
            tool.lolbas_entries.add(label)
            why = f"LOLBAS {label}: {str(entry.get('Description') or '').strip()}"
            if why not in tool.whys:
                tool.whys.append(why)
    return files


def read_extra(path: Path, tools: dict[str, _Tool]) -> None:
    """Merge our hand-written extension file; its ``why`` comes first (it is about the hunt)."""
    for group in load_extension_file(path).tools:
        for name in group.names:
            tool = tools.setdefault(name, _Tool())
            tool.sources.add("extra")
            tool.techniques.update(group.techniques)
            tool.whys.insert(0, group.why)
        for name, pattern in group.locations():
            # Hand-written folders are taken as written (lsass.exe has no SysWOW64 twin).
            tools[name].locations.add(pattern)


def digest(files: Iterable[Path], directory: Path) -> str:
    """One SHA-256 over the LOLBAS files read (names and bytes), recorded for provenance."""
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def build(lolbas: Path, extra: Path) -> tuple[str, list[str]]:
    """The JSON text of the table and the LOLBAS paths that were dropped."""
    tools: dict[str, _Tool] = {}
    dropped: list[str] = []
    homeless: dict[str, _Tool] = {}
    files = read_lolbas(lolbas, tools, dropped, homeless)
    read_extra(extra, tools)
    for name, spare in homeless.items():
        if name in tools:
            tools[name].sources.add("lolbas")
            tools[name].techniques.update(spare.techniques)
            tools[name].lolbas_entries.update(spare.lolbas_entries)
    records = [
        ToolRecord(
            name=name,
            locations=sorted(tool.locations),
            sources=sorted(tool.sources),
            techniques=sorted(tool.techniques),
            why=" ".join(tool.whys),
            lolbas_entries=sorted(tool.lolbas_entries),
        )
        for name, tool in sorted(tools.items())
    ]
    table = ToolTable(
        format=FORMAT,
        lolbas={
            "project": "https://github.com/LOLBAS-Project/LOLBAS",
            "licence": "GPL-3.0",
            "files": len(files),
            "sha256": digest(files, lolbas),
        },
        tools=records,
    )
    text = json.dumps(table.model_dump(), indent=1, sort_keys=True, ensure_ascii=False)
    return text + "\n", dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lolbas", type=Path, default=DEFAULT_LOLBAS)
    parser.add_argument("--extra", type=Path, default=DEFAULT_EXTRA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    text, dropped = build(args.lolbas, args.extra)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    for item in dropped:
        print(f"dropped (not a location): {item}", file=sys.stderr)
    table = json.loads(text)
    locations = sum(len(tool["locations"]) for tool in table["tools"])
    print(f"{args.out}: {len(table['tools'])} tools, {locations} locations", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
