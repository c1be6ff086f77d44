"""``key_index.dat``: the keyword entries published to us, in the layouts iMule 2.3.3.3 reads (``Indexed.cpp``,
``Entry.cpp``).

Header: u32 version, u32 save time (now + 24 h), our Kad ID (UInt128), u32 keyword count; per keyword: its ID
and a u32 file count; per file: its ID, then

| version | per file |
|---|---|
| 3 (written) | u32 entry count; per entry: u32 lifetime, the tracking block, tag list |
| 2 | u32 entry count; per entry: u32 lifetime, tag list |
| 1 | one entry: u32 lifetime, tag list |

The tracking block (``CKeyEntry::WritePublishTrackingDataToFile``): u32 name count, then per name a
u16-length UTF-8 string and a u32 popularity; u32 publisher count, then per publisher the u32 hash of its
destination and the u32 time of its last publish. iMule reads versions below 4. This module reads and writes
the layout only; what iMule keeps of it (save time, own Kad ID, lifetimes, limits) is ``mule.index``'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mule._core import FramingError, Reader, Writer
from mule.kad.errors import CodecError, CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic
from mule.kad.files.src_index import counted
from mule.kad.tags import Tag, TagSerials, read_tag_list, write_tag_list
from mule.kad.text import decode_text, encode_text

WRITTEN_VERSION = 3
TRACKING_VERSION = 3
READ_BELOW = 4
MAX_FILE_BYTES = 256 << 20
"""Above what the keyword store's byte budget can hold: a bound on what is read into memory, not a format limit."""


@dataclass(frozen=True, slots=True)
class Tracking:
    names: tuple[tuple[str, int], ...]  # (file name, popularity)
    publishers: tuple[tuple[int, int], ...]  # (destination hash, Unix time of the last publish), oldest first


@dataclass(frozen=True, slots=True)
class StoredKeyEntry:
    lifetime: int  # Unix time
    tags: tuple[Tag, ...]
    tracking: Tracking | None = None  # present from version 3


@dataclass(frozen=True, slots=True)
class StoredKeySource:
    file_id: int
    entries: tuple[StoredKeyEntry, ...]


@dataclass(frozen=True, slots=True)
class StoredKeyword:
    keyword_id: int
    sources: tuple[StoredKeySource, ...]


@dataclass(frozen=True, slots=True)
class KeyIndex:
    version: int
    save_time: int
    kad_id: int
    keywords: tuple[StoredKeyword, ...]


def _tracking(r: Reader) -> Tracking:
    names = tuple([(decode_text(r.string()), r.u32()) for _ in range(counted(r, 6))])
    return Tracking(names, tuple([(r.u32(), r.u32()) for _ in range(counted(r, 8))]))


def _entry(r: Reader, version: int) -> StoredKeyEntry:
    lifetime = r.u32()
    tracking = _tracking(r) if version >= TRACKING_VERSION else None
    return StoredKeyEntry(lifetime, read_tag_list(r), tracking)


def _source(r: Reader, version: int) -> StoredKeySource:
    file_id = r.uint128()
    if version < 2:
        return StoredKeySource(file_id, (_entry(r, version),))
    return StoredKeySource(file_id, tuple([_entry(r, version) for _ in range(counted(r, 5))]))


def parse_key_index(data: bytes) -> KeyIndex:
    """The file as stored; ``CorruptFile`` (one line) for a version iMule does not read or any damage."""
    r = Reader(data)
    try:
        version = r.u32()
        if version >= READ_BELOW:
            raise CorruptFile(f"key_index.dat version {version}: iMule reads versions below {READ_BELOW}")
        save_time, kad_id = r.u32(), r.uint128()
        keywords = []
        for _ in range(counted(r, 20)):
            keyword_id = r.uint128()
            keywords.append(StoredKeyword(keyword_id, tuple([_source(r, version) for _ in range(counted(r, 20))])))
        return KeyIndex(version, save_time, kad_id, tuple(keywords))
    except (FramingError, CodecError) as exc:
        raise CorruptFile(f"damaged key_index.dat: {exc}") from None


def _write_tracking(w: Writer, tracking: Tracking) -> None:
    w.u32(len(tracking.names))
    for name, popularity in tracking.names:
        w.string(encode_text(name))
        w.u32(popularity)
    w.u32(len(tracking.publishers))
    for dest_hash, last in tracking.publishers:
        w.u32(dest_hash)
        w.u32(last)


def build_key_index(
    keywords: tuple[StoredKeyword, ...], save_time: int, kad_id: int, serials: TagSerials | None = None
) -> bytes:
    """Version 3, as iMule writes it: every entry needs its tracking block."""
    serials = TagSerials() if serials is None else serials
    w = Writer()
    w.u32(WRITTEN_VERSION)
    w.u32(save_time)
    w.uint128(kad_id)
    w.u32(len(keywords))
    for keyword in keywords:
        w.uint128(keyword.keyword_id)
        w.u32(len(keyword.sources))
        for source in keyword.sources:
            w.uint128(source.file_id)
            w.u32(len(source.entries))
            for entry in source.entries:
                if entry.tracking is None:
                    raise ValueError("a version 3 entry needs its tracking block")
                w.u32(entry.lifetime)
                _write_tracking(w, entry.tracking)
                write_tag_list(w, entry.tags, serials)
    return w.getvalue()


def read_key_index(path: str | os.PathLike[str]) -> KeyIndex:
    return parse_key_index(read_bounded(path, MAX_FILE_BYTES))


def write_key_index(
    path: str | os.PathLike[str], keywords: tuple[StoredKeyword, ...], save_time: int, kad_id: int
) -> None:
    write_atomic(path, build_key_index(keywords, save_time, kad_id))
