"""Dangerous names hidden from a reader, in ASP, ASP.NET, JSP and other non-PHP pages, for
:mod:`seawall.features.webshell`.

A page that means no harm writes ``"java.lang.Runtime"``, ``"WScript.Shell"`` or ``exec`` as
they are. Shells that want to slip past signatures and reviewers spell them in pieces
(``"Scr"&"ipting.File"&"SystemObject"``, ``"ex" + "ec"``), in base64
(``"amF2YS5sYW5nLlJ1bnRpbWU="``) or as character codes (``new byte[]{101,120,101,99}``). This
pass puts the pieces back together and decodes short literals, and scores a page where a name
that runs commands, loads code or reaches the file system appears only so hidden. PHP has its
own de-obfuscation (``tokens``/``flow``). Pure and bounded: a few hundred candidates a file at most.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from seawall.features.webshell.flow import _SRC_RE, _Scorer

__all__ = ["hidden_names"]

_R = re.compile

#: Names (lower case) that a page only hides when it means harm: command and code execution,
#: class loading, and the COM objects of classic ASP shells.
_SENSITIVE = (
    "java.lang.runtime",
    "getruntime",
    "processbuilder",
    "processimpl",
    "unixprocess",
    "forkandexec",
    "defineclass",
    "scriptenginemanager",
    "templatesimpl",
    "urlclassloader",
    "sun.misc.unsafe",
    "system.diagnostics.process",
    "processstartinfo",
    "wscript.shell",
    "scripting.filesystemobject",
    "shell.application",
    "adodb.stream",
    "wscript.network",
    "cmd.exe",
    "/bin/sh",
    "/bin/bash",
)
#: Method names that, as the whole of an assembled or decoded string, are a call hidden by name.
_METHODS = frozenset(
    ("exec", "eval", "execute", "executeglobal", "defineclass", "getruntime", "loadclass", "start")
)
# Two or more string literals joined with ``+`` (Java, C#, JScript) or ``&`` (VBScript, with
# its ``_`` line continuation).
_JOINED_RE = _R(r"(?:\"[^\"\n]{0,80}\"\s*(?:\+|&)\s*(?:_\s*\r?\n\s*)?){1,20}\"[^\"\n]{0,80}\"")
_PIECE_RE = _R(r"\"([^\"\n]{0,80})\"")
_BASE64_RE = _R(rb"[\"']([A-Za-z0-9+/]{8,200}={0,2})[\"']")
_CODES_RE = _R(r"\{\s*((?:\d{2,3}\s*,\s*){3,60}\d{2,3})\s*\}")
_CHARS_RE = _R(r"\{\s*((?:'[^'\\]'\s*,\s*){3,60}'[^'\\]')\s*\}")
_MAX = 300
# A literal reversed at run time: Java ``new StringBuilder("cexe").reverse()``, VBScript
# ``StrReverse("cexe")``, JScript ``"cexe".split("").reverse()``.
_REVERSED_RE = _R(
    r"new\s+string(?:builder|buffer)\s*\(\s*\"([^\"\n]{3,80})\"\s*\)\s*\.\s*reverse\s*\("
    r"|strreverse\s*\(\s*\"([^\"\n]{3,80})\"\s*\)"
    r"|\"([^\"\n]{3,80})\"\s*\.\s*split\s*\(\s*\"\"\s*\)\s*\.\s*reverse\s*\("
)
# A literal with filler taken out at run time: ``"exXXec".replace("XX", "")`` (Java, C#,
# JScript) or ``Replace("exXXec", "XX", "")`` (VBScript).
_REPLACED_RE = _R(
    r"\"([^\"\n]{3,80})\"\s*\.\s*replace(?:all)?\s*\(\s*\"([^\"\n]{1,20})\"\s*,\s*\"([^\"\n]{0,20})\"\s*\)"
    r"|replace\s*\(\s*\"([^\"\n]{3,80})\"\s*,\s*\"([^\"\n]{1,20})\"\s*,\s*\"([^\"\n]{0,20})\"\s*\)"
)


def _named(value: str) -> str | None:
    """The sensitive name ``value`` holds, if any (``value`` lower case)."""
    if value.strip() in _METHODS:
        return value.strip()
    return next((name for name in _SENSITIVE if name in value), None)


# Where two literals meet across ``+`` or ``&``: far cheaper to look for than whole joins.
_JOIN_POINT_RE = _R(r"\"\s*[+&]\s*(?:_\s*\r?\n\s*)?\"")


def _joined(text: str) -> tuple[str, str] | None:
    if not _JOIN_POINT_RE.search(text):
        return None
    for n, m in enumerate(_JOINED_RE.finditer(text)):
        if n > _MAX:
            break
        pieces = _PIECE_RE.findall(m.group(0))
        name = _named("".join(pieces))
        if name and not any(_named(piece) == name for piece in pieces):
            return name, "assembled from pieces"
    return None


_REPLACE_POINT_RE = _R(r"\"\s*\.\s*replace|replace\s*\(\s*\"")


def _rewritten(text: str) -> tuple[str, str] | None:
    if "strreverse" in text or ".reverse(" in text or ". reverse(" in text:
        for n, m in enumerate(_REVERSED_RE.finditer(text)):
            if n > _MAX:
                break
            literal = m.group(1) or m.group(2) or m.group(3) or ""
            if (name := _named(literal[::-1])) and not _named(literal):
                return name, "reversed"
    if not _REPLACE_POINT_RE.search(text):
        return None
    for n, m in enumerate(_REPLACED_RE.finditer(text)):
        if n > _MAX:
            break
        g = m.groups()
        literal, old, new = (g[0], g[1], g[2]) if g[0] is not None else (g[3], g[4], g[5])
        if (name := _named(literal.replace(old, new))) and not _named(literal):
            return name, "behind filler characters removed at run time"
    return None


def _base64(data: bytes) -> tuple[str, str] | None:
    for n, m in enumerate(_BASE64_RE.finditer(data)):
        if n > _MAX:
            break
        literal = m.group(1)
        if len(literal) % 4 or literal.isalpha():  # a word, not an encoding
            continue
        try:
            decoded = base64.b64decode(literal, validate=True)
        except (binascii.Error, ValueError):
            continue
        if decoded.isascii() and (name := _named(decoded.decode("ascii").lower())):
            return name, "in base64"
    return None


def _from_numbers(group: str) -> str:
    return "".join(chr(int(c)) for c in group.split(",") if int(c) < 128)


def _from_chars(group: str) -> str:
    return "".join(c.strip()[1] for c in group.split(","))


def _codes(text: str) -> tuple[str, str] | None:
    decoders: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
        (_CODES_RE, _from_numbers),
        (_CHARS_RE, _from_chars),
    )
    for rx, decode in decoders:
        for n, m in enumerate(rx.finditer(text)):
            if n > _MAX:
                break
            if name := _named(decode(m.group(1)).lower()):
                return name, "as character codes"
    return None


def hidden_names(data: bytes, text: str, sc: _Scorer) -> None:
    """Score a dangerous name found only assembled, base64-encoded or as character codes
    (``data``: the bytes, for case-sensitive base64; ``text``: the lower-cased text)."""
    found = (
        (_joined(text) if '"' in text else None)
        or (_rewritten(text) if "reverse" in text or "replace" in text else None)
        or (_base64(data) if b"=" in data or b'"' in data else None)
        or (_codes(text) if "{" in text else None)
    )
    if found is None:
        return
    name, how = found
    reads = bool(_SRC_RE.search(text))
    sc.add(
        "hidden_name",
        50 if reads else 40,
        f"'{name}' hidden {how} (a name that runs code, spelt so that a reader or signature"
        " misses it)",
    )
