"""Perl CGI behaviour rules, for :mod:`seawall.features.webshell`.

A Perl CGI shell reads the request (``CGI::param``, ``$ENV{QUERY_STRING}``, the POST body read
from ``STDIN``, cgi-lib's ``%in``) — often through a hand-written parser that splits the query
into a hash — and hands it to ``system``, ``exec``, backticks, ``qx``, a pipe ``open`` or
``eval``. A socket handed to a shell's standard input is a bind or reverse shell. Pure
functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import Rule, apply_rules, propagate
from seawall.features.webshell.flow import _names_re, _Scorer

__all__ = ["perl_rules"]

_R = re.compile
SOURCE_RE = _R(
    r"param(?<![\w$]param)\s*\(|->\s*param\s*\(|\$env\s*\{\s*['\"]?(?:query_string|http_\w+|path_info)"
    r"|\$in\s*\{|&?readparse\b|<stdin>|\$env\s*\{\s*['\"]?content_length"
)
_READ_STDIN_RE = _R(r"(?:sysread|read)\s*\(\s*stdin\s*,\s*(\$\w+)")
_COMMAND = "system()/exec()/backticks/pipe open (OS command)"
_RULES = (
    Rule(
        "perl_command",
        _R(r"system(?<![\w$>:]system)\b\s*\(?|exec(?<![\w$>:]exec)\b\s*\(?"),
        _COMMAND,
        70,
        35,
        10,
        whole_statement=True,
    ),
    Rule(
        "perl_command",
        _R(r"`[^`\n]{1,300}`|qx(?<![\w$]qx)\s*[\(\{/\[|!]"),
        _COMMAND,
        70,
        35,
        0,
        in_match=True,
    ),
    Rule(
        "perl_command",
        _R(
            r"open(?<![\w$>:]open)\s*\(?\s*[\"']?[\w$]+[\"']?\s*,\s*(?:[\"'][^\"'\n]{0,200}\|\s*[\"']|[\"']-\|)"
        ),
        _COMMAND,
        70,
        35,
        10,
        whole_statement=True,
    ),
    Rule(
        "perl_open3",
        _R(r"open[23]\s*\([^;]{0,200}[\"'](?:/bin/(?:ba)?sh|(?:ba)?sh|cmd(?:\.exe)?)[\"']"),
        "IPC::Open3 running a shell (interactive command shell)",
        70,
        50,
        30,
        in_match=True,
    ),
    # String eval only: ``eval { ... }`` is Perl's exception handling.
    Rule(
        "perl_eval",
        _R(r"eval(?<![\w$>:]eval)\s*(?:\(\s*)?[$\"']"),
        "Perl eval (runs code)",
        70,
        whole_statement=True,
    ),
)
# Request data checked or stripped before use: ``$arg =~ s/["'`]//g``, ``$x !~ /^\w+$/``,
# ``unless ($x =~ /^[\w.]+$/)`` (a whole-value match; URL decoding, ``s/%(..)/pack(...)/e``, and
# a branch on a prefix, ``if ($c =~ /^cd\s/)``, are no checks).
# ``if (!allowed(\@list, $router))``: the value checked against a list before use.
# Each check is found from its operator (``=~``, ``!~``) or keyword, and the variable is read
# just before it: a regex starting at every ``$`` of a Perl file costs several milliseconds.
_MATCH_OP_RE = _R(r"[=!]~")
_VAR_BEFORE_RE = _R(r"(\$\w+)\s*$")
_STRIP_AFTER_RE = _R(r"=~\s*(?:s|tr|y)\s*([/{|#!])[^\n]{0,200}?\1\1")
_CONDITION_RE = _R(r"(?:unless|if)\s*\(\s*$")
_WHOLE_MATCH_RE = _R(r"=~\s*/\^[^/\n]{0,100}\$/")
_NEGATED_CALL_RE = _R(
    r"(?:if\s*\(\s*!|unless\s*\()\s*&?(?!defined\b|exists\b|length\b)\w+\s*\("
    r"[^()]{0,100}?(\$\w+)\s*\)"
)
# ``system(PROGRAM, ARG, ...)``: a list runs one fixed program without a shell, so request data
# among the later arguments is an argument, not a command line.
_LIST_CALL_RE = _R(r"(?:system|exec)\s*\(?\s*([^,;]{1,120}),")
_SOCKET_SHELL_RE = _R(r"open\s*\(\s*stdin\s*,\s*[\"']<?&")


def _checked(text: str) -> set[str]:
    """Variables the script checks or strips before use (see the patterns above)."""
    names: set[str] = set()
    for m in _MATCH_OP_RE.finditer(text):
        var = _VAR_BEFORE_RE.search(text, max(0, m.start() - 60), m.start())
        if var is None:
            continue
        stripped = bool(_STRIP_AFTER_RE.match(text, m.start()))
        whole = bool(_WHOLE_MATCH_RE.match(text, m.start())) and bool(
            _CONDITION_RE.search(text, max(0, var.start() - 20), var.start())
        )
        if m.group(0) == "!~" or stripped or whole:
            names.add(var.group(1))
    if "unless" in text or "if" in text:
        names |= {m.group(1) for m in _NEGATED_CALL_RE.finditer(text)}
    return names


def _list_form(text: str, tainted: frozenset[str]) -> tuple[Rule, ...]:
    """The rules, with ``system``/``exec`` calls in list form whose program is not request data
    masked out (when every such call is in that form)."""
    known = _names_re(tainted)
    calls = list(_RULES[0].pattern.finditer(text))
    fixed = [
        m
        for m in calls
        if (first := _LIST_CALL_RE.match(text, m.start()))
        and not SOURCE_RE.search(first.group(1))
        and (known is None or not known.search(first.group(1)))
    ]
    if calls and len(fixed) == len(calls):
        return _RULES[1:]
    return _RULES


def perl_rules(text: str, sc: _Scorer) -> None:
    """All Perl CGI behaviour rules over ``text`` (lower-cased)."""
    reads = bool(SOURCE_RE.search(text))
    seeds = [m.group(1) for m in _READ_STDIN_RE.finditer(text)]
    reads = reads or bool(seeds)
    tainted = propagate(text, SOURCE_RE, seeds) if reads else frozenset()
    if tainted:
        tainted = tainted - _checked(text)
    apply_rules(text, sc, _list_form(text, tainted), SOURCE_RE, tainted, reads_request=reads)
    if "socket" in text and _SOCKET_SHELL_RE.search(text):
        sc.add(
            "perl_socket_shell",
            45,
            "connects a socket to a shell's standard input (bind/reverse shell)",
        )
