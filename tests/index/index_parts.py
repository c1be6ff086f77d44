"""Builders for index tests: published tag lists as iMule publishes them, and the entries the index keeps."""

from __future__ import annotations

from mule.index import LocalIndex
from mule.index.entries import KeywordEntry, SourceEntry
from mule.index.limits import KEYWORD_LIFETIME, SOURCE_LIFETIME
from mule.kad.destination import hash_code
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, IntTag, StringTag, Tag
from tests.node.peers import dest, kad_id

KEYWORD = kad_id(7001)


def keyword_tags(name: str = "holiday photos.zip", size: int = 1000, sources: int = 3, **ints: int) -> tuple[Tag, ...]:
    """What iMule's keyword publish carries (SharedFileList.cpp): name, size, sources, then anything else."""
    extra = tuple(IntTag(TagName[key.upper()], value) for key, value in ints.items())
    return (StringTag(TagName.FILENAME, name), IntTag(TagName.FILESIZE, size), IntTag(TagName.SOURCES, sources), *extra)


def source_tags(tcp: bytes, size: int = 1000, complete: bool = True) -> tuple[Tag, ...]:
    """What iMule's source publish carries (Search.cpp, STOREFILE)."""
    return (
        IntTag(TagName.SOURCETYPE, 1),
        AddressTag(TagName.SOURCEDEST, tcp),
        IntTag(TagName.FLAGS, 1 if complete else 0),
        IntTag(TagName.FILESIZE, size),
        IntTag(TagName.ENCRYPTION, 0),
    )


def keyword_entry(
    file_n: int, *, name: str = "holiday photos.zip", size: int = 1000, publisher: int = 1, now: float = 0.0, tags=()
) -> KeywordEntry:
    """A keyword entry as the Kad2 publish handler builds it (name and size apart from the tags)."""
    stored = (IntTag(TagName.SOURCES, 3), *tags)
    return KeywordEntry(kad_id(file_n), size, stored, now + KEYWORD_LIFETIME, hash_code(dest(publisher)), [(name, 1)])


def source_entry(publisher: int, *, tcp: int | None = None, size: int = 1000, now: float = 0.0, complete=True):
    """A source entry as the Kad2 publish handler builds it from ``source_tags``."""
    tcp_dest = dest(tcp if tcp is not None else 100_000 + publisher)
    tags = (
        IntTag(TagName.ENCRYPTION, 0),
        IntTag(TagName.FLAGS, 1 if complete else 0),
        AddressTag(TagName.SOURCEDEST, tcp_dest),
        IntTag(TagName.SOURCETYPE, 1),
        AddressTag(TagName.SOURCEUDEST, dest(publisher)),
    )
    return SourceEntry(kad_id(publisher), tags, now + SOURCE_LIFETIME, hash_code(tcp_dest), publisher, size)


def index(now: float = 0.0, **limits: int) -> LocalIndex:
    from mule.index.limits import IndexLimits

    return LocalIndex(now, IndexLimits(**limits))
