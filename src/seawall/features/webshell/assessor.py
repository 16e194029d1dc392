"""Web-shell assessment of one file's bytes (ATT&CK T1505.003).

AA21-200A says APT40 plants China Chopper web shells on internet-facing servers, and tells
defenders to scan those servers for unauthorised change. A web shell is, at heart, a page that
hands attacker-controlled request data to something that runs code or commands, often hidden
behind encoding so that a grep for ``eval($_POST`` misses it. This module scores a file on those
two axes (request data reaching a code/command sink, and obfuscation) plus file-manager markers,
and keeps one human sentence per contributing feature so that every score can be explained to an
analyst and argued with. Helper modules hold the passes: ``flow`` (request data to
sinks, de-obfuscation), ``wrap`` (the same through a helper function),
``php`` (PHP-only tricks), ``host`` (server abuse in any language: XSLT
script, droppers, hidden files, IIS credentials, file managers, image headers), one module of
behaviour rules per language family (``java``, ``dotnet``, ``classic_asp``, ``cfml``, ``perl``,
``php_behaviour``, ``php_escape``, ``php_tools``) on the shared taint and rule engine of
``behaviour``, what attack-tool pages do in any language (``attack_tools``) and names hidden from
a reader (``hidden``).

It is a pure function of the bytes and the file name: no I/O, no execution of anything, so it can
run at collect time on evidence and again later on the stored bytes. Content is decoded as
latin-1 (one character per byte, never fails) because web shells are often deliberately invalid
UTF-8, and only the first :data:`MAX_BYTES` are looked at so that a hostile multi-gigabyte
``.php`` cannot stall a sweep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from seawall.features.webshell.alternation import Alternation
from seawall.features.webshell.attack_tools import attack_tools
from seawall.features.webshell.flow import (
    _CMD_SINKS,
    _DECODE_CHAIN_RE,
    _EVAL_STRING_DECODE_RE,
    _I,
    _SRC_RE,
    _deep_flow,
    _deobfuscated,
    _entropy,
    _flow,
    _normalised,
    _packed,
    _Scorer,
    _sinks,
    _standalone,
    _wrappers,
)
from seawall.features.webshell.hidden import hidden_names
from seawall.features.webshell.host import host_abuse
from seawall.features.webshell.languages import language_rules, utf16_as_latin1
from seawall.features.webshell.php import PREG_E_RE, php_tricks
from seawall.features.webshell.php_behaviour import php_behaviour
from seawall.features.webshell.php_escape import php_escapes
from seawall.features.webshell.php_tools import php_tools
from seawall.features.webshell.tokens import fold_variables, join_literals
from seawall.features.webshell.wrap import wrapped_sinks

__all__ = [
    "ASSESSOR_VERSION",
    "MAX_BYTES",
    "THRESHOLD",
    "WEB_EXTENSIONS",
    "WebshellAssessment",
    "assess",
    "assessment_from_json",
    "assessment_to_json",
    "is_web_root",
    "is_web_script",
]

#: Bumped whenever features or weights change: an assessment stored at collect time by another
#: version is not trusted, and the hunt re-reads the evidence instead.
ASSESSOR_VERSION = 4

#: Only this many leading bytes are examined: web shells are small, and work must be bounded.
MAX_BYTES = 4 * 1024 * 1024

# De-obfuscation (constant folding, literal joining, callback and dropper analysis) looks at
# this many leading bytes only: packed shells seen in the wild are well under it.
_DEEP_BYTES = 256 * 1024

#: Score at or above which a file is called a web shell. Chosen so that one strong feature
#: (request data flowing into a code/command sink, or an ``eval(base64_decode(...))`` chain)
#: suffices, while weak features (one long line, some entropy, a lone ``exec``) need company.
THRESHOLD: float = 50.0

_LANG_BY_EXT: dict[str, str] = {
    **dict.fromkeys(
        (".php", ".php3", ".php4", ".php5", ".php7", ".pht", ".phtml", ".phps", ".phar", ".inc"),
        "php",
    ),
    **dict.fromkeys((".asp", ".asa", ".cer", ".cdx"), "asp"),
    **dict.fromkeys(
        (".aspx", ".ashx", ".asmx", ".ascx", ".asax", ".axd", ".svc", ".cshtml", ".vbhtml"),
        "aspx",
    ),
    **dict.fromkeys((".jsp", ".jspf", ".jsw", ".jsv"), "jsp"),
    ".jspx": "jspx",
    **dict.fromkeys((".pl", ".cgi", ".pm"), "perl"),
    **dict.fromkeys((".cfm", ".cfml", ".cfc"), "cfml"),
    **dict.fromkeys((".shtml", ".py", ".rb", ".sh"), "other"),
}

#: File extensions a web server may execute server-side; the files a web-shell sweep looks at.
WEB_EXTENSIONS: frozenset[str] = frozenset(_LANG_BY_EXT)


@dataclass(frozen=True, slots=True)
class WebshellAssessment:
    """Judgement of one file: a 0..100 score, the reasons behind it and the raw features.

    ``behaviours`` name the feature behind each reason, in the same order, with ``weights``
    its share of the score (empty for an assessment stored before they were recorded).
    """

    score: float
    is_webshell: bool
    language: str | None
    reasons: tuple[str, ...]
    features: dict[str, float | int | bool | str] = field(default_factory=dict)
    behaviours: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()


# --- patterns (request sources, sinks and flow passes are in webshell_flow) ----------------------

_MB_EREG_E_RE = re.compile(r"mb_eregi?_replace\s*\([^;]{0,300}['\"][a-z]*e[a-z]*['\"]\s*\)")
_PHP_VARFUNC_SRC_RE = re.compile(r"\$_(?:get|post|request|cookie)\s*\[[^\]]{0,40}\]\s*\(")
# PHP: variable function call $x($y), or ${...}(...) / $x{..}(...)
_PHP_VARFUNC_RE = re.compile(r"\$(?<![\w>:$]\$)\{?[\w'\"\[\]]+\}?\s*\(\s*\$")
_XOR_STR_RE = re.compile(r"['\"]\s*\^\s*['\"]")
_UNDERSCORE_CALL_RE = re.compile(r"\$_{1,8}\s*\(|\$\{\s*['\"]")
_CONCAT_RE = re.compile(r"(['\"])\s*\.\s*\1")
# A dangerous name alone in a string literal; one alternative per name (same matches as
# ``['"](?:assert|eval|...)['"]``) so that only the names present in a text are searched for.
_HIDDEN_NAME_LIST = (
    "assert eval system create_function base64_decode gzinflate str_rot13 shell_exec"
    " passthru call_user_func gzuncompress preg_replace"
)
_HIDDEN_NAMES = Alternation([(name, rf"['\"]{name}['\"]") for name in _HIDDEN_NAME_LIST.split()])
_COMMENT_RE = re.compile(r"/\*.{0,2000}?\*/", re.S)
_EVAL_CALL_RE = re.compile(
    r"(?:eval(?<![\w$>.:]eval)|execute(?<![\w$>.:]execute)"
    r"|executeglobal(?<![\w$>.:]executeglobal)|assert(?<![\w$>.:]assert))"
    r"(?![\w])\s*\(?\s*@?[a-z_]\w{1,40}\s*\("
)
_OBF_PROGID_RE = re.compile(r"createobject\s*\(\s*[^)\n]{0,80}?(?:chr[wb]?\s*\(|\"\s*&)")
_ESCAPE_RE = re.compile(r"\\x([0-9a-f]{2})")
_PHP_EVAL_VAR_RE = re.compile(
    r"(?:eval(?<![\w$>.:]eval)|assert(?<![\w$>.:]assert))\s*\(\s*[@(\s]*\$"
)
_VBENCODE_RE = re.compile(rb"#@~\^[A-Za-z0-9+/=]{6}==|VBScript\.Encode|JScript\.Encode", _I)
_UTF7_RE = re.compile(rb"codepage\s*=\s*65000|\+AD[wz]-", _I)
_B64_BLOB_RE = re.compile(rb"[A-Za-z0-9+/]{400,}={0,2}")
_HEX_BLOB_RE = re.compile(r"(?:\\x[0-9a-f]{2}){60,}|[0-9a-f]{600,}")
_CHR_RE = re.compile(rb"\b(?:chr|chrw|chrb)\s*\(\s*(?:\d|&[hH0])", _I)
_FROMCHAR_RE = re.compile(rb"fromCharCode\s*\(", _I)
_STRREV_RE = re.compile(rb"\bstr(?:rev|reverse)\s*\(", _I)
# Guards for the blob patterns above, whose leading character class makes the engine try them at
# nearly every character: a blob needs this many base64 characters in a row (or 600 hex digits,
# or 60 ``\xHH`` escapes), which one ``bytes.translate`` (each such byte to "+", or to "h", "x"
# and "\\" for hex) and one substring test find at a tiny fraction of the cost. The hex digits,
# "x" and "\\" of the lower-cased text are exactly the bytes ``0-9A-Fa-f``, ``xX`` and "\\" of
# the data (lower-casing latin-1 never makes a non-ASCII character ASCII).
_B64_RUN_TABLE = bytes(
    0x2B if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/") else 0x20 for b in range(256)
)
_HEX_RUN_TABLE = bytes(
    ord("h")
    if chr(b) in "0123456789abcdefABCDEF"
    else ord(chr(b).lower())
    if chr(b) in "xX\\"
    else 0x20
    for b in range(256)
)
_HEX_RUN = b"h" * 600
_HEX_ESCAPES = b"\\xhh" * 60

# File-manager / uploader / recon markers, as (literal, alternative) pairs: see Alternation.
_UPLOADS = Alternation(
    [
        ("move_uploaded_file", r"move_uploaded_file\s*\("),
        ("$_files", r"copy\s*\(\s*\$_files"),
        ("saveas", r"\.saveas\s*\("),
        ("savetofile", r"savetofile\b"),
        ("adodb.stream", r"adodb\.stream"),
        ("postedfile", r"\.postedfile\b"),
        ("fileupload", r"fileupload"),
        ("getpart", r"getpart\s*\("),
        ("multipart/form-data", r"multipart/form-data"),
    ]
)
# ``\bname`` written ``name(?<!\wname)``: same matches, but every alternative starts with a literal.
_DIRLISTS = Alternation(
    [
        ("opendir", r"opendir(?<!\wopendir)\s*\("),
        ("readdir", r"readdir(?<!\wreaddir)\s*\("),
        ("scandir", r"scandir(?<!\wscandir)\s*\("),
        ("glob", r"glob(?<!\wglob)\s*\("),
        ("scripting.filesystemobject", r"scripting\.filesystemobject"),
        ("getfolder", r"\.getfolder\s*\("),
        ("subfolders", r"\.subfolders\b"),
        ("directoryinfo", r"directoryinfo\b"),
        ("listfiles", r"\.listfiles\s*\("),
        ("getdirectories", r"getdirectories\s*\("),
    ]
)
_CMDBOXES = Alternation(
    [
        ("name", r"name\s*=\s*['\"]?(?:cmd|command|exec|execute|shell|c)['\"\s>]"),
        ("cmd.exe", r"cmd\.exe"),
        ("/bin/", r"/bin/(?:ba)?sh\b"),
    ]
)
_RECONS = Alternation(
    [
        ("uname", r"uname\s+-a"),
        ("whoami", r"whoami\b"),
        ("netstat", r"netstat\s+-an"),
        ("/etc/passwd", r"/etc/passwd"),
        ("/etc/shadow", r"/etc/shadow"),
        ("net", r"net\s+user\b"),
        ("ipconfig", r"ipconfig\b"),
        ("safe_mode", r"safe_mode\b"),
        ("disable_functions", r"disable_functions"),
        ("posix_getpwuid", r"posix_getpwuid"),
        ("backconnect", r"backconnect\b"),
        ("bind", r"bind\s*shell"),
        ("reverse", r"reverse\s*shell"),
        ("webshell", r"webshell\b"),
        ("c99", r"c99"),
        ("r57", r"r57"),
    ]
)

_ASP_TAG_RE = re.compile(rb"<%|runat\s*=\s*['\"]?server", _I)
_JSP_SNIFF_RE = re.compile(rb"<%@\s*page\b[^%]*import|<jsp:|java\.(?:io|lang)\.", _I)
_ASPX_SNIFF_RE = re.compile(rb"<%@\s*(?:page|webhandler|webservice)\b[^%]*language\s*=", _I)


def _language(data: bytes, name: str) -> str | None:
    """Language by extension first (what the server will run it as), content second."""
    ext = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if ext in _LANG_BY_EXT:
        return _LANG_BY_EXT[ext]
    head = data[:65536]
    if b"<?php" in head.lower() or re.search(rb"<\?(?:=|\s)", head):
        return "php"
    if _JSP_SNIFF_RE.search(head):
        return "jsp"
    if _ASPX_SNIFF_RE.search(head) and re.search(rb"language\s*=\s*['\"]?c#", head, _I):
        return "aspx"
    if _ASP_TAG_RE.search(head):
        return "asp"
    if head.startswith(b"#!") and b"perl" in head[:100]:
        return "perl"
    return None


def _may_eval(text: str, *more: str) -> bool:
    """False when no ``eval``/``assert`` (or one of ``more``) occurs in ``text``: a cheap guard
    for the patterns below that need one of these names."""
    return "eval" in text or "assert" in text or any(name in text for name in more)


def _can_decode_chain(text: str) -> bool:
    """False when :data:`_DECODE_CHAIN_RE` cannot match: it starts with one of these names."""
    return _may_eval(text, "execute", "create_function")


def _php(text: str, sc: _Scorer, norm: str) -> None:
    """PHP-specific dynamic-call tricks (``norm``: the text after :func:`_normalised`)."""
    has_src = bool(_SRC_RE.search(text))
    if sc.features.get("request_as_function"):
        pass
    elif _PHP_VARFUNC_SRC_RE.search(norm):
        sc.add("request_as_function", 70, "request parameter used as a function name")
    elif has_src and (n := len(_PHP_VARFUNC_RE.findall(text))):  # no count needed without it
        sc.add(
            "variable_function",
            35,
            "variable function call $f($x) in a page reading request data",
            n,
        )
    if PREG_E_RE.search(text) or _MB_EREG_E_RE.search(text, 0, _DEEP_BYTES):
        sc.add("preg_replace_e", 55, "preg_replace() with the /e (evaluate) modifier")
    eval_var = _may_eval(text) and bool(_PHP_EVAL_VAR_RE.search(text))
    if eval_var and not sc.features.get("request_to_sink"):
        sc.add(
            "eval_variable",
            35 if has_src else 15,
            "eval()/assert() of a variable"
            + (" in a page reading request data" if has_src else ""),
        )
    if "^" in text and _XOR_STR_RE.search(text):
        sc.add("xor_strings", 45, "string literals combined with XOR to hide names")
    if ("$_" in text or "${" in text) and _UNDERSCORE_CALL_RE.search(text):  # what it needs
        sc.add(
            "obfuscated_call", 40, "function called through an obfuscated variable ($_() or ${...})"
        )
    joined = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), _CONCAT_RE.sub("", text))
    hidden = _HIDDEN_NAMES.search(joined)
    # Nothing joined or unescaped: the second search would find the same as the first.
    if hidden and joined != text and not _HIDDEN_NAMES.search(text):
        sc.add(
            "hidden_function_name",
            50,
            f"function name {hidden.group(0)} assembled from pieces or escapes",
        )
    elif hidden and has_src:
        sc.add("function_name_string", 25, f"dangerous function name {hidden.group(0)} as a string")
    if len(text) < 1024 and has_src and (sc.features.get("variable_function") or eval_var):
        sc.add(
            "small_dynamic_page", 20, "tiny page whose only job is a dynamic call on request data"
        )


def _obfuscation(data: bytes, text: str, sc: _Scorer) -> None:
    """Encodings that hide code from a reader and from simple signatures."""
    # Literal guards below: each regex can only match where the literal occurs (``text`` is
    # ``data`` lower-cased, and the bytes patterns fold ASCII case only).
    if _can_decode_chain(text) and (m := _DECODE_CHAIN_RE.search(text)):
        chain = re.sub(r"\s+", "", m.group(0))[:40]
        sc.add("eval_decode_chain", 55, f"decoded data is evaluated ({chain}...)")
    if ("#@~^" in text or "script.encode" in text) and _VBENCODE_RE.search(data):
        sc.add("script_encoder", 50, "script is encoded with the Microsoft Script Encoder")
    if _UTF7_RE.search(data[:4096]):
        sc.add("utf7_codepage", 50, "script is written in UTF-7 (code page 65000) to evade filters")
    b64 = 0
    if b"+" * 400 in data.translate(_B64_RUN_TABLE):
        b64 = max((len(m.group(0)) for m in _B64_BLOB_RE.finditer(data)), default=0)
    sc.features["longest_base64"] = b64
    if b64 >= 400 and not re.search(rb"data:(?:image|font|application/font)", data[:200000]):
        sc.add("base64_blob", 35 if b64 >= 2000 else 20, f"base64 blob of {b64:,} characters")
    hexb = 0
    hex_view = data.translate(_HEX_RUN_TABLE)
    if _HEX_ESCAPES in hex_view or _HEX_RUN in hex_view:
        hexb = max((len(m.group(0)) for m in _HEX_BLOB_RE.finditer(text)), default=0)
    sc.features["longest_hex"] = hexb
    if hexb:
        sc.add("hex_blob", 20, f"hex-encoded blob of {hexb:,} characters")
    chars = 0
    if "chr" in text:
        chars += len(_CHR_RE.findall(data))
    if "fromcharcode" in text:
        chars += len(_FROMCHAR_RE.findall(data))
    sc.features["char_codes"] = chars
    if chars >= 8:
        sc.add(
            "char_code_building",
            25 if chars >= 30 else 15,
            f"strings built from {chars} character codes (chr()/fromCharCode)",
        )
    if "strrev" in text and _STRREV_RE.search(data) and next(_sinks(text), None):
        sc.add("reversed_string", 15, "reversed strings near code execution")
    ent = _entropy(data)
    sc.features["entropy"] = round(ent, 3)
    if ent >= 5.8 and len(data) >= 512:
        sc.add("high_entropy", 20, f"high byte entropy ({ent:.2f} bits/byte) for source code")
    longest = max(map(len, data.split(b"\n")))
    sc.features["longest_line"] = longest
    if longest >= 4000:
        sc.add("long_line", 15, f"a line of {longest:,} characters")


def _tools(text: str, sc: _Scorer) -> None:
    """File-manager, uploader, command-box and recon markers of full-featured shells."""
    has_src = bool(_SRC_RE.search(text))
    upload = bool(_UPLOADS.search(text))
    dirlist = bool(_DIRLISTS.search(text))
    cmdbox = bool(_CMDBOXES.search(text))
    cmd = any(_standalone(text, m) for m in _CMD_SINKS.finditer(text))
    sc.features.update(upload=upload, dirlist=dirlist, cmdbox=cmdbox, command_sink=cmd)
    counted = bool(sc.features.get("language_command"))  # a language rule named this call
    if upload and dirlist and cmdbox and cmd:
        sc.add("file_manager", 40, "file manager: directory listing, upload and a command box")
    elif counted:
        pass
    elif cmd and has_src and cmdbox:
        sc.add("command_box", 25, "command box whose input reaches an OS command call")
    elif cmd and has_src:
        sc.add("command_sink", 30, "OS command execution in a page that reads request data")
    elif upload and dirlist and has_src:
        sc.add("uploader", 10, "upload and directory listing in one page")
    recon = {m.group(0).lower() for m in _RECONS.finditer(text[:262_144])}
    sc.features["recon_markers"] = len(recon)
    if len(recon) >= 2:
        sc.add(
            "recon_markers",
            min(30, 8 * len(recon)),
            f"{len(recon)} recon/attack strings ({', '.join(sorted(recon)[:4])})",
        )


def assess(data: bytes, name: str) -> WebshellAssessment:
    """Score ``data`` (the file's bytes; ``name`` gives its extension) as a possible web shell."""
    data = utf16_as_latin1(data[:MAX_BYTES])
    language = _language(data, name)
    text = data.decode("latin-1").lower()
    sc = _Scorer()
    sc.features["bytes_examined"] = len(data)
    _flow(text, sc)
    # The de-obfuscating passes below cost more per byte: they see only the first DEEP_BYTES.
    head = text[:_DEEP_BYTES]
    nocomment = _COMMENT_RE.sub("", head) if "/*" in head else head
    php = language in ("php", None, "other")
    if php:
        code = data[:_DEEP_BYTES].decode("latin-1")
        code = _COMMENT_RE.sub("", code) if "/*" in code else code
        env = fold_variables(code)
        norm = _normalised(join_literals(nocomment), env)
        if norm != nocomment and not sc.features.get("request_to_sink"):
            _flow(norm, sc)
        _deep_flow(norm, sc)
        _deobfuscated(code, env, sc)
        if _may_eval(norm) and (m := _EVAL_STRING_DECODE_RE.search(norm)):
            sc.add("eval_decode_string", 55, f"evaluated string decodes a payload ({m.group(1)})")
        # ``head`` is ``text`` itself when the file is under DEEP_BYTES: reuse ``nocomment``.
        whole = nocomment if head is text else _COMMENT_RE.sub("", text) if "/*" in text else text
        _php(whole, sc, norm)
        php_tricks(norm, sc)
        php_behaviour(data, whole, sc)
        php_escapes(nocomment, sc)
        php_tools(nocomment, sc)
    else:
        norm = head
        _deep_flow(head, sc)
        _wrappers(nocomment, sc)
        hidden_names(data[:_DEEP_BYTES], head, sc)
    wrapped_sinks(norm, sc)
    language_rules(language, head, sc)
    attack_tools(nocomment, sc, php=php)
    host_abuse(data, norm, sc)
    _packed(data[:_DEEP_BYTES], sc)
    if language in ("asp", "aspx") and not sc.features.get("request_to_sink"):
        dyn = [m for m in _sinks(text) if m.group(0)[:4] in ("eval", "exec", ".exe", "asse")]
        if dyn:
            src = bool(_SRC_RE.search(text))
            sc.add(
                "asp_dynamic_code",
                55 if src else 40,
                "dynamic code execution (Eval/Execute) in server-side script"
                + (" reading request data" if src else ""),
            )
    if _may_eval(text, "execute") and (m := _EVAL_CALL_RE.search(text)):
        callee = re.sub(r"\s+", "", m.group(0))
        if not _DECODE_CHAIN_RE.search(text):
            sc.add("eval_computed", 30, f"code evaluated from a computed string ({callee}...)")
    if _OBF_PROGID_RE.search(text):
        sc.add("obfuscated_progid", 35, "COM object name assembled from pieces (CreateObject)")
    _obfuscation(data, text, sc)
    _tools(text, sc)
    if len(sc.parts) >= 3:
        sc.add(
            "several_indicators",
            10,
            f"{len(sc.parts)} independent indicators in one file",
            len(sc.parts),
        )
    parts = sorted(sc.parts, key=lambda p: -p[0])
    score = min(100.0, float(sum(w for w, _, _ in parts)))
    return WebshellAssessment(
        score=score,
        is_webshell=score >= THRESHOLD,
        language=language,
        reasons=tuple(r for _, r, _ in parts),
        features=sc.features,
        behaviours=tuple(name for _, _, name in parts),
        weights=tuple(float(w) for w, _, _ in parts),
    )


# --- web roots -------------------------------------------------------------------------------

# Segment sequences (lower-case) that mark a web root on Windows (matched case-insensitively).
_WIN_ROOTS: tuple[tuple[str, ...], ...] = (
    ("inetpub", "wwwroot"),
    ("inetpub",),
    ("htdocs",),
    ("webapps",),
    ("wwwroot",),
    ("public_html",),
    ("exchange server", "v15", "frontend", "httpproxy"),
    ("exchange server", "v15", "clientaccess"),
    ("microsoft shared", "web server extensions"),
)
_POSIX_ROOT_RE = re.compile(
    r"(?:^|/)(?:var/www|srv/www|srv/http|usr/share/nginx/(?:html|www)|usr/local/nginx/html"
    r"|usr/share/wordpress|var/lib/wordpress|usr/share/phpmyadmin|usr/local/apache2?/htdocs"
    r"|usr/share/tomcat\d*-(?:examples|root|docs|admin)|usr/share/tomcat\d*/webapps"
    r"|var/lib/tomcat\d*/webapps)(?:/|$)"
    r"|(?:^|/)(?:htdocs|webapps|public_html|wwwroot)(?:/|$)"
)


def is_web_root(path: str) -> bool:
    """True when ``path`` is, or lies under, a well-known web server document root.

    Windows paths (a drive letter or a backslash) are matched case-insensitively with either
    slash, as IIS does; POSIX paths case-sensitively. Segments are matched anywhere in the path
    so that a mounted image (``/mnt/img/var/www``, ``/mnt/c/inetpub/wwwroot``) is recognised.
    """
    windows = "\\" in path or bool(re.match(r"^[A-Za-z]:", path))
    if windows:
        segs = [s for s in path.replace("\\", "/").lower().split("/") if s]
        for root in _WIN_ROOTS:
            n = len(root)
            if any(tuple(segs[i : i + n]) == root for i in range(len(segs) - n + 1)):
                return True
        return bool(_POSIX_ROOT_RE.search("/" + "/".join(segs)))
    return bool(_POSIX_ROOT_RE.search(path))


def web_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Regular files (not symlinks) with a server-side web extension, for corpus sweeps."""
    for path in paths:
        if path.suffix.lower() in WEB_EXTENSIONS and path.is_file() and not path.is_symlink():
            yield path


def read_head(path: Path) -> bytes:
    """As much of a file as :func:`assess` looks at, read as bytes only (it may be live malware)."""
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES)


def is_web_script(path: str) -> bool:
    """A server-side script under a well-known web root, as walked (POSIX or Windows form).

    A mounted Windows volume's ``/mnt/c/InetPub/x.aspx`` is checked both as written and with
    Windows' case-insensitive folder names.
    """
    if suffix_of(path).lower() not in WEB_EXTENSIONS:
        return False
    return is_web_root(path) or is_web_root(path.replace("/", "\\"))


def suffix_of(path: str) -> str:
    """``PurePath(path).suffix`` without building a path object (the sweep asks of every file)."""
    name = path[path.rfind("/") + 1 :]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def assessment_to_json(result: WebshellAssessment) -> str:
    """The assessment as stored in the case at collect time (with the assessor's version)."""
    return json.dumps(
        {
            "version": ASSESSOR_VERSION,
            **asdict(result),
            "reasons": list(result.reasons),
            "behaviours": list(result.behaviours),
            "weights": list(result.weights),
        },
        sort_keys=True,
    )


def assessment_from_json(text: str | None) -> WebshellAssessment | None:
    """A stored assessment, or None when absent, unreadable or made by another version."""
    if not text:
        return None
    try:
        data = json.loads(text)
        if data.get("version") != ASSESSOR_VERSION:
            return None
        return WebshellAssessment(
            score=float(data["score"]),
            is_webshell=bool(data["is_webshell"]),
            language=data["language"],
            reasons=tuple(str(r) for r in data["reasons"]),
            features=dict(data["features"]),
            behaviours=tuple(str(b) for b in data.get("behaviours", ())),
            weights=tuple(float(w) for w in data.get("weights", ())),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
