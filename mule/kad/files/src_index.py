"""``src_index.dat``: the sources published to us, in the layouts iMule 2.3.3.3 reads (``Indexed.cpp``).

Header: u32 version, u32 save time (now + 5 h), u32 file count; per file: its ID and a u32 source count; per
source: its ID, then

| version | per source |
|---|---|
| 2 (written) | u32 entry count; per entry: u32 lifetime, tag list |
| 1 | one entry: u32 lifetime, tag list |

Tag lists are stored as on the wire, debug serials included. Versions 3 and up are not read. This module
reads and writes the layout only; what iMule keeps of it (save time, lifetimes, limits) is ``mule.index``'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mule._core import FramingError, Reader, Writer
from mule.kad.errors import CodecError, CorruptFile
from mule.kad.files.atomic import read_bounded, write_atomic
from mule.kad.tags import Tag, TagSerials, read_tag_list, write_tag_list

WRITTEN_VERSION = 2
READ_BELOW = 3
MAX_FILE_BYTES = 256 << 20
"""Above what the source store's byte budget can hold: a bound on what is read into memory, not a format limit."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    lifetime: int  # Unix time
    tags: tuple[Tag, ...]


@dataclass(frozen=True, slots=True)
class StoredSource:
    source_id: int
    entries: tuple[StoredEntry, ...]


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: int
    sources: tuple[StoredSource, ...]


@dataclass(frozen=True, slots=True)
class SrcIndex:
    version: int
    save_time: int
    files: tuple[StoredFile, ...]


def _entry(r: Reader) -> StoredEntry:
    return StoredEntry(r.u32(), read_tag_list(r))


def _source(r: Reader, version: int) -> StoredSource:
    source_id = r.uint128()
    if version < 2:
        return StoredSource(source_id, (_entry(r),))
    return StoredSource(source_id, tuple([_entry(r) for _ in range(counted(r, 5))]))


def counted(r: Reader, least_bytes: int) -> int:
    """A u32 count, refused when the bytes left cannot hold that many items of at least ``least_bytes``."""
    count = r.u32()
    if count * least_bytes > r.remaining():
        raise CorruptFile(f"truncated: {count} items announced, {r.remaining()} bytes left")
    return count


def parse_src_index(data: bytes) -> SrcIndex:
    """The file as stored; ``CorruptFile`` (one line) for a version iMule does not read or any damage."""
    r = Reader(data)
    try:
        version = r.u32()
        if version >= READ_BELOW:
            raise CorruptFile(f"src_index.dat version {version}: iMule reads versions below {READ_BELOW}")
        save_time = r.u32()
        files = []
        for _ in range(counted(r, 20)):
            file_id = r.uint128()
            files.append(StoredFile(file_id, tuple([_source(r, version) for _ in range(counted(r, 20))])))
        return SrcIndex(version, save_time, tuple(files))
    except (FramingError, CodecError) as exc:
        raise CorruptFile(f"damaged src_index.dat: {exc}") from None


def build_src_index(files: tuple[StoredFile, ...], save_time: int, serials: TagSerials | None = None) -> bytes:
    serials = TagSerials() if serials is None else serials
    w = Writer()
    w.u32(WRITTEN_VERSION)
    w.u32(save_time)
    w.u32(len(files))
    for stored in files:
        w.uint128(stored.file_id)
        w.u32(len(stored.sources))
        for source in stored.sources:
            w.uint128(source.source_id)
            w.u32(len(source.entries))
            for entry in source.entries:
                w.u32(entry.lifetime)
                write_tag_list(w, entry.tags, serials)
    return w.getvalue()


def read_src_index(path: str | os.PathLike[str]) -> SrcIndex:
    return parse_src_index(read_bounded(path, MAX_FILE_BYTES))


def write_src_index(path: str | os.PathLike[str], files: tuple[StoredFile, ...], save_time: int) -> None:
    write_atomic(path, build_src_index(files, save_time))
