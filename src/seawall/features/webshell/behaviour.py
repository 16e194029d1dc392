"""Shared machinery of the per-language behaviour rules (``java``, ``dotnet``, ``cfml``, ``perl``).

A behaviour rule names something a page does (runs an OS command, loads a class, writes a file,
opens a database or a socket) and says how strongly it counts when the page's request data
reaches it, when it merely sits in a page that reads request data, and when it stands alone.
The language modules give their request sources and sinks; this module follows request data
through assignments (several steps: ``String c = request.getParameter("c"); String[] a =
c.split(" "); ... exec(a)``) and scores each rule once, with a reason that names the behaviour
(``request data → Runtime.exec (OS command)``). Textual and bounded like the rest of the
assessor: no parser, nothing executed, work capped per file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from seawall.features.webshell.flow import _names_re, _Scorer

__all__ = ["COMMAND_KEYS", "Rule", "apply_rules", "call_args", "file_writes", "propagate"]

#: Rules that name an OS command call: once one has scored, the assessor's generic "command sink
#: in a page reading request data" marker would count the same behaviour twice, and is skipped.
COMMAND_KEYS = frozenset(
    (
        "java_runtime_exec",
        "java_process_builder",
        "java_internal_process",
        "dotnet_process",
        "dotnet_wmi_process",
        "dotnet_powershell",
        "asp_wmi_process",
        "asp_shell_execute",
        "perl_command",
        "perl_open3",
        "cf_execute",
        "cf_java_runtime",
    )
)

_MAX_STATEMENTS = 6000
_MAX_NAMES = 150
_STEPS = 4
_ARGS_LIMIT = 600

# ``[modifiers] [Type[<...>][]] name = rhs`` (Java/C#), ``Dim name As T = rhs`` (VB), ``my $x =``
# (Perl), ``<cfset x = rhs`` (CFML), ``name += rhs``; the name is the last identifier before "=".
_ASSIGN_RE = re.compile(
    r"([$@%]?[a-z_][\w.]*)\s*(?:\[[^\]=]{0,40}\]|\{[^}=]{0,40}\})?\s*(?:\+|\.)?=(?![=~>])(.*)",
    re.S,
)
# Perl ``my ($name, $value) = split(/=/, $pair)``: every name of the list.
_LIST_ASSIGN_RE = re.compile(
    r"\(\s*((?:my\s+)?\$\w+(?:\s*,\s*(?:my\s+)?\$\w+)+)\s*\)\s*=(?![=~>])(.*)"
)
# Perl ``foreach my $pair (@pairs)`` and ``read(STDIN, $buffer, $ENV{CONTENT_LENGTH})``.
_PERL_LOOP_RE = re.compile(r"for(?:each)?\s+(?:my\s+)?(\$\w+)\s*\((.*)")
# PHP ``foreach ($list as $item)`` / ``foreach ($list as $k => $item)``: the loop variable.
_PHP_LOOP_RE = re.compile(r"foreach\s*\((.{1,300}?)\s+as\s+(?:\$\w+\s*=>\s*)?&?(\$\w+)")
# ``for (String tmp : cmd.split(" "))`` and ``foreach (var x in list)``: the loop variable.
_LOOP_RE = re.compile(r"for(?:each)?\s*\(\s*(?:final\s+)?[\w.<>\[\]]+\s+(\w+)\s*(?::|\bin\b)(.*)")
# ``sb.append(x)``, ``list.add(x)``, ``w.Write(x)``: the receiver now holds request data.
_APPEND_RE = re.compile(r"([a-z_]\w*)\s*\.\s*(?:append|add|put|write|insert|concat)\s*\((.*)")
# Braces cut a statement only next to white space (``if (x) {``, ``}`` on its own), so that a
# Perl hash subscript (``$ENV{'QUERY_STRING'}``) stays inside its statement.
_SPLIT_RE = re.compile(r"[;\n]|\{(?=\s)|(?<=\s)\}|<%|%>")
_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.){0,2000}"')
# C-like languages end statements with ";": a call spread over lines stays one statement.
_SPLIT_SEMI_RE = re.compile(r";|\{(?=\s)|(?<=\s)\}|<%|%>")


def _statements(text: str, semicolons: bool) -> list[str]:
    """Rough statements: the text cut at ``;``, line ends (unless ``semicolons``: C-like code),
    block braces and ASP/JSP tags (bounded)."""
    split = _SPLIT_RE
    if semicolons:
        # String contents blanked first: a ";" inside "Host={0};User={1}" ends nothing.
        split, text = _SPLIT_SEMI_RE, _STRING_RE.sub('""', text)
    return [s for s in split.split(text, maxsplit=_MAX_STATEMENTS) if "=" in s or "(" in s]


_APPEND_WORDS = ("append", "add", "put", "write", "insert", "concat")
_LHS_RE = re.compile(r"([$@%]?[a-z_][\w.]*)\s*(?:\[[^\]=]{0,40}\]|\{[^}=]{0,40}\})?\s*[+.]?\s*$")


def _pairs(stmt: str) -> list[tuple[str, str]]:
    """(name, right-hand side) pairs a statement assigns: a list assignment, a loop variable,
    the first plain assignment, or an append to a receiver. Literal tests come first: most
    statements need none of the regexes (which would otherwise be tried at every character)."""
    if "=" in stmt and "(" in stmt and (m := _LIST_ASSIGN_RE.search(stmt)):
        names = [n.split()[-1] for n in m.group(1).split(",")]
        return [(n, m.group(2)[:_ARGS_LIMIT]) for n in names]
    if "for" in stmt and (m := _PERL_LOOP_RE.search(stmt)):
        return [(m.group(1), m.group(2)[:_ARGS_LIMIT])]
    if "foreach" in stmt and " as " in stmt and (m := _PHP_LOOP_RE.search(stmt)):
        return [(m.group(2), m.group(1))]
    at = stmt.find("=")
    while at >= 0:
        before = stmt[at - 1] if at else ""
        after = stmt[at + 1 : at + 2]
        if before not in "=!<>" and after not in ("=", "~", ">"):
            if m := _LHS_RE.search(stmt, max(0, at - 120), at):
                return [(m.group(1), stmt[at + 1 : at + 1 + _ARGS_LIMIT])]
            break
        at = stmt.find("=", at + 2 if after == "=" else at + 1)
    if "for" in stmt and (m := _LOOP_RE.search(stmt)):
        return [(m.group(1), m.group(2)[:_ARGS_LIMIT])]
    if "(" in stmt and any(w in stmt for w in _APPEND_WORDS) and (m := _APPEND_RE.search(stmt)):
        return [(m.group(1), m.group(2)[:_ARGS_LIMIT])]
    return []


def propagate(
    text: str, source: re.Pattern[str], seeds: Iterable[str] = (), *, semicolons: bool = False
) -> frozenset[str]:
    """Names that hold request data: assigned from a ``source`` match or from such a name,
    followed through up to four steps of assignments, loop variables and appends.

    ``text`` is lower-cased. Names are returned as written (``cmd``, ``$x``, ``form.cmd``); a
    qualified name also taints its last part (``this.cmd`` -> ``cmd``).
    """
    tainted: set[str] = set(seeds)
    pending: list[tuple[str, str]] = []
    for stmt in _statements(text, semicolons):
        for name, rhs in _pairs(stmt):
            if source.search(rhs):
                _add(tainted, name)
            else:
                pending.append((name, rhs))
    if semicolons:
        for name, rhs in _parameters(text):
            if source.search(rhs):
                _add(tainted, name)
            else:
                pending.append((name, rhs))
    for _ in range(_STEPS):
        known = _names_re(tainted)
        if known is None or len(tainted) > _MAX_NAMES:
            break
        grown = False
        rest: list[tuple[str, str]] = []
        for name, rhs in pending:
            if name not in tainted and known.search(rhs):
                _add(tainted, name)
                grown = True
            elif name not in tainted:
                rest.append((name, rhs))
        pending = rest
        if not grown:
            break
    return frozenset(tainted)


# Java/C# method definitions: ``[modifiers] Type name(Type a, Type b) [throws X] {``.
_METHOD_DEF_RE = re.compile(
    r"(?<![\w.])[a-z_][\w<>\[\],.?]{0,60}\s+([a-z_]\w{0,60})\s*\(([^()]{0,300})\)\s*"
    r"(?:throws\s+[\w.,\s]{1,200})?\{"
)
_NOT_METHODS = frozenset(
    ("if", "for", "while", "switch", "catch", "foreach", "using", "lock", "return")
)


def _parameters(text: str) -> list[tuple[str, str]]:
    """(parameter, argument expression) for every call of a method defined in ``text``: a call
    that passes request data taints the parameter (one level, like a helper in a shell)."""
    params: dict[str, list[str]] = {}
    for n, m in enumerate(_METHOD_DEF_RE.finditer(text)):
        if n > 300:
            break
        if m.group(1) in _NOT_METHODS or not m.group(2).strip():
            continue
        names = [part.split()[-1].strip("[]") for part in m.group(2).split(",") if part.split()]
        params[m.group(1)] = names
    if not params:
        return []
    pairs: list[tuple[str, str]] = []
    calls = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, params)) + r")\s*\(")
    for n, m in enumerate(calls.finditer(text)):
        if n > 2000:
            break
        args = _split_args(call_args(text, m.end() - 1))
        pairs += [(p, a) for p, a in zip(params[m.group(1)], args, strict=False) if p and a]
    return pairs


def _split_args(args: str) -> list[str]:
    """Top-level comma-separated parts of an argument list."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i])
            start = i + 1
    parts.append(args[start:])
    return parts


def _add(tainted: set[str], name: str) -> None:
    """Taint ``name``; ``this.cmd`` also taints ``cmd`` (a field read without ``this``)."""
    for part in (name, name[5:] if name.startswith(("this.", "self.")) else name):
        if part.lstrip("$@%"):
            tainted.add(part)


def call_args(text: str, pos: int) -> str:
    """The balanced-parenthesis argument list starting at or after ``pos`` (bounded), without
    the parentheses; the rest of the statement when no ``(`` opens before the statement ends
    (a call spread over lines is still followed: only the opening must be on the first)."""
    end = _SPLIT_RE.search(text, pos, pos + _ARGS_LIMIT)
    stop = end.start() if end else pos + _ARGS_LIMIT
    open_at = text.find("(", pos, min(pos + 200, stop))
    if open_at < 0:  # VBScript ``f.Write t``, Perl ``system $c``: the rest of the statement
        return text[pos:stop]
    depth = 0
    for i in range(open_at, min(len(text), open_at + _ARGS_LIMIT)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return text[open_at + 1 : open_at + _ARGS_LIMIT]


@dataclass(frozen=True, slots=True)
class Rule:
    """One behaviour: where it is in the text, how it is named, and what it is worth.

    ``tainted``: weight when request data reaches the call's arguments (or the statement, for
    ``whole_statement`` rules); ``with_request``: when the page reads request data elsewhere;
    ``alone``: when the page reads none. 0 means "no score in that case".
    """

    key: str
    pattern: re.Pattern[str]
    label: str
    tainted: float
    with_request: float = 0.0
    alone: float = 0.0
    whole_statement: bool = False
    in_match: bool = (
        False  # the match itself holds the arguments (a whole tag: ``<cfexecute ...>``)
    )


def apply_rules(
    text: str,
    sc: _Scorer,
    rules: Iterable[Rule],
    source: re.Pattern[str],
    tainted: frozenset[str],
    *,
    reads_request: bool,
) -> None:
    """Score each rule once, at its strongest occurrence."""
    known = _names_re(tainted)

    def from_request(s: str) -> bool:
        return bool(source.search(s) or (known is not None and known.search(s)))

    best: dict[str, tuple[float, bool, Rule]] = {}
    for rule in rules:
        if rule.key in sc.features:
            continue
        weight, hit = _strongest(text, rule, from_request, reads_request)
        kept = best.get(rule.key)
        if weight and (kept is None or (hit, weight) > (kept[1], kept[0])):
            best[rule.key] = (weight, hit, rule)
    for key, (weight, hit, rule) in best.items():
        if hit:
            sc.add(key, weight, f"request data → {rule.label}")
        elif reads_request:
            sc.add(key, weight, f"{rule.label} in a page that reads request data")
        else:
            sc.add(key, weight, rule.label)
        if key in COMMAND_KEYS:
            sc.features["language_command"] = True


_QUANTIFIER_RE = re.compile(r"\{(\d*),?\d*\}")


@lru_cache(maxsize=512)
def needed_literals(pattern: str) -> tuple[str, ...] | None:
    """Words one of which every match of ``pattern`` contains (None: no such set is known).

    Each top-level alternative is walked outside groups and classes for its longest run of
    plain word characters (a character made optional by a following ``?``, ``*`` or ``{0`` is
    left out); a text holding none of them cannot match, and the regex, which may have to be
    tried at every character, is not run at all.
    """
    words: list[str] = []
    for alternative in _top_level(pattern, "|"):
        best = ""
        run = ""
        i = 0
        while i < len(alternative):
            ch = alternative[i]
            if ch == "\\":
                best, run = max(best, run, key=len), ""
                i += 2
                continue
            if ch in "([":
                best, run = max(best, run, key=len), ""
                i = _close(alternative, i)
                continue
            if ch == "{" and (q := _QUANTIFIER_RE.match(alternative, i)):
                if q.group(1) in ("", "0"):  # {0,n}: the last character may be absent
                    run = run[:-1]
                best, run = max(best, run, key=len), ""
                i = q.end()
                continue
            if ch in "?*":
                run = run[:-1]
                best, run = max(best, run, key=len), ""
            elif ch.isalnum() or ch == "_":
                run += ch
            else:
                best, run = max(best, run, key=len), ""
            i += 1
        best = max(best, run, key=len)
        if len(best) < 3:
            return None
        words.append(best)
    return tuple(sorted(set(words)))


def _top_level(pattern: str, sep: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _close(pattern, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _close(pattern: str, i: int) -> int:
    """The index just after the group or class opening at ``pattern[i]``."""
    if pattern[i] == "[":
        j = i + 1
        if j < len(pattern) and pattern[j] == "^":
            j += 1
        if j < len(pattern) and pattern[j] == "]":
            j += 1
        while j < len(pattern) and pattern[j] != "]":
            j += 2 if pattern[j] == "\\" else 1
        return j + 1
    depth, j = 0, i
    while j < len(pattern):
        ch = pattern[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "[":
            j = _close(pattern, j)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


def _strongest(
    text: str, rule: Rule, from_request: Callable[[str], bool], reads_request: bool
) -> tuple[float, bool]:
    """The weight of a rule's strongest occurrence, and whether request data reached it."""
    needs = needed_literals(rule.pattern.pattern)
    if needs is not None and not any(word in text for word in needs):
        return 0.0, False
    weight = 0.0
    for n, m in enumerate(rule.pattern.finditer(text)):
        if n > 200:
            break
        if rule.in_match:
            args = m.group(0)
        elif rule.whole_statement:
            start = max(text.rfind(";", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
            end = _SPLIT_RE.search(text, m.end(), m.end() + _ARGS_LIMIT)
            args = text[start : end.start() if end else m.end() + _ARGS_LIMIT]
        else:
            args = call_args(text, m.end() - 1 if m.group(0).endswith("(") else m.end())
        if rule.tainted and from_request(args):
            return rule.tainted, True
        weight = max(weight, rule.with_request if reads_request else rule.alone)
    return weight, False


# A write to an opened stream, writer or logger, within a short window after the opening call.
_WRITE_CALL_RE = re.compile(
    r"\.\s*(?:write\w*|print\w*|append|info|warning|severe|fine|log)\b\s*\(?"
)
# A name validated before use: ``name.matches(...)``/``name.EndsWith(...)`` (the name read just
# before the call), or ``name = Path.GetFileName(...)``/``FilenameUtils.getName(...)``.
_CHECK_CALL_RE = re.compile(r"\.\s*(?:matches|endswith|endswithignorecase)\s*\(")
_STRIP_CALL_RE = re.compile(
    r"(?:path\s*\.\s*getfilename|filenameutils\s*\.\s*getname|basename)\s*\("
)
_NAME_BEFORE_RE = re.compile(r"(\w+)\s*$")
_ASSIGNED_BEFORE_RE = re.compile(r"(\w+)\s*=\s*$")


def _checked(text: str) -> set[str]:
    """Names the page validates or strips of folders before using them as a path."""
    names: set[str] = set()
    for rx, before in ((_CHECK_CALL_RE, _NAME_BEFORE_RE), (_STRIP_CALL_RE, _ASSIGNED_BEFORE_RE)):
        for n, m in enumerate(rx.finditer(text)):
            if n > 200:
                break
            if found := before.search(text, max(0, m.start() - 60), m.start()):
                names.add(found.group(1))
    return names


# A literal path to a file the web server would execute.
_SCRIPT_TARGET_RE = re.compile(
    r"[\"']([^\"'\n]{0,200}\.(?:aspx?|ashx|asmx|asa|cer|php\d?|phtml|jspx?|cfml?|pl|cgi))[\"']"
)
_SAVES_UPLOAD_RE = re.compile(r"saveas|transferto|write\s*\(\s*new")
_NOISE_RE = re.compile(r"\s+|new\b|\(|(?:java\.io|java\.util\.logging|system\.io)\.")


def file_writes(
    text: str,
    sc: _Scorer,
    opens: re.Pattern[str],
    source: re.Pattern[str],
    tainted: frozenset[str],
) -> None:
    """A file opened for writing: scored when its path, and more when its content too, comes
    from the request (an uploader that drops further shells where the attacker says).

    The path is the opening call's statement (``fs = new FileInfo(p).CreateText()``, ``new
    FileOutputStream(p)``); the content is a later argument of that call, or a write call within
    1,500 characters whose arguments hold request data.
    """
    if "request_file_write" in sc.features:
        return
    # A name validated before use (``if (!name.matches("[\\w.-]+\\.png"))``, an allowed-extension
    # test, stripped of folders by ``Path.GetFileName``) no longer counts as request data here.
    checked = _checked(text)
    known = _names_re(tainted - checked)

    def from_request(s: str) -> bool:
        return bool(source.search(s) or (known is not None and known.search(s)))

    path_only = ""
    for n, m in enumerate(opens.finditer(text)):
        if n > 100:
            break
        args = call_args(text, m.end() - 1)
        start = max(text.rfind(";", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        path = from_request(args) or from_request(text[start : m.start()].split("=")[-1])
        script = _SCRIPT_TARGET_RE.search(args)
        if not path and not script:
            continue
        what = _NOISE_RE.sub("", m.group(0)).strip(".")
        content = "," in args and from_request(args.split(",", 1)[1])
        # An upload saved as it came (``Request.Files[0].SaveAs(p)``, ``part.write(f)``,
        # ``item.write(new File(p))``): what is written is the request's own file.
        if not content and _SAVES_UPLOAD_RE.search(m.group(0)):
            content = from_request(text[start : m.start()])
        if not content:
            for w in _WRITE_CALL_RE.finditer(text, m.end(), m.end() + 1500):
                if from_request(call_args(text, w.end() - 1)):
                    content = True
                    break
        if content and not path and script:
            sc.add(
                "request_script_write",
                60,
                f"request data → {what} into a server script ('{script.group(1)[-40:]}'):"
                " plants a new page",
            )
            return
        if not path:
            continue
        if content:
            sc.add(
                "request_file_write",
                70,
                f"request data → {what} (file written at a request-chosen path)",
            )
            return
        path_only = path_only or what
    if path_only:
        sc.add("request_file_path", 30, f"request-chosen file path → {path_only} (file write)")
