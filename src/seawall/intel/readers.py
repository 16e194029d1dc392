"""Dispatch an intel file to the reader for its (sniffed) format."""

from __future__ import annotations

from collections.abc import Callable

from seawall.errors import UsageError
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


# What ``seawall intel import --format`` accepts: the structured formats and the text family.
FORMATS: tuple[str, ...] = ("stix1", "stix2", "misp", *text.FORMATS)


def read_document(data: bytes, origin: str, format: str | None = None) -> IntelDocument:
    """Parse ``data`` with the reader its content calls for, or as ``format`` says.

    A named format is the user's decision: a text file is then read as that kind of list even
    when its content does not look like one (see :mod:`seawall.intel.textcheck`).
    """
    if format is None:
        return READERS[sniff(data, origin)](data, origin)
    if format not in FORMATS:
        raise UsageError(f"unknown intel format {format!r}; expected one of {', '.join(FORMATS)}")
    if format in text.FORMATS:
        return text.read(data, origin, format)
    return READERS[format](data, origin)
