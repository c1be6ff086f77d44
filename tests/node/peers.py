"""Test peers: destinations and Kad IDs that look like real ones."""

from __future__ import annotations

DEST_LEN = 387


def dest(n: int) -> bytes:
    """A distinct 387-byte destination per ``n`` (its hash_code is ``n``), with the null certificate."""
    return n.to_bytes(4, "little") + bytes(DEST_LEN - 4)


def kad_id(n: int) -> int:
    """A distinct, well-spread Kad ID per ``n``."""
    return (n * 0x9E3779B97F4A7C15_F39CC0605CEDC834 + 1) % (1 << 128) or 1
