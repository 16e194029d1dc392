"""What attack-tool pages do besides running code, for :mod:`seawall.features.webshell`.

Not every web shell runs commands. Intruders also plant pages that walk the server's folders
testing which ones can be written (to know where the next shell can go), dump every table of a
database (the Chinese "脱裤" scripts), read the session files of other users, mail the page's own
location to a fixed address (a beacon telling the author where the shell landed), turn the server
into a mass mailer for request-supplied recipients, fetch request-chosen URLs (a proxy, or a
scanner when it loops over a request-supplied list), or append request data to their own script
file. Each behaviour is scored once, with a reason that names it. Pure, bounded functions of the
lower-cased text; nothing here depends on a name, banner or password of any one tool.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import call_args, propagate
from seawall.features.webshell.flow import _SRC_RE, _names_re, _Scorer

__all__ = ["attack_tools"]

_R = re.compile

# --- folders tested for write access ------------------------------------------------------------

# A write test: PHP ``is_writable``, Java ``canWrite``, an ASP probe file named by
# ``GetTempName`` or an attribute rewrite, .NET access-control reads.
_WRITE_PROBE_RE = _R(
    r"is_writ(?:e)?able\s*\(|\.\s*canwrite\s*\(|gettempname\b"
    r"|\.attributes\s*=\s*\w+\s*\.\s*attributes|getaccesscontrol\s*\("
)
#: One of these is in every match of _WRITE_PROBE_RE.
_PROBE_WORDS = ("is_writ", "canwrite", "gettempname", ".attributes", "getaccesscontrol")
# A listing of a folder's entries.
_LISTING_RE = _R(
    r"opendir\s*\(|readdir\s*\(|scandir\s*\(|glob\s*\(|\.\s*subfolders\b|\.\s*listfiles\s*\("
    r"|getdirectories\s*\(|\.\s*files\b"
)
# A function definition: PHP/JS ``function name(``, VBScript ``function name``/``sub name``, and
# Java/C# ``Type name(...) {`` (the type a plain word: ``void``, ``boolean``, ``String``...).
_DEF_RE = _R(
    r"function(?<![\w$>:]function)(?<!end function)[ \t]+(\w{1,60})"
    r"|sub(?<![\w$>:.]sub)(?<!end sub)[ \t]+(\w{1,60})"
    r"|(?:void|boolean|bool|string|int|static)\s+(\w{1,60})\s*\([^()]{0,200}\)\s*"
    r"(?:throws[^{]{0,100})?\{"
)
_MAX_DEFS = 300
_BODY = 6000


def _functions(text: str) -> dict[str, str]:
    """Each function defined in ``text`` with its (rough) body: the braces after its name
    (C-like languages), else up to ``End Function``/``End Sub`` or the next definition."""
    defs = [(m.group(1) or m.group(2) or m.group(3), m) for m in _DEF_RE.finditer(text)]
    defs = defs[:_MAX_DEFS]
    bodies: dict[str, str] = {}
    for i, (name, m) in enumerate(defs):
        start = m.end()
        if m.group(3):  # Java/C#: the match ends on the body's brace
            bodies.setdefault(name, _braced(text, start - 1))
            continue
        end = defs[i + 1][1].start() if i + 1 < len(defs) else len(text)
        body = text[start : min(end, start + _BODY)]
        brace = body.find("{", 0, 300)
        if brace >= 0 and ")" in body[:brace] and "\n" not in body[:brace].strip():
            body = _braced(text, start + brace)
        elif found := _END_RE.search(body):
            body = body[: found.start()]
        bodies.setdefault(name, body)
    return bodies


_END_RE = _R(r"end\s+(?:function|sub)\b")


def _braced(text: str, at: int) -> str:
    """The text inside the braces opening at ``text[at]`` (bounded)."""
    depth = 0
    for i in range(at, min(len(text), at + _BODY)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[at + 1 : i]
    return text[at + 1 : at + _BODY]


def _writable_scan(text: str, sc: _Scorer, reads: bool) -> None:
    """A recursive folder walk that tests each folder for write access."""
    if not any(word in text for word in _PROBE_WORDS):
        return
    if not _WRITE_PROBE_RE.search(text) or not _LISTING_RE.search(text):
        return
    bodies = _functions(text)
    probing = {name for name, body in bodies.items() if _WRITE_PROBE_RE.search(body)}
    if not probing:
        return
    calls_probe = _names_re(probing)
    for name, body in bodies.items():
        recursive = re.search(rf"(?<![\w$>.]){re.escape(name)}\s*[( ]", body)
        if not recursive or not _LISTING_RE.search(body):
            continue
        if name in probing or (calls_probe is not None and calls_probe.search(body)):
            sc.add(
                "writable_folder_scan",
                55 if reads else 35,
                "walks folders recursively testing which can be written (looks for where to"
                " plant files)" + (" from a request-chosen folder" if reads else ""),
            )
            return


# A file named ``index.*`` opened for writing: the page every folder serves first.
_INDEX_WRITE_RE = _R(
    r"(?:fopen|file_put_contents|createtextfile|opentextfile|writealltext|filewriter"
    r"|fileoutputstream)\s*\([^;\n]{0,200}index\.(?:html?|php\d?|aspx?|jspx?)"
)


def _mass_defacer(text: str, sc: _Scorer) -> None:
    """A recursive folder walk that writes every folder's index page."""
    if "index." not in text or not _INDEX_WRITE_RE.search(text) or not _LISTING_RE.search(text):
        return
    for name, body in _functions(text).items():
        recursive = re.search(rf"(?<![\w$>.]){re.escape(name)}\s*[( ]", body)
        if recursive and _LISTING_RE.search(body) and _INDEX_WRITE_RE.search(body):
            sc.add(
                "mass_defacer",
                55,
                "walks folders recursively rewriting each one's index page (a mass defacer)",
            )
            return


# Content fetched from another host, and a write to a literal path of a server script.
_FETCHED_RE = _R(
    r"curl_exec\s*\(|file_get_contents\s*\(\s*['\"]https?://|responsebody\b|responsetext\b"
    r"|downloadstring\s*\(|downloaddata\s*\(|openstream\s*\(|openconnection\s*\("
)
_SCRIPT_EXT = r"\.(?:php\d?|phtml|aspx?|ashx|asmx|asa|cer|jspx?|cfml?)"
_PLANT_RE = _R(
    r"(?:file_put_contents|fopen|savetofile|createtextfile|writealltext|writeallbytes"
    r"|fileoutputstream|filewriter)\s*\(?[^;\n]{0,200}?['\"][^'\"\n]{0,200}"
    + _SCRIPT_EXT
    + r"['\"]"
    r"|downloadfile\s*\([^;]{1,300}?['\"][^'\"\n]{0,200}" + _SCRIPT_EXT + r"['\"]"
)


_PLANT_WORDS = (
    *("file_put_contents", "fopen", "savetofile", "createtextfile", "writealltext"),
    *("writeallbytes", "fileoutputstream", "filewriter", "downloadfile"),
)


def _download_and_plant(text: str, sc: _Scorer) -> None:
    """Code fetched from a URL and saved as a new server script."""
    if not any(word in text for word in _PLANT_WORDS):  # every _PLANT_RE match starts so
        return
    for n, m in enumerate(_PLANT_RE.finditer(text)):
        if n > 50:
            return
        direct = m.group(0).startswith("downloadfile")
        if direct or _FETCHED_RE.search(text, max(0, m.start() - 800), m.end() + 400):
            sc.add(
                "download_and_plant",
                55,
                "downloads code from a URL and saves it as a server script (plants a new page)",
            )
            return


# --- database dumps -----------------------------------------------------------------------------

# The list of a database's tables, in each engine's catalog.
_TABLE_LIST_RE = _R(
    r"show\s+tables\b(?!\s+like)|information_schema\s*\.\s*tables\b|from\s+(?:user|all|dba)_tables\b"
    r"|sysobjects(?<![^\Wm]sysobjects)\b|sys\s*\.\s*tables\b|sqlite_master\b|pg_tables\b"
    r"|getschema\s*\(\s*[\"']tables|\.\s*gettables\s*\("
)
# Every row of a table whose name is not written in the query: interpolated (``$t``, ``#t#``)
# or joined on (``" + t``, ``"& t``, ``". $t``).
_SELECT_ALL_RE = _R(
    r"select\s+\*\s+from\s*[`\[\"']?\s*"
    r"(?:\{?\$\w+(?!\w|\s*->)|#\w+#"
    r"|(?:[\"']\s*[+&.]|\"\s*_)\s*\$?[a-z_]\w*(?!\w|\s*(?:\(|::|->|\.\s*\w+\s*\()))"
)
#: One of these is in every match of _TABLE_LIST_RE (a cheap test before the regex).
_TABLE_LIST_WORDS = ("tables", "sysobjects", "sqlite_master", "gettables")
_ROW_LOOP_RE = _R(r"(?<![\w$])(?:while|for|foreach|for\s+each|do)\b")


def _database_dump(text: str, sc: _Scorer) -> None:
    """Lists a database's tables, then, in a loop over them, selects every row of each: a dump of
    the whole database (not a page that reads one table it names)."""
    if "select" not in text or not any(word in text for word in _TABLE_LIST_WORDS):
        return
    for n, m in enumerate(_TABLE_LIST_RE.finditer(text)):
        if n > 20:
            return
        window = text[m.end() : m.end() + 2000]
        loop = _ROW_LOOP_RE.search(window)
        if loop and _SELECT_ALL_RE.search(window, loop.end()):
            sc.add(
                "database_dump",
                50,
                "dumps a whole database: lists its tables, then selects every row of each in a"
                " loop",
            )
            return


# --- mail ---------------------------------------------------------------------------------------

# Server variables that say where the page is.
_LOCATION = (
    "document_root",
    "script_filename",
    "path_translated",
    "server_addr",
    "http_host",
    "server_name",
    "php_self",
    "request_uri",
    "script_name",
)
_LOCATION_RE = _R(r"\$_server\s*\[\s*['\"](" + "|".join(_LOCATION) + r")['\"]\s*\]")
_PHP_ASSIGN_RE = _R(r"(\$\w{1,40})\s*\.?=(?![=>])([^;]{1,600});")
_ADDRESS_RE = _R(r"^\s*['\"][\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+['\"]\s*$")
# ``\bname`` written ``name(?<!...name)``: the same matches, but each alternative starts with a
# literal, which the regex engine skips ahead to (these are searched over whole files).
_MAIL_RE = _R(r"mail(?<![\w$>:]mail)\s*\(")
_LOOP_RE = _R(r"for(?<![\w$]for)(?:each)?\s*\(|while(?<![\w$]while)\s*\(")


def _split_args(args: str) -> list[str]:
    parts, depth, start = [], 0, 0
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


def _mail(text: str, sc: _Scorer, form_fields: frozenset[str]) -> None:
    """PHP ``mail()`` as a beacon (the page's location to a fixed address) or a mass mailer."""
    calls = list(_MAIL_RE.finditer(text))[:50]
    # Names holding the page's location (two or more location variables), or a literal address.
    located: dict[str, int] = {}
    addresses: set[str] = set()
    for m in _PHP_ASSIGN_RE.finditer(text):
        name, rhs = m.group(1), m.group(2)
        count = len(set(_LOCATION_RE.findall(rhs)))
        count += sum(located.get(n, 0) for n in set(re.findall(r"\$\w+", rhs)))
        if count:
            located[name] = max(located.get(name, 0), count)
        if _ADDRESS_RE.match(rhs):
            addresses.add(name)
    tainted = _Taint(text, form_fields)
    for m in calls:
        args = _split_args(call_args(text, m.end() - 1))
        if len(args) < 3:
            continue
        to = args[0].strip()
        fixed = bool(_ADDRESS_RE.match(to)) or to in addresses
        where = len(set(_LOCATION_RE.findall(args[2]))) + sum(
            located.get(n, 0) for n in set(re.findall(r"\$\w+", args[2]))
        )
        if fixed and where >= 2:
            sc.add(
                "mail_beacon",
                50,
                "e-mails the page's own location (server variables) to a fixed address: tells"
                " whoever planted it where it is",
            )
            return
        loop = _LOOP_RE.search(text, max(0, m.start() - 1500), m.start())
        if loop and tainted.reaches(to):
            written = tainted.reaches(args[1]) or tainted.reaches(args[2])
            sc.add(
                "mass_mailer",
                55 if written else 35,
                "request data → mail() recipients, in a loop"
                + (
                    ", with a request-written subject or body (a spam relay)"
                    if written
                    else " (mail to a request-supplied list)"
                ),
            )
            return


class _Taint:
    """Names holding request data, followed only when a check first needs them (the taint pass
    costs more than every check that can do without it)."""

    def __init__(self, text: str, seeds: frozenset[str] = frozenset()) -> None:
        self._text = text
        self._seeds = seeds
        self._known: re.Pattern[str] | None = None
        self._done = False

    def holds(self, name: str) -> bool:
        """Whether the variable ``name`` itself holds request data."""
        return self.reaches(name) and not _SRC_RE.search(name)

    def reaches(self, expression: str) -> bool:
        if _SRC_RE.search(expression):
            return True
        if not self._done:
            self._known = _names_re(propagate(self._text, _SRC_RE, self._seeds))
            self._done = True
        return self._known is not None and bool(self._known.search(expression))


# --- URLs, sessions, the page's own file ---------------------------------------------------------

_FETCH_RE = _R(
    r"curl_setopt\s*\([^,]{1,40},\s*curlopt_url\s*,|curl_init\s*\(\s*[^)\s]"
    r"|file_get_contents(?<![\w$>:]file_get_contents)\s*\(\s*[^)\s]"
    r"|fopen(?<![\w$>:]fopen)\s*\(\s*[^)\s]|fsockopen\s*\(\s*[^)\s]"
)
_SPLIT_LIST_RE = _R(r"(?:explode|split|preg_split)\s*\(\s*['\"](?:\\r)?\\n['\"]")


def _url_fetch(text: str, sc: _Scorer, tainted: _Taint) -> None:
    """A request-chosen URL fetched by the server (PHP curl or a URL-capable file call)."""
    if "curl" not in text and "://" not in text:
        return
    for n, m in enumerate(_FETCH_RE.finditer(text)):
        if n > 100:
            return
        args = call_args(text, m.end() - 1 if text[m.end() - 1] == "(" else m.start())
        if m.group(0).startswith("curl_setopt"):
            args = args.split(",", 2)[-1]
        elif "curl" not in m.group(0) and ("php://" in args or "://" not in args):
            continue  # a plain file path (the file passes judge those) or the request body
        if not tainted.reaches(args):
            continue
        listed = _SPLIT_LIST_RE.search(text) and _LOOP_RE.search(
            text, max(0, m.start() - 1500), m.start()
        )
        sc.add(
            "url_fetch",
            60 if listed else 40,
            "request data → server-side request to a request-chosen URL"
            + (", for each line of a request-supplied list (a scanner)" if listed else ""),
        )
        return


_SESSION_FILES_RE = _R(r"['\"/]sess_")
_READ_RE = _R(r"fopen\s*\(|file_get_contents\s*\(|readfile\s*\(|(?<![\w$>:])file\s*\(")


def _session_theft(text: str, sc: _Scorer) -> None:
    """Lists a folder and reads the session files (``sess_*``) it finds there."""
    if not _SESSION_FILES_RE.search(text):
        return
    for n, m in enumerate(_LISTING_RE.finditer(text)):
        if n > 100:
            return
        window = text[m.start() : m.start() + 500]
        if "sess_" in window and _READ_RE.search(window) and "unlink" not in window:
            sc.add(
                "session_theft",
                50,
                "lists a folder and reads the session files (sess_*) in it: steals other"
                " visitors' sessions",
            )
            return


_SELF_OPEN_RE = _R(
    r"(?:fopen|file_put_contents)\s*\(\s*(?:__file__|\$_server\s*\[\s*['\"]script_filename)"
)


def _self_write(text: str, sc: _Scorer, tainted: _Taint) -> None:
    """Request data appended to the page's own script file."""
    if "__file__" not in text and "script_filename" not in text:
        return
    for m in _SELF_OPEN_RE.finditer(text):
        if tainted.reaches(text[m.start() : m.start() + 800]):
            sc.add(
                "self_write",
                55,
                "request data written into the page's own script file (the page rewrites itself)",
            )
            return


# A file read whose path is the first argument; the call's output goes to the page.
_FILE_READ_RE = _R(
    r"readfile(?<![\w$>:]readfile)\s*\(|file_get_contents(?<![\w$>:]file_get_contents)\s*\("
    r"|highlight_file\s*\(|show_source\s*\(|opentextfile\s*\(|\.\s*loadfromfile\b"
    r"|file\s*\.\s*read(?:alltext|allbytes|alllines)\s*\(|\.\s*(?:writefile|transmitfile)\s*\("
    r"|new\s+(?:java\.io\.)?(?:fileinputstream|filereader|randomaccessfile)\s*\("
    r"|files\s*\.\s*(?:readallbytes|readalllines|newinputstream|readstring|lines)\s*\("
    r"(?:\s*paths\s*\.\s*get\s*\()?|copy(?<![\w$>:]copy)\s*\(|fopen(?<![\w$>:]fopen)\s*\("
)
# A PHP stream wrapper put in front of the path: reads through compression or filter layers
# that older open_basedir/safe_mode checks did not look through.
_WRAPPED_RE = _R(
    r"\s*['\"](?:compress\.zlib|compress\.bzip2|php://filter[^'\"]{0,80}|glob|phar|zip)"
    r"(?:://)?['\"]\s*\.\s*(.{1,80})"
)
# The whole argument is one request value: ``$_GET['f']``, ``Request("f")``,
# ``Request.QueryString("f")``, ``request.getParameter("f")``.
_WHOLE_REQUEST_RE = _R(
    r"\s*@?(?:\$_(?:get|post|request|cookie)\s*\[[^\]]{1,40}\]"
    r"|request\s*(?:\.\s*(?:querystring|form|item|params)\s*)?[(\[][^)\]]{1,40}[)\]]"
    r"|request\s*\.\s*getparameter\s*\([^)]{1,40}\))\s*"
)
_IDENTIFIER_RE = _R(r"\s*(\$?[a-z_]\w{0,40})\s*")


def _file_read(text: str, sc: _Scorer, tainted: _Taint) -> None:
    """A file read at a path that is the request's value itself: the page hands out any file."""
    for n, m in enumerate(_FILE_READ_RE.finditer(text)):
        if n > 100:
            return
        first = _split_args(call_args(text, m.end() - 1 if m.group(0)[-1] == "(" else m.end()))[0]
        if (wrapped := _WRAPPED_RE.fullmatch(first)) and tainted.reaches(wrapped.group(1)):
            what = m.group(0).rstrip(" (")
            sc.add(
                "wrapped_file_read",
                50,
                f"request data → {what}() through a PHP stream wrapper (reads a request-chosen"
                " file past open_basedir/safe_mode checks)",
            )
            return
        if m.group(0).startswith(("copy", "fopen")):
            continue  # a file manager's call: judged elsewhere
        if _WHOLE_REQUEST_RE.fullmatch(first):
            weight = 50
        elif (name := _IDENTIFIER_RE.fullmatch(first)) and tainted.holds(name.group(1)):
            weight = 40
        else:
            continue
        what = re.sub(r"\s+|new\b|\(|java\.io\.", "", m.group(0)).strip(".")
        sc.add(
            "request_file_read",
            weight,
            f"request data → {what} (reads a file at the path the request names: hands out any"
            " file on the server)",
        )
        return


_FORM_FIELD_RE = _R(r"<(?:input|textarea|select)\b[^>]{0,300}?\bname\s*=\s*[\"']?(\w{1,40})")


def _register_globals_fields(text: str) -> frozenset[str]:
    """Form fields used as never-assigned PHP variables (``register_globals`` inputs)."""
    if "<input" not in text and "<textarea" not in text:
        return frozenset()
    fields = {m.group(1) for m in _FORM_FIELD_RE.finditer(text)}
    return frozenset(
        f"${f}"
        for f in sorted(fields)[:100]
        if f"${f}" in text and not re.search(rf"\${f}\s*(?:\[[^\]]*\]\s*)?=(?!=)", text)
    )


def attack_tools(text: str, sc: _Scorer, *, php: bool) -> None:
    """Every check of this module over ``text`` (lower-cased, comments removed for PHP)."""
    reads = bool(_SRC_RE.search(text))
    _writable_scan(text, sc, reads)
    _mass_defacer(text, sc)
    _database_dump(text, sc)
    if "http" in text or "download" in text:
        _download_and_plant(text, sc)
    if reads and _FILE_READ_RE.search(text):
        _file_read(text, sc, _Taint(text))
    if not php:
        return
    if "sess_" in text:
        _session_theft(text, sc)
    if "mail" in text and _MAIL_RE.search(text):
        _mail(text, sc, _register_globals_fields(text))
    if reads:
        tainted = _Taint(text)
        _url_fetch(text, sc, tainted)
        _self_write(text, sc, tainted)
