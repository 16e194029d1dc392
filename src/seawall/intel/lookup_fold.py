"""Match rows folded into one answer per looked-up value: the columns of ``lookup_bulk``.

The answer: the best verdict class, the number of matches, and the strongest match (lowest
``how``; among equally strong ones the most specific, i.e. longest, indicator — the nearest
parent domain — then the smallest, so that the answer is stable). Values matched once (nearly
all) take their row as it is; only values with several rows are grouped. Each row's number is
written at its value's slot: a row that does not read its own number back lost its slot to
another row of the same value, so it names a value matched several times.

The work is numpy scatters and gathers over fixed-width columns, and no string is copied per
value: the text columns are dictionary-encoded (see :func:`seawall.intel.lookup.lookup_bulk`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from seawall.intel.lookup_sql import CODES, HOW, VERDICTS

UNKNOWN = "unknown"  # the verdict of a value nothing matched (lookup.Verdict.UNKNOWN)
# The answer's verdict and how are dictionary-encoded, each name once (so that grouping by the
# column groups by name). A match code (see lookup_sql.CODES) becomes their indices through
# these small tables; the code past the last means "no match" (verdict unknown, how null).
_VERDICT_NAMES = pa.array([*VERDICTS, UNKNOWN], pa.string())
_HOW_NAMES = pa.array(HOW, pa.string())
_NO_MATCH = len(CODES)
_VERDICT_OF_CODE = np.array([VERDICTS.index(v) for _, v in CODES] + [len(VERDICTS)], np.int8)
# "no match" has a how index too, masked in the answer
_HOW_OF_CODE = np.array([HOW.index(h) for h, _ in CODES] + [0], np.int8)
_WIDTH = len(VERDICTS)  # a code is how * _WIDTH + verdict class


def per_value(matched: pa.Table, size: int) -> dict[str, pa.Array]:
    """The answer columns ``verdict, matches, how, indicator`` for ``size`` values from the
    match rows ``(qid, code, indicator)``, in input order."""
    qid = matched.column("qid").to_numpy()
    count = len(qid)
    rows = np.arange(count, dtype=np.int32)
    slot = np.full(size, -1, np.int32)
    slot[qid] = rows  # a row of each matched value
    code = np.full(size, _NO_MATCH, np.uint8)
    code[qid] = matched.column("code").to_numpy()
    matches = (slot >= 0).astype(np.int64)
    lost = np.flatnonzero(slot[qid] != rows)
    if len(lost):
        _fold_several(matched, qid, slot, lost, matches, code)
    # how and indicator are null where nothing matched: one validity bitmap for both
    found = slot >= 0
    matched_bits = pa.py_buffer(np.packbits(found, bitorder="little"))
    unmatched = size - int(np.count_nonzero(found))

    def where_matched(values: npt.NDArray[np.int8] | npt.NDArray[np.int32]) -> pa.Array:
        kind = pa.from_numpy_dtype(values.dtype)
        return pa.Array.from_buffers(kind, size, [matched_bits, pa.py_buffer(values)], unmatched)

    return {
        "verdict": pa.DictionaryArray.from_arrays(pa.array(_VERDICT_OF_CODE[code]), _VERDICT_NAMES),
        "matches": pa.array(matches),
        "how": pa.DictionaryArray.from_arrays(where_matched(_HOW_OF_CODE[code]), _HOW_NAMES),
        "indicator": pa.DictionaryArray.from_arrays(
            where_matched(slot), matched.column("indicator").combine_chunks()
        ),
    }


def _fold_several(
    matched: pa.Table,
    qid: npt.NDArray[np.int32],
    slot: npt.NDArray[np.int32],
    lost: npt.NDArray[np.intp],
    matches: npt.NDArray[np.int64],
    code: npt.NDArray[np.uint8],
) -> None:
    """Put the answers of the values matched several times in place (their slot, match count
    and code), from all their rows: those that ``lost`` their slot, and the ones holding it."""
    values = np.unique(qid[lost])
    several = np.concatenate([lost.astype(np.int32), slot[values]])
    grouped = matched.take(pa.array(several))
    codes = grouped.column("code").to_numpy()
    order = pc.sort_indices(
        pa.table(
            {
                "qid": grouped.column("qid"),
                "how": codes // _WIDTH,
                "length": pc.binary_length(grouped.column("indicator")),
                "indicator": grouped.column("indicator"),
            }
        ),
        [
            ("qid", "ascending"),
            ("how", "ascending"),
            ("length", "descending"),
            ("indicator", "ascending"),
        ],
    ).to_numpy()
    ids, codes, rows = qid[several][order], codes[order], several[order]
    # each value's rows are a run, its strongest match first
    starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
    at = ids[starts]
    slot[at] = rows[starts]
    matches[at] = np.diff(np.append(starts, len(ids)))
    best_verdict = np.maximum.reduceat(codes % _WIDTH, starts)
    code[at] = codes[starts] // _WIDTH * _WIDTH + best_verdict
