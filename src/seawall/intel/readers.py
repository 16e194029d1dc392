"""Dispatch an intel file to the reader for its (sniffed) format."""

from __future__ import annotations

from collections.abc import Callable

from seawall.intel import misp, stix1, stix2, text
from seawall.intel.sniff import sniff
from seawall.model.indicator import IntelDocument

Reader = Callable[[bytes, str], IntelDocument]

READERS: dict[str, Reader] = {
    "stix1": stix1.read,
    "stix2": stix2.read,
    "misp": misp.read,
    "text": lambda data, origin: text.read(data, origin),
}


def read_document(data: bytes, origin: str) -> IntelDocument:
    """Parse ``data`` with the reader its content calls for."""
    return READERS[sniff(data, origin)](data, origin)
