"""Which behaviour rules a file gets, by language, for :mod:`seawall.features.webshell`.

The extension says what the server runs a file as; the content may say otherwise (C# in a
``.asp``, JSP in a ``.asp``: corpora and attackers both mislabel files), so a file also gets the
rules of the language its code is written in. UTF-16 files (IIS and Tomcat read them by their
byte-order mark) are turned into one byte per character first, and JSPX's XML escapes are undone
before the Java rules read the code.
"""

from __future__ import annotations

import re

from seawall.features.webshell.cfml import cfml_rules
from seawall.features.webshell.classic_asp import classic_asp_rules
from seawall.features.webshell.dotnet import dotnet_rules
from seawall.features.webshell.flow import _Scorer
from seawall.features.webshell.java import java_rules
from seawall.features.webshell.perl import perl_rules
from seawall.features.webshell.php_behaviour import includes_data_file

__all__ = ["language_rules", "utf16_as_latin1"]


def utf16_as_latin1(data: bytes) -> bytes:
    """A UTF-16 file (with its byte-order mark, as IIS and Tomcat read it) as one byte per
    character, so that every pass sees its code; other bytes are returned unchanged."""
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) or len(data) < 4:
        return data
    text = data.decode("utf-16", errors="replace")
    return text.encode("latin-1", errors="replace")


_XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


_CHAR_REF_RE = re.compile(r"&#(x[0-9a-f]{1,6}|[0-9]{1,7});")


def _char(m: re.Match[str]) -> str:
    """The character an XML character reference names (lower-cased, as the text is)."""
    ref = m.group(1)
    code = int(ref[1:], 16) if ref.startswith("x") else int(ref)
    return chr(code).lower() if 0 < code < 0x110000 else m.group(0)


_DOTNET_SNIFF_RE = re.compile(
    r"<%@\s*(?:page|webhandler|webservice)\b[^%]{0,200}language\s*=\s*[\"']?(?:c#|vb|jscript)"
)


def language_rules(language: str | None, head: str, sc: _Scorer) -> None:
    """Per-language behaviour rules (``head``: the lower-cased first DEEP_BYTES). A file whose
    content is in another language than its extension says (C# in a ``.asp``, JSP in a
    ``.asp``) gets that language's rules too: corpora and attackers both mislabel files."""
    if language in ("jsp", "jspx") or "getparameter" in head:
        if language == "jspx" or "<jsp:scriptlet" in head:
            if "&#" in head:  # XML character references spell code as numbers
                head = _CHAR_REF_RE.sub(_char, head)
            for entity, char in _XML_ENTITIES:
                head = head.replace(entity, char)
        java_rules(head, sc)
    if language == "aspx" or (language in ("asp", None) and _DOTNET_SNIFF_RE.search(head)):
        dotnet_rules(head, sc)
    elif language == "asp":
        classic_asp_rules(head, sc)
    if language in ("asp", "aspx"):  # an ASP include is code; an .shtml one is only text
        includes_data_file(head, sc, ssi=True)
    if language == "cfml":
        cfml_rules(head, sc)
    elif language == "perl":
        perl_rules(head, sc)
