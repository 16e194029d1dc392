"""Server-abuse markers common to ASP, ASP.NET and PHP shells, for :mod:`seawall.features.webshell`.

These are things a web page has no business doing, whatever its language: an XSLT stylesheet
whose embedded script or PHP-function bridge runs commands or code; a page that writes a script
or program to disk and then runs that very file (a dropper); one that marks files hidden/system
so that the planted pages are not seen; one that reads the IIS anonymous/WAM account passwords
from the metabase; and an image header (``GIF89a``) in front of server-side code, which slips a
script past upload filters that only check the first bytes. Pure functions of the text/bytes.
"""

from __future__ import annotations

import re

from seawall.features.webshell.alternation import Alternation
from seawall.features.webshell.flow import (
    _SRC_RE,
    _names_re,
    _Scorer,
    _standalone,
    _statement_at,
    _tainted_names,
)
from seawall.features.webshell.tokens import DANGEROUS

__all__ = ["host_abuse"]

# XSLT with script: MSXML ``<msxsl:script>`` running ActiveX/eval, or PHP's XSL/XPath bridge
# (registerPHPFunctions) asked to call a dangerous function by name.
_MSXSL_RE = re.compile(r"<msxsl:script\b[^<]{0,2000}?(?:activexobject|wscript\.shell|eval\s*\()")
_PHP_XSL_CALL_RE = re.compile(
    r"\w{1,20}:function(?:string)?\s*\(\s*\\?['\"](" + "|".join(sorted(DANGEROUS)) + r")\\?['\"]"
)
# A path written by the page and then run by it.
_WRITTEN_RE = re.compile(
    r"(?:createtextfile|savetofile|file_put_contents|fopen|writealltext|copyfile)\s*\(?\s*"
    r"['\"]{1,2}([^'\"\n]{3,200}\.(?:vbs|bat|cmd|exe|ps1|js|hta|com|scr))['\"]",
)
_WRITE_WORDS = (
    "createtextfile",
    "savetofile",
    "file_put_contents",
    "fopen",
    "writealltext",
    "copyfile",
)
_RUN_RE = re.compile(
    r"(?:\.run|\.exec|shellexecute|system|exec|shell_exec|passthru|popen|process\s*\.\s*start)"
    r"\s*\(?\s*['\"]{1,2}([^'\"\n]{3,200})['\"]"
)
# ``f.Attributes = 7`` and the like: the hidden (2) or system (4) bit set from script.
_ATTRIB_RE = re.compile(r"\.attributes\s*=\s*(\d{1,3})\b|attrib(?:\.exe)?\s+\+[hs]\b")
_IIS_CRED_RE = re.compile(r"anonymoususerpass|wamuserpass")
# File-system operations of a file manager (PHP functions, FileSystemObject/ADODB methods). One
# literal-first alternative per name (see Alternation): same matches as
# ``(unlink|...)\s*\(|\.\s*(deletefile|...)\b``; _file_op() recovers the name.
_CALL_OPS = (
    "unlink rmdir rename copy chmod chown mkdir touch file_put_contents readfile fopen"
    " move_uploaded_file"
)
_METHOD_OPS = (
    "deletefile deletefolder copyfile movefile createfolder copyfolder movefolder opentextfile"
    " createtextfile savetofile loadfromfile"
)
_FILE_OPS = Alternation(
    [(name, name + r"\s*\(") for name in _CALL_OPS.split()]
    + [(name, r"\.\s*" + name + r"\b") for name in _METHOD_OPS.split()]
)
_OP_NAME_RE = re.compile(r"\w+")
_IMAGE_MAGIC = (b"GIF87a", b"GIF89a", b"\x89PNG\r\n", b"\xff\xd8\xff")


def _xslt(text: str, sc: _Scorer) -> None:
    if _MSXSL_RE.search(text):
        sc.add("xslt_script", 55, "XSLT stylesheet embeds script that creates objects or runs code")
    elif ("registerphpfunctions" in text or "php.net/xsl" in text) and (
        m := _PHP_XSL_CALL_RE.search(text)
    ):
        sc.add(
            "xslt_script",
            55,
            f"XSLT/XPath with PHP functions enabled calls '{m.group(1)}' by name",
        )


def _dropper(text: str, sc: _Scorer) -> None:
    if not any(word in text for word in _WRITE_WORDS):  # _WRITTEN_RE starts with one of them
        return
    written = {m.group(1) for m in _WRITTEN_RE.finditer(text)}
    if not written:
        return
    for m in _RUN_RE.finditer(text):
        if m.group(1) in written:
            sc.add(
                "write_and_run",
                55,
                f"writes a script or program to disk and runs it ({m.group(1)[-40:]})",
            )
            return


def _file_ops(text: str, sc: _Scorer) -> None:
    """Many different file operations on paths taken from the request: a file manager."""
    tainted = _names_re(_tainted_names(text))
    ops: set[str] = set()
    for n, m in enumerate(_FILE_OPS.finditer(text)):
        if n > 2000:
            break
        method = m.group(0).startswith(".")  # ``.deletefile`` (else a call: ``unlink(``)
        found = _OP_NAME_RE.search(m.group(0))
        op = found.group(0) if found else ""
        if op in ops or (not method and not _standalone(text, m)):
            continue
        args = _statement_at(text, m.end() - 1)
        if _SRC_RE.search(args) or (tainted is not None and tainted.search(args)):
            ops.add(op)
    sc.features["request_file_ops"] = len(ops)
    if len(ops) >= 4:
        # Six kinds or more (delete, copy, move, mkdir, chmod, write...) on request-chosen paths
        # are a whole remote file manager; no benign page of ~3,400 measured has three.
        sc.add(
            "request_file_ops",
            50 if len(ops) >= 6 else 35,
            f"file manager: {len(ops)} file operations on request-chosen paths"
            f" ({', '.join(sorted(ops)[:5])})",
            len(ops),
        )


def host_abuse(data: bytes, text: str, sc: _Scorer) -> None:
    """All checks of this module (``text``: the lower-cased, latin-1 decoded ``data``)."""
    _xslt(text, sc)
    _dropper(text, sc)
    _file_ops(text, sc)
    attrib = [
        m
        for m in (_ATTRIB_RE.finditer(text) if "attrib" in text else ())  # both need "attrib"
        if m.group(1) is None or int(m.group(1)) & 6
    ]
    if attrib:
        sc.add("hides_files", 25, "marks files hidden/system from script (hides planted files)")
    if "iis://" in text and _IIS_CRED_RE.search(text):
        sc.add("iis_credentials", 50, "reads IIS anonymous/WAM account passwords from the metabase")
    if data.startswith(_IMAGE_MAGIC):
        sc.add("image_header", 25, "image file header in front of server-side code")
