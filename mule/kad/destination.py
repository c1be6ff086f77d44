"""I2P destinations as iMule sees them: 387 raw bytes, keyed by the first four bytes."""

from __future__ import annotations

import base64

# is_imule_destination: whether iMule accepts the destination, the 387-byte DSA-SHA1 form with a null certificate.
# iMule reads exactly 387 bytes and throws, losing the whole packet, unless bytes 384..386 are zero
# (``libs/i2p/CI2PAddress.h``, ``check``). The codec applies this to every destination in a packet (in the core's
# contact and tag readers); the node applies it to datagram sources.
from mule._core.kadrules import DEST_LEN, is_imule_destination

__all__ = ["DEST_LEN", "from_base64", "hash_code", "is_imule_destination", "to_base64"]

_I2P_ALTCHARS = b"-~"


def hash_code(dest: bytes) -> int:
    """iMule's "IP-like" u32: the first four destination bytes, little-endian (x86 native)."""
    return int.from_bytes(dest[:4], "little")


def to_base64(dest: bytes) -> str:
    """The I2P base64 form (``-`` and ``~`` for ``+`` and ``/``)."""
    return base64.b64encode(dest, altchars=_I2P_ALTCHARS).decode("ascii")


def from_base64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), altchars=_I2P_ALTCHARS, validate=True)
