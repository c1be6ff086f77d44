"""What a lookup hands its user: one result type per kind, read from answers as iMule reads them (``Search.cpp``).

Each result has a ``key``: a lookup streams a result once, the first time its key is seen.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from mule.kad.contact import Contact
from mule.kad.keywords import split_words
from mule.kad.message import Entry
from mule.kad.opcodes import TagName
from mule.kad.tags import AddressTag, IntTag, StringTag, Tag

SOURCE_TYPES = (1, 3)  # ProcessResultFile: types 1 and 3 are sources; 2 "some clients process wrong"


@dataclass(frozen=True, slots=True)
class NodeResult:
    """A node that answered the walk (so it was alive), with its distance to the target."""

    contact: Contact
    distance: int

    @property
    def key(self) -> Hashable:
        return self.contact.kad_id


@dataclass(frozen=True, slots=True)
class KeywordResult:
    file_id: int
    name: str
    size: int
    file_type: str
    tags: tuple[Tag, ...]

    @property
    def key(self) -> Hashable:
        return (self.file_id, self.size)


@dataclass(frozen=True, slots=True)
class SourceResult:
    source_id: int
    source_type: int
    tcp_dest: bytes | None
    udp_dest: bytes | None
    crypt_options: int
    tags: tuple[Tag, ...]

    @property
    def key(self) -> Hashable:
        return self.source_id


@dataclass(frozen=True, slots=True)
class NoteResult:
    source_id: int
    name: str
    rating: int
    comment: str
    tags: tuple[Tag, ...]

    @property
    def key(self) -> Hashable:
        return self.source_id


@dataclass(frozen=True, slots=True)
class PublishAck:
    """A node that acknowledged a store: its load (0-100) and, for sources, its source counts."""

    destination: bytes
    load: int
    source_counts: tuple[int, int] | None = None

    @property
    def key(self) -> Hashable:
        return self.destination


Result = NodeResult | KeywordResult | SourceResult | NoteResult | PublishAck


def _str(tags: tuple[Tag, ...], name: int) -> str | None:
    return next((t.value for t in tags if isinstance(t, StringTag) and t.name == name), None)


def _int(tags: tuple[Tag, ...], name: int) -> int | None:
    return next((t.value for t in tags if isinstance(t, IntTag) and t.name == name), None)


def _addr(tags: tuple[Tag, ...], name: int) -> bytes | None:
    return next((t.value for t in tags if isinstance(t, AddressTag) and t.name == name), None)


def keyword_result(entry: Entry, words: tuple[str, ...]) -> KeywordResult | None:
    """``ProcessResultKeyword``: a name and a size are required, and the name must hold every searched word."""
    name, size = _str(entry.tags, TagName.FILENAME), _int(entry.tags, TagName.FILESIZE)
    if not name or size is None:
        return None
    name_words = split_words(name, allow_duplicates=True)
    for word in words:  # each searched word must match a distinct word of the name
        if word not in name_words:
            return None
        name_words.remove(word)
    file_type = _str(entry.tags, TagName.FILETYPE) or ""
    return KeywordResult(entry.kad_id, name, size, file_type, entry.tags)


def source_result(entry: Entry) -> SourceResult | None:
    """``ProcessResultFile``: only source types 1 and 3 count."""
    source_type = _int(entry.tags, TagName.SOURCETYPE) or 0
    if source_type not in SOURCE_TYPES:
        return None
    return SourceResult(
        entry.kad_id,
        source_type,
        _addr(entry.tags, TagName.SOURCEDEST),
        _addr(entry.tags, TagName.SOURCEUDEST),
        _int(entry.tags, TagName.ENCRYPTION) or 0,
        entry.tags,
    )


def note_result(entry: Entry) -> NoteResult:
    """``ProcessResultNotes``: name, rating and comment are what iMule keeps of a note."""
    return NoteResult(
        entry.kad_id,
        _str(entry.tags, TagName.FILENAME) or "",
        _int(entry.tags, TagName.FILERATING) or 0,
        _str(entry.tags, TagName.DESCRIPTION) or "",
        entry.tags,
    )
