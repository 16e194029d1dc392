"""ssdeep values and scores as ssdeep itself gives them, and the sizes a block size can match.

Published values: ppdeep's README hashes the "E = mc²" pair and scores it 34; python-ssdeep's
documentation hashes the "Ctph"/"CTPH" pair and scores it 22. The scores of generated files
below were computed with ssdeep's own library (libfuzzy 2.14.1, through the ``ssdeep-wheel``
3.4.1.post1 binding, outside this project) on exactly these bytes: seawall scores as libfuzzy
does, where ``ppdeep.compare`` counts a substitution as one edit and scores higher.
"""

from __future__ import annotations

import hashlib

import ppdeep
import pytest

from seawall.features import fuzzy


def stream(seed: bytes, size: int) -> bytes:
    """Deterministic incompressible bytes (SHA-256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def edited(data: bytes, edits: int) -> bytes:
    """``data`` with ``edits`` runs of 200 bytes replaced, spread evenly from offset 2,000."""
    changed = bytearray(data)
    for index in range(edits):
        at = 2000 + index * ((len(data) - 4000) // edits)
        changed[at : at + 200] = stream(b"edit%d" % index, 200)
    return bytes(changed)


BASE = stream(b"base", 100_000)


def test_published_values_and_scores() -> None:
    mc2 = fuzzy.fuzzy_hash(
        "The equivalence of mass and energy translates into the well-known E = mc²".encode()
    )
    assert mc2 == "3:RC0qYX4LBFA0dxEq4z2LRK+oCKI9VnXn:RvqpLB60dx8ilK+owX"
    upper = fuzzy.fuzzy_hash(
        b"The equivalence of mass and energy translates into the well-known E = MC2"
    )
    assert fuzzy.compare(mc2, upper) == 34
    ctph = fuzzy.fuzzy_hash(
        b"Also called fuzzy hashes, Ctph can match inputs that have homologies."
    )
    assert ctph == "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"
    caps = fuzzy.fuzzy_hash(
        b"Also called fuzzy hashes, CTPH can match inputs that have homologies."
    )
    assert fuzzy.compare(ctph, caps) == 22


@pytest.mark.parametrize(("edits", "libfuzzy"), [(1, 99), (3, 94), (9, 85), (15, 74), (21, 66)])
def test_scores_are_libfuzzy_s(edits: int, libfuzzy: int) -> None:
    base, variant = fuzzy.fuzzy_hash(BASE), fuzzy.fuzzy_hash(edited(BASE, edits))
    assert fuzzy.compare(base, variant) == fuzzy.compare(variant, base) == libfuzzy
    assert fuzzy.compare(base, base) == 100


def test_ppdeep_s_own_score_would_cross_the_threshold_where_ssdeep_s_does_not() -> None:
    base, variant = fuzzy.fuzzy_hash(BASE), fuzzy.fuzzy_hash(edited(BASE, 21))
    assert fuzzy.compare(base, variant) < 70 <= ppdeep.compare(base, variant)


def test_block_sizes_too_far_apart_are_not_compared() -> None:
    value = fuzzy.fuzzy_hash(BASE)
    block = fuzzy.block_size(value)
    # ssdeep starts at 3072 for 100,000 bytes and halves: the first digest came out short
    assert fuzzy.nominal_block_size(len(BASE)) == 3072 and block == 1536
    assert fuzzy.compare(value, value.replace("1536:", "6144:", 1)) == 0
    assert fuzzy.compare(value, "not a value") == 0 and fuzzy.block_size("x:y") is None


def test_the_size_window_holds_every_file_whose_value_is_comparable() -> None:
    """Files of many sizes (incompressible, and half zeros as padded executables can be): each
    one's size is in the window of every block size its value can be compared with. (A file
    of 7/8 zeros can halve its block size three times and fall outside: the documented limit
    of ``size_window``.)"""
    for size in (0, 100, 191, 193, 5_000, 24_577, 98_305, 200_000):
        for data in (stream(b"s%d" % size, size), stream(b"p", size // 2).ljust(size, b"\0")):
            own = fuzzy.block_size(fuzzy.fuzzy_hash(data))
            assert own is not None
            for block in (own // 2, own, own * 2):
                if block >= fuzzy.MIN_BLOCK_SIZE:
                    low, high = fuzzy.size_window(block)
                    assert low <= size <= high, (size, own, block)
    assert fuzzy.size_window(1536) == (24_577, 786_432)
    assert fuzzy.size_window(3) == (0, 1536)
