"""RC4 and iMule's MD5-keyed RC4 (Kad datagram obfuscation): the pure-Python twin of ``_rc4_c``.

The stream comes from ``cryptography``'s RC4 (OpenSSL): a Python loop over every byte would
cost far more than the cipher object it replaces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

KEY_SIZES = frozenset({5, 7, 8, 10, 16, 20, 24, 32})
_MAGIC_BYTES = 4


def _stream(key: bytes) -> Callable[[bytes], bytes]:
    return Cipher(ARC4(key), mode=None).encryptor().update


def rc4(key: bytes, data: bytes) -> bytes:
    """``data`` XOR the RC4 keystream of ``key`` (one of ``KEY_SIZES`` bytes; no keystream bytes dropped)."""
    key = bytes(key)
    if len(key) not in KEY_SIZES:
        raise ValueError(f"an RC4 key has one of {sorted(KEY_SIZES)} bytes, not {len(key)}")
    return _stream(key)(bytes(data))


def rc4_md5(key_data: bytes, data: bytes) -> bytes:
    """``data`` under RC4 keyed by the MD5 of ``key_data`` (iMule's obfuscation key)."""
    return _stream(hashlib.md5(key_data).digest())(bytes(data))


def rc4_md5_magic(key_data: bytes, data: bytes, start: int, magic: int) -> bytes | None:
    """``data[start:]`` decrypted under RC4 keyed by the MD5 of ``key_data`` if its first four plain bytes are
    ``magic`` (little-endian), else None, having decrypted only those four."""
    if not 0 <= magic <= 0xFFFFFFFF:
        raise OverflowError("the magic is a u32")  # as the compiled twin's C type refuses it
    data = bytes(data)
    if start < 0 or len(data) - start < _MAGIC_BYTES:
        return None
    crypt = _stream(hashlib.md5(key_data).digest())
    head = crypt(data[start : start + _MAGIC_BYTES])
    if int.from_bytes(head, "little") != magic:
        return None
    return head + crypt(data[start + _MAGIC_BYTES :])
