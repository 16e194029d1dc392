"""Request data reaching a sink through a helper function, for :mod:`seawall.features.webshell`.

Full-featured web shells seldom call ``system($_POST['c'])`` in one statement: they define a
helper (``function shell($cmd) { $fp = popen($cmd, "r"); ... }``, VBScript
``Function getOutput(c): Set e = sh.Exec(c)``, C# ``string GetCmd(string cmd) { p.StartInfo...}``)
and call it with request data. This module finds such helpers (a function whose parameter reaches
a command/code sink, or a file write whose path and content are both parameters) and the call
sites that hand them request data. It is one level deep, textual and bounded, like the rest of
the assessor: no parser, nothing executed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from seawall.features.webshell.flow import (
    _SINKS,
    _SRC_RE,
    _label,
    _names_re,
    _Scorer,
    _standalone,
    _statement_at,
    _tainted_names,
)

__all__ = ["wrapped_sinks"]

_MAX_FUNCS = 300
_MAX_BODY = 4000

# PHP ``function f($a, $b) {``, VBScript ``Function f(a, b)`` / ``Sub f(a)``, and C#/Java
# ``private string f(string a, int b) {``.
_DEF_RE = re.compile(
    r"(?:^|[\s;{}>])(?:function|sub)\s+(\w{1,60})\s*\(([^()]{0,300})\)"
    r"|(?:public|private|protected|internal|static)\s+(?:static\s+)?[\w<>\[\].]{1,60}\s+"
    r"(\w{1,60})\s*\(([^()]{0,300})\)\s*\{"
)
_DEF_WORDS = ("function", "sub")
_MODIFIERS = ("public", "private", "protected", "internal", "static")


def _definitions(text: str) -> Iterator[re.Match[str]]:
    """Same matches as ``_DEF_RE.finditer(text)``, but the pattern (whose first character may be
    almost anything) is only tried where a match can start: at 0, just before ``function`` or
    ``sub``, and at a modifier. The first candidate at or after the end of the previous match
    where it matches is exactly where ``finditer`` would find the next one."""
    starts = {0}
    for word in _DEF_WORDS + _MODIFIERS:
        shift = 1 if word in _DEF_WORDS else 0
        at = text.find(word)
        while at >= 0:
            starts.add(at - shift)
            at = text.find(word, at + 1)
    pos = 0
    for start in sorted(starts):
        if start < pos or start < 0:
            continue
        if m := _DEF_RE.match(text, start):
            yield m
            pos = m.end()


_VB_END_RE = re.compile(r"\bend\s+(?:function|sub)\b")
# Sinks that only make sense inside a helper: methods of a shell COM object and of a .NET
# Process (the plain scan treats a bare ``.exec(`` as too common to count).
_METHOD_SINK_RE = re.compile(
    r"\.\s*(?:exec|run|shellexecute)\b\s*\(?|startinfo\s*\.\s*(?:filename|arguments)\s*="
    r"|standardinput\s*\.\s*write(?:line)?\s*\("
)
_SHELL_OBJECT_RE = re.compile(
    r"wscript\.shell|shell\.application|new\s+process\s*\(|processstartinfo"
)
# File writes: (path call, content call) pairs inside one helper.
_WRITE_PATH_RE = re.compile(
    r"savetofile\b|createtextfile\s*\(|file_put_contents\s*\(|fopen\s*\(|writealltext\s*\("
)
_WRITE_PATH_WORDS = ("savetofile", "createtextfile", "file_put_contents", "fopen", "writealltext")
_WRITE_DATA_RE = re.compile(
    r"\.write(?:text|line)?\b|fwrite\s*\(|fputs\s*\(|file_put_contents\s*\(|writealltext\s*\("
)


@dataclass(frozen=True, slots=True)
class _Helper:
    """A function whose parameters at ``positions`` reach a sink (``kind``: command or write)."""

    name: str
    kind: Literal["command", "write"]
    positions: frozenset[int]
    sink: str
    data: frozenset[int] = frozenset()  # write helpers: the parameters holding the content


def _params(raw: str) -> list[str]:
    """Parameter names: ``$a = 1`` -> ``$a``; ``ByVal a`` -> ``a``; ``string a`` -> ``a``."""
    out: list[str] = []
    for part in raw.split(","):
        words = re.findall(r"\$?\w+", part.split("=")[0])
        out.append(words[-1] if words else "")
    return out


def _body(text: str, start: int, vb: bool) -> str:
    """The helper's body: up to ``End Function`` (VBScript) or the matching brace."""
    window = text[start : start + _MAX_BODY]
    if vb:
        m = _VB_END_RE.search(window)
        return window[: m.start()] if m else window
    depth = 0
    for i, ch in enumerate(window):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth <= 0:
                return window[:i]
    return window


def _uses(stmt: str, params: list[str]) -> set[int]:
    """Indices of the parameters named in ``stmt``."""
    return {
        i for i, p in enumerate(params) if p and re.search(rf"(?<![\w$]){re.escape(p)}(?!\w)", stmt)
    }


def _used_by(body: str, pattern: re.Pattern[str], params: list[str]) -> set[int]:
    """Parameters named in the statements where ``pattern`` matches."""
    found: set[int] = set()
    for m in pattern.finditer(body):
        found |= _uses(_statement_at(body, m.start()), params)
    return found


def _helpers(text: str) -> Iterator[_Helper]:
    shell_object = bool(_SHELL_OBJECT_RE.search(text))
    # The sink alternation reduced to what occurs in ``text`` (None: no sink anywhere); bodies and
    # windows below are slices of ``text``, so it finds the same sinks in them as the full regex.
    sink_re = _SINKS.on(text)
    # Same for file writes: each alternative of _WRITE_PATH_RE starts with one of these words.
    write_path = any(word in text for word in _WRITE_PATH_WORDS)
    if sink_re is None and not write_path and not shell_object:
        return  # no helper can reach a sink: skip the costly scan for function definitions
    for n, m in enumerate(_definitions(text)):
        if n >= _MAX_FUNCS:
            return
        name = m.group(1) or m.group(3)
        params = _params(m.group(2) if m.group(1) else m.group(4))
        if not any(params):
            continue
        end = m.end() + _MAX_BODY
        if not (
            (sink_re is not None and sink_re.search(text, m.end(), end))
            or (write_path and _WRITE_PATH_RE.search(text, m.end(), end))
            or (shell_object and _METHOD_SINK_RE.search(text, m.end(), end))
        ):
            continue
        vb = m.group(1) is not None and "{" not in text[m.end() : m.end() + 40]
        if m.group(1) and not vb and not all(p.startswith("$") for p in params if p):
            continue  # JavaScript in the page (runs in the browser), not a PHP function
        body = _body(text, m.end(), vb)
        sinks = (
            [] if sink_re is None else [s for s in sink_re.finditer(body) if _standalone(body, s)]
        )
        if shell_object:
            sinks += list(_METHOD_SINK_RE.finditer(body))
        for s in sinks:
            stmt = _statement_at(body, s.start())
            if s.group(0).endswith("$"):  # callback sink: only the callback itself counts
                stmt = _arguments(stmt)[0]
            used = _uses(stmt, params)
            if used:
                yield _Helper(name, "command", frozenset(used), _label(s.group(0)))
                break
        else:
            paths = _used_by(body, _WRITE_PATH_RE, params)
            data = _used_by(body, _WRITE_DATA_RE, params)
            if any(p != d for p in paths for d in data):
                yield _Helper(name, "write", frozenset(paths), "file write", frozenset(data))


def _arguments(stmt: str) -> list[str]:
    """Top-level comma-separated arguments of the call whose name starts ``stmt``."""
    m = re.match(r"\w+\s*\(?", stmt)
    rest = stmt[m.end() if m else 0 :]
    args: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in rest:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                break
        if ch == "," and depth == 0:
            args.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    args.append("".join(cur))
    return args


def wrapped_sinks(text: str, sc: _Scorer) -> None:
    """Request data passed to a helper function that runs it or writes it to a file."""
    if sc.features.get("request_to_sink") or sc.features.get("request_var_to_sink"):
        return
    if not _SRC_RE.search(text):
        return
    helpers = {h.name: h for h in _helpers(text)}
    if not helpers:
        return
    tainted = _names_re(_tainted_names(text))

    def from_request(s: str) -> bool:
        return bool(_SRC_RE.search(s) or (tainted is not None and tainted.search(s)))

    calls = re.compile(r"(?<![\w$>:.])(" + "|".join(map(re.escape, helpers)) + r")\b(?!\s*=)")
    for n, m in enumerate(calls.finditer(text)):
        if n > 500:
            return
        if re.search(r"(?:function|sub)[ \t]+$", text[max(0, m.start() - 12) : m.start()]):
            continue  # the definition itself (not ``End Function`` on the line before a call)
        helper = helpers[m.group(1)]
        args = _arguments(_statement_at(text, m.start()))
        hit = [i for i in helper.positions if i < len(args) and from_request(args[i])]
        if helper.kind == "command" and hit:
            sc.add(
                "request_to_sink",
                70,
                f"request data passed to {helper.sink} through helper {helper.name}()",
            )
            return
        data = [i for i in helper.data if i < len(args) and from_request(args[i])]
        if helper.kind == "write" and any(p != d for p in hit for d in data):
            if sc.features.get("request_file_write"):
                return
            sc.add(
                "request_file_write",
                55,
                f"helper {helper.name}() writes request data to a file named by the request",
            )
            return
