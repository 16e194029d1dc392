"""PHP behaviours beyond the superglobal-to-sink flow, for :mod:`seawall.features.webshell`.

Older PHP shells read the request without naming it: with ``register_globals`` on, a form field
``<input name="command">`` arrives as ``$command``, so ``system($command)`` with no assignment of
``$command`` anywhere in the file runs what the form posted. Back-connect shells run commands
read from a socket. Database dumpers connect to a server the request names. Some shells are
written without a single letter (``$_[$__]($_[@!+_])``), keep their code in a data file they
include (``include 'x.txt'``), or plant an administrator account. Each is scored once with a
reason that names the behaviour. Pure functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import Rule, apply_rules, call_args, propagate
from seawall.features.webshell.flow import _SRC_RE, _names_re, _Scorer, _tainted_names

__all__ = ["includes_data_file", "php_behaviour"]

_R = re.compile

_FORM_FIELD_RE = _R(r"<(?:input|textarea|select)\b[^>]{0,300}?\bname\s*=\s*[\"']?(\w{1,40})")
# ``(?<![\w$>:])name`` written ``name(?<![\w$>:]name)``: same matches, literal first (fast).
_CMD_CALL_RE = _R(
    "|".join(
        rf"{n}(?<![\w$>:]{n})\s*\("
        for n in (
            *("system", "exec", "passthru", "shell_exec"),
            *("popen", "proc_open", "eval", "assert"),
        )
    )
)
_FILE_CALL_RE = _R(
    "|".join(
        rf"{n}(?<![\w$>:]{n})\s*\("
        for n in (
            *("unlink", "rmdir", "rename", "copy", "fopen", "file_put_contents"),
            *("move_uploaded_file", "readfile", "chmod", "mkdir"),
        )
    )
)
# Links and form actions carrying parameters: ``?sildos=x&dizin=y`` names register_globals inputs.
_QUERY_KEY_RE = _R(r"[?&](\w{1,40})=")
_VAR_RE = _R(r"\$(\w{1,40})")
_FOREVER_RE = _R(r"set_time_limit\s*\(\s*0\s*\)|ignore_user_abort\s*\(\s*(?:1|true)")
_LISTEN_RE = _R(r"socket_listen\s*\(|stream_socket_server\s*\(|socket_accept\s*\(")
# ``$obj->shell = $shell`` (a request-tainted value) and later ``system($this->shell)``.
_PROP_ASSIGN_RE = _R(r"->\s*(\w{1,40})\s*=(?![=>])([^;]{1,200})")
_SOCKET_RE = _R(r"fsockopen\s*\(|socket_create\s*\(|stream_socket_(?:client|server)\s*\(")
_SOCKET_READ_RE = _R(
    r"(\$\w{1,40})\s*=\s*[^;]{0,80}?(?:fgets|fread|socket_read|stream_get_line)\s*\("
)
_SHELL_ON_SOCKET_RE = _R(r"proc_open\s*\([^;]{0,300}(?:\$sock|socket|\$fp)")
_DB_RULES = (
    Rule(
        "php_db_connection",
        _R(
            "|".join(
                rf"{n}(?<![\w$>:]{n})\s*\("
                for n in (
                    *("mysql_connect", "mysqli_connect", "mysql_pconnect", "pg_connect"),
                    *("mssql_connect", "oci_connect", "sqlsrv_connect"),
                )
            )
            + r"|new\s+(?:mysqli|pdo)\s*\("
        ),
        "database connection to a request-supplied server (host, user or password from the"
        " request)",
        55,
    ),
)
_INCLUDE_DATA_RE = _R(
    r"(?:include(?<![\w$>:]include)|require(?<![\w$>:]require))(?:_once)?\s*\(?\s*['\"][^'\"\n]{1,200}"
    r"\.(?:txt|jpg|jpeg|gif|png|ico|bmp|log|dat)['\"]"
)
_SSI_DATA_RE = _R(
    r"<!--\s*#\s*include\s+(?:file|virtual)\s*=\s*['\"][^'\"\n]{1,200}"
    r"\.(?:txt|jpg|jpeg|gif|png|ico|bmp|log|dat)['\"]"
)
_ADMIN_ROLE_RE = _R(r"set_role\s*\(\s*['\"]administrator['\"]")
_CREATE_USER_RE = _R(r"(?:wp_create_user|wp_insert_user)\s*\(")
_PHP_BLOCK_RE = _R(r"<\?(?:php)?(.{100,20000}?)(?:\?>|$)", re.S)


def _register_globals(text: str, sc: _Scorer) -> None:
    """Form fields that reach a command or file call as never-assigned variables."""
    fields = {m.group(1) for m in _FORM_FIELD_RE.finditer(text)}
    if "?" in text:
        fields |= {m.group(1) for m in _QUERY_KEY_RE.finditer(text)}
    # Only fields used as variables and never assigned with a plain "=" can be such inputs.
    fields = {
        f
        for f in fields
        if f"${f}" in text and not re.search(rf"\${f}\s*(?:\[[^\]]*\]\s*)?=(?!=)", text)
    }
    if not fields:
        return
    command: str | None = None
    file_ops: set[str] = set()
    for rx, is_command in ((_CMD_CALL_RE, True), (_FILE_CALL_RE, False)):
        for n, m in enumerate(rx.finditer(text)):
            if n > 200:
                break
            for var in _VAR_RE.findall(call_args(text, m.end() - 1)):
                if var not in fields:
                    continue
                if re.search(rf"function\s+\w+\s*\([^)]*\${var}\b|global\s[^;]*\${var}\b", text):
                    continue  # a parameter or a declared global, not a form field
                name = m.group(0).rstrip(" (")
                if is_command:
                    command = command or f"form field '{var}' → {name}()"
                else:
                    file_ops.add(name)
    if command:
        sc.add(
            "register_globals_command",
            55,
            f"{command} through register_globals (the variable is never assigned: PHP fills"
            " it from the request)",
        )
    written = _written_field(text, fields)
    if written:
        sc.add(
            "register_globals_file_write",
            55,
            f"form fields → {written}: a file written at a form-chosen path with form content"
            " through register_globals (the variables are never assigned)",
        )
    elif len(file_ops) >= 3:
        sc.add(
            "register_globals_files",
            45,
            f"file manager on never-assigned form fields (register_globals): "
            f"{', '.join(sorted(file_ops)[:5])}",
        )


_WRITE_OPEN_RE = _R(
    r"(\$\w{1,40})\s*=\s*@?fopen(?<![\w$>:]fopen)\s*\(([^;]{1,300}?),\s*['\"][wax]b?\+?['\"]\s*\)"
)


def _written_field(text: str, fields: set[str]) -> str | None:
    """``$f = fopen("$dir/$name", 'w'); fwrite($f, $content)`` with path and content from form
    fields: the call that writes, named, or None."""
    if "fopen" not in text:
        return None
    for n, m in enumerate(_WRITE_OPEN_RE.finditer(text)):
        if n > 50:
            break
        if not any(var in fields for var in _VAR_RE.findall(m.group(2))):
            continue
        handle = re.escape(m.group(1))
        after = text[m.end() : m.end() + 400]
        for w in re.finditer(rf"(?:fwrite|fputs)\s*\(\s*{handle}\s*,", after):
            if any(var in fields for var in _VAR_RE.findall(call_args(after, w.start()))):
                return "fopen()/fwrite()"
    return None


def _socket_commands(text: str, sc: _Scorer) -> None:
    """Commands read from a network connection and run: a back-connect or bind shell."""
    if "sock" not in text or not _SOCKET_RE.search(text):
        return
    if _SHELL_ON_SOCKET_RE.search(text):
        sc.add("socket_shell", 60, "a shell process wired to a network socket (back-connect shell)")
        return
    read = {m.group(1) for m in _SOCKET_READ_RE.finditer(text)}
    if not read:
        return
    names = "|".join(re.escape(v) for v in sorted(read)[:50])
    tainted_re = _R(rf"(?:{names})(?!\w)")
    for m in _CMD_CALL_RE.finditer(text):
        if tainted_re.search(call_args(text, m.end() - 1)):
            break
    else:
        if not re.search(rf"`[^`\n]{{0,40}}(?:{names})(?!\w)[^`\n]{{0,40}}`", text):
            return
    sc.add(
        "socket_commands",
        60,
        "commands read from a network socket are run (back-connect/bind shell)",
    )


def _properties(text: str, sc: _Scorer) -> None:
    """Request data stored in an object property and run from a method (``$this->shell``)."""
    if "->" not in text or "$this" not in text:
        return
    tainted = _names_re(_tainted_names(text))
    props = {
        m.group(1)
        for m in _PROP_ASSIGN_RE.finditer(text)
        if _SRC_RE.search(m.group(2)) or (tainted is not None and tainted.search(m.group(2)))
    }
    if not props:
        return
    used = _R(r"\$this\s*->\s*(?:" + "|".join(map(re.escape, sorted(props)[:50])) + r")(?!\w)")
    for m in _CMD_CALL_RE.finditer(text):
        if used.search(call_args(text, m.end() - 1)):
            name = m.group(0).rstrip(" (")
            sc.add(
                "request_property_to_sink",
                55,
                f"request data stored in an object property reaches {name}()",
            )
            return


def _letterless(data: bytes, sc: _Scorer) -> None:
    """PHP code made almost only of ``$_``, operators and punctuation: names are computed."""
    head = data[:65536].decode("latin-1")
    for m in _PHP_BLOCK_RE.finditer(head):
        code = re.sub(r"\s+", "", m.group(1))
        if len(code) < 100 or "$_" not in code:
            continue
        letters = sum(c.isalpha() for c in code)
        if letters / len(code) < 0.05 and re.search(r"\$_+\[[^;()]{1,60}?\]\s*\(", code):
            sc.add(
                "letterless_php",
                60,
                f"PHP written without letters ({letters} of {len(code)} characters): function"
                " names are computed from operators",
            )
            return


def php_behaviour(data: bytes, text: str, sc: _Scorer) -> None:
    """All checks of this module (``text``: lower-cased, comments removed)."""
    if "<input" in text or "<textarea" in text or "<select" in text:
        _register_globals(text, sc)
    _socket_commands(text, sc)
    if "sock" in text and _LISTEN_RE.search(text):
        if _FOREVER_RE.search(text):
            sc.add(
                "listens_on_socket",
                50,
                "listens for network connections with no time limit (a bind shell or proxy"
                " server running inside a web request)",
            )
        else:
            sc.add("listens_on_socket", 25, "listens for network connections")
    if not sc.features.get("request_to_sink"):
        _properties(text, sc)
    reads = bool(_SRC_RE.search(text))
    if reads and _DB_RULES[0].pattern.search(text):  # the taint pass only where one connects
        tainted = propagate(text, _SRC_RE)
        apply_rules(text, sc, _DB_RULES, _SRC_RE, tainted, reads_request=True)
    if (
        reads
        and _ADMIN_ROLE_RE.search(text)
        and any(
            _SRC_RE.search(call_args(text, m.end() - 1)) for m in _CREATE_USER_RE.finditer(text)
        )
    ):
        sc.add(
            "creates_admin",
            50,
            "creates a user from request data and makes it an administrator",
        )
    includes_data_file(text, sc)
    if "$__" in text:
        _letterless(data, sc)


def includes_data_file(text: str, sc: _Scorer, *, ssi: bool = False) -> None:
    """A script that includes an image or text file as code (PHP ``include``; with ``ssi``, ASP's
    ``<!--#include``, which IIS runs as script, unlike an ``.shtml`` page's text include): the
    shell's code then hides in a file no scanner of scripts reads."""
    if "include" not in text:
        return
    if m := _INCLUDE_DATA_RE.search(text) or (_SSI_DATA_RE.search(text) if ssi else None):
        target = re.split(r"['\"]", m.group(0))[-2]
        sc.add(
            "includes_data_file",
            50,
            f"runs a data file as code (includes '{target[-40:]}': the code hides outside"
            " the script)",
        )
