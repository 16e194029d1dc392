"""Classic ASP (VBScript/JScript) behaviour rules beyond the plain request-to-``Execute`` flow,
for :mod:`seawall.features.webshell`.

Database managers open an ADODB connection with a connection string the request supplies and
run the request's SQL; uploaders write posted text into a file with a script extension (the
next web shell) or at a request-chosen path. Pure functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import Rule, apply_rules, file_writes, propagate
from seawall.features.webshell.flow import _ASP_SRC, _Scorer

__all__ = ["classic_asp_rules"]

_R = re.compile
SOURCE_RE = _R(_ASP_SRC)

_RULES = (
    Rule(
        "asp_db_connection",
        _R(r"\.\s*open\b|connectionstring\s*="),
        "ADODB connection to a request-supplied database (connection string from the request)",
        55,
        whole_statement=True,
    ),
    Rule(
        "asp_sql",
        _R(r"\.\s*execute\b"),
        "SQL text from the request (runs request-supplied queries)",
        35,
        whole_statement=True,
    ),
)
_ALWAYS_RULES = (
    Rule(
        "asp_shell_execute",
        _R(r"\.\s*shellexecute\b"),
        "Shell.Application ShellExecute (OS command)",
        70,
        40,
        25,
        whole_statement=True,
    ),
    Rule(
        "asp_wmi_process",
        _R(r"win32_process\b"),
        "WMI Win32_Process.Create (OS command)",
        70,
        40,
        25,
        whole_statement=True,
    ),
    Rule(
        "asp_server_execute",
        _R(r"server\s*\.\s*(?:execute|transfer)\b"),
        "Server.Execute of a request-chosen page",
        55,
        whole_statement=True,
    ),
)
_SCRIPT_CONTROL_RULES = (
    Rule(
        "asp_script_control",
        _R(r"\.\s*(?:addcode|executestatement|eval|run)\b"),
        "MSScriptControl runs script code (AddCode/ExecuteStatement/Eval)",
        70,
        whole_statement=True,
    ),
)
_FETCH_RULES = (
    Rule(
        "asp_url_fetch",
        _R(r"\.\s*open\b"),
        "server-side request to a request-chosen URL (proxy or intranet scanner)",
        40,
        whole_statement=True,
    ),
)
_FILE_OPEN_RE = _R(r"createtextfile\s*\(|opentextfile\s*\(|savetofile\b")


def classic_asp_rules(text: str, sc: _Scorer) -> None:
    """Database-manager and uploader rules over ``text`` (lower-cased)."""
    reads = bool(SOURCE_RE.search(text))
    if ("win32_process" in text or "shellexecute" in text) and not reads:
        apply_rules(text, sc, _ALWAYS_RULES, SOURCE_RE, frozenset(), reads_request=False)
    if not reads:
        return
    tainted = propagate(text, SOURCE_RE)
    apply_rules(text, sc, _ALWAYS_RULES, SOURCE_RE, tainted, reads_request=True)
    if "adodb.connection" in text or "connectionstring" in text:
        apply_rules(text, sc, _RULES, SOURCE_RE, tainted, reads_request=True)
    if "scriptcontrol" in text:
        apply_rules(text, sc, _SCRIPT_CONTROL_RULES, SOURCE_RE, tainted, reads_request=True)
    if "xmlhttp" in text:
        apply_rules(text, sc, _FETCH_RULES, SOURCE_RE, tainted, reads_request=True)
    file_writes(text, sc, _FILE_OPEN_RE, SOURCE_RE, tainted)
