"""ASP.NET behaviour rules (ASPX pages, ASHX handlers, ASMX services), for
:mod:`seawall.features.webshell`.

.NET web shells hand request data to ``System.Diagnostics.Process``, to JScript.NET ``eval``,
to ``Assembly.Load`` of request bytes (the Behinder/Godzilla family), to a CodeDom compiler, to
a ``StreamWriter``/``SaveAs`` at a request-chosen path (uploaders), to a database connection
string (database managers) or to a socket (tunnels such as reGeorg). In Web Forms, request data
also arrives through server controls: the ``Text`` of a ``<asp:TextBox>`` or the ``Value`` of an
``<input runat="server">`` is what the client posted, so their ids are request sources here.
Pure functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import Rule, apply_rules, file_writes, propagate
from seawall.features.webshell.flow import _Scorer

__all__ = ["dotnet_rules"]

_R = re.compile

_REQUEST = (
    r"request\s*(?:\.\s*(?:form|querystring|item|cookies|params|headers|inputstream|files"
    r"|binaryread|getbufferlessinputstream|servervariables\s*\[\s*[\"']http_)\b|[\(\[])"
)
# Server controls whose posted value is request data: ``<asp:TextBox id="cmd"``,
# ``<input id="cmd" runat="server">`` (the id may come before or after runat).
_CONTROL_RE = _R(
    r"<asp:(?:textbox|hiddenfield|dropdownlist|listbox)\b[^>]{0,300}?\bid\s*=\s*[\"']?(\w{1,40})"
    r"|<(?:input|textarea|select)\b[^>]{0,300}?\bid\s*=\s*[\"']?(\w{1,40})[^>]{0,300}?runat"
    r"|<(?:input|textarea|select)\b[^>]{0,300}?runat\s*=\s*[\"']?server[^>]{0,300}?\bid\s*=\s*[\"']?(\w{1,40})"
)

_PROCESS = "System.Diagnostics.Process (OS command)"
_RULES = (
    Rule("dotnet_process", _R(r"process\s*\.\s*start\s*\("), _PROCESS, 70, 35, 15),
    Rule(
        "dotnet_process",
        _R(r"startinfo\s*\.\s*(?:filename|arguments)\s*=|\.arguments\s*=|processstartinfo\s*\("),
        _PROCESS,
        70,
        35,
        15,
        whole_statement=True,
    ),
    Rule(
        "dotnet_process",
        _R(r"standardinput\s*\.\s*write(?:line)?\s*\("),
        "commands written to a process's standard input",
        70,
        35,
        15,
    ),
    Rule(
        "dotnet_assembly_bytes",
        _R(
            r"assembly\s*\.\s*load\s*\(\s*(?:convert\s*\.\s*frombase64string|[^;]{0,200}"
            r"(?:transformfinalblock|binaryread|decrypt))"
        ),
        "Assembly.Load of decoded or decrypted bytes (runs a hidden .NET assembly)",
        70,
        55,
        55,
    ),
    Rule(
        "dotnet_assembly_load",
        _R(r"assembly\s*\.\s*load\s*\(|appdomain\.currentdomain\.load\s*\("),
        "Assembly.Load (loads a .NET assembly: runs code)",
        70,
        25,
        10,
    ),
    Rule(
        "dotnet_compile",
        _R(r"compileassemblyfrom\w+\s*\(|(?:csharp|vb|jscript)codeprovider\b|codedomprovider\b"),
        "CodeDom compiler (compiles and runs source code)",
        70,
        45,
        30,
        whole_statement=True,
    ),
    Rule(
        "dotnet_eval",
        _R(r"(?<![\w.])eval\s*\("),
        "JScript.NET eval (runs code)",
        70,
        45,
        0,
    ),
    Rule(
        "dotnet_reflection",
        _R(r"\.\s*invokemember\s*\(|type\s*\.\s*gettype\s*\(|\.\s*createinstance\s*\("),
        "reflection on a request-chosen type or member",
        55,
    ),
    Rule(
        "dotnet_db_connection",
        _R(
            r"new\s+(?:[\w.]*\.)?(?:sql|oledb|odbc|mysql|oracle|npgsql)connection\s*\("
            r"|\.\s*connectionstring\s*="
        ),
        "database connection to a request-supplied server (connection string from the request)",
        55,
        whole_statement=True,
    ),
    Rule(
        "dotnet_sql",
        _R(
            r"new\s+(?:[\w.]*\.)?(?:sql|oledb|odbc|mysql|oracle|npgsql)(?:command|dataadapter)\s*\("
            r"|\.\s*commandtext\s*="
        ),
        "SQL text from the request (runs request-supplied queries)",
        35,
        whole_statement=True,
    ),
    Rule(
        "dotnet_socket",
        _R(
            r"new\s+(?:[\w.]*\.)?(?:tcpclient|ipendpoint|socket)\s*\(|\.\s*connect\s*\("
            r"|dns\s*\.\s*(?:gethostentry|resolve)\s*\("
        ),
        "socket to a request-chosen host (network tunnel)",
        55,
    ),
    Rule(
        "dotnet_download",
        _R(r"\.\s*download(?:file|data|string)\s*\("),
        "download of a request-chosen URL",
        40,
    ),
)
_FILE_OPEN_RE = _R(
    r"new\s+(?:system\.io\.)?(?:streamwriter|filestream|binarywriter)\s*\("
    r"|file\s*\.\s*(?:writeall\w+|appendall\w+|create|createtext|openwrite|copy|move)\s*\("
    r"|\.\s*(?:createtext|appendtext|openwrite|saveas|copyto|moveto)\s*\("
)


def dotnet_rules(text: str, sc: _Scorer) -> None:
    """All ASP.NET behaviour rules over ``text`` (lower-cased)."""
    ids = {i for m in _CONTROL_RE.finditer(text) for i in m.groups() if i}
    pattern = _REQUEST
    if ids:
        names = "|".join(sorted(map(re.escape, ids))[:100])
        pattern += rf"|(?<![\w.])(?:{names})\s*\.\s*(?:text|value|selectedvalue)\b"
    source = _R(pattern)
    reads = bool(source.search(text))
    tainted = propagate(text, source) if reads else frozenset()
    apply_rules(text, sc, _RULES, source, tainted, reads_request=reads)
    if reads:
        file_writes(text, sc, _FILE_OPEN_RE, source, tainted)
