"""The log formats ``seawall collect logs`` reads, in one explicit registry.

Each format is a :class:`LogFormat`: its name (what ``--format NAME`` takes), a description, a
``sniff`` that recognises it from the head of a stream, and a factory for its
:class:`StreamReader`. Formats are told from content, never from file names, and a file is read
stream by stream (:mod:`seawall.collect.archives`: a gzip's content, each member of a zip or
tar), so a zip holding a Zeek ``dns.log`` and an IIS log is read with both readers. A stream that
no format recognises is a warning saying what it looks like; a file none of whose streams is
recognised is refused (exit 3). Format modules register themselves when imported; the shipped
ones are listed in ``BUILTIN_MODULES`` and imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from seawall.collect.archives import Stream, streams
from seawall.collect.base import Batch, Mediator, SourceFile
from seawall.errors import BadInputError, UsageError

# How much of a stream a format's sniff sees.
SNIFF_BYTES = 64 * 1024

# Modules that register the shipped formats (imported on first use of the registry).
BUILTIN_MODULES: tuple[str, ...] = (
    # network logs (zeek, DNS servers, web and proxy, pcap, flow CSV, nmap)
    "seawall.collect.logs.zeek",
    "seawall.collect.logs.dnsservers",
    "seawall.collect.logs.weblogs",
    "seawall.collect.logs.pcap",
    "seawall.collect.logs.flows",
    "seawall.collect.logs.nmap",
    # external authentication (VPN, webmail, SSO in seawall's schema; Entra ID sign-ins)
    "seawall.collect.logs.auth",
    "seawall.collect.logs.entra",
)


@dataclass(frozen=True, slots=True)
class LogOptions:
    """What the user said about the logs beyond their paths (e.g. a column mapping file)."""

    settings: Mapping[str, Any] = field(default_factory=dict)


class StreamReader(Protocol):
    """Reads one logical stream of one format into batches (setting ``record_ref``, and
    ``source_file`` to ``stream.label``); problems go to the mediator with their location."""

    def read_stream(self, stream: Stream, mediator: Mediator) -> Iterator[Batch]: ...


@dataclass(frozen=True, slots=True)
class LogFormat:
    name: str
    description: str
    tables: tuple[str, ...]
    make: Callable[[LogOptions], StreamReader]
    sniff: Callable[[bytes], bool] | None = None
    """Whether a stream's head (up to ``SNIFF_BYTES``) is this format; None: only by name."""


_REGISTRY: dict[str, LogFormat] = {}
_loaded = False


def register(log_format: LogFormat) -> LogFormat:
    if log_format.name in _REGISTRY and _REGISTRY[log_format.name] is not log_format:
        raise RuntimeError(f"log format {log_format.name!r} is registered twice")
    _REGISTRY[log_format.name] = log_format
    return log_format


def formats() -> dict[str, LogFormat]:
    """Every registered format by name (the shipped ones are imported on first call)."""
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(_REGISTRY)


# Inputs that are not a log format but that users bring (tshark's text output…): a format
# module adds a test with ``lookalike`` so that the refusal says what the input is.
_LOOKALIKES: list[Callable[[bytes], str | None]] = []


def lookalike(describe: Callable[[bytes], str | None]) -> Callable[[bytes], str | None]:
    """Register ``describe(head)``: words on what an unrecognised stream is, or None."""
    _LOOKALIKES.append(describe)
    return describe


def looks_like(head: bytes) -> str:
    """A few words on what an unrecognised stream looks like, for the warning."""
    if not head:
        return "it is empty"
    for describe in _LOOKALIKES:
        words = describe(head)
        if words is not None:
            return words
    if b"\0" in head[:4096]:
        return "it looks binary"
    text = head[:4096].decode("utf-8", errors="replace")
    first = text.splitlines()[0][:80] if text.splitlines() else ""
    return f"its first line is {first!r}"


def sniffed(head: bytes) -> LogFormat | None:
    for log_format in formats().values():
        if log_format.sniff is not None and log_format.sniff(head):
            return log_format
    return None


class LogsReader:
    """The reader ``collect logs`` gives the ingest: each stream of a file with its format
    (``forced``, or sniffed per stream)."""

    def __init__(self, forced: str | None = None, options: LogOptions | None = None) -> None:
        known = formats()
        if forced is not None and forced not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise UsageError(f"--format {forced!r} is not a known log format (known: {names})")
        self.forced = known[forced] if forced is not None else None
        self.options = options or LogOptions()
        self.format = forced or "auto"
        self._readers: dict[str, StreamReader] = {}

    def _reader(self, log_format: LogFormat) -> StreamReader:
        if log_format.name not in self._readers:
            self._readers[log_format.name] = log_format.make(self.options)
        return self._readers[log_format.name]

    def read(self, source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
        recognised = False
        for stream in streams(source.path, source.display, mediator):
            log_format = self.forced
            if log_format is None:
                head = stream.handle.peek(SNIFF_BYTES)[:SNIFF_BYTES]
                log_format = sniffed(head)
                if log_format is None:
                    what = looks_like(head)
                    if recognised or stream.member is not None:
                        mediator.warn(stream.label, f"not a known log format ({what}): skipped")
                        continue
                    names = ", ".join(sorted(formats())) or "none yet"
                    raise BadInputError(
                        f"not a log format seawall knows ({what}); give --format NAME"
                        f" (known: {names})",
                        stream.label,
                    )
            recognised = True
            if self.format == "auto":
                self.format = log_format.name
            elif self.format != log_format.name:
                self.format = "mixed"
            yield from self._reader(log_format).read_stream(stream, mediator)


def choose_logs(
    forced: str | None = None, options: LogOptions | None = None
) -> Callable[[Path], LogsReader]:
    """The ingest's reader choice for ``collect logs``: one ``LogsReader`` per file."""
    LogsReader(forced, options)  # an unknown --format fails before anything is read
    return lambda _path: LogsReader(forced, options)
