"""MD4 (RFC 1320): the pure-Python twin of ``_md4_c``.

Kad hashes keywords and files with MD4, and OpenSSL 3 no longer offers it through
hashlib, so the core carries its own.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_ROUND2 = 0x5A827999
_ROUND3 = 0x6ED9EBA1
# (word index, shift) per step of each round, from RFC 1320 section 3.4.
_R1 = [(i, (3, 7, 11, 19)[i % 4]) for i in range(16)]
_R2 = [(i, (3, 5, 9, 13)[n % 4]) for n, i in enumerate((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15))]
_R3 = [(i, (3, 9, 11, 15)[n % 4]) for n, i in enumerate((0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15))]


def _rotl(x: int, s: int) -> int:
    x &= _MASK
    return ((x << s) | (x >> (32 - s))) & _MASK


def _padded(data: bytes) -> bytes:
    bit_length = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    pad = b"\x80" + bytes((55 - len(data)) % 64)
    return data + pad + struct.pack("<Q", bit_length)


def md4(data: bytes | bytearray | memoryview) -> bytes:
    """The 16-byte MD4 digest of ``data``."""
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    message = _padded(bytes(data))
    for block in range(0, len(message), 64):
        x = struct.unpack_from("<16I", message, block)
        a, b, c, d = state
        for i, s in _R1:
            a, b, c, d = d, _rotl(a + ((b & c) | (~b & d)) + x[i], s), b, c
        for i, s in _R2:
            a, b, c, d = d, _rotl(a + ((b & c) | (b & d) | (c & d)) + x[i] + _ROUND2, s), b, c
        for i, s in _R3:
            a, b, c, d = d, _rotl(a + (b ^ c ^ d) + x[i] + _ROUND3, s), b, c
        state = [(v + w) & _MASK for v, w in zip(state, (a, b, c, d), strict=True)]
    return struct.pack("<4I", *state)
