"""Loki's and THOR's IOC files (``loki-hash``, ``loki-c2``, ``loki-filename``), read line by
line for :mod:`seawall.intel.text`, which decodes the file and tells the format; and the value
patterns both modules use."""

from __future__ import annotations

import re
from collections.abc import Iterable

from seawall.intel.normalize import detect_type, refang
from seawall.model.indicator import IndicatorType, IntelDocument, RawIndicator

HASH_LENGTHS = {
    32: IndicatorType.MD5,
    40: IndicatorType.SHA1,
    64: IndicatorType.SHA256,
    128: IndicatorType.SHA512,
}
HEX = re.compile(r"[0-9a-fA-F]+")
INTEGER = re.compile(r"-?\d+")
_SHOWN = 60  # characters of a value quoted in a warning


def shown(value: str) -> str:
    """A value as a warning quotes it: cut to ``_SHOWN`` characters."""
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"


def read_loki(
    lines: Iterable[tuple[int, str]], origin: str, kind: str, document: IntelDocument
) -> int:
    """Loki's IOC files: ``;``-separated lines under ``#`` comment blocks that describe them.

    As in Loki, a comment applies to the entries that follow it until the next comment; here
    consecutive comment lines are joined so a block's title and its reference URL both survive,
    and a blank line ends a comment block, so a file's header does not describe its first block.
    """
    block: list[str] = []
    in_block = False
    content = 0
    for number, raw in lines:
        line = raw.strip()
        if not line:
            in_block = False  # a comment after a blank line starts a new block
            continue
        if line.startswith("#"):
            if not in_block:
                block, in_block = [], True
            comment = line.lstrip("#").strip()
            if comment:
                block.append(comment)
            continue
        in_block = False
        content += 1
        location = f"{origin}:{number}"
        fields = [part.strip() for part in line.split(";")]
        heading = " ".join(block) or None
        if kind == "loki-filename":
            _loki_filename(fields, heading, location, document)
        else:
            _loki_value(fields, heading, location, kind, document)
    return content


def _loki_value(
    fields: list[str], heading: str | None, location: str, kind: str, document: IntelDocument
) -> None:
    """``VALUE;COMMENT`` (or THOR's ``VALUE;SCORE;COMMENT``) for hashes and C2 addresses."""
    value, score = fields[0], None
    rest = fields[1:]
    if len(rest) >= 2 and INTEGER.fullmatch(rest[0]):
        score, rest = int(rest[0]), rest[1:]
    comment = ";".join(rest).strip() or heading
    if kind == "loki-hash":
        hash_type = HASH_LENGTHS.get(len(value))
        if hash_type is None or not HEX.fullmatch(value):
            document.warn(location, f"{shown(value)!r} is not an MD5, SHA-1, SHA-256 or SHA-512")
            return
        detected: IndicatorType | None = hash_type
    else:
        value = refang(value)
        detected = detect_type(value)
        if detected is None:
            document.warn(location, f"cannot tell what kind of indicator {shown(value)!r} is")
            return
    context: dict[str, str | int | float | bool | None] = {} if score is None else {"score": score}
    document.indicators.append(
        RawIndicator(
            value=value,
            type=detected,
            location=location,
            description=comment,
            confidence=None if score is None else max(0, min(100, score)),
            context=context,
        )
    )


def _loki_filename(
    fields: list[str], heading: str | None, location: str, document: IntelDocument
) -> None:
    """``REGEX;SCORE[;FALSE_POSITIVE_REGEX]``: Loki flags a path matching REGEX but not FP."""
    regex = fields[0]
    try:
        re.compile(regex)
    except (re.error, RecursionError, OverflowError) as error:
        document.warn(location, f"invalid regular expression {shown(regex)!r}: {error}")
        return
    score: int | None = None
    if len(fields) < 2 or not fields[1]:
        document.warn(location, "no score after the regular expression (Loki skips such lines)")
    elif INTEGER.fullmatch(fields[1]):
        score = int(fields[1])
    else:
        document.warn(location, f"score {shown(fields[1])!r} is not an integer; ignored")
    false_positive = fields[2] if len(fields) > 2 and fields[2] else None
    if false_positive is not None:
        try:
            re.compile(false_positive)
        except (re.error, RecursionError, OverflowError) as error:
            document.warn(location, f"false-positive regex ignored, it is invalid: {error}")
            false_positive = None
    document.indicators.append(
        RawIndicator(
            value=regex,
            type=IndicatorType.PATH_REGEX,
            location=location,
            description=heading,
            confidence=None if score is None else max(0, min(100, score)),
            context={"score": score, "false_positive_regex": false_positive},
        )
    )
