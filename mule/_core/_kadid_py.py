"""128-bit Kad IDs and XOR distance: the pure-Python twin of ``_kadid_c``.

IDs are plain Python ints in [0, 2**128). On the wire iMule writes an ID as four
u32 words, most significant word first, each word little-endian.
"""

from __future__ import annotations

import numpy as np

from mule._core.errors import FramingError

ID_BITS = 128
ID_BYTES = 16
_ID_LIMIT = 1 << ID_BITS
_U64 = (1 << 64) - 1


def id_from_wire(data: bytes, offset: int = 0) -> int:
    """Read a Kad ID from its 16-byte iMule wire form at ``offset``."""
    if offset < 0 or len(data) - offset < ID_BYTES:
        raise FramingError("kad id needs 16 bytes")
    value = 0
    for word in range(4):
        start = offset + 4 * word
        value = (value << 32) | int.from_bytes(data[start : start + 4], "little")
    return value


def id_to_wire(value: int) -> bytes:
    """The 16-byte iMule wire form of a Kad ID."""
    if not isinstance(value, int) or not 0 <= value < _ID_LIMIT:
        raise FramingError("kad id out of range")
    return b"".join(((value >> (96 - 32 * word)) & 0xFFFFFFFF).to_bytes(4, "little") for word in range(4))


def id_from_md4(digest: bytes) -> int:
    """A Kad ID from an MD4 digest: iMule loads each 4-byte group big-endian."""
    if len(digest) != ID_BYTES:
        raise FramingError("md4 digest must be 16 bytes")
    return int.from_bytes(digest, "big")


def xor_distance(a: int, b: int) -> int:
    return a ^ b


def common_prefix_length(a: int, b: int) -> int:
    """How many leading bits two IDs share (128 for equal IDs)."""
    return ID_BITS - (a ^ b).bit_length()


def compare_distance(target: int, a: int, b: int) -> int:
    """-1, 0 or 1 as ``a`` is closer to, as close as, or farther from ``target`` than ``b``."""
    da, db = a ^ target, b ^ target
    return (da > db) - (da < db)


def closest_k(ids_hi: np.ndarray, ids_lo: np.ndarray, target: int, k: int) -> np.ndarray:
    """Indices of the ``k`` IDs closest to ``target``, nearest first, ties by index.

    The IDs are held as two uint64 columns (high and low halves).
    """
    hi = np.asarray(ids_hi, dtype=np.uint64)
    lo = np.asarray(ids_lo, dtype=np.uint64)
    if hi.shape != lo.shape or hi.ndim != 1:
        raise ValueError("id columns must be 1-D and of equal length")
    if k <= 0 or hi.size == 0:
        return np.empty(0, dtype=np.intp)
    k = min(k, hi.size)
    d_hi = hi ^ np.uint64((target >> 64) & _U64)
    d_lo = lo ^ np.uint64(target & _U64)
    # Keep every ID whose high half is within the k-th smallest, so ties on the
    # high half are settled by the low half and then by index, exactly.
    bound = np.partition(d_hi, k - 1)[k - 1]
    candidates = np.flatnonzero(d_hi <= bound)
    order = np.lexsort((candidates, d_lo[candidates], d_hi[candidates]))
    return candidates[order[:k]].astype(np.intp)
