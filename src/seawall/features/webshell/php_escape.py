"""PHP pages that run code by way of the interpreter's own plumbing, or step out of its limits,
for :mod:`seawall.features.webshell`.

``include $_GET['p']`` runs whatever file or URL the request names (a one-line backdoor that never
says ``eval``). Pages that find ``system`` disabled set ``LD_PRELOAD`` so that the next program
PHP starts (``mail()`` runs sendmail) loads their library, call libc through FFI, write an
``.htaccess`` that makes images or text files run as PHP (or follow symlinks), or link other
hosting users' configuration files into their own folder to read them. Each is scored once with
a reason that names it. Pure, bounded functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import call_args
from seawall.features.webshell.flow import _SRC_RE, _names_re, _Scorer, _tainted_names

__all__ = ["php_escapes"]

_R = re.compile

# ``include``/``require`` (with or without parentheses) and what follows up to the statement end.
_INCLUDE_RE = _R(
    r"(?:include|require)(?<![\w$>:]include)(?<![\w$>:]require)(?:_once)?\b\s*\(?\s*([^;\n]{1,200})"
)
_WHOLE_REQUEST_RE = _R(
    r"@?\$_(?:get|post|request|cookie)\s*\[[^\]]{1,40}\]|@?\$_server\s*\[\s*['\"]http_\w+['\"]\s*\]"
)
_IDENTIFIER_RE = _R(r"@?(\$\w{1,40})")
_LD_PRELOAD_RE = _R(r"putenv\s*\(\s*['\"]ld_preload=|putenv\s*\([^;]{0,120}ld_preload")
_FFI_RE = _R(r"ffi\s*::\s*(?:cdef|load)\s*\(")
_FFI_CALLS_RE = _R(r"\b(?:system|popen|execve?|execl|dlopen)\s*\(")
_HTACCESS_RE = _R(r"\.htaccess")
_HANDLER_RE = _R(
    r"addtype\b|addhandler\b|sethandler\b|forcetype\b|followsymlinks|auto_prepend_file"
    r"|auto_append_file|php_flag\s+engine"
)
_WRITE_RE = _R(r"file_put_contents\s*\(|fopen\s*\(|fwrite\s*\(|fputs\s*\(")
_SYMLINK_RE = _R(r"symlink(?<![\w$>:]symlink)\s*\(|link(?<![\w$>:]link)\s*\(")
_USERS_RE = _R(r"/etc/passwd|/etc/named\.conf|/var/named|/etc/valiases|/etc/userdomains")


def _include(text: str, sc: _Scorer) -> None:
    """An include of the request's own value: runs any file or URL the request points at."""
    if "include" not in text and "require" not in text:
        return
    tainted: re.Pattern[str] | None = None
    for n, m in enumerate(_INCLUDE_RE.finditer(text)):
        if n > 200:
            return
        arg = m.group(1).strip().rstrip(")").strip()
        if _WHOLE_REQUEST_RE.fullmatch(arg):
            weight = 55
        elif (name := _IDENTIFIER_RE.fullmatch(arg)) and _SRC_RE.search(text):
            tainted = tainted or _names_re(_tainted_names(text))
            if tainted is None or not tainted.fullmatch(name.group(1)):
                continue
            weight = 40
        else:
            continue
        sc.add(
            "request_include",
            weight,
            "request data → include/require (runs any file or URL the request names as code)",
        )
        return


def _bypasses(text: str, sc: _Scorer) -> None:
    if "ld_preload" in text and _LD_PRELOAD_RE.search(text):
        sc.add(
            "ld_preload",
            55,
            "sets LD_PRELOAD (the next program PHP starts loads the page's library: runs code"
            " past disable_functions)",
        )
    if "ffi" in text and (m := _FFI_RE.search(text)):
        calls = _FFI_CALLS_RE.search(call_args(text, m.end() - 1))
        sc.add(
            "php_ffi",
            60 if calls else 40,
            "calls C functions through PHP FFI"
            + (
                f" ({calls.group(0).rstrip(' (')}: runs commands past disable_functions)"
                if calls
                else ""
            ),
        )
    if ".htaccess" in text:
        for m in _HTACCESS_RE.finditer(text):
            window = text[max(0, m.start() - 600) : m.end() + 600]
            if _HANDLER_RE.search(window) and _WRITE_RE.search(window):
                sc.add(
                    "htaccess_handler",
                    55,
                    "writes an .htaccess that makes other files run as scripts (or follows"
                    " symlinks)",
                )
                break


def _symlinks(text: str, sc: _Scorer) -> None:
    """Links to other users' files: made from the server's user list or at request-chosen paths."""
    if "link" not in text:
        return
    users = None
    for n, m in enumerate(_SYMLINK_RE.finditer(text)):
        if n > 50:
            return
        users = users if users is not None else bool(_USERS_RE.search(text))
        if users or _SRC_RE.search(call_args(text, m.end() - 1)):
            sc.add(
                "symlink_other_users",
                55,
                "creates symbolic links to other users' files (from the server's user list or"
                " a request-chosen path) to read them",
            )
            return


def php_escapes(text: str, sc: _Scorer) -> None:
    """Every check of this module over ``text`` (lower-cased, comments removed)."""
    _include(text, sc)
    _bypasses(text, sc)
    _symlinks(text, sc)
