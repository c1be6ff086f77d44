"""Test peers: destinations and Kad IDs that look like real ones."""

from __future__ import annotations

import hashlib

DEST_LEN = 387


def dest(n: int) -> bytes:
    """A distinct 387-byte destination per ``n`` (its hash_code is ``n``), with the null certificate.

    The key bytes look random, as real ones do: lists of mostly-zero destinations would pack so well that
    iMule's receive buffer (ten times the packed size) could not hold them.
    """
    return n.to_bytes(4, "little") + hashlib.shake_256(n.to_bytes(8, "little")).digest(DEST_LEN - 7) + bytes(3)


def kad_id(n: int) -> int:
    """A distinct, well-spread Kad ID per ``n``."""
    return (n * 0x9E3779B97F4A7C15_F39CC0605CEDC834 + 1) % (1 << 128) or 1
