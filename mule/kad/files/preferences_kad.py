"""``preferencesKad.dat``: our Kad ID, in iMule's 19-byte form (u16 0, the ID, u8 0; aMule's has an IP too)."""

from __future__ import annotations

import os

from mule._core import FramingError, Reader, Writer
from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic

PREFERENCES_KAD_LEN = 19
MAX_FILE_BYTES = 4096
"""iMule reads the first 18 bytes and ignores the rest; anything longer than this is not a preferencesKad.dat."""


def build_preferences_kad(kad_id: int) -> bytes:
    w = Writer()
    w.u16(0)
    w.uint128(kad_id)
    w.u8(0)
    return w.getvalue()


def parse_preferences_kad(data: bytes) -> int:
    """The stored Kad ID (iMule ignores the leading u16 and the trailing byte). iMule reads an all-zero ID as
    "make one"; mule's identity layer refuses it instead (see mule.node.identity)."""
    r = Reader(data)
    try:
        r.skip(2)
        return r.uint128()
    except FramingError:
        raise CorruptFile(f"preferencesKad.dat is {len(data)} bytes, needs at least 18") from None


def read_preferences_kad(path: str | os.PathLike[str]) -> int:
    return parse_preferences_kad(read_bounded(path, MAX_FILE_BYTES))


def write_preferences_kad(path: str | os.PathLike[str], kad_id: int) -> None:
    write_atomic(path, build_preferences_kad(kad_id))
