"""I2P destinations as iMule sees them: 387 raw bytes, keyed by the first four bytes."""

from __future__ import annotations

import base64

DEST_LEN = 387  # 256-byte ElGamal key, 128-byte DSA key, 3-byte null certificate
_NULL_CERT = b"\x00\x00\x00"
_I2P_ALTCHARS = b"-~"


def hash_code(dest: bytes) -> int:
    """iMule's "IP-like" u32: the first four destination bytes, little-endian (x86 native)."""
    return int.from_bytes(dest[:4], "little")


def is_imule_destination(dest: bytes) -> bool:
    """Whether iMule accepts the destination: the 387-byte DSA-SHA1 form with a null certificate.

    iMule reads exactly 387 bytes and throws, losing the whole packet, unless bytes 384..386 are zero
    (``libs/i2p/CI2PAddress.h``, ``check``). The codec applies this to every destination in a packet;
    the node applies it to datagram sources.
    """
    return len(dest) == DEST_LEN and dest[-3:] == _NULL_CERT


def to_base64(dest: bytes) -> str:
    """The I2P base64 form (``-`` and ``~`` for ``+`` and ``/``)."""
    return base64.b64encode(dest, altchars=_I2P_ALTCHARS).decode("ascii")


def from_base64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), altchars=_I2P_ALTCHARS, validate=True)
