"""PHP web-shell tricks beyond the plain request-to-sink flow, for :mod:`seawall.features.webshell`.

Each check below is one technique seen in PHP web shells, scored with one explainable reason:
uploads saved under the client's own file name, code fetched from elsewhere and evaluated, the
result of a call used as a function on request data, user-defined decoders feeding ``eval``,
``preg_replace`` ``/e`` assembled from ``chr()`` codes, names built with ``~`` (bitwise NOT) or
hidden as ``pack('c*', ...)`` codes, numbered tables of function names, hard-coded password
hashes guarding the page, and image headers in front of the code. All are pure functions of the
lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.flow import _SRC_RE, _names_re, _Scorer, _statement_at
from seawall.features.webshell.tokens import DANGEROUS, join_literals

__all__ = ["PREG_E_RE", "php_tricks"]

#: ``preg_replace('/.../e', ...)``: the /e modifier evaluates the replacement as PHP code.
PREG_E_RE = re.compile(
    r"preg_replace\s*\(\s*(['\"])([^\w\s\\])(?:\\.|(?!\2).){0,300}\2[a-z]*e[a-z]*\1"
)

# Saving an upload under the client-supplied name (or a request-chosen path) with no checks.
_UPLOAD_AS_RE = re.compile(
    r"(?:move_uploaded_file|copy)\s*\(\s*\$_files\s*\[[^\]]{1,40}\]\s*\[\s*['\"]tmp_name['\"]\s*\]"
    r"\s*,([^;]{1,200})"
)
_CLIENT_NAME_RE = re.compile(
    r"\$_files\s*\[[^\]]{1,40}\]\s*\[\s*['\"]name['\"]\s*\]|\$_(?:get|post|request|cookie)\b"
)
# Signs that an upload handler checks what it receives.
_UPLOAD_CHECK_RE = re.compile(
    r"pathinfo\s*\(|getimagesize\s*\(|finfo_|mime_content_type\s*\(|\[\s*['\"]type['\"]\s*\]"
    r"|in_array\s*\(|preg_match\s*\("
)
# Fetching code: the call, the location argument (after ``(``) and where the result goes.
_FETCH_RE = re.compile(r"(?:file_get_contents|curl_exec)\s*\(")
_URL_RE = re.compile(r"\s*['\"](?:https?|ftp)://")
_URL_ASSIGN_RE = re.compile(r"(\$\w{1,40})\s*=\s*['\"](?:https?|ftp)://")
_HIDDEN_LOCATION_RE = re.compile(
    r"\s*@?(?:pack|base64_decode|hex2bin|str_rot13|strrev|gzinflate|implode|join)\s*\("
)
_FETCHED_ASSIGN_RE = re.compile(r"(\$\w{1,40})\s*=\s*@?\s*$")
# The page deletes its own file (a memory-resident shell keeps running without it).
_SELF_DELETE_RE = re.compile(
    r"unlink(?<![\w>:]unlink)\s*\(\s*(?:__file__|\$_server\s*\[\s*['\"]script_filename['\"]\s*\])"
)
# Look-behinds after the names (same matches as ``(?<![\w$>:.])(?:eval|...)``): every alternative
# then starts with a literal, and the regex engine skips ahead on first characters.
_EVAL_SINK_RE = re.compile(
    r"(?:eval(?<![\w$>:.]eval)|assert(?<![\w$>:.]assert)"
    r"|create_function(?<![\w$>:.]create_function))\s*\("
)
# ``f(...)(...$_GET...)``: the value a call returns is itself called on request data.
_CALL_RESULT_CALL_RE = re.compile(
    r"(?<![\w$>:])(\w{1,40})\s*\([^;()]{0,200}(?:\([^;()]{0,100}\)[^;()]{0,100}){0,3}\)\s*"
    r"\(\s*@?\s*\$_(?:get|post|request|cookie)\b"
)
# Language keywords that look like a call: ``if (...) ($_GET...)`` is not a call result.
# The end of that pattern, without which it cannot match: a cheap guard (literal first).
_CALL_RESULT_GUARD_RE = re.compile(r"\)\s*\(\s*@?\s*\$_(?:get|post|request|cookie)\b")
_KEYWORD_LIST = (
    "if elseif while for foreach switch return and or xor array isset empty echo print list"
    " function catch match unset declare"
)
_KEYWORDS = frozenset(_KEYWORD_LIST.split())
# ``$x = some_decode(...)``/``$this->x = @base32_decode(...)``: a user or built-in decoder.
_DECODED_ASSIGN_RE = re.compile(
    r"(\$(?:this\s*->\s*)?\w{1,40})\s*=\s*@?\s*\w{0,30}(?:decode|decrypt|inflate|uncompress|rot13)"
    r"\w{0,20}\s*\("
)
_CHR_CALL_RE = re.compile(r"\bchr\s*\(\s*(\d{1,3})\s*\)")
# After chr() folding: the pattern argument of preg_replace ends in a delimiter + modifiers with e.
_PREG_E_BUILT_RE = re.compile(
    r"preg_replace\s*\(\s*[^;]{0,300}?\.\s*['\"]([^\w\s\\'\"])[a-df-z]{0,5}e[a-z]{0,5}['\"]\s*,"
)
_NOT_STRING_RE = re.compile(r"\.=?\s*~\s*[($'\"]|~\s*['\"][^'\"\s]")
_PACK_CODES_RE = re.compile(
    r"\(\s*['\"]c\*['\"]\s*,\s*((?:0x[0-9a-f]{1,2}|\d{1,3})(?:\s*,\s*(?:0x[0-9a-f]{1,2}|\d{1,3})){2,60})"
    r"\s*\)"
)
_HIDDEN_NAMES = DANGEROUS | {
    "file_get_contents",
    "base64_decode",
    "gzinflate",
    "str_rot13",
    "move_uploaded_file",
    "file_put_contents",
}
_TABLE_CALL_RE = re.compile(r"\$\w{1,40}\s*\[\s*(\d{1,3})\s*\]\s*\(")
_HASH_GATE_RE = re.compile(
    r"(?:md5|sha1)\s*\(\s*\$_(?:get|post|request|cookie|server)\s*\[[^\]]{1,40}\]\s*\)\s*"
    r"(?:[!=]=+\s*['\"][0-9a-f]{32,40}['\"]|[!=]=*\s*\$(\w{1,40}))"
)


_INDEX_CALL_RE = re.compile(r"\]\s*\(")


def _may_eval(text: str) -> bool:
    """False when :data:`_EVAL_SINK_RE` cannot match: it needs one of these names."""
    return "eval" in text or "assert" in text or "create_function" in text


def _upload_as_client_name(text: str, sc: _Scorer) -> None:
    """An upload stored under the client's own name; strongest when nothing checks its type."""
    for m in _UPLOAD_AS_RE.finditer(text):
        if _CLIENT_NAME_RE.search(m.group(1)):
            if _UPLOAD_CHECK_RE.search(text):
                sc.add("upload_client_name", 25, "saves an upload under a name the client chose")
            else:
                sc.add(
                    "upload_client_name",
                    55,
                    "saves an upload under a name the client chose, with no type check",
                )
            return


def _remote_fetches(text: str) -> list[re.Match[str]]:
    """file_get_contents()/curl calls whose location is a URL (a literal, a variable holding
    one) or is hidden behind a decoder; curl_exec() always fetches from the network."""
    if "file_get_contents" not in text and "curl_exec" not in text:  # what _FETCH_RE needs
        return []
    calls = list(_FETCH_RE.finditer(text))
    if not calls:  # nothing fetched: skip the scan for URL variables
        return []
    url_vars = _names_re({m.group(1) for m in _URL_ASSIGN_RE.finditer(text)})
    found: list[re.Match[str]] = []
    for m in calls:
        where = _statement_at(text, m.end() - 1, 200)
        if (
            m.group(0).startswith("curl_exec")
            or _URL_RE.match(where, 1)
            or _HIDDEN_LOCATION_RE.match(where, 1)
            or (url_vars is not None and url_vars.match(where, 1))
        ):
            found.append(m)
    return found


def _remote_code(text: str, sc: _Scorer) -> None:
    """Code fetched from a URL (or a hidden location) and handed to eval()/create_function()."""
    fetches = _remote_fetches(text)
    if not fetches:
        return
    fetched = _names_re(
        {
            a.group(1)
            for f in fetches
            if (a := _FETCHED_ASSIGN_RE.search(text[max(0, f.start() - 60) : f.start()]))
        }
    )
    for m in _EVAL_SINK_RE.finditer(text):
        args = _statement_at(text, m.end() - 1)
        direct = any(m.end() <= f.start() < m.end() + len(args) for f in fetches)
        if direct or (fetched is not None and fetched.search(args)):
            sc.add(
                "remote_code",
                55,
                "code fetched from a URL or hidden location is evaluated ("
                + re.sub(r"\s+", "", m.group(0))
                + "...)",
            )
            return


def _call_result_call(text: str, sc: _Scorer) -> None:
    # The pattern ends in ``)(`` + request data: skip the costly scan (a word at every
    # position) when that end occurs nowhere.
    if "$_" not in text or not _CALL_RESULT_GUARD_RE.search(text):
        return
    for m in _CALL_RESULT_CALL_RE.finditer(text):
        if m.group(1) not in _KEYWORDS:
            sc.add(
                "call_result_call",
                60,
                f"the value returned by {m.group(1)}() is called as a function on request data",
            )
            return


def _decoded_eval(text: str, sc: _Scorer) -> None:
    """``$x = decoder(...); eval($x)`` with any decoder, including one the page defines."""
    if sc.features.get("eval_decode_chain"):
        return
    # Decoder assignments matter only to an eval sink: look for those first (a cheaper scan).
    evals = list(_EVAL_SINK_RE.finditer(text)) if _may_eval(text) else []
    if not evals:
        return
    names = {re.sub(r"\s+", "", m.group(1)) for m in _DECODED_ASSIGN_RE.finditer(text)}
    if not names:
        return
    for m in evals:
        args = re.sub(r"\s+", "", _statement_at(text, m.end() - 1))
        if any(re.search(re.escape(n) + r"(?!\w)", args) for n in names):
            sc.add("eval_decoded_var", 55, "the output of a decoder function is evaluated")
            return


def _built_names(text: str, sc: _Scorer) -> None:
    """preg_replace /e from chr() codes, ~-built strings, names hidden as pack('c*') codes."""
    if "chr" in text and "preg_replace" in text and not sc.features.get("preg_replace_e"):
        folded = _CHR_CALL_RE.sub(
            lambda m: (
                "'" + chr(int(m.group(1)) % 256).replace("\\", "\\\\").replace("'", "\\'") + "'"
            ),
            text,
        )
        joined = join_literals(folded)
        if _PREG_E_BUILT_RE.search(joined) or PREG_E_RE.search(joined):
            sc.add("preg_replace_e", 55, "preg_replace() /e (evaluate) modifier built from chr()")
    if "~" in text and len(_NOT_STRING_RE.findall(text)) >= 2:  # both alternatives need "~"
        sc.add("not_strings", 45, "strings built with bitwise NOT (~) to hide names")
    for m in _PACK_CODES_RE.finditer(text) if "c*" in text else ():
        codes = [int(c, 0) for c in re.findall(r"0x[0-9a-f]+|\d+", m.group(1))]
        name = "".join(chr(c % 256) for c in codes)
        if name in _HIDDEN_NAMES:
            sc.add("hidden_function_name", 50, f"function name '{name}' hidden as character codes")
            return


def _tables_and_gates(text: str, sc: _Scorer) -> None:
    # The pattern holds ``]\s*(``: look for that first (a literal-first, cheap scan).
    calls = (
        {m.group(1) for m in _TABLE_CALL_RE.finditer(text)}
        if _INDEX_CALL_RE.search(text)
        else set()
    )
    if len(calls) >= 3 and _SRC_RE.search(text):
        sc.add(
            "function_table",
            40,
            f"{len(calls)} functions called through a numbered table of names ($t[n](...))",
            len(calls),
        )
    for m in _HASH_GATE_RE.finditer(text) if "$_" in text else ():
        var = m.group(1)
        if var is None or re.search(rf"\${re.escape(var)}\s*=\s*['\"][0-9a-f]{{32,40}}['\"]", text):
            sc.add("hash_gate", 20, "request parameter checked against a hard-coded password hash")
            break


def php_tricks(text: str, sc: _Scorer) -> None:
    """All checks of this module on lower-cased PHP ``text``."""
    if _SELF_DELETE_RE.search(text):
        sc.add("self_delete", 25, "deletes its own script file (keeps running with no file)")
    if "$_files" in text:  # _UPLOAD_AS_RE needs it
        _upload_as_client_name(text, sc)
    _remote_code(text, sc)
    _call_result_call(text, sc)
    _decoded_eval(text, sc)
    _built_names(text, sc)
    _tables_and_gates(text, sc)
