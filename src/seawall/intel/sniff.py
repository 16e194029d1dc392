"""Tell an intel file's format from its content, never from its name.

Only the first bytes are inspected, so a 200 MB file is classified without being decoded.
"""

from __future__ import annotations

import re

from seawall.errors import BadInputError

# Structured intel (XML/JSON) is parsed whole, so its size is capped; CISA's files are KBs and
# large MISP exports rarely pass 100 MiB. ``--max-size`` raises the cap deliberately.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024

_HEAD = 64 * 1024
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_STIX1_ROOT = re.compile(rb"<(?:[\w.-]+:)?STIX_Package\b")
_STIX2_MARKERS = (b'"spec_version"', b'"type": "bundle"', b'"type":"bundle"', b'"pattern"')
_MISP_MARKERS = (b'"Attribute"', b'"threat_level_id"')


def sniff(data: bytes, origin: str) -> str:
    """Return ``stix1``, ``stix2``, ``misp`` or ``text`` (the text reader refines CSV/Loki)."""
    head = data[:_HEAD]
    for bom in _BOMS:
        if head.startswith(bom):
            if bom != _BOMS[0]:
                raise BadInputError(
                    "UTF-16 text is not supported; convert the file to UTF-8", origin
                )
            head = head[len(bom) :]
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        if _STIX1_ROOT.search(head):
            return "stix1"
        raise BadInputError("XML, but not a STIX 1.x package (no STIX_Package element)", origin)
    if stripped.startswith((b"{", b"[")):
        # MISP's "Event" wrapper is checked first: STIX words can occur inside MISP values.
        if b'"Event"' in head:
            return "misp"
        if any(marker in head for marker in _STIX2_MARKERS):
            return "stix2"
        if any(marker in head for marker in _MISP_MARKERS):
            return "misp"
        # A JSON document that is neither: let the STIX 2 reader give the precise complaint.
        return "stix2"
    return "text"
