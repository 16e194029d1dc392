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

from seawall.features.webshell.behaviour import (
    Rule,
    apply_rules,
    call_args,
    file_writes,
    needed_literals,
    propagate,
)
from seawall.features.webshell.flow import _names_re, _Scorer

__all__ = ["dotnet_rules"]

_R = re.compile

_REQUEST = (
    r"request\s*(?:\.\s*(?:form|querystring|item|cookies|params|headers|inputstream|files"
    r"|binaryread|getbufferlessinputstream|servervariables\s*\[\s*[\"']http_)\b|[\(\[])"
)
# Server controls whose posted value is request data: ``<asp:TextBox id="cmd"``,
# ``<input id="cmd" runat="server">`` (the id may come before or after runat), and file-upload
# controls, whose posted file and its client-chosen name are request data too.
_CONTROL_RE = _R(
    r"<asp:(?:textbox|hiddenfield|dropdownlist|listbox|fileupload)\b[^>]{0,300}?\bid\s*=\s*[\"']?(\w{1,40})"
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
        "dotnet_eval",
        _R(r"jscriptevaluate\s*\("),
        "JScript.NET eval (runs code)",
        70,
        50,
        40,
    ),
    Rule(
        "dotnet_powershell",
        _R(
            r"powershell\s*\.\s*create\s*\(|runspacefactory\s*\.\s*createrunspace\s*\("
            r"|\.\s*addscript\s*\(|\.\s*createpipeline\s*\("
        ),
        "PowerShell run inside the page's process (System.Management.Automation)",
        70,
        50,
        40,
    ),
    Rule(
        "dotnet_process",
        _R(r"interaction\s*\.\s*shell\s*\("),
        "Microsoft.VisualBasic Interaction.Shell (OS command)",
        70,
        35,
        15,
    ),
    Rule(
        "dotnet_wmi_process",
        _R(r"win32_process\b"),
        "WMI Win32_Process.Create (OS command)",
        70,
        40,
        25,
        whole_statement=True,
    ),
    Rule(
        "dotnet_xslt_script",
        _R(
            r"new\s+(?:system\.xml\.xsl\.)?xsltsettings\s*\(\s*true\s*,\s*true|enablescript\s*=\s*true"
        ),
        "XSLT transform with embedded script enabled (runs code from a stylesheet)",
        70,
        50,
        35,
        whole_statement=True,
    ),
    Rule(
        "dotnet_server_execute",
        _R(r"server\s*\.\s*(?:execute|transfer)\s*\("),
        "Server.Execute of a request-chosen page",
        55,
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
# Formatters whose Deserialize runs gadget chains (JSON serializers are not among them): once one
# is in the page, its ``.Deserialize(`` calls are sinks.
_FORMATTER_RE = _R(
    r"binaryformatter|losformatter|objectstateformatter|soapformatter|netdatacontractserializer"
)
_DESERIALIZE = Rule(
    "dotnet_deserialize",
    _R(r"\.\s*deserialize\s*\("),
    "Deserialize with a .NET formatter that runs gadget chains (BinaryFormatter/LosFormatter...)",
    70,
)
# ``[WebMethod] public string Run(string cmd)``: an ASMX/WCF method's parameters are the request.
_WEB_METHOD_RE = _R(
    r"\[\s*(?:system\.web\.services\.)?webmethod\b[^\]]{0,200}\]\s*(?:public\s+)?(?:static\s+)?"
    r"[\w<>\[\].]{1,60}\s+\w{1,60}\s*\(([^()]{0,300})\)"
    r"|\[\s*operationcontract\b[^\]]{0,200}\]\s*[\w<>\[\].]{1,60}\s+\w{1,60}\s*\(([^()]{0,300})\)"
)
# Win32 memory and thread APIs declared through P/Invoke: the tools of a shellcode loader.
_PINVOKE_RE = _R(r"dllimport\s*\(\s*\"kernel32")
_SHELLCODE_RE = _R(r"virtualalloc\w*|createthread|createremotethread|writeprocessmemory|winexec")
_FILE_OPS = (
    ("delete", _R(r"(?:file|directory)\s*\.\s*delete\s*\(|\.\s*delete\s*\(")),
    ("copy", _R(r"(?:file|directory)\s*\.\s*copy\s*\(|\.\s*copyto\s*\(")),
    ("move", _R(r"(?:file|directory)\s*\.\s*move\s*\(|\.\s*moveto\s*\(")),
    ("list", _R(r"\.\s*get(?:files|directories|filesysteminfos)\s*\(")),
    ("create directory", _R(r"directory\s*\.\s*createdirectory\s*\(|\.\s*create\s*\(\s*\)")),
    ("read", _R(r"file\s*\.\s*readall\w+\s*\(|new\s+(?:system\.io\.)?streamreader\s*\(")),
    ("attributes", _R(r"\.\s*(?:setattributes|attributes\s*=)")),
    (
        "timestamps",
        _R(
            r"set(?:creation|lastwrite|lastaccess)time\w*\s*\(|\.\s*(?:creation|lastwrite|lastaccess)time\s*="
        ),
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
        pattern += (
            rf"|(?:(?<=this\.)|(?<![\w.]))(?:{names})\s*\.\s*"
            r"(?:text|value|selectedvalue|postedfile|filename|filebytes|filecontent)\b"
        )
    source = _R(pattern)
    seeds = [
        part.split()[-1]
        for m in _WEB_METHOD_RE.finditer(text)
        for part in (m.group(1) or m.group(2) or "").split(",")
        if part.split()
    ]
    reads = bool(seeds) or bool(source.search(text))
    tainted = propagate(text, source, seeds, semicolons=True) if reads else frozenset()
    rules = (*_RULES, _DESERIALIZE) if _FORMATTER_RE.search(text) else _RULES
    apply_rules(text, sc, rules, source, tainted, reads_request=reads)
    if reads:
        file_writes(text, sc, _FILE_OPEN_RE, source, tainted)
        _file_manager(text, sc, source, tainted)
    if "cmd" in text or "powershell" in text or "/bin/" in text:
        _wired_shell(text, sc)
    if "aaeaaad/////" in text and ("formatter" in text or "deserialize" in text):
        sc.add(
            "dotnet_embedded_serialized",
            60,
            "a serialized .NET object (BinaryFormatter) is embedded in the page and deserialized"
            " (a gadget chain that runs code)",
        )
    if "kernel32" in text and _PINVOKE_RE.search(text) and (m := _SHELLCODE_RE.search(text)):
        sc.add(
            "dotnet_shellcode",
            55,
            f"declares Win32 {m.group(0)} through P/Invoke (runs native code: a shellcode loader)",
        )


# A shell program started by name (a literal near the process call), and a socket.
_SHELL_PROGRAM_RE = _R(r"[\"'](?:cmd(?:\.exe)?|powershell(?:\.exe)?|/bin/(?:ba)?sh)[\"']")
_NET_SOCKET_RE = _R(r"new\s+(?:[\w.]*\.)?(?:tcpclient|tcplistener|socket)\s*\(")
_START_RE = _R(r"process\s*\.\s*start\s*\(|processstartinfo\s*\(|\.\s*filename\s*=")


def _wired_shell(text: str, sc: _Scorer) -> None:
    """A shell program started in a page that opens a socket: a reverse or bind shell."""
    if "dotnet_socket_shell" in sc.features or not _NET_SOCKET_RE.search(text):
        return
    for m in _START_RE.finditer(text):
        if _SHELL_PROGRAM_RE.search(text, m.start(), m.start() + 300):
            sc.add(
                "dotnet_socket_shell",
                60,
                "starts a shell program (cmd/PowerShell) in a page that opens a socket: a reverse"
                " or bind shell",
            )
            return


def _file_manager(text: str, sc: _Scorer, source: re.Pattern[str], tainted: frozenset[str]) -> None:
    """Several kinds of file operation on request-chosen paths: a file manager."""
    known = _names_re(tainted)

    def from_request(s: str) -> bool:
        return bool(source.search(s) or (known is not None and known.search(s)))

    ops = []
    for name, rx in _FILE_OPS:
        needs = needed_literals(rx.pattern)
        if needs is not None and not any(word in text for word in needs):
            continue
        for n, m in enumerate(rx.finditer(text)):
            start = max(text.rfind(";", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
            if n > 50 or from_request(text[start : m.start()] + call_args(text, m.end() - 1)):
                ops.append(name) if n <= 50 else None
                break
    if len(ops) >= 3:
        sc.add(
            "dotnet_file_manager",
            35,
            f"file manager: {len(ops)} kinds of file operation on request-chosen paths"
            f" ({', '.join(ops[:5])})",
            len(ops),
        )
    if "timestamps" in ops:
        sc.add("dotnet_timestomp", 20, "sets file times from request data (timestomping)")
