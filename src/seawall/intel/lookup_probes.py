"""The probes of plain values, found in numpy over the values' Arrow buffers.

Nearly every value of a bulk lookup is *plain*: an address, a name or a hash, with nothing to
refang and no URL or e-mail address to take apart (see :func:`seawall.intel.lookup._prepare`).
Each probe such a value needs is a piece of its own bytes or a number made from them: the value
itself (the SQL reads it from the query table), each parent of a name (the name after one of
its dots), each network of an IPv4 address (its number, masked). So they are found here with a
few vectorised passes: every dot of every value at once, then each value's dots by one sorted
search; parents become Arrow strings that share the values' data buffer (no byte is copied),
networks the ``(prefix length, network)`` codes of the probe index. SQL string functions, which
the general path for the other values uses (:mod:`seawall.intel.lookup_sql`), cost several
times more per value.

Two things the general path does are left to it: a zero-padded address (``010.0.0.1``) needs
its canonical form spelled, so it is handed back as not plain; and a value is typed exactly as
there: an address is four dot-separated runs of one to three digits, each at most 255
(``regexp_full_match`` of the SQL), a name anything else with a dot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

PARENTS_SCHEMA = pa.schema([("qid", pa.int32()), ("key", pa.string())])
NETWORKS_SCHEMA = pa.schema([("qid", pa.int32()), ("net", pa.uint64())])

_DOT, _ZERO = ord("."), ord("0")
# bits 0, 2, 4, 6 set: every other value of a parents array is valid (see _suffixes)
_EVERY_OTHER = 0b01010101

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PlainProbes:
    """The probes of one run of values, and which of them stay plain."""

    plain: Mask  # the values probed here (zero-padded addresses are not: SQL spells them)
    parents: list[pa.RecordBatch]  # (qid, key) by parent size; key null every other row
    networks: pa.RecordBatch  # (qid, net): the network codes of every address


def plain_probes(
    values: pa.StringArray,
    plain: Mask,
    first_qid: int,
    sizes: tuple[int, ...],
    plens: tuple[int, ...],
) -> PlainProbes:
    """Parent-domain probes with ``sizes`` labels and network probes of prefix lengths
    ``plens`` for the ``plain`` ones of ``values`` (lower-cased, trimmed), whose query ids
    start at ``first_qid``."""
    offsets, data = _buffers(values)
    starts, ends = offsets[:-1], offsets[1:]
    first = int(offsets[0])  # offsets always hold len + 1 entries
    dots = np.flatnonzero(data[first : offsets[-1]] == _DOT).astype(np.int32) + first
    # how many dots come before each value's start: a value's dots are dots[before[i]:before[i+1]]
    before = np.searchsorted(dots, offsets).astype(np.int32)
    count = np.diff(before)
    addresses, numbers, padded = _ipv4(data, starts, ends, dots, before, plain & (count == 3))
    plain = plain.copy()
    plain[addresses[padded]] = False
    names = plain & (count >= 2)  # three labels at least: a parent has two at least
    names[addresses] = False
    parents = []
    for size in sizes:
        which = np.flatnonzero(names & (count >= size)).astype(np.int32)
        # a name's parent of ``size`` labels begins after its dot ``size`` from the last
        begins = dots[before[which] + count[which] - size] + 1
        parents.append(_suffixes(values, which, begins, ends[which], first_qid))
    kept, numbers = addresses[~padded].astype(np.int32), numbers[~padded]
    codes = [(np.uint64(plen) << np.uint64(32)) | (numbers & _netmask(plen)) for plen in plens]
    return PlainProbes(
        plain,
        parents,
        pa.record_batch(
            [
                pa.array(np.tile(kept + first_qid, len(plens))),
                pa.array(np.concatenate(codes) if codes else np.zeros(0, np.uint64)),
            ],
            schema=NETWORKS_SCHEMA,
        ),
    )


def _buffers(values: pa.StringArray) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]]:
    """The offsets of ``values`` (its own ``len + 1``) and its whole data buffer, as numpy."""
    _, offsets_buffer, data_buffer = values.buffers()
    if offsets_buffer is None:  # an empty array may have none
        return np.zeros(1, np.int32), np.zeros(0, np.uint8)
    offsets = np.frombuffer(
        offsets_buffer, np.int32, count=len(values) + 1, offset=values.offset * 4
    )
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer else np.zeros(0, np.uint8)
    return offsets, data


def _ipv4(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int32],
    ends: npt.NDArray[np.int32],
    dots: npt.NDArray[np.int32],
    before: npt.NDArray[np.int32],
    three_dots: Mask,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint64], Mask]:
    """The positions of the IPv4 addresses among the values with ``three_dots``, their numbers,
    and which of them are zero-padded: each of the four runs between the dots is one to three
    digits, at most 255.

    The runs are the columns of (address, run) arrays, and each test is one operation over all
    of them, on bytes where it can be: numpy's cost here is per operation and element.
    """
    candidates = np.flatnonzero(three_dots & (ends > starts))
    zero = np.uint8(_ZERO)
    candidates = candidates[data[starts[candidates]] - zero <= 9]  # starts with a digit
    at = before[candidates]
    first = dots[at]
    # each run's end (exclusive), and the byte before its start
    hi = np.stack([first, dots[at + 1], dots[at + 2], ends[candidates]], axis=1)
    edge = np.stack([starts[candidates] - 1, first, dots[at + 1], dots[at + 2]], axis=1)
    length = hi - edge - 1
    if len(data) < 3:  # the digits are read at hi - 3 and masked: keep those reads inside
        data = np.concatenate([data, np.zeros(3, np.uint8)])
    tens, hundreds = length >= 2, length >= 3
    # bytes below '0' wrap round to large numbers: they fail the digit test like the others
    ones_digit = data[hi - 1] - zero
    tens_digit = (data[hi - 2] - zero) * tens
    hundreds_digit = (data[hi - 3] - zero) * hundreds
    number = ones_digit + tens_digit * np.uint16(10) + hundreds_digit * np.uint16(100)
    valid = (length >= 1) & (length <= 3) & (number <= 255)
    valid &= (ones_digit <= 9) & (tens_digit <= 9) & (hundreds_digit <= 9)
    # a row of four booleans is one 32-bit word: all four true, or any true
    ok = valid.view(np.uint32).ravel() == 0x01010101
    leading_zero = data[np.minimum(edge + 1, len(data) - 1)] == zero
    padded = (tens & leading_zero).view(np.uint32).ravel() != 0
    # four octets in a row are the address's four bytes, most significant first
    packed = number[ok].astype(np.uint8).view(">u4").ravel().astype(np.uint64)
    return candidates[ok], packed, padded[ok]


def _netmask(plen: int) -> np.uint64:
    return np.uint64((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)


def _suffixes(
    values: pa.StringArray,
    which: npt.NDArray[np.int32],
    begins: npt.NDArray[np.int32],
    ends: npt.NDArray[np.int32],
    first_qid: int,
) -> pa.RecordBatch:
    """(qid, key) rows for the byte ranges ``begins:ends`` of the values ``which``, without
    copying a byte.

    The keys are an Arrow string array over the values' own data buffer whose offsets run
    ``begin, end, begin, end, ...``: every other entry is a key, and the ones between (from a
    key's end to the next key's begin) are null. The values are in order and each range within
    its value, so the offsets never decrease.
    """
    data_buffer = values.buffers()[2]
    rows = 2 * len(which)
    offsets = np.zeros(rows + 1, np.int32)
    offsets[0:rows:2] = begins
    offsets[1:rows:2] = ends
    offsets[rows] = offsets[rows - 1] if rows else 0
    validity = np.full((rows + 7) // 8, _EVERY_OTHER, np.uint8)
    keys = pa.Array.from_buffers(
        pa.string(),
        rows,
        [pa.py_buffer(validity), pa.py_buffer(offsets), data_buffer or pa.py_buffer(b"")],
        null_count=len(which),
    )
    return pa.record_batch(
        [pa.array(np.repeat(which + np.int32(first_qid), 2)), keys], schema=PARENTS_SCHEMA
    )
