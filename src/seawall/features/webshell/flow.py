"""Request-data flow and de-obfuscation passes of :mod:`seawall.features.webshell`.

The assessor's core question is whether request data reaches something that runs code or
commands. This module holds the patterns for request sources and code/command sinks, the rough
statement and taint helpers built on them, and the passes that follow a flow through callbacks,
backticks, droppers, eval() wrappers, packed lines and constant-folded names. Like the assessor,
everything here is a pure, bounded function of the (lower-cased, latin-1 decoded) text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache

from seawall.features.webshell.alternation import Alternation, each
from seawall.features.webshell.tokens import (
    DANGEROUS,
    decoded_literals,
    fold_expression,
    join_literals,
)

_I = re.IGNORECASE

# Request data, by language. PHP superglobals are case-sensitive in PHP itself.
_PHP_SRC = (
    r"\$_(?:get|post|request|cookie|files)\b|\$_server\s*\[\s*['\"]http_"
    r"|\$http_(?:get|post|cookie)_vars|getallheaders\s*\(|php://input"
    r"|getenv\s*\(\s*['\"]http_"
)
# The "not part of a longer name" look-behinds sit after the literal ``request`` (same matches as
# ``(?<![\w$>.])request`` / ``\brequest``) and the alternatives are not wrapped in groups: every
# alternative then starts with a literal, and the regex engine skips ahead on first characters
# (10x faster on a whole file; this regex is searched several times per file).
_ASP_SRC = (
    r"request(?<![\w$>.]request)\s*"
    r"(?:\.\s*(?:form|querystring|item|cookies|params|headers|inputstream)\b|[\(\[])"
)
_JSP_SRC = (
    r"request(?<!\wrequest)\s*\.\s*"
    r"(?:getparameter|getheader|getinputstream|getreader|getquerystring)\b"
)
_SRC_RE = re.compile(rf"{_PHP_SRC}|{_ASP_SRC}|{_JSP_SRC}")
# Every _SRC_RE match holds one of these, in any slice of a text: without them, no request data.
_SRC_LITERALS = ("$_", "$http_", "getallheaders", "php://input", "getenv", "request")


def _maybe_request(text: str) -> bool:
    """False when :data:`_SRC_RE` cannot match in ``text`` or in any slice of it."""
    return any(literal in text for literal in _SRC_LITERALS)


# Code-evaluation sinks (run attacker-supplied code). Patterns that search whole files are
# matched on lower-cased text without flags or leading look-behinds, so that the regex engine can
# skip ahead on their first characters (10x faster); the "not a method call" check is done in
# Python by _standalone().
_CODE_SINK = [
    *each("eval assert create_function executeglobal execute", r"\s*\("),
    *each(
        "call_user_func_array call_user_func array_map array_filter array_walk usort uasort"
        " uksort register_shutdown_function register_tick_function ob_start",
        r"\s*\(\s*\$",
    ),
    *each("executeglobal execute eval", r"\s+(?=[\w(\"])"),  # VBScript: Execute request("x")
    ("php://input", r"include\s*\(?\s*(?=['\"]php://input)"),
    ("php://input", r"require\s*\(?\s*(?=['\"]php://input)"),
    ("executestatement", r"\.\s*executestatement\s*\("),
    ("assembly", r"assembly\s*\.\s*load\s*\("),
    ("invoke", r"\.\s*invoke\s*\("),
    ("definedclass", r"definedclass\s*\("),
    ("defineclass", r"defineclass\s*\("),
    ("jscript.eval", r"jscript\.eval"),
    (re.compile(r"new\s+function"), r"new\s+function\s*\("),
]
# Operating-system command sinks.
_CMD_SINK = [
    *each("system exec passthru shell_exec popen proc_open pcntl_exec", r"\s*\("),
    ("wscript.shell", r"wscript\.shell"),
    ("shell.application", r"shell\.application"),
    ("getruntime", r"getruntime\s*\(\s*\)\s*\.\s*exec\s*\("),
    ("processbuilder", r"new\s+processbuilder\b"),
    ("process", r"process\s*\.\s*start\s*\("),
    ("processstartinfo", r"processstartinfo\b"),
    ("startinfo", r"startinfo\s*\.\s*(?:filename|arguments)\s*="),
    ("standardinput", r"standardinput\s*\.\s*writeline\s*\("),
    ("winexec", r"winexec\b"),
    ("cmd.exe", r"cmd\.exe\s+/c\b"),
    ("cmd", r"cmd\s+/c\b"),
]
_SINKS = Alternation([*_CODE_SINK, *_CMD_SINK])
_CMD_SINKS = Alternation(_CMD_SINK)
# Functions that call a callback given anywhere among their arguments.
_CALLBACKS = Alternation(
    [
        *each(
            "call_user_func_array call_user_func array_map array_filter array_walk_recursive"
            " array_walk array_reduce usort uasort uksort array_intersect_ukey"
            " array_intersect_uassoc array_diff_ukey array_diff_uassoc array_udiff_assoc"
            " array_udiff_uassoc array_udiff array_uintersect_assoc array_uintersect_uassoc"
            " array_uintersect forward_static_call_array forward_static_call"
            " register_shutdown_function register_tick_function ob_start iterator_apply"
            " preg_replace_callback set_error_handler set_exception_handler",
            r"\s*\(",
        ),
        ("fromcallable", r"fromcallable\s*\("),
    ]
)
_DANGER_ARG_RE = re.compile(
    r"(?<![\w$>:])['\"]?(?:" + "|".join(sorted(DANGEROUS)) + r")['\"]?\s*[,)]"
    r"|(?:base64_decode|str_rot13|strrev|gzinflate|hex2bin|str_replace)\s*\(|[\])]\s*\.\s*[$'\"]"
    r"|\$\w+\s*\.\s*['\"]"
)
_LITERAL_CALLBACK_RE = re.compile(r"^\(\s*['\"][\w:]+['\"]\s*,|,\s*['\"][\w:]+['\"]\s*\)")
# What every _BACKTICK_RE match contains (the opening backtick and request data): a cheap guard.
_BACKTICK_GUARD_RE = re.compile(r"`\s*\{?\$_(?:get|post|request|cookie)\s*\[")
_BACKTICK_RE = re.compile(
    r"(?:[=(,]|<\?=|\becho|\bprint|\breturn)\s*@?`\s*\{?\$_(?:get|post|request|cookie)\s*\[[^`\n]{0,40}\]\s*\}?[^`\n'\"]{0,60}`"
)
_RETURN_SRC_RE = re.compile(r"function\s+(\w{1,40})\s*\([^)]{0,100}\)\s*\{\s*return\b[^;]{0,300}")
_CODE_IN_STRING_RE = re.compile(
    r"(?<![\w$>:])(?:eval|assert|system|shell_exec|passthru|exec|create_function|popen)\s*\("
)
_NOT_BEFORE_CALL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_$>.:")


def _standalone(text: str, m: re.Match[str]) -> bool:
    """True unless a bare name match is part of a longer name or a method call (``$db->exec(``).

    Qualified sinks (``Runtime.getRuntime().exec(``, ``new ProcessBuilder``) are always kept.
    """
    found = m.group(0)
    if m.start() == 0 or "." in found or found.startswith(("new", "getruntime", "process")):
        return True
    return text[m.start() - 1] not in _NOT_BEFORE_CALL


def _sinks(low: str) -> Iterator[re.Match[str]]:
    """Code and command sinks in lower-cased text."""
    return (m for m in _SINKS.finditer(low) if _standalone(low, m))


# PHP: request data called as a function name, e.g. $_GET['f']($_POST['c']) — no benign use.
_DECODE_CHAIN_RE = re.compile(
    r"(?:eval|assert|create_function|executeglobal|execute)\s*\(?\s*[\"'(]?\s*"
    r"(?:@?\s*(?:gzinflate|gzuncompress|gzdecode|base64_decode|str_rot13|strrev|rawurldecode"
    r"|urldecode|hex2bin|convert_uudecode|pack|unserialize|strreverse|chr|unescape|atob)\s*\()",
)
_ASSIGN_RE = re.compile(
    r"\s*(?:<\?(?:php)?\s*|<%(?!=)\s*)?@?(?:set\s+|dim\s+|string\s+|var\s+|object\s+)?(\$?[a-za-z_]\w*)"
    r"\s*(?:\[[^\]]{0,60}\])?\s*=(?!=)\s*(.{1,300})",
    _I | re.S,
)


@dataclass(slots=True)
class _Scorer:
    """Accumulates (weight, reason, feature name) and feature values while a file is examined."""

    parts: list[tuple[float, str, str]] = field(default_factory=list)
    features: dict[str, float | int | bool | str] = field(default_factory=dict)

    def add(
        self, name: str, weight: float, reason: str, value: float | int | bool | str = True
    ) -> None:
        self.features[name] = value
        self.parts.append((weight, reason, name))


def _entropy(data: bytes) -> float:
    """Entropy (bits/byte) of the first 16 KiB: code ~4.5-5.3, packed payloads 5.8 and up."""
    return _entropy_of(data[:16384])


@lru_cache(maxsize=4)
def _entropy_of(data: bytes) -> float:
    """Entropy of ``data`` (cached: the assessor asks twice about the same first 16 KiB)."""
    total = len(data)
    if not total:
        return 0.0
    # Counter counts bytes in C: 256 ``bytes.count`` scans cost ~2 ms a file.
    return -sum(c / total * math.log2(c / total) for c in Counter(data).values())


_STMT_END_RE = re.compile(r"[;\n\r]|%>|<%")


def _statement_at(text: str, pos: int, limit: int = 400) -> str:
    """The rough statement starting at ``pos``: up to ``;``, a line end or an ASP tag."""
    window = text[pos : pos + limit]
    m = _STMT_END_RE.search(window, 1)
    return window[: m.start()] if m else window


def _statement_around(text: str, pos: int, limit: int = 400) -> str:
    """The rough statement containing ``pos`` (from the previous terminator)."""
    start = max(
        text.rfind(";", max(0, pos - limit), pos), text.rfind("\n", max(0, pos - limit), pos)
    )
    return _statement_at(text, start + 1 if start >= 0 else max(0, pos - limit), 2 * limit)


@lru_cache(maxsize=4)
def _tainted_names(text: str) -> frozenset[str]:
    """Variables assigned (directly or through one step) from request data (cached: several
    passes ask about the same text).

    Catches ``$a = $_POST['x']; eval($a);`` and VBScript ``x1 = request("p"): x2 = x1: eval x2``
    without a parser: a statement holding request data and starting ``name =`` taints ``name``;
    then one more step through statements mentioning a tainted name.
    """
    if not _maybe_request(text):  # no request data anywhere: nothing can be tainted
        return frozenset()
    tainted: set[str] = set()
    for m in _SRC_RE.finditer(text):
        if (a := _ASSIGN_RE.match(_statement_around(text, m.start()))) and _SRC_RE.search(
            a.group(2)
        ):
            tainted.add(a.group(1).lower())
        if len(tainted) > 100:
            return frozenset(tainted)
    for m in _RETURN_SRC_RE.finditer(text):
        if _SRC_RE.search(m.group(0)):
            tainted.add(m.group(1))
    known = _names_re(tainted)
    if known is not None:
        for m in known.finditer(text):
            if (a := _ASSIGN_RE.match(_statement_around(text, m.start()))) and known.search(
                a.group(2)
            ):
                tainted.add(a.group(1).lower())
            if len(tainted) > 100:
                break
    return frozenset(tainted)


def _names_re(names: AbstractSet[str]) -> re.Pattern[str] | None:
    r"""One regex matching any of ``names`` as a whole identifier.

    Same matches as ``(?<![\w$])(?:a|b)(?!\w)``, but with the look-behind after each name, so
    that every alternative starts with a literal and the engine skips ahead on first characters.
    """
    if not names:
        return None
    return _names_pattern(tuple(sorted(names)[:200]))


@lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    # Names are ``$``/a word character followed by word characters, so at most one of them can
    # match at a position followed by ``(?!\w)`` (of two, the shorter is a prefix of the longer,
    # followed by a word character): their order does not matter, and a trie (``\$(?:a|bc)``)
    # finds the same matches as the plain alternation and compiles much faster.
    by_first: dict[str, list[str]] = {}
    for name in names:
        by_first.setdefault(name[0], []).append(name[1:])
    tries = {first: _trie(rest) for first, rest in by_first.items()}
    if max(depth for _, depth in tries.values()) > 40:  # keep the regex parser's recursion low
        alts = "|".join(rf"{re.escape(n)}(?<![\w$]{re.escape(n)})(?!\w)" for n in names)
        return re.compile(alts)
    alts = "|".join(
        rf"{re.escape(first)}(?<![\w$]{re.escape(first)}){trie}"
        for first, (trie, _) in tries.items()
    )
    return re.compile(rf"(?:{alts})(?!\w)")


def _trie(suffixes: list[str]) -> tuple[str, int]:
    """A regex matching exactly the strings of ``suffixes``, and its group nesting depth."""
    out = ""
    while True:
        groups: dict[str, list[str]] = {}
        for suffix in suffixes:
            if suffix:
                groups.setdefault(suffix[0], []).append(suffix[1:])
        if not groups:
            return out, 0
        if len(groups) == 1 and "" not in suffixes:  # a chain: no group needed
            ((char, suffixes),) = groups.items()
            out += re.escape(char)
            continue
        subs = {char: _trie(rest) for char, rest in groups.items()}
        alts = "|".join(re.escape(char) + sub for char, (sub, _) in subs.items())
        depth = 1 + max(d for _, d in subs.values())
        return out + f"(?:{alts})" + ("?" if "" in suffixes else ""), depth


def _label(sink: str) -> str:
    """How a reason names a sink: ``eval()``, ``startinfo.filename``, ``cmd /c``."""
    name = re.sub(r"\s+", " ", sink).strip(" ($=")
    return name if "=" in sink or " " in name or name.endswith(".shell") else name + "()"


def _flow(text: str, sc: _Scorer) -> None:
    """Request data reaching a code or command sink: the defining trait of a web shell."""
    tainted_re = _names_re(_tainted_names(text))
    direct = via_var = 0
    example = ""
    for sink in _sinks(text):
        stmt = _statement_at(text, sink.start())
        args = stmt[len(sink.group(0)) - 1 :]
        if sink.group(0).endswith("$"):  # callback sink: the callback itself must be request data
            if _SRC_RE.match(args):
                direct += 1
                example = example or _label(sink.group(0))
            continue
        if _SRC_RE.search(args):
            direct += 1
            example = example or _label(sink.group(0))
        elif tainted_re is not None and tainted_re.search(args):
            via_var += 1
            example = example or _label(sink.group(0))
        if direct + via_var > 50:
            break
    if direct:
        sc.add("request_to_sink", 70, f"request parameter passed to {example}", direct)
    elif via_var:
        sc.add(
            "request_var_to_sink",
            55,
            f"variable holding request data passed to {example}",
            via_var,
        )


_FILE_OPENS = Alternation(
    [
        ("createtextfile", r"createtextfile(?=\s*\()"),
        ("opentextfile", r"opentextfile(?=\s*\()"),
        ("file_put_contents", r"file_put_contents\s*\("),
        ("savetofile", r"savetofile\s*\(?"),
        ("fopen", r"fopen\s*\([^;]{0,120}['\"][wa]b?\+?['\"]"),
    ]
)
_CONTENT_RE = re.compile(
    r"\.write(?:line)?\s*\(?|fwrite\s*\(|fputs\s*\(|file_put_contents\s*\([^,;]{0,120},"
)
_DECODE_RE = re.compile(r"base64_decode\s*\(|gzinflate\s*\(|str_rot13\s*\(|hex2bin\s*\(")


_INDEX_CALL_RE = re.compile(r"\]\s*\(\s*[$\w]")


def _deep_flow(text: str, sc: _Scorer) -> None:
    """Flows the plain sink scan misses: callbacks, backticks, droppers, request-named calls."""
    tainted_re = _names_re(_tainted_names(text))
    _callbacks(text, tainted_re, sc)
    # The literal test and the guard skip most files cheaply.
    if "`" in text and _BACKTICK_GUARD_RE.search(text) and _BACKTICK_RE.search(text):
        sc.add("request_to_backtick", 70, "request parameter run as a shell command in backticks")
    _file_write(text, tainted_re, sc)
    if (
        tainted_re is not None
        and _INDEX_CALL_RE.search(text)  # the end of the pattern below: cheap to look for first
        and re.search(rf"(?:{tainted_re.pattern})\s*\[[^\]]{{0,40}}\]\s*\(\s*[$\w]", text)
    ):
        sc.add("request_as_function", 70, "request parameter used as a function name")


def _file_write(text: str, tainted_re: re.Pattern[str] | None, sc: _Scorer) -> None:
    """A file whose name comes from the request is written with request data or a decoded blob
    (a dropper: the page plants further web shells where the attacker says)."""

    def from_request(s: str) -> bool:
        return bool(_SRC_RE.search(s) or (tainted_re is not None and tainted_re.search(s)))

    for n, m in enumerate(_FILE_OPENS.finditer(text)):
        if n > 100:
            return
        method = m.group(0).endswith("textfile")
        found = m.group(0)
        start = m.start() + found.index("(") if "(" in found and not method else m.end() - 1
        if not (method or _standalone(text, m)) or not from_request(
            _statement_at(text, start, 120)
        ):
            continue
        for c in _CONTENT_RE.finditer(text, max(0, m.start() - 2000), m.start() + 3000):
            args = _statement_at(text, c.end())
            if from_request(args) or _DECODE_RE.search(args):
                sc.add(
                    "request_file_write", 55, "writes request data to a file named by the request"
                )
                return


# ``(?<![\w$])\$`` written as ``\$(?<![\w$]\$)``: same matches, and a literal first character lets
# the regex engine skip ahead (here and in the other whole-file patterns below).
_OBF_ASSIGN_RE = re.compile(r"\$(?<![\w$]\$)(\w{1,40})\s*=(?![=>])([^;\n]{1,300})")
_OBF_OP_RE = re.compile(
    r"['\"]\s*\^|\^\s*['\"$]|~|pack\s*\(|chr\s*\(|base64_decode\s*\(|str_rot13\s*\(|strrev\s*\("
    r"|\^\s*hex2bin\s*\("
)
# An array literal of four or more 1-3 character strings: a name cut into fragments.
_FRAGMENTS_RE = re.compile(
    r"(?:\[|array\s*\()\s*(['\"])\w{1,3}\1(?:\s*,\s*(['\"])\w{1,3}\2){3,}\s*[\])]"
)


def _computed_names(text: str) -> set[str]:
    """Variables assigned from obfuscating operations (XOR, ~, chr(), pack(), decoders) or from
    an array of name fragments, directly or through one more assignment
    (``$r = array_diff(["s","a","ys","te","m"], ["a"]); $f = join($r);``)."""
    names: set[str] = set()
    pending: list[tuple[str, str]] = []
    for m in _OBF_ASSIGN_RE.finditer(text):
        if _OBF_OP_RE.search(m.group(2)) or _FRAGMENTS_RE.search(m.group(2)):
            names.add("$" + m.group(1))
        else:
            pending.append(("$" + m.group(1), m.group(2)))
        if len(names) > 100:
            return names
    first = _names_re(set(names))
    if first is not None:
        names |= {name for name, rhs in pending[:2000] if first.search(rhs)}
    return names


def _callbacks(text: str, tainted_re: re.Pattern[str] | None, sc: _Scorer) -> None:
    """Request data handed to a callback-taking function whose callback is a dangerous name, a
    computed name or itself request data
    (``array_udiff_assoc(array($_REQUEST[p]), [1], "assert")``)."""
    computed: re.Pattern[str] | None = None
    computed_done = False  # _computed_names() is costly: only asked once a callback needs it
    for n, m in enumerate(_CALLBACKS.finditer(text)):
        if n > 200:
            return
        if not _standalone(text, m) and not m.group(0).startswith("fromcallable"):
            continue
        args = _statement_at(text, m.end() - 1)
        found = {x.group(0) for x in _SRC_RE.finditer(args)}
        if tainted_re is not None:
            found |= {t for t in tainted_re.findall(args) if not t.startswith("$_")}
        if not found:
            continue
        literal_callback = _LITERAL_CALLBACK_RE.search(args)
        if (len(found) >= 2 and not literal_callback) or _DANGER_ARG_RE.search(args):
            hit = True
        else:
            if not computed_done:
                computed, computed_done = _names_re(_computed_names(text)), True
            hit = computed is not None and bool(computed.search(args))
        if hit:
            name = m.group(0).rstrip(" (")
            sc.add(
                "request_to_callback",
                65,
                f"request data passed to {name}() with a computed or dangerous callback",
            )
            return


def _called(code: str, var: str) -> bool:
    """True when ``$var`` is called as a function or handed to a callback-taking function."""
    name = re.escape(var)
    if re.search(rf"\$\{{?{name}\}}?\s*\(", code):
        return True
    low = code.lower()
    return any(
        re.search(rf"\${name}(?!\w)", _statement_at(low, m.end() - 1), re.I)
        for m in _CALLBACKS.finditer(low)
    )


_SUPERGLOBALS = frozenset(("_post", "_get", "_request", "_cookie", "_server", "_files"))
_DYN_VAR_RE = re.compile(r"\$\{([^{}\n]{1,300})\}|\$\$(\w{1,40})")
_VAR_CALL_RE = re.compile(r"(?<![\w$])\$(\w{1,40})(?=\s*\()")


_EVAL_STRING_DECODE_RE = re.compile(
    r"(?:eval(?<![\w$>:]eval)|assert(?<![\w$>:]assert))\s*\(\s*[\"'][^\"']{0,40}?"
    r"(gzinflate|gzuncompress|base64_decode|str_rot13|gzdecode)\s*\("
)
_PACKED_CALL_RE = re.compile(
    r"(?<![\w$>:.])(?:eval|assert|create_function)\s*\(|preg_replace\s*\(\s*['\"]/[^'\"]{0,80}/e"
    r"|(?<![\w.])execute(?:global)?\s*\(?\s*[a-z_]\w*\s*[(:\n]"
)
_JS_CONCAT_RE = re.compile(r"\"([^\"\n]{0,200})\"\s*[+&]\s*\"")
_EVAL_WRAPPER_RE = re.compile(
    r"function\s+(\w{1,40})\s*\(\s*(\w{1,40})[^)]{0,100}\)\s*\{[^}]{0,400}?"
    r"(?<![\w.])(?:eval|execute|executeglobal|assert)\s*\(\s*\2\b"
)
_CODE_ON_REQUEST_RE = re.compile(
    r"(?:eval|execute|executeglobal)\s*\(?\s*request\b|(?:eval|assert)\s*\(\s*\$_(?:post|get|request)"
)


def _wrappers(text: str, sc: _Scorer) -> None:
    """Scripts that hide their sink: pieces joined at run time, or an eval() wrapper function."""
    joined = text
    for _ in range(8):
        again = _JS_CONCAT_RE.sub(lambda m: '"' + m.group(1), joined)
        if again == joined:
            break
        joined = again
    if _CODE_ON_REQUEST_RE.search(joined) and not _CODE_ON_REQUEST_RE.search(text):
        sc.add("hidden_payload", 60, "code evaluating request data is assembled from pieces")
        return
    for m in _EVAL_WRAPPER_RE.finditer(text):
        name = re.escape(m.group(1))
        for call in re.finditer(rf"(?<![\w.]){name}\s*\(", text[: m.start()] + text[m.end() :]):
            args = _statement_at(text[: m.start()] + text[m.end() :], call.start())
            if _SRC_RE.search(args):
                sc.add("request_to_sink", 70, f"request data passed to eval wrapper {m.group(1)}()")
                return
            if re.match(rf"{name}\s*\(\s*(?:{name}\s*\(\s*)?\w+\s*\(\s*['\"]", args):
                sc.add(
                    "eval_decode_chain",
                    55,
                    f"decoded constant run through eval wrapper {m.group(1)}()",
                )
                return


def _packed(data: bytes, sc: _Scorer) -> None:
    """One huge line (a packed script) in a file that evaluates code."""
    if len(data) >= 512 and _entropy(data) >= 5.8:
        for m in _PACKED_CALL_RE.finditer(data[:262_144].decode("latin-1").lower()):
            sc.add("packed_eval", 40, f"densely packed code with an eval-like call ({m.group(0)})")
            return
    # Same pieces as ``re.split(rb"[\r\n]", data)``, split in C without the regex engine.
    pieces = data.replace(b"\r", b"\n").split(b"\n")
    long_lines = [x for x in pieces if len(x) >= 4000] if max(map(len, pieces)) >= 4000 else []
    for line in long_lines[:8]:
        if _PACKED_CALL_RE.search(join_literals(line.decode("latin-1").lower())):
            sc.add("packed_eval", 40, f"a packed line of {len(line):,} characters evaluates code")
            return


def _normalised(text: str, env: dict[str, str]) -> str:
    """Lower-cased PHP with ``${"_POST"}``, ``${$a}``/``$$a`` (``$a`` folding to a superglobal
    name) rewritten as the superglobal, and ``$f(`` (``$f`` folding to a dangerous function name)
    rewritten as a direct call."""
    by_name = {k.lower(): v for k, v in env.items()}
    low = {k: v.strip().lower() for k, v in by_name.items()}

    def dyn(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            value = low.get(m.group(2), "")
        else:
            try:
                value = fold_expression(m.group(1), by_name).strip().lower()
            except ValueError:
                return m.group(0)
        return "$" + value if value in _SUPERGLOBALS else m.group(0)

    if "$$" in text or "${" in text:
        text = _DYN_VAR_RE.sub(dyn, text)
    if any(v in DANGEROUS for v in low.values()):
        text = _VAR_CALL_RE.sub(
            lambda m: low[m.group(1)] if low.get(m.group(1), "") in DANGEROUS else m.group(0),
            text,
        )
    return text


def _deobfuscated(code: str, env: dict[str, str], sc: _Scorer) -> None:
    """Names and payloads that only appear once constant string expressions are folded."""
    for var, value in env.items():
        low = value.strip().lower()
        if low in DANGEROUS and _called(code, var):
            sc.add("built_function_call", 60, f"function name '{low}' built at run time and called")
            return
    for value in [*decoded_literals(code), *(v.lower() for v in env.values() if len(v) > 8)]:
        if _CODE_IN_STRING_RE.search(value) and (
            _SRC_RE.search(value) or _DECODE_CHAIN_RE.search(value)
        ):
            sc.add("hidden_payload", 60, "encoded string literal holds code run on request data")
            return
