"""YARA matches of the shipped signature-base set, extracted at collect time (``files.yara``).

**What is scanned.** The whole set costs ~1-3 ms a file and runs at 6-40 MB/s a core on text here,
many times slower than hashing, so a default sweep scans what web shells and
dropped tools are made of and leaves the rest (``policy`` ``"default"``):

* server-side scripts by extension, anywhere: every extension a web server runs (``.php``,
  ``.asp``, ``.aspx``, ``.jsp``, ``.cfm``… as :mod:`seawall.features.webshell` knows them), except
  the general-purpose interpreters' (``.py``, ``.pl``, ``.pm``, ``.rb``, ``.sh``), which are
  scanned under a web root or a ``cgi-bin`` folder only (a system holds tens of thousands);
* any file whose content is PHP, and any file under a web root whose first bytes hold
  server-side code markers (a web shell saved as ``logo.gif``);
* executables by content (PE, ELF, Mach-O) outside the system's own folders: anywhere but
  ``C:\\Windows`` (less its user-writable folders such as ``Temp`` and ``Tasks``) and the two
  ``Program Files`` on Windows, and ``/usr``, ``/bin``, ``/sbin``, ``/lib*``, ``/opt``,
  ``/boot``, ``/snap`` and ``/nix/store`` on Linux (of the swept root, when it is a mounted
  system volume); web roots are never a system folder. So ``Users``, ``ProgramData``, ``Temp``,
  ``inetpub``, ``/tmp``, ``/var/tmp``, ``/dev/shm`` and home folders are scanned.

``"all"`` (``collect files --yara-all``) scans every regular file up to ``MAX_BYTES``; ``"off"``
(``--no-default-yara``) none.

**External variables** are set as Loki sets them: ``filename`` (the name), ``filepath`` (the
full path; the Windows path, in its original case, when the file lies under a root map),
``extension`` (lower-case, with its dot: ``.php``), ``filetype`` (Loki's magic-based type name,
see :func:`loki_filetype`), ``md5`` (the file's MD5, which Loki also passes); and ``owner``: the
file's owner as the sweep records it (THOR passes the owner; Loki passes ``"dummy"``; empty for a
mounted Windows volume, whose owners are SIDs seawall does not read).

**What is stored**, per scanned file: ``{"set": <version>, "hits": [...]}`` with, per matching
rule, its name, namespace (upstream file), tags, meta (author, reference, description, score,
date: the DRL asks that findings keep the author) and up to ``MAX_STRINGS`` matched strings
(identifier, offset, length and a short excerpt, escaped). A file the policy selects but that is
over the size cap or times out gets a ``note`` instead of a scan; files not selected have no
value (``NULL``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from seawall.collect.paths import RootMap, windows_form
from seawall.features.webshell import WEB_EXTENSIONS, is_web_root

if TYPE_CHECKING:
    import yara_x

    from seawall.features.yara_set import Loaded, Scope

YaraMode = Literal["off", "default", "all"]
#: Bumped whenever the default policy selects differently: unchanged files swept under another
#: policy are read again.
POLICY_VERSION = 1
#: Largest file scanned (executables, and any file with ``"all"``).
MAX_BYTES = 32 * 1024 * 1024
#: Largest script scanned (web shells are small; the web-shell assessment reads as much).
MAX_SCRIPT_BYTES = 4 * 1024 * 1024
TIMEOUT_SECONDS = 30
MAX_STRINGS = 8
EXCERPT_BYTES = 48
META_KEYS = ("author", "reference", "description", "score", "date")

_INTERPRETERS = frozenset({".py", ".pl", ".pm", ".rb", ".sh"})
SCRIPT_EXTENSIONS: frozenset[str] = WEB_EXTENSIONS - _INTERPRETERS
EXECUTABLE_LABELS = frozenset({"pe32", "pe32+", "msdos", "elf", "macho"})
# First bytes of executables, whatever libmagic makes of the rest (a damaged or truncated PE).
_EXECUTABLE_MAGIC = (
    (b"MZ", "EXE"),
    (b"\x7fELF", "ELF"),
    (b"\xfe\xed\xfa\xce", "MACH-O"),
    (b"\xfe\xed\xfa\xcf", "MACH-O"),
    (b"\xce\xfa\xed\xfe", "MACH-O"),
    (b"\xcf\xfa\xed\xfe", "MACH-O"),
)

_FIRST_BYTES = frozenset(magic[:1] for magic, _ in _EXECUTABLE_MAGIC)


def executable_type(label: str, head: bytes) -> str | None:
    """Loki's type name of an executable (``EXE``, ``ELF``, ``MACH-O``), or ``None``."""
    if head[:1] not in _FIRST_BYTES:
        return None
    for magic, name in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return name
    return _BY_LABEL.get(label) if label in EXECUTABLE_LABELS else None


# Server-side code in a file's first bytes (a script saved under an image's name).
_SERVER_CODE = re.compile(rb"<\?php|<\?=|<%[@=!]?|runat\s*=\s*[\"']?server", re.IGNORECASE)
_CGI = re.compile(r"(?:^|[/\\])cgi-bin(?:[/\\]|$)", re.IGNORECASE)

# Windows folders a standard user (or any service) can write below C:\Windows: executables there
# are scanned like any other drop folder.
_WINDOWS_WRITABLE = (
    "c:\\windows\\temp\\",
    "c:\\windows\\tasks\\",
    "c:\\windows\\tracing\\",
    "c:\\windows\\debug\\",
    "c:\\windows\\registration\\crmlog\\",
    "c:\\windows\\servicing\\",
    "c:\\windows\\system32\\tasks\\",
    "c:\\windows\\system32\\spool\\",
    "c:\\windows\\system32\\com\\dmp\\",
    "c:\\windows\\system32\\fxstmp\\",
    "c:\\windows\\system32\\microsoft\\crypto\\rsa\\machinekeys\\",
    "c:\\windows\\syswow64\\tasks\\",
    "c:\\windows\\syswow64\\com\\dmp\\",
    "c:\\windows\\syswow64\\fxstmp\\",
)
_WINDOWS_SYSTEM = ("c:\\windows\\", "c:\\program files\\", "c:\\program files (x86)\\")
_POSIX_SYSTEM = re.compile(r"^/(?:usr|bin|sbin|lib|lib32|lib64|libx32|opt|boot|snap|nix/store)/")


@dataclass(frozen=True, slots=True)
class YaraPolicy:
    """What a sweep scans with the shipped set; sent to the workers with each job."""

    mode: YaraMode = "default"
    maps: tuple[RootMap, ...] = ()
    """Every root map of the sweep (given and assumed): the Windows form of ``filepath``."""
    system_roots: tuple[bytes, ...] = field(default=())
    """Swept roots that are mounted Linux system volumes: folders are judged below them."""

    @property
    def key(self) -> str:
        """What the run records: unchanged files re-use a previous row only under the same
        key (or a previous ``all``), see ``seawall.collect.previous``."""
        return self.mode if self.mode != "default" else f"default/{POLICY_VERSION}"


def is_system_folder(path: str, windows: str | None, system_roots: tuple[bytes, ...] = ()) -> bool:
    """Whether an executable at ``path`` (its Windows form ``windows`` if mapped) sits in the
    system's own folders, which the default policy does not scan."""
    if windows is not None:
        lowered = windows.lower()
        return lowered.startswith(_WINDOWS_SYSTEM) and not lowered.startswith(_WINDOWS_WRITABLE)
    if is_web_root(path):
        return False
    for root in system_roots:
        text = root.decode("utf-8", "surrogateescape").rstrip("/")
        if path.startswith(text + "/"):
            return bool(_POSIX_SYSTEM.match(path[len(text) :]))
    return bool(_POSIX_SYSTEM.match(path))


def extension_of(name: str) -> str:
    """Python's ``os.path.splitext`` suffix, lower-cased, as Loki computes it."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 and name[:dot].strip(".") else ""


def selected(
    policy: YaraPolicy, path: str, windows: str | None, label: str, head: bytes, size: int
) -> bool:
    """Whether the policy scans this file (``label``: its content type)."""
    if policy.mode == "off":
        return False
    if policy.mode == "all":
        return True
    if executable_type(label, head) is not None:
        return not is_system_folder(path, windows, policy.system_roots)
    # asked of every file: no function call or copy more than needed (a name starting with its
    # only dot, ``.bashrc``, has no extension)
    slash, dot = path.rfind("/"), path.rfind(".")
    extension = path[dot:].lower() if dot > slash + 1 else ""
    if extension in SCRIPT_EXTENSIONS or label == "php":
        return True
    # the folder's verdict is cached: files come folder by folder
    web = _web_folder(path[:slash]) or (
        windows is not None and _web_folder(windows[: windows.rfind("\\")] + "\\")
    )
    if extension in _INTERPRETERS:
        return web or bool(_CGI.search(path))
    return web and bool(_SERVER_CODE.search(head))


@lru_cache(maxsize=4096)
def _web_folder(folder: str) -> bool:
    """``is_web_root`` of a folder (a POSIX one without its last ``/``, a Windows one with its
    ``\\``)."""
    return is_web_root(folder if folder.endswith("\\") else folder + "/")


def size_cap(label: str, head: bytes, mode: YaraMode) -> int:
    executable = executable_type(label, head) is not None
    return MAX_BYTES if mode == "all" or executable else MAX_SCRIPT_BYTES


# Loki types a file by its first bytes against signature-base's misc/file-type-signatures.txt;
# these are the type names that signature-base's rules compare ``filetype`` with, from the same
# magic (seawall's content label, then the head's first bytes).
_BY_LABEL = {
    "pe32": "EXE",
    "pe32+": "EXE",
    "msdos": "EXE",
    "elf": "ELF",
    "macho": "MACH-O",
    "php": "PHP",
    "zip": "ZIP",
    "jar": "ZIP",
    "office": "ZIP",
    "rar": "RAR",
    "7z": "7ZIP",
    "gzip": "GZIP",
    "cab": "CAB",
    "pdf": "PDF",
    "ole": "MS Office",
    "lnk": "LNK",
    "evtx": "EVTX",
    "registry": "REGISTRY",
}
_BY_HEAD: tuple[tuple[re.Pattern[bytes], str], ...] = (
    (re.compile(rb"\{\\rtf"), "RTF"),
    (re.compile(rb"MDMP"), "MDMP"),
    (re.compile(rb"<\?php|<\?="), "PHP"),
    (re.compile(rb"<%@\s*page\b[^>]{0,200}\bjava|<%@\s*page\s+import|<jsp:", re.I), "JSP"),
    (re.compile(rb"<%"), "ASP"),
    (re.compile(rb"@echo off", re.I), "BATCH"),
    (re.compile(rb"#!\S*python"), "Python"),
    (re.compile(rb"#!\S*(?:pwsh|powershell)", re.I), "PowerShell"),
    (re.compile(rb"TV(?:qQ|pQ|oA|ro)"), "Base64 Encoded EXE"),
)


def loki_filetype(label: str, head: bytes) -> str:
    """Loki's type name for a file (``"UNKNOWN"`` when none applies)."""
    executable = executable_type(label, head)
    if executable is not None:
        return executable
    if label in _BY_LABEL:
        return _BY_LABEL[label]
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    for pattern, name in _BY_HEAD:
        if pattern.match(start):
            return name
    return "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Externals:
    filename: str
    filepath: str
    extension: str
    filetype: str
    owner: str
    md5: str

    def items(self) -> tuple[tuple[str, str], ...]:
        return (
            ("filename", self.filename),
            ("filepath", self.filepath),
            ("extension", self.extension),
            ("filetype", self.filetype),
            ("owner", self.owner),
            ("md5", self.md5),
        )


def windows_of(path: bytes, policy: YaraPolicy) -> str | None:
    """The file's Windows path in its original case, when it lies under a root map."""
    return windows_form(path, list(policy.maps)) if policy.maps else None


def externals_for(
    path: str, windows: str | None, label: str, head: bytes, owner: str | None, md5: str
) -> Externals:
    """Loki's external variables for one file (``windows``: see :func:`windows_of`)."""
    filepath = windows if windows is not None else path
    sep = "\\" if windows is not None else "/"
    name = filepath[filepath.rfind(sep) + 1 :]
    return Externals(
        filename=name,
        filepath=filepath,
        extension=extension_of(name),
        filetype=loki_filetype(label, head),
        owner=owner or "",
        md5=md5,
    )


# -- scanning (one scanner per process, made on first use) ---------------------------------------


@dataclass(slots=True)
class _State:
    scanner: yara_x.Scanner
    version: str
    note: str | None


_states: dict[str, _State] = {}


def scanner_state(scope: Scope) -> _State:
    """The process's scanner over the shipped set ``scope``, loaded the first time it is needed
    (a sweep that meets no file to scan never pays for the rules; one that meets only scripts
    loads only the scripts' set)."""
    state = _states.get(scope)
    if state is None:
        import yara_x

        from seawall.features.yara_set import load, set_info

        loaded: Loaded = load(scope)
        scanner = yara_x.Scanner(loaded.rules)
        scanner.set_timeout(TIMEOUT_SECONDS)
        state = _states[scope] = _State(scanner, set_info().version, loaded.note)
    return state


def excerpt(data: bytes) -> str:
    """Printable ASCII kept, anything else as ``\\xNN``: safe to print and to store."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in data)


def _meta(rule: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, value in rule.metadata:
        name = str(key).lower()
        if name in META_KEYS and name not in meta:
            meta[name] = value if isinstance(value, int | float | bool) else str(value)
    return meta


def hits_of(results: Any, data: bytes) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for rule in results.matching_rules:
        strings: list[dict[str, Any]] = []
        for pattern in rule.patterns:
            for match in pattern.matches:
                if len(strings) >= MAX_STRINGS:
                    break
                piece = data[match.offset : match.offset + min(match.length, EXCERPT_BYTES)]
                strings.append(
                    {
                        "id": pattern.identifier,
                        "offset": match.offset,
                        "length": match.length,
                        "excerpt": excerpt(piece),
                    }
                )
        hits.append(
            {
                "rule": rule.identifier,
                "namespace": rule.namespace,
                "tags": list(rule.tags),
                "meta": _meta(rule),
                "strings": strings,
            }
        )
    return hits


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    value: str
    """The ``files.yara`` JSON."""
    matched: bool
    warning: str | None = None


def scope_for(label: str, head: bytes, mode: YaraMode) -> Scope:
    """Executables, and every file under ``--yara-all``, get every rule; other files (the
    server-side scripts of the default policy) the web-shell and exploitation rules."""
    return "all" if mode == "all" or executable_type(label, head) is not None else "scripts"


def scan(data: bytes, externals: Externals, scope: Scope = "all") -> ScanOutcome:
    """Scan ``data`` with the shipped set ``scope`` under ``externals``."""
    import yara_x

    state = scanner_state(scope)
    for name, value in externals.items():
        state.scanner.set_global(name, value)
    try:
        results = state.scanner.scan(data)
    except yara_x.TimeoutError:
        note = f"YARA scan timed out after {TIMEOUT_SECONDS} s"
        return ScanOutcome(_document(state.version, scope, [], note), False, note)
    except yara_x.ScanError as error:
        note = f"YARA scan failed: {error}"
        return ScanOutcome(_document(state.version, scope, [], note), False, note)
    hits = hits_of(results, data)
    warning, state.note = state.note, None  # said once per process
    return ScanOutcome(_document(state.version, scope, hits), bool(hits), warning)


def not_scanned(note: str, scope: Scope) -> str:
    """The stored value of a selected file that was not scanned (too large)."""
    from seawall.features.yara_set import set_info

    return _document(set_info().version, scope, [], note)


def _document(
    version: str, scope: Scope, hits: list[dict[str, Any]], note: str | None = None
) -> str:
    doc: dict[str, Any] = {"set": version, "scope": scope, "hits": hits}
    if note:
        doc["note"] = note
    return json.dumps(doc, sort_keys=True)
