"""Web-shell features: the assessment of a server-side script's bytes (ATT&CK T1505.003).

Extracted at collect time, like hashes and PE metadata, and stored in the case; the hunt's
``web.webshell`` detection judges the stored assessment. The passes live in this package's
modules: ``assessor`` (the score and its reasons), ``flow`` (request data to sinks,
de-obfuscation), ``wrap`` (the same through a helper function), ``php`` (PHP-only tricks),
``host`` (server abuse in any language), ``tokens`` (a bounded PHP de-obfuscator), and the
per-language behaviour rules on a shared taint and rule engine (``behaviour``): ``java``
(JSP/JSPX), ``dotnet`` (ASPX/ASHX/ASMX), ``classic_asp``, ``cfml``, ``perl``,
``php_behaviour``, ``php_escape`` (includes of request data, LD_PRELOAD, FFI, ``.htaccess``,
symlinks) and ``php_tools`` (scanners, flooders, brute forcers, config grabbers); what attack-tool
pages do in any language (``attack_tools``: writable-folder scans, database dumps, mail beacons
and mass mailers, downloaders, defacers) and dangerous names hidden in pieces, base64 or
character codes (``hidden``).
"""

from seawall.features.webshell.assessor import (
    ASSESSOR_VERSION,
    MAX_BYTES,
    THRESHOLD,
    WEB_EXTENSIONS,
    WebshellAssessment,
    assess,
    assessment_from_json,
    assessment_to_json,
    is_web_root,
    is_web_script,
    read_head,
    suffix_of,
    web_files,
)

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
    "read_head",
    "suffix_of",
    "web_files",
]
