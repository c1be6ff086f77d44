"""ChaCha20 keystream: the one randomness source behind every timing draw.

Python's ``random`` module is never used for anything observable on the wire: its
Mersenne Twister state can be recovered from its outputs. A fresh random 256-bit
key per stream means a zero nonce is safe. A seed is accepted only so tests can
replay a stream; production code never passes one.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

KEY_BYTES = 32
_NONCE = bytes(16)


class Keystream:
    __slots__ = ("_encryptor",)

    def __init__(self, seed: bytes | None = None) -> None:
        key = os.urandom(KEY_BYTES) if seed is None else seed
        if len(key) != KEY_BYTES:
            raise ValueError(f"keystream seed must be {KEY_BYTES} bytes")
        self._encryptor = Cipher(algorithms.ChaCha20(key, _NONCE), mode=None).encryptor()

    def read(self, n: int) -> bytes:
        """The next ``n`` keystream bytes."""
        return self._encryptor.update(bytes(n))


def substream_seed(seed: bytes | None, label: bytes) -> bytes | None:
    """An independent seed per named stream, derived from one test seed (``None`` stays ``None``: fresh keys)."""
    return None if seed is None else hashlib.sha256(label + seed).digest()
