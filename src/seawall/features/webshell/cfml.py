"""ColdFusion (CFML) behaviour rules, for :mod:`seawall.features.webshell`.

ColdFusion shells are tags: ``<cfexecute name="#form.cmd#">`` runs a command, ``<cffile
action="write">`` writes a file, ``<cfquery datasource="#form.ds#">#form.sql#</cfquery>`` runs a
request's SQL against a request-chosen data source, ``Evaluate(form.code)`` runs CFML, and
``CreateObject("java", "java.lang.Runtime")`` reaches Java. ``cfencode`` hides a template from
readers. Request data is the ``form``, ``url`` and ``cookie`` scopes (and what ``<cfset>`` copies
from them). Pure functions of the lower-cased text.
"""

from __future__ import annotations

import re

from seawall.features.webshell.behaviour import Rule, apply_rules, propagate
from seawall.features.webshell.flow import _Scorer

__all__ = ["cfml_rules"]

_R = re.compile
SOURCE_RE = _R(
    r"(?<![\w.])(?:form|url|cookie)\s*(?:\.\s*\w|\[)|gethttprequestdata\s*\("
    r"|getpagecontext\s*\(\s*\)\s*\.\s*getrequest"
)

_RULES = (
    Rule(
        "cf_execute",
        _R(r"<cfexecute\b[^>]{0,600}>"),
        "ColdFusion cfexecute (OS command)",
        70,
        50,
        35,
        in_match=True,
    ),
    Rule(
        "cf_execute",
        _R(r"cfexecute\s*\("),
        "ColdFusion cfexecute (OS command)",
        70,
        50,
        35,
    ),
    Rule(
        "cf_file_write",
        _R(
            r"<cffile\b[^>]{0,300}action\s*=\s*[\"']?(?:write|append|upload|copy|move|rename)[^>]{0,600}>"
        ),
        "ColdFusion cffile write (file written at a request-chosen path or with request data)",
        60,
        15,
        0,
        in_match=True,
    ),
    Rule(
        "cf_query",
        _R(r"<cfquery\b[^>]{0,300}>[^<]{0,2000}"),
        "ColdFusion cfquery on a request-chosen data source or with request SQL",
        55,
        in_match=True,
    ),
    Rule(
        "cf_evaluate",
        _R(r"(?<![\w.])(?:evaluate|precisionevaluate)\s*\("),
        "CFML Evaluate() (runs code)",
        70,
    ),
    Rule(
        "cf_java_runtime",
        _R(r"createobject\s*\(\s*[\"']java[\"']\s*,\s*[\"']java\.lang\.(?:runtime|processbuilder)"),
        "CreateObject of java.lang.Runtime/ProcessBuilder (OS command)",
        70,
        50,
        40,
        whole_statement=True,
    ),
)
_ASSIGNING_RE = _R(r"<cfset\b[^>]{0,600}>|<cfscript\b.{0,20000}?</cfscript>", re.S)
_ENCODED_RE = _R(r"^\s*(?:allaire cold fusion template|coldfusion template)\s+header size")


def cfml_rules(text: str, sc: _Scorer) -> None:
    """All CFML behaviour rules over ``text`` (lower-cased)."""
    if _ENCODED_RE.search(text[:200]):
        sc.add("cf_encoded", 50, "ColdFusion template encrypted with cfencode (hides its code)")
    reads = bool(SOURCE_RE.search(text))
    # Only <cfset> and <cfscript> assign: tag attributes (name="value") are no assignments.
    code = "\n".join(m.group(0) for m in _ASSIGNING_RE.finditer(text))
    tainted = propagate(code, SOURCE_RE) if reads else frozenset()
    apply_rules(text, sc, _RULES, SOURCE_RE, tainted, reads_request=reads)
