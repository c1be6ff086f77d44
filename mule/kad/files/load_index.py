"""``load_index.dat``: the keywords a busy node asked us not to store at again, each with the time until when.

iMule 2.3.3.3 (``Indexed.cpp``, ``~CIndexed`` and ``ReadFile``) writes version 1: u32 1, u32 save time (unused
on read), u32 count, then count × (key UInt128, u32 time). It reads any version below 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mule._core import FramingError, Reader, Writer
from mule.kad.errors import CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic

WRITTEN_VERSION = 1
READ_BELOW = 2
ENTRY_LEN = 16 + 4
MAX_FILE_BYTES = 4 << 20
"""Far above a real file (one entry per keyword we published that a busy node pushed back): a bound, not a limit."""


@dataclass(frozen=True, slots=True)
class LoadIndex:
    version: int
    save_time: int
    entries: tuple[tuple[int, int], ...]  # (keyword ID, Unix time until which we do not store there)


def parse_load_index(data: bytes) -> LoadIndex:
    """The file as stored; ``CorruptFile`` for a truncated one or a version iMule does not read."""
    r = Reader(data)
    try:
        version = r.u32()
        if version >= READ_BELOW:
            raise CorruptFile(f"load_index.dat version {version}: iMule reads versions below {READ_BELOW}")
        save_time, count = r.u32(), r.u32()
        if count * ENTRY_LEN > r.remaining():
            raise CorruptFile(f"truncated: {count} entries announced, {r.remaining() // ENTRY_LEN} present")
        return LoadIndex(version, save_time, tuple([(r.uint128(), r.u32()) for _ in range(count)]))
    except FramingError:
        raise CorruptFile(f"truncated header ({len(data)} bytes)") from None


def build_load_index(entries: tuple[tuple[int, int], ...], save_time: int) -> bytes:
    w = Writer()
    w.u32(WRITTEN_VERSION)
    w.u32(save_time)
    w.u32(len(entries))
    for key, until in entries:
        w.uint128(key)
        w.u32(until)
    return w.getvalue()


def read_load_index(path: str | os.PathLike[str]) -> LoadIndex:
    return parse_load_index(read_bounded(path, MAX_FILE_BYTES))


def write_load_index(path: str | os.PathLike[str], entries: tuple[tuple[int, int], ...], save_time: int) -> None:
    write_atomic(path, build_load_index(entries, save_time))
