"""ssdeep fuzzy hashes: which files could match an indicator, their hash, and the match score.

An ssdeep value ``B:S1:S2`` is two piecewise digests of the input at block sizes ``B`` and
``2B``. ssdeep picks ``B`` from the input's size (the smallest ``3 * 2**k`` with
``64 * B >= size``, halved while the first digest is shorter than 32 characters), and two values
can only be compared when their block sizes are equal or one is double the other. A swept file
can therefore only match an indicator of block size ``B`` if its size is in a window derived from
``B`` (:func:`size_window`): the hunt hashes those files alone.

The hash is computed by ``ppdeep`` (pure Python, Apache-2.0; the same digests as ssdeep's
libfuzzy, byte for byte). The comparison is written here, after libfuzzy 2.14's
``fuzzy_compare``, because ``ppdeep.compare`` weighs a substitution as one edit where libfuzzy
weighs it as two, and so scores similar files several points higher than ssdeep does: a
threshold means what an analyst who knows ssdeep expects only with ssdeep's own score.
"""

from __future__ import annotations

import re

import ppdeep

MIN_BLOCK_SIZE = 3
SPAMSUM_LENGTH = 64
ROLLING_WINDOW = 7
# The largest nominal block size, as a multiple of an indicator's, of a file still compared.
MAX_NOMINAL_FACTOR = 8
_VALUE = re.compile(r"^(\d+):([A-Za-z0-9/+]*):([A-Za-z0-9/+]*)$")
# Runs of more than three identical characters say little and are cut to three before comparing.
_RUNS = re.compile(r"(.)\1{3,}")


def fuzzy_hash(data: bytes) -> str:
    """The ssdeep value of ``data`` (``block size:digest:digest``)."""
    value: str = ppdeep.hash(data)
    return value


def block_size(value: str) -> int | None:
    """The block size of an ssdeep value, or None when it is not one."""
    match = _VALUE.match(value.strip())
    return int(match.group(1)) if match else None


def nominal_block_size(size: int) -> int:
    """The block size ssdeep starts from for an input of ``size`` bytes (before any halving)."""
    block = MIN_BLOCK_SIZE
    while block * SPAMSUM_LENGTH < size:
        block *= 2
    return block


def size_window(block: int) -> tuple[int, int]:
    """The sizes (inclusive) of the files whose ssdeep value may be compared with one of block
    size ``block``.

    A file's value may be compared when its block size is ``block / 2``, ``block`` or
    ``2 * block``. Its block size is its nominal one (:func:`nominal_block_size`), halved each
    time its first digest came out short (ssdeep then hashes again): once for about a quarter
    of files, more often for files with long runs of the same bytes, such as small zero-padded
    executables. Files whose nominal block size is from ``block / 2`` to ``8 * block`` qualify:
    sizes up to ``512 * block``, and above ``32 * (block / 2)`` unless that is ssdeep's smallest
    block size (whose sizes start at 0). A file halved more often than that falls outside and is
    not compared: 26 of 8,942 comparable (file, block size) pairs (0.3%) among 3,000 files of
    /usr (``MAX_NOMINAL_FACTOR``; 4 would miss 1.7%, 16 none, each doubling the bytes hashed).
    """
    smallest = max(MIN_BLOCK_SIZE, block // 2)
    low = 0 if smallest <= MIN_BLOCK_SIZE else 32 * smallest + 1
    return low, SPAMSUM_LENGTH * MAX_NOMINAL_FACTOR * block


def comparable(block_a: int, block_b: int) -> bool:
    return block_a == block_b or block_a == 2 * block_b or block_b == 2 * block_a


def _edit_distance(s1: str, s2: str) -> int:
    """libfuzzy's ``edit_distn``: insertion and deletion cost 1, substitution 2."""
    previous = list(range(len(s2) + 1))
    for i, char1 in enumerate(s1, start=1):
        current = [i]
        for j, char2 in enumerate(s2, start=1):
            current.append(
                min(
                    previous[j] + 1,
                    current[j - 1] + 1,
                    previous[j - 1] + (0 if char1 == char2 else 2),
                )
            )
        previous = current
    return previous[-1]


def _common_substring(s1: str, s2: str) -> bool:
    """Whether the two digests share a run of ``ROLLING_WINDOW`` characters (else score 0)."""
    if len(s1) < ROLLING_WINDOW or len(s2) < ROLLING_WINDOW:
        return False
    seen = {s1[i : i + ROLLING_WINDOW] for i in range(len(s1) - ROLLING_WINDOW + 1)}
    return any(s2[i : i + ROLLING_WINDOW] in seen for i in range(len(s2) - ROLLING_WINDOW + 1))


def _score_strings(s1: str, s2: str, block: int) -> int:
    if len(s1) > SPAMSUM_LENGTH or len(s2) > SPAMSUM_LENGTH or not _common_substring(s1, s2):
        return 0
    score = _edit_distance(s1, s2) * SPAMSUM_LENGTH // (len(s1) + len(s2))
    score = 100 * score // SPAMSUM_LENGTH
    if score >= 100:
        return 0
    score = 100 - score
    # Small block sizes describe few bytes: a short digest cannot claim a high similarity.
    if block >= (99 + ROLLING_WINDOW) // ROLLING_WINDOW * MIN_BLOCK_SIZE:
        return score
    return min(score, block // MIN_BLOCK_SIZE * min(len(s1), len(s2)))


def compare(value_a: str, value_b: str) -> int:
    """ssdeep's similarity score of two values, 0 (nothing in common) to 100, as libfuzzy's
    ``fuzzy_compare`` computes it; 0 for values that cannot be compared."""
    match_a, match_b = _VALUE.match(value_a.strip()), _VALUE.match(value_b.strip())
    if match_a is None or match_b is None:
        return 0
    block_a, block_b = int(match_a.group(1)), int(match_b.group(1))
    if not comparable(block_a, block_b):
        return 0
    a1, a2 = (_RUNS.sub(r"\1\1\1", part) for part in match_a.group(2, 3))
    b1, b2 = (_RUNS.sub(r"\1\1\1", part) for part in match_b.group(2, 3))
    if block_a == block_b and a1 == b1 and a2 == b2:
        return 100
    if block_a == block_b:
        return max(_score_strings(a1, b1, block_a), _score_strings(a2, b2, block_a * 2))
    if block_a == 2 * block_b:
        return _score_strings(a1, b2, block_a)
    return _score_strings(a2, b1, block_b)
